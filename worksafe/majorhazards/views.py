from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from worksafe.core import audit
from worksafe.core.generic import (
    ScopedDeleteView,
    ScopedDetailView,
    ScopedEditView,
    ScopedImportView,
    ScopedListView,
)
from worksafe.core.models import AuditEntry
from worksafe.core.scoping import get_visible_or_404
from worksafe.majorhazards import actions, rules
from worksafe.majorhazards.filters import (
    ChangeFilterSet,
    CustodianCheckFilterSet,
    CustodianFilterSet,
    MajorHazardFilterSet,
    SubstanceFilterSet,
)
from worksafe.majorhazards.forms import (
    ChangeForm,
    CustodianCheckForm,
    CustodianForm,
    DeregisterForm,
    FilingForm,
    MajorHazardForm,
    SubstanceForm,
)
from worksafe.majorhazards.importer import MajorHazardImporter
from worksafe.majorhazards.messages import describe
from worksafe.majorhazards.models import (
    Change,
    Custodian,
    CustodianCheck,
    CustodianRole,
    MajorHazard,
    Substance,
)

HAZARD_COLUMNS = ["name", "code", "enterprise__name", "enterprise__county__name", "unit_kind", "grade", "r_value",
                  "status", "evaluation_due"]


# Online monitoring status per source (points, points online, active alarms), for users who may see points.
MONITORING_COLUMNS = [("mon_points", gettext_lazy("monitoring points")), ("mon_online", gettext_lazy("online points")),
                      ("mon_alarms", gettext_lazy("active alarms"))]


def with_monitoring(qs):
    """Annotate each source's monitoring status with three correlated counts: a fixed number of queries
    however many rows, and no join fan-out between points and alarms."""
    from worksafe.monitoring.choices import ACTIVE_STATUSES
    from worksafe.monitoring.models import Alarm, Point
    from worksafe.monitoring.views import online_q

    def count(rows):
        return Coalesce(Subquery(rows.order_by().values("hazard_id").annotate(n=Count("pk")).values("n")[:1],
                                 output_field=IntegerField()), 0)

    points = Point.objects.filter(hazard=OuterRef("pk"))
    return qs.annotate(mon_points=count(points), mon_online=count(points.filter(online_q())),
                       mon_alarms=count(Alarm.objects.filter(hazard=OuterRef("pk"), status__in=ACTIVE_STATUSES)))


class MajorHazardListView(ScopedListView):
    model = MajorHazard
    filterset_class = MajorHazardFilterSet
    columns = HAZARD_COLUMNS
    export_columns = [*HAZARD_COLUMNS, "s_value", "people_within_500m", "assessed_on", "evaluation_report_on",
                      "filed_on", "enterprise__credit_code"]
    select_related = ["enterprise", "enterprise__county"]

    def get(self, request, *args, **kwargs):
        if request.user.has_perm("monitoring.view_point"):
            self.columns = [*self.columns, *MONITORING_COLUMNS]
            self.export_columns = [*self.export_columns, *MONITORING_COLUMNS]
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = super().get_queryset()
        return with_monitoring(qs) if self.request.user.has_perm("monitoring.view_point") else qs


class MajorHazardDetailView(ScopedDetailView):
    model = MajorHazard
    template_name = "majorhazards/majorhazard_detail.html"
    fields = ["enterprise", "code", "name", "unit_kind", "location", "people_within_500m", "status", "grade",
              "s_value", "r_value", "assessed_on", "evaluation_report_on", "evaluation_due", "filing_due", "filed_on",
              "deregistered_on", "deregistration_reason"]

    def get_context(self, obj):
        user = self.request.user
        custodians = (Custodian.objects.visible_to(user).filter(hazard=obj)
                      .prefetch_related(Prefetch("checks", queryset=CustodianCheck.objects.order_by("-checked_on"))))
        return {
            "substances": Substance.objects.visible_to(user).filter(hazard=obj),
            "assessments": obj.assessments.select_related("assessed_by")[:20],
            "custodians": custodians,
            "missing_roles": _role_labels(rules.missing_custodian_roles([c.role for c in custodians])),
            "changes": Change.objects.visible_to(user).filter(hazard=obj),
            "overdue": obj.overdue_items(),
            "today": timezone.localdate(),
            "can_assess": user.has_perm("majorhazards.change_majorhazard"),
            "can_file": user.has_perm("majorhazards.file_majorhazard"),
            "can_deregister": user.has_perm("majorhazards.deregister_majorhazard"),
            "filing_form": FilingForm(initial={"filed_on": timezone.localdate()}),
            "deregister_form": DeregisterForm(initial={"deregistered_on": timezone.localdate()}),
            "monitoring": _monitoring_status(obj, user),
        }


