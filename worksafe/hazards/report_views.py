"""Pages for the hazard statistics reports (list, printable detail, generate, sign and submit, who has not
submitted) and the hazard statistics page. The figures come from hazards/reports.py and statistics.py."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from worksafe.core import audit, excel
from worksafe.core.choices import KeyIndustry
from worksafe.core.excel import Column
from worksafe.core.filters import JurisdictionFilter, ScopedFilterSet, text_search
from worksafe.core.generic import ScopedDetailView, ScopedListView
from worksafe.core.models import AuditEntry
from worksafe.core.scoping import get_visible_or_404
from worksafe.core.workflow import InvalidTransition
from worksafe.hazards import reports, rules
from worksafe.hazards.models import HazardReport, ReportKind, period_label
from worksafe.hazards.statistics import TABLES, Statistics, export_table

QUARTER_CHOICES = [(1, gettext_lazy("Q1")), (2, gettext_lazy("Q2")), (3, gettext_lazy("Q3")), (4, gettext_lazy("Q4"))]
SUBMISSION_CHOICES = [("on_time", gettext_lazy("Submitted on time")), ("late", gettext_lazy("Submitted late")),
                      ("not_submitted", gettext_lazy("Not submitted"))]

METRIC_LABELS = [
    ("found", gettext_lazy("Hazards found")),
    ("rectified", gettext_lazy("Rectified and closed")),
    ("found_rectified", gettext_lazy("Found in the period and closed by its end")),
    ("rectification_rate", gettext_lazy("Rectification rate (%)")),
    ("open", gettext_lazy("Open at period end")),
    ("overdue", gettext_lazy("Overdue at period end")),
]
LISTING_LABELS = [
    ("listed", gettext_lazy("Listed for supervision in the period")),
    ("under_supervision", gettext_lazy("Under supervision at period end")),
    ("overdue", gettext_lazy("Listings overdue at period end")),
    ("lifted", gettext_lazy("Listings lifted in the period")),
]


# --- filters and forms -------------------------------------------------------------------------


class HazardReportFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=gettext_lazy("Search"), method=text_search(["enterprise__name"]))
    jurisdiction = JurisdictionFilter(code_path="enterprise__county__code")
    enterprise = django_filters.NumberFilter(label=gettext_lazy("enterprise"), field_name="enterprise_id")
    key_class = django_filters.ChoiceFilter(label=gettext_lazy("key industry class"),
                                            field_name="enterprise__key_class", choices=KeyIndustry.choices)
    kind = django_filters.ChoiceFilter(label=gettext_lazy("report period"), choices=ReportKind.choices)
    year = django_filters.NumberFilter(label=gettext_lazy("reporting year"))
    quarter = django_filters.ChoiceFilter(label=gettext_lazy("quarter"), choices=QUARTER_CHOICES)
    submission = django_filters.ChoiceFilter(label=gettext_lazy("submission"), method="filter_submission",
                                             choices=SUBMISSION_CHOICES)

    class Meta:
        model = HazardReport
        fields = []

    def filter_submission(self, queryset, name, value):
        if value == "on_time":
            return queryset.filter(submitted_at__isnull=False, late=False)
        if value == "late":
            return queryset.filter(submitted_at__isnull=False, late=True)
        if value == "not_submitted":
            return queryset.filter(submitted_at__isnull=True)
        return queryset


class PeriodForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("report period"), choices=ReportKind.choices)
    year = forms.IntegerField(label=gettext_lazy("reporting year"), min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(label=gettext_lazy("quarter"), choices=[("", "—"), *QUARTER_CHOICES],
                                     coerce=int, empty_value=None, required=False)

    def clean(self):
        data = super().clean()
        if data.get("kind") == ReportKind.ANNUAL:
            data["quarter"] = None
        if "kind" in data and "year" in data:
            try:
                reports.check_period(data["kind"], data["year"], data.get("quarter"))
            except ValidationError as exc:
                raise ValidationError(exc.messages) from None
        return data

    @classmethod
    def default_initial(cls) -> dict:
        year, quarter = reports.last_ended_quarter(timezone.localdate())
        return {"kind": ReportKind.QUARTER, "year": year, "quarter": quarter}


class SubmitForm(forms.Form):
    signed_by_name = forms.CharField(label=gettext_lazy("signed by (main responsible person)"), max_length=50)
    analysis = forms.CharField(label=gettext_lazy("analysis"), widget=forms.Textarea(attrs={"rows": 6}))


def _enterprise_of(user):
    organisation = getattr(user, "organisation", None)
    enterprise = getattr(organisation, "enterprise", None) if user.is_enterprise_user else None
    if enterprise is None:
        raise PermissionDenied
    return enterprise


# --- reports -----------------------------------------------------------------------------------


class _FiguresRow:
    """A report as an Excel row: `total_found`, `major_overdue`, `funds_planned` … read from the snapshot."""

    def __init__(self, report):
        self._report = report

    def __getattr__(self, name):
        figures = self._report.figures or {}
        level, _sep, metric = name.partition("_")
        if level in ("general", "major", "total") and metric:
            return figures.get("levels", {}).get(level, {}).get(metric)
        if level == "funds" and metric:
            return figures.get("funds", {}).get(metric)
        return getattr(self._report, name)


REPORT_COLUMNS = ["enterprise__name", "enterprise__county__name", "period_label", "due_on", "submitted_at",
                  "submission_state", "signed_by_name"]
FIGURE_COLUMNS = [
    ("total_found", gettext_lazy("Hazards found")), ("major_found", gettext_lazy("Major hazards found")),
    ("total_rectified", gettext_lazy("Rectified and closed")),
    ("total_rectification_rate", gettext_lazy("Rectification rate (%)")),
    ("total_open", gettext_lazy("Open at period end")), ("total_overdue", gettext_lazy("Overdue at period end")),
    ("major_open", gettext_lazy("Major hazards open at period end")),
    ("funds_planned", gettext_lazy("Funds planned (yuan)")), ("funds_spent", gettext_lazy("Funds spent (yuan)")),
]


class HazardReportListView(ScopedListView):
    model = HazardReport
    filterset_class = HazardReportFilterSet
    columns = REPORT_COLUMNS
    export_columns = [*REPORT_COLUMNS, "enterprise__credit_code", *FIGURE_COLUMNS]
    select_related = ["enterprise", "enterprise__county"]
    template_name = "hazards/report_list.html"

    def get(self, request, *args, **kwargs):
        self.can_generate = request.user.has_perm("hazards.add_hazardreport") and request.user.is_enterprise_user
        return super().get(request, *args, **kwargs)

    def context(self, **extra):
        return super().context(can_generate=self.can_generate,
                               is_regulator=not self.request.user.is_enterprise_user, **extra)

    def export(self, qs):
        if not self.can_export():
            raise PermissionDenied
        cols = excel.columns_for(self.model, self.export_columns)
        audit.record(AuditEntry.Action.EXPORT, object_type=self.model._meta.label_lower,
                     detail=_("{n} rows; filters: {f}").format(n=qs.count(), f=self.request.GET.urlencode())[:500])
        name = f"{self.model._meta.verbose_name_plural}-{timezone.localdate().isoformat()}.xlsx"
        return excel.export_response(name, cols, (_FiguresRow(r) for r in qs.iterator(chunk_size=2000)))


class HazardReportDetailView(ScopedDetailView):
    """The report as a printable table (统计分析表), with the draft's generate/submit steps."""

    model = HazardReport
    template_name = "hazards/report_detail.html"
    fields = ["enterprise", "period_label", "due_on", "submission_state", "submitted_at", "submitted_by",
              "signed_by_name"]

    def get_context(self, obj):
        user = self.request.user
        figures = obj.figures or {}
        levels = figures.get("levels", {})
        rows = [(label, [levels.get(level, {}).get(key) for level in ("general", "major", "total")])
                for key, label in METRIC_LABELS]
        listings = [(label, (figures.get("listings") or {}).get(key)) for key, label in LISTING_LABELS]
        editable = not obj.is_submitted and user.is_enterprise_user
        _start, end = reports.period_bounds(obj.kind, obj.year, obj.quarter)
        return {
            "figure_rows": rows, "listing_rows": listings, "funds": figures.get("funds", {}),
            "period": figures.get("period", {}),
            "can_refresh": editable and user.has_perm("hazards.change_hazardreport"),
            "can_submit": editable and user.has_perm("hazards.submit_hazardreport"),
            "period_ended": timezone.localdate() > end,
            "submit_form": SubmitForm(initial={
                "signed_by_name": obj.signed_by_name or obj.enterprise.principal or obj.enterprise.legal_representative,
                "analysis": obj.analysis or (reports.draft_analysis(figures) if figures else "")}),
        }


