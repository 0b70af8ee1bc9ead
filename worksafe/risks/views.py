from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, IntegerField, Min, When
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from worksafe.core import audit
from worksafe.core.generic import (
    ScopedDeleteView,
    ScopedDetailView,
    ScopedEditView,
    ScopedImportView,
    ScopedListView,
)
from worksafe.core.models import AuditEntry, Jurisdiction
from worksafe.core.scoping import get_visible_or_404
from worksafe.risks import actions, rules
from worksafe.risks.filters import ControlMeasureFilterSet, RiskAssessmentFilterSet, RiskPointFilterSet
from worksafe.risks.forms import AssessForm, ControlMeasureForm, RiskPointForm
from worksafe.risks.importer import RiskPointImporter
from worksafe.risks.models import ControlMeasure, MeasureType, Method, RiskAssessment, RiskLevel, RiskPoint

POINT_COLUMNS = ["name", "code", "enterprise__name", "enterprise__county__name", "kind", "level", "score",
                 "control_tier", "reassessment_due"]


class RiskPointListView(ScopedListView):
    model = RiskPoint
    filterset_class = RiskPointFilterSet
    columns = POINT_COLUMNS
    export_columns = [*POINT_COLUMNS, "method", "criterion_display", "assessed_on", "location", "accident_type_names",
                      "hazard_factors", "responsible_person", "responsible_phone", "enterprise__credit_code"]
    select_related = ["enterprise", "enterprise__county"]


def measures_by_type(measures) -> list[tuple[str, str, list]]:
    """(type, label, measures) in the order of MeasureType, types without measures left out."""
    groups = defaultdict(list)
    for m in measures:
        groups[m.kind].append(m)
    return [(t.value, t.label, groups[t.value]) for t in MeasureType if groups[t.value]]


class RiskPointDetailView(ScopedDetailView):
    model = RiskPoint
    template_name = "risks/riskpoint_detail.html"
    fields = ["enterprise", "code", "kind", "location", "accident_type_names", "hazard_factors", "control_tier",
              "responsible_person", "responsible_phone", "method", "score_display", "criterion_display", "assessed_on",
              "reassessment_due"]

    def get_context(self, obj):
        user = self.request.user
        measures = ControlMeasure.objects.visible_to(user).filter(point=obj)
        return {
            "assessments": RiskAssessment.objects.visible_to(user).filter(point=obj).select_related("assessed_by")[:50],
            "measure_groups": measures_by_type(measures),
            "can_assess": user.has_perm("risks.change_riskpoint") and user.has_perm("risks.add_riskassessment"),
            "can_add_measure": user.has_perm("risks.add_controlmeasure"),
            "overdue": obj.is_reassessment_overdue(),
            "level_label": RiskLevel(obj.level).label if obj.level else "",
        }


class RiskPointEditView(ScopedEditView):
    model = RiskPoint
    form_class = RiskPointForm
    template_name = "risks/riskpoint_form.html"


class RiskPointDeleteView(ScopedDeleteView):
    model = RiskPoint


class RiskPointImportView(ScopedImportView):
    model = RiskPoint
    importer_class = RiskPointImporter


class _ChildEdit(ScopedEditView):
    """Assessments and measures go back to their risk point's page after saving."""

    def get_success_url(self, saved):
        return reverse("risks:riskpoint_detail", args=[saved.point_id])


class _ChildDelete(ScopedDeleteView):
    def get_success_url(self, obj):
        return reverse("risks:riskpoint_detail", args=[obj.point_id])


def _child_views(model, form_class, filterset_class, columns, fields):
    return {
        "list": type(f"{model.__name__}ListView", (ScopedListView,), {
            "model": model, "filterset_class": filterset_class, "columns": columns,
            "select_related": ["point", "point__enterprise"]}),
        "detail": type(f"{model.__name__}DetailView", (ScopedDetailView,), {"model": model, "fields": fields}),
        "edit": type(f"{model.__name__}EditView", (_ChildEdit,), {"model": model, "form_class": form_class}),
        "delete": type(f"{model.__name__}DeleteView", (_ChildDelete,), {"model": model}),
    }


class RiskAssessmentListView(ScopedListView):
    """Every assessment version in scope; they are added by assessing a point and never edited."""

    model = RiskAssessment
    filterset_class = RiskAssessmentFilterSet
    columns = ["point", "point__enterprise__name", "assessed_on", "method", "inputs", "score", "level",
               "criterion_display", "assessed_by"]
    select_related = ["point", "point__enterprise", "assessed_by"]

    def context(self, **extra):
        return super().context(**{**extra, "can_add": False})  # no add page: assess a risk point instead


class RiskAssessmentDetailView(ScopedDetailView):
    model = RiskAssessment
    fields = ["point", "method", "inputs", "score", "band_label", "level", "criterion_display", "table_version",
              "assessed_on", "assessed_by", "note"]


MEASURE_VIEWS = _child_views(
    ControlMeasure, ControlMeasureForm, ControlMeasureFilterSet,
    ["description", "kind", "point", "point__enterprise__name", "responsible"],
    ["point", "kind", "description", "responsible"])