def _monitoring_status(hazard, user):
    """Points, points online and active alarms of the source (None without the permission to see points).
    Grade 1 and 2 sources must be connected (安委办〔2019〕11号), so the page says so when none is."""
    if not user.has_perm("monitoring.view_point"):
        return None
    from worksafe.monitoring.choices import ACTIVE_STATUSES
    from worksafe.monitoring.models import Alarm, Point
    from worksafe.monitoring.views import online_q

    counts = Point.objects.visible_to(user).filter(hazard=hazard).aggregate(
        points=Count("pk"), online=Count("pk", filter=online_q()))
    counts["alarms"] = Alarm.objects.visible_to(user).filter(hazard=hazard, status__in=ACTIVE_STATUSES).count()
    counts["required"] = hazard.grade in (1, 2)
    return counts


def _role_labels(codes):
    return [str(CustodianRole(c).label) for c in codes]


class MajorHazardEditView(ScopedEditView):
    model = MajorHazard
    form_class = MajorHazardForm


class MajorHazardDeleteView(ScopedDeleteView):
    model = MajorHazard


class MajorHazardImportView(ScopedImportView):
    model = MajorHazard
    importer_class = MajorHazardImporter


class _ChildEdit(ScopedEditView):
    """Rows that belong to a major hazard source go back to its page after saving."""

    def get_success_url(self, saved):
        return reverse("majorhazards:majorhazard_detail", args=[_hazard_id(saved)])


class _ChildDelete(ScopedDeleteView):
    def get_success_url(self, obj):
        return reverse("majorhazards:majorhazard_detail", args=[_hazard_id(obj)])


def _hazard_id(obj):
    return obj.custodian.hazard_id if isinstance(obj, CustodianCheck) else obj.hazard_id


def _child_views(model, form_class, filterset_class, columns, fields):
    select = ["custodian__hazard"] if model is CustodianCheck else ["hazard"]
    return {
        "list": type(f"{model.__name__}ListView", (ScopedListView,), {
            "model": model, "filterset_class": filterset_class, "columns": columns, "select_related": select}),
        "detail": type(f"{model.__name__}DetailView", (ScopedDetailView,), {"model": model, "fields": fields}),
        "edit": type(f"{model.__name__}EditView", (_ChildEdit,), {"model": model, "form_class": form_class}),
        "delete": type(f"{model.__name__}DeleteView", (_ChildDelete,), {"model": model}),
    }


SUBSTANCE_VIEWS = _child_views(Substance, SubstanceForm, SubstanceFilterSet,
                               ["hazard", "name", "cas", "categories", "q"],
                               ["hazard", "name", "cas", "categories", "q", "q_override", "beta_override"])
CUSTODIAN_VIEWS = _child_views(Custodian, CustodianForm, CustodianFilterSet,
                               ["name", "role", "phone", "hazard", "check_due"],
                               ["hazard", "role", "name", "position", "phone", "appointed_on", "check_due"])
CHECK_VIEWS = _child_views(CustodianCheck, CustodianCheckForm, CustodianCheckFilterSet,
                           ["custodian", "checked_on", "hazards_found", "custodian__hazard"],
                           ["custodian", "checked_on", "hazards_found", "findings"])
CHANGE_VIEWS = _child_views(Change, ChangeForm, ChangeFilterSet, ["description", "kind", "occurred_on", "hazard"],
                            ["hazard", "kind", "occurred_on", "description"])


class _HazardAction(LoginRequiredMixin, View):
    action = "change"

    def post(self, request, pk):
        hazard = get_visible_or_404(MajorHazard, request.user, pk, self.action)
        try:
            self.act(request, hazard)
        except actions.InvalidTransition:
            messages.error(request, _("This step is not possible in the source's current status."))
        except ValueError as exc:
            messages.error(request, describe(exc))
        return redirect("majorhazards:majorhazard_detail", pk=hazard.pk)


class AssessView(_HazardAction):
    """Identify and grade the unit again from its current substances (a new assessment version)."""

    def act(self, request, hazard):
        result = actions.assess(hazard, by=request.user, reason=request.POST.get("reason", "")[:200])
        if result.is_major:
            messages.success(request, _("Assessed: S = {s}, a major hazard source{grade}.").format(
                s=result.s_value, grade=_(", grade {}").format(result.grade) if result.grade else ""))
        else:
            messages.warning(request, _("Assessed: S = {s} is below 1, so the unit is not a major hazard source; "
                                        "apply to the county bureau for deregistration.").format(s=result.s_value))