class ReportGenerateView(LoginRequiredMixin, View):
    """The enterprise drafts (or refreshes) its report for a period from its hazard records."""

    def get(self, request):
        if not request.user.has_perm("hazards.add_hazardreport"):
            raise PermissionDenied
        enterprise = _enterprise_of(request.user)
        form = PeriodForm(initial={**PeriodForm.default_initial(),
                                   **{k: v for k, v in request.GET.items() if k in PeriodForm.base_fields}})
        return render(request, "hazards/report_generate.html", {"form": form, "enterprise": enterprise})

    def post(self, request):
        enterprise = _enterprise_of(request.user)
        form = PeriodForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                report = reports.generate(enterprise, data["kind"], data["year"], data["quarter"], by=request.user)
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, _("The figures were computed from the hazard records."))
                return redirect("hazards:hazardreport_detail", pk=report.pk)
        return render(request, "hazards/report_generate.html", {"form": form, "enterprise": enterprise})


class ReportSubmitView(LoginRequiredMixin, View):
    """The main responsible person signs and submits: figures recomputed, then frozen."""

    def post(self, request, pk):
        report = get_visible_or_404(HazardReport, request.user, pk, "submit")
        form = SubmitForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect("hazards:hazardreport_detail", pk=pk)
        try:
            reports.submit(report, by=request.user, **form.cleaned_data)
        except InvalidTransition:
            messages.error(request, _("This report has been submitted and can no longer change."))
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            if report.late:
                messages.warning(request, _("Submitted after the due date {due}: recorded as late.").format(
                    due=report.due_on))
            else:
                messages.success(request, _("Report submitted."))
        return redirect("hazards:hazardreport_detail", pk=pk)


