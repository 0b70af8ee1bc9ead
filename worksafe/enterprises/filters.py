from datetime import timedelta

import django_filters
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from worksafe.core.choices import KeyIndustry
from worksafe.core.filters import JurisdictionFilter, ScopedFilterSet, text_search
from worksafe.core.widgets import DateInput
from worksafe.enterprises.models import (
    Enterprise,
    EnterpriseStatus,
    Industry,
    Licence,
    LicenceKind,
    Scale,
    SupervisionTier,
)


class EnterpriseFilterSet(ScopedFilterSet):
    """One FilterSet for the list page, the Excel export and the API."""

    q = django_filters.CharFilter(label=_("Search"), method=text_search(["name", "credit_code", "address",
                                                                        "legal_representative"]))
    jurisdiction = JurisdictionFilter(code_path="county__code")
    industry = django_filters.ModelChoiceFilter(
        label=_("Industry"), queryset=Industry.objects.filter(level="division"), method="filter_industry")
    key_class = django_filters.ChoiceFilter(label=_("Key industry class"), choices=KeyIndustry.choices)
    tier = django_filters.ChoiceFilter(label=_("Supervision tier"), choices=SupervisionTier.choices)
    scale = django_filters.ChoiceFilter(label=_("Scale"), choices=Scale.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=EnterpriseStatus.choices)
    licence_expiring = django_filters.ChoiceFilter(label=_("Licence expiring or expired"),
                                                   choices=[("yes", _("Yes")), ("no", _("No"))],
                                                   method="filter_licence_expiring")

    class Meta:
        model = Enterprise
        fields = []

    def filter_industry(self, queryset, name, value):
        return queryset.filter(industry_id=value.pk) if value else queryset

    def filter_licence_expiring(self, queryset, name, value):
        if not value:
            return queryset
        horizon = timezone.localdate() + timedelta(days=settings.LICENCE_EXPIRY_WARNING_DAYS)
        matching = queryset.filter(licences__expires_on__lte=horizon).values("pk")
        return queryset.filter(pk__in=matching) if value == "yes" else queryset.exclude(pk__in=matching)


class LicenceFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["number", "enterprise__name"]))
    jurisdiction = JurisdictionFilter(code_path="enterprise__county__code")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=LicenceKind.choices)
    expires_before = django_filters.DateFilter(label=_("Expires on or before"), field_name="expires_on",
                                               lookup_expr="lte", widget=DateInput())

    class Meta:
        model = Licence
        fields = []
