from datetime import timedelta

import django_filters
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from worksafe.core.filters import JurisdictionFilter, PresenceFilter, ScopedFilterSet, text_search
from worksafe.hazards.choices import HazardLevel, HazardSource, HazardStatus, ListingStatus
from worksafe.hazards.models import Hazard, Listing


class HazardFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["title", "code", "location",
                                                                        "enterprise__name"]))
    jurisdiction = JurisdictionFilter(code_path="enterprise__county__code")
    enterprise = django_filters.NumberFilter(label=_("enterprise"), field_name="enterprise_id")
    level = django_filters.ChoiceFilter(label=_("level"), choices=HazardLevel.choices)
    status = django_filters.ChoiceFilter(label=_("status"), choices=HazardStatus.choices)
    source = django_filters.ChoiceFilter(label=_("source"), choices=HazardSource.choices)
    deadline_state = django_filters.ChoiceFilter(
        label=_("deadline state"), method="filter_deadline",
        choices=[("overdue", _("Overdue")), ("due_soon", _("Due soon"))])
    listed = PresenceFilter(label=_("Listed for supervision"), field_name="listing")
    found_after = django_filters.DateFilter(label=_("Found on or after"), field_name="found_on", lookup_expr="gte")
    found_before = django_filters.DateFilter(label=_("Found on or before"), field_name="found_on", lookup_expr="lte")

    class Meta:
        model = Hazard
        fields = []

    def filter_deadline(self, queryset, name, value):
        today = timezone.localdate()
        open_ = queryset.exclude(status=HazardStatus.CLOSED).filter(deadline__isnull=False)
        if value == "overdue":
            return open_.filter(deadline__lt=today)
        if value == "due_soon":
            return open_.filter(deadline__gte=today,
                                deadline__lte=today + timedelta(days=settings.HAZARD_DUE_SOON_DAYS))
        return queryset


class ListingFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["notice_number", "hazard__title",
                                                                        "hazard__enterprise__name"]))
    jurisdiction = JurisdictionFilter(code_path="hazard__enterprise__county__code")
    status = django_filters.ChoiceFilter(label=_("status"), choices=ListingStatus.choices)
    overdue = django_filters.ChoiceFilter(label=_("Overdue"), method="filter_overdue",
                                          choices=[("yes", _("Yes"))])

    class Meta:
        model = Listing
        fields = []

    def filter_overdue(self, queryset, name, value):
        if value == "yes":
            return queryset.filter(status=ListingStatus.LISTED, deadline__lt=timezone.localdate())
        return queryset