MISSING_COLUMNS = [
    Column("name", gettext_lazy("enterprise")), Column("credit_code", gettext_lazy("unified social credit code")),
    Column("county__name", gettext_lazy("county")), Column("key_class", gettext_lazy("key industry class")),
    Column("principal", gettext_lazy("principal responsible person")),
    Column("principal_phone", gettext_lazy("principal phone")),
]


class MissingReportsView(LoginRequiredMixin, View):
    """Regulators: enterprises in scope that must file and have no submitted report for a period;
    past the due date they are late."""

    def get(self, request):
        user = request.user
        if not user.has_perm("hazards.view_hazardreport") or user.is_enterprise_user:
            raise PermissionDenied
        form = PeriodForm(request.GET if "kind" in request.GET else None, initial=PeriodForm.default_initial())
        period = form.cleaned_data if form.is_bound and form.is_valid() else PeriodForm.default_initial()
        kind, year, quarter = period["kind"], period["year"], period.get("quarter")
        due = reports.due_date(kind, year, quarter)
        late = rules.is_late(timezone.localdate(), due)
        qs = reports.missing_reports(user, kind, year, quarter).select_related("county")
        label = period_label(kind, year, quarter)
        if request.GET.get("export") == "xlsx":
            if not user.has_perm("hazards.export_hazardreport"):
                raise PermissionDenied
            audit.record(AuditEntry.Action.EXPORT, object_type="hazards.hazardreport",
                         detail=_("Reports not submitted, {period}: {n} enterprises").format(
                             period=label, n=qs.count()))
            return excel.export_response(_("Reports not submitted {period}.xlsx").format(period=label),
                                         MISSING_COLUMNS, qs.iterator(chunk_size=2000))
        page = Paginator(qs, 50).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        return render(request, "hazards/report_missing.html", {
            "form": form, "page": page, "due": due, "late": late, "period_label": label,
            "querystring": query.urlencode(), "can_export": user.has_perm("hazards.export_hazardreport")})


# --- statistics --------------------------------------------------------------------------------


class StatisticsView(LoginRequiredMixin, View):
    """Totals, rectification rate, overdue hazards, breakdowns and the monthly trend for the user's place;
    `?export=xlsx&table=…` downloads one table."""

    def get(self, request):
        user = request.user
        if not user.has_perm("hazards.view_hazard"):
            raise PermissionDenied
        stats = Statistics(user, request.GET, request)
        if request.GET.get("export") == "xlsx":
            return self.export(request, stats)
        levels = stats.by_level()
        query = request.GET.copy()
        for key in ("export", "table"):
            query.pop(key, None)
        drill = query.copy()
        drill.pop("jurisdiction", None)
        tables = [
            {"key": key, "title": title, "header": TABLES[key][0], "rows": rows}
            for key, title, rows in (
                ("jurisdiction", _("By jurisdiction"), stats.by_jurisdiction()),
                ("key_class", _("By key industry class"), stats.by_key_class()),
                ("level", _("By level"), [*levels, stats.totals(levels)]),
                ("status", _("By current status"), stats.by_status()),
            )
        ]
        overdue_query = {"deadline_state": "overdue"}
        for key in ("jurisdiction", "level", "status"):
            if stats.data.get(key):
                overdue_query[key] = stats.data[key]
        ctx = {
            "filterset": stats.filterset, "stats": stats, "start": stats.start, "end": stats.end,
            "totals": stats.totals(levels), "tables": tables,
            "trend": stats.trend(), "overdue": stats.overdue(), "escalated": stats.escalated(),
            "is_today": stats.end == stats.today, "querystring": query.urlencode(),
            "querystring_without_jurisdiction": drill.urlencode(),
            "overdue_query": "&".join(f"{k}={v}" for k, v in overdue_query.items()),
            "can_export": user.has_perm("hazards.export_hazard"),
        }
        return render(request, "hazards/statistics.html", ctx)

    def export(self, request, stats):
        if not request.user.has_perm("hazards.export_hazard"):
            raise PermissionDenied
        table = request.GET.get("table", "")
        if table not in (*TABLES, "trend", "overdue"):
            raise Http404
        columns, rows = export_table(stats, table)
        audit.record(AuditEntry.Action.EXPORT, object_type="hazards.hazard",
                     detail=_("Hazard statistics, table {table}: {n} rows; filters: {f}").format(
                         table=table, n=len(rows), f=request.GET.urlencode())[:500])
        name = _("Hazard statistics {table} {start} to {end}.xlsx").format(table=table, start=stats.start,
                                                                          end=stats.end)
        return excel.export_response(name, columns, rows)
