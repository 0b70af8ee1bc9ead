import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from worksafe.core.filters import JurisdictionFilter, ScopedFilterSet, text_search
from worksafe.risks.models import (
    AccidentType,
    ControlMeasure,
    ControlTier,
    MeasureType,
    Method,
    RiskAssessment,
    RiskLevel,
    RiskPoint,
    RiskPointKind,
)


def _accident_type(queryset, name, value):
    # The list is stored as JSON text of ids, e.g. ["fire", "poisoning"]: match the quoted id.
    return queryset.filter(accident_types__icontains=f'"{value}"') if value else queryset


def _overdue(queryset, name, value):
    today = timezone.localdate()
    if value == "yes":
        return queryset.filter(reassessment_due__lt=today)
    if value == "no":
        return queryset.exclude(reassessment_due__lt=today)
    return queryset


class RiskPointFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method=text_search(
        ["name", "code", "location", "enterprise__name", "enterprise__credit_code", "responsible_person"]))
    jurisdiction = JurisdictionFilter(code_path="enterprise__county__code")
    enterprise = django_filters.NumberFilter(label=_("enterprise"), field_name="enterprise_id")
    level = django_filters.ChoiceFilter(label=_("risk level"), choices=RiskLevel.choices)
    kind = django_filters.ChoiceFilter(label=_("risk point kind"), choices=RiskPointKind.choices)
    method = django_filters.ChoiceFilter(label=_("assessment method"), choices=Method.choices)
    control_tier = django_filters.ChoiceFilter(label=_("control tier"), choices=ControlTier.choices)
    accident_type = django_filters.ChoiceFilter(label=_("accident type"), choices=AccidentType.choices,
                                                method=_accident_type)
    overdue = django_filters.ChoiceFilter(label=_("reassessment overdue"), method=_overdue,
                                          choices=[("yes", _("Overdue")), ("no", _("Not overdue"))])

    class Meta:
        model = RiskPoint
        fields = []


class RiskAssessmentFilterSet(ScopedFilterSet):
    jurisdiction = JurisdictionFilter(code_path="point__enterprise__county__code")
    point = django_filters.NumberFilter(label=_("risk point"), field_name="point_id")
    enterprise = django_filters.NumberFilter(label=_("enterprise"), field_name="point__enterprise_id")
    method = django_filters.ChoiceFilter(label=_("assessment method"), choices=Method.choices)
    level = django_filters.ChoiceFilter(label=_("risk level"), choices=RiskLevel.choices)
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["point__name", "point__code", "note"]))

    class Meta:
        model = RiskAssessment
        fields = []


class ControlMeasureFilterSet(ScopedFilterSet):
    jurisdiction = JurisdictionFilter(code_path="point__enterprise__county__code")
    point = django_filters.NumberFilter(label=_("risk point"), field_name="point_id")
    enterprise = django_filters.NumberFilter(label=_("enterprise"), field_name="point__enterprise_id")
    kind = django_filters.ChoiceFilter(label=_("measure type"), choices=MeasureType.choices)
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["description", "responsible",
                                                                         "point__name"]))

    class Meta:
        model = ControlMeasure
        fields = []