class FilingView(_HazardAction):
    action = "file"

    def act(self, request, hazard):
        form = FilingForm(request.POST)
        if not form.is_valid():
            raise ValueError(_("Give the filing date."))
        actions.record_filing(hazard, by=request.user, filed_on=form.cleaned_data["filed_on"])
        messages.success(request, _("Filing recorded."))


class DeregisterView(_HazardAction):
    action = "deregister"

    def act(self, request, hazard):
        form = DeregisterForm(request.POST)
        if not form.is_valid():
            raise ValueError(_("Give the date and the reason for deregistration."))
        actions.deregister(hazard, by=request.user, on=form.cleaned_data["deregistered_on"],
                           reason=form.cleaned_data["reason"])
        messages.success(request, _("Deregistered."))


class OverdueView(LoginRequiredMixin, View):
    """Regulator's worklist: evaluations, filings, re-assessments and custodian checks that are late."""

    def get(self, request):
        if not request.user.has_perm("majorhazards.view_majorhazard"):
            raise PermissionDenied
        today = timezone.localdate()
        hazards = (MajorHazard.objects.visible_to(request.user).exclude(status="deregistered")
                   .select_related("enterprise", "enterprise__county")
                   .prefetch_related("changes", "custodians__checks"))
        rows = []
        for hazard in hazards:
            items = hazard.overdue_items(today)
            late_custodians = [c for c in hazard.custodians.all() if c.check_due and c.check_due < today]
            missing = _role_labels(rules.missing_custodian_roles([c.role for c in hazard.custodians.all()]))
            if items or late_custodians or missing:
                rows.append({"hazard": hazard, "items": items, "late_custodians": late_custodians,
                             "missing": missing})
        return render(request, "majorhazards/overdue.html", {"rows": rows, "today": today})


class MapView(LoginRequiredMixin, View):
    def get(self, request):
        if not request.user.has_perm("majorhazards.view_majorhazard"):
            raise PermissionDenied
        qs = MajorHazard.objects.visible_to(request.user).exclude(status="deregistered")
        if request.GET.get("format") == "json":
            points = []
            for h in qs.select_related("enterprise"):
                lng, lat = h.lng or h.enterprise.lng, h.lat or h.enterprise.lat
                if lng is not None and lat is not None:
                    points.append({"id": h.pk, "name": f"{h.enterprise.name} · {h.name}", "grade": h.grade,
                                   "value": [float(lng), float(lat)],
                                   "url": reverse("majorhazards:majorhazard_detail", args=[h.pk])})
            return JsonResponse({"points": points})
        labels = dict(MajorHazard._meta.get_field("grade").choices)
        counts = [(g, labels[g], qs.filter(grade=g).count()) for g in (1, 2, 3, 4)]
        return render(request, "majorhazards/map.html", {"counts": counts,
                                                         "jurisdiction": request.user.jurisdiction})


class CatalogueView(LoginRequiredMixin, View):
    """GB 18218-2018 Tables 1 and 2, searchable by name, alias or CAS (JSON for the substance picker)."""

    def get(self, request):
        query = request.GET.get("q", "").strip()
        entries = rules.find_substances(query) if query else rules.substance_catalogue()
        if request.GET.get("format") == "json":
            return JsonResponse({"results": [_entry_json(e) for e in entries[:50]]})
        return render(request, "majorhazards/catalogue.html",
                      {"entries": [_entry_json(e) for e in entries], "q": query})


def _entry_json(entry):
    return {"table": entry.table, "key": entry.key, "name": entry.name, "aliases": list(entry.aliases),
            "cas": list(entry.cas), "Q": rules.fraction_to_str(entry.critical_quantity_t),
            "beta": rules.fraction_to_str(entry.beta) if entry.beta is not None else None,
            "description": entry.description}


class RegistrationPdfView(LoginRequiredMixin, View):
    """The registration form (重大危险源登记表) as a printable PDF."""

    def get(self, request, pk):
        from worksafe.majorhazards.pdf import registration_pdf

        hazard = get_visible_or_404(MajorHazard, request.user, pk, "view")
        audit.record(AuditEntry.Action.EXPORT, hazard, detail="registration form PDF")
        response = HttpResponse(registration_pdf(hazard), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="major-hazard-{hazard.pk}.pdf"'
        return response
