import django_filters
from django.utils.translation import gettext_lazy as _

from worksafe.core.filters import JurisdictionFilter, ScopedFilterSet, text_search
from worksafe.majorhazards.models import (
    Change,
    ChangeKind,
    Custodian,
    CustodianCheck,
    CustodianRole,
    MajorHazard,
    MajorHazardStatus,
    Substance,
    UnitKind,
)


class MajorHazardFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["name", "code", "enterprise__name",
                                                                        "enterprise__credit_code"]))
    jurisdiction = JurisdictionFilter(code_path="enterprise__county__code")
    grade = django_filters.ChoiceFilter(label=_("grade"), choices=[(1, _("Grade 1")), (2, _("Grade 2")),
                                                                    (3, _("Grade 3")), (4, _("Grade 4"))])
    unit_kind = django_filters.ChoiceFilter(label=_("unit kind"), choices=UnitKind.choices)
    status = django_filters.ChoiceFilter(label=_("status"), choices=MajorHazardStatus.choices)
    enterprise = django_filters.NumberFilter(label=_("enterprise"), field_name="enterprise_id")

    class Meta:
        model = MajorHazard
        fields = []


def _child_filterset(model, path, extra=None):
    attrs = {
        "jurisdiction": JurisdictionFilter(code_path=f"{path}enterprise__county__code"),
        "hazard": django_filters.NumberFilter(label=_("major hazard source"), field_name=f"{path}id"),
        "Meta": type("Meta", (), {"model": model, "fields": []}),
        **(extra or {}),
    }
    return type(f"{model.__name__}FilterSet", (ScopedFilterSet,), attrs)


SubstanceFilterSet = _child_filterset(Substance, "hazard__", {
    "q": django_filters.CharFilter(label=_("Search"), method=text_search(["name", "cas", "categories"]))})
CustodianFilterSet = _child_filterset(Custodian, "hazard__", {
    "role": django_filters.ChoiceFilter(label=_("custody role"), choices=CustodianRole.choices),
    "q": django_filters.CharFilter(label=_("Search"), method=text_search(["name", "phone"]))})
CustodianCheckFilterSet = _child_filterset(CustodianCheck, "custodian__hazard__")
ChangeFilterSet = _child_filterset(Change, "hazard__", {
    "kind": django_filters.ChoiceFilter(label=_("kind of change"), choices=ChangeKind.choices)})