class AssessView(LoginRequiredMixin, View):
    """The assess page of one risk point (GET) and the action that stores a new assessment version (POST)."""

    template_name = "risks/assess.html"

    def get_point(self, request, pk):
        point = get_visible_or_404(RiskPoint, request.user, pk, "change")
        if not request.user.has_perm("risks.add_riskassessment"):
            raise PermissionDenied
        return point

    def get(self, request, pk):
        point = self.get_point(request, pk)
        initial = {"method": point.method or Method.LEC, "assessed_on": timezone.localdate(),
                   "scheme": actions.last_ls_scheme(point.enterprise_id) or ""}
        latest = point.assessments.order_by("-assessed_on", "-id").first()
        if latest is not None:  # start from the last inputs: a reassessment usually changes one of them
            if latest.method == Method.LEC:
                initial.update(lec_l=f"{latest.likelihood.normalize():f}", lec_e=f"{latest.exposure.normalize():f}",
                               lec_c=f"{latest.consequence.normalize():f}")
            else:
                initial.update(ls_l=int(latest.likelihood), ls_s=int(latest.severity), scheme=latest.criterion)
        return self.render(request, point, AssessForm(initial=initial))

    def post(self, request, pk):
        point = self.get_point(request, pk)
        form = AssessForm(request.POST)
        if not form.is_valid():
            return self.render(request, point, form)
        try:
            assessment = actions.assess(point, by=request.user, on=form.cleaned_data["assessed_on"],
                                        note=form.cleaned_data.get("note") or "", **form.action_kwargs())
        except ValueError as exc:  # checked by the form already; kept for a race with the date
            form.add_error(None, str(exc))
            return self.render(request, point, form)
        messages.success(request, _("Assessed: score {score}, {level}.").format(
            score=f"{assessment.score.normalize():f}", level=assessment.get_level_display()))
        return redirect("risks:riskpoint_detail", pk=point.pk)

    def render(self, request, point, form):
        labels = dict(RiskLevel.choices)
        lec_bands = [{"bounds": b.bounds, "label": b.label, "action": b.action, "level": labels[b.level],
                      "colour": rules.LEVEL_HEX[b.level]} for b in rules.LEC_BANDS]
        schemes = [{"variant": s.variant, "bands": [f"{b.low}–{b.high}" for b in s.bands]}
                   for s in rules.SCHEMES.values()]
        levels = [{"label": labels[level], "colour": rules.LEVEL_HEX[level]} for level in rules.LEVELS]
        return render(request, self.template_name, {"point": point, "form": form, "lec_bands": lec_bands,
                                                    "schemes": schemes, "levels": levels})


class RiskCardPdfView(LoginRequiredMixin, View):
    """The risk notification card (风险告知卡) of one risk point as a printable PDF (A4, or A5 with ?size=a5)."""

    def get(self, request, pk):
        from worksafe.risks.pdf import risk_card_pdf

        point = get_visible_or_404(RiskPoint, request.user, pk, "view",
                                   queryset=RiskPoint.objects.select_related("enterprise"))
        size = "a5" if request.GET.get("size") == "a5" else "a4"
        audit.record(AuditEntry.Action.EXPORT, point, detail=f"risk notification card PDF ({size})")
        response = HttpResponse(risk_card_pdf(point, size=size), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="risk-card-{point.pk}.pdf"'
        return response


_RANK = Case(*[When(level=level, then=rank) for rank, level in enumerate(rules.LEVELS)], output_field=IntegerField())


def risk_map_data(user) -> dict:
    """Enterprises with assessed risk points in the user's scope, each at its highest level, and their counts
    by level per county. Everything starts from RiskPoint.objects.visible_to(user)."""
    rows = (RiskPoint.objects.visible_to(user).exclude(level="").order_by()
            .values("enterprise_id", "enterprise__name", "enterprise__county_id", "enterprise__lng",
                    "enterprise__lat")
            .annotate(rank=Min(_RANK), points=Count("id")))
    counties: dict[str, dict] = {}
    enterprises = []
    list_url = reverse("risks:riskpoint_list")
    for row in rows:
        level = rules.LEVELS[row["rank"]]
        county = counties.setdefault(row["enterprise__county_id"], {level: 0 for level in rules.LEVELS} | {"total": 0})
        county[level] += 1
        county["total"] += 1
        lng, lat = row["enterprise__lng"], row["enterprise__lat"]
        enterprises.append({"id": row["enterprise_id"], "name": row["enterprise__name"], "level": level,
                            "county": row["enterprise__county_id"], "points": row["points"],
                            "value": [float(lng), float(lat)] if lng is not None and lat is not None else None,
                            "url": f"{list_url}?enterprise={row['enterprise_id']}"})
    names = dict(Jurisdiction.objects.filter(code__in=list(counties)).values_list("code", "name"))
    county_rows = [{"code": code, "name": names.get(code, code), **counts} for code, counts in sorted(counties.items())]
    return {"counties": county_rows, "enterprises": enterprises,
            "levels": [{"key": level, "label": str(RiskLevel(level).label), "colour": rules.LEVEL_HEX[level]}
                       for level in rules.LEVELS]}


class MapView(LoginRequiredMixin, View):
    """Region risk map (区域风险分布图): counties coloured by enterprises at each highest level, enterprises as points."""

    def get(self, request):
        if not request.user.has_perm("risks.view_riskpoint"):
            raise PermissionDenied
        data = risk_map_data(request.user)
        if request.GET.get("format") == "json":
            return JsonResponse(data)
        totals = {level: sum(c[level] for c in data["counties"]) for level in (*rules.LEVELS, "total")}
        point_counts = dict(RiskPoint.objects.visible_to(request.user).exclude(level="").order_by()
                            .values_list("level").annotate(n=Count("id")))
        cards = [{"level": level, "label": RiskLevel(level).label, "colour": rules.LEVEL_HEX[level],
                  "enterprises": totals[level], "points": point_counts.get(level, 0)} for level in rules.LEVELS]
        return render(request, "risks/map.html", {
            "counties": data["counties"], "totals": totals, "cards": cards, "levels": data["levels"],
            "jurisdiction": request.user.jurisdiction,
        })
