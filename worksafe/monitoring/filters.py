"""One FilterSet per monitoring list: the page, its Excel export and the API share it."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from worksafe.core.filters import YES_NO, JurisdictionFilter, ScopedFilterSet, text_search
from worksafe.monitoring.choices import OPEN_STATUSES, AlarmStatus, Condition, PointKind, QualityKind
from worksafe.monitoring.models import Alarm, DeadLetter, Gateway, Point, QualityEvent

LEVELS = [(1, _("Level 1")), (2, _("Level 2"))]


def _yes_no(field: str):
    """A yes/no filter on a boolean field (blank: both)."""

    def method(queryset, name, value):
        if value in ("yes", "no"):
            return queryset.filter(**{field: value == "yes"})
        return queryset

    return method


class GatewayFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["code", "name", "enterprise__name",
                                                                        "enterprise__credit_code"]))
    jurisdiction = JurisdictionFilter(code_path="enterprise__county__code")
    enterprise = django_filters.NumberFilter(label=_("enterprise"), field_name="enterprise_id")
    active = django_filters.ChoiceFilter(label=_("active"), choices=YES_NO, method=_yes_no("active"))

    class Meta:
        model = Gateway
        fields = []


class PointFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["code", "name", "enterprise__name",
                                                                        "hazard__name"]))
    jurisdiction = JurisdictionFilter(code_path="enterprise__county__code")
    enterprise = django_filters.NumberFilter(label=_("enterprise"), field_name="enterprise_id")
    hazard = django_filters.NumberFilter(label=_("major hazard source"), field_name="hazard_id")
    gateway = django_filters.NumberFilter(label=_("gateway"), field_name="gateway_id")
    kind = django_filters.ChoiceFilter(label=_("kind"), choices=PointKind.choices)
    active = django_filters.ChoiceFilter(label=_("active"), choices=YES_NO, method=_yes_no("active"))
    in_alarm = django_filters.ChoiceFilter(label=_("In alarm"), choices=YES_NO, method="filter_in_alarm")

    class Meta:
        model = Point
        fields = []

    def filter_in_alarm(self, queryset, name, value):
        # served by the partial index mon_point_abnormal (alarm_mask <> 0 OR pending_mask <> 0)
        if value == "yes":
            return queryset.exclude(alarm_mask=0)
        if value == "no":
            return queryset.filter(alarm_mask=0)
        return queryset


class AlarmFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["point__code", "point__name",
                                                                        "enterprise__name", "hazard__name"]))
    jurisdiction = JurisdictionFilter(code_path="enterprise__county__code")
    status = django_filters.ChoiceFilter(label=_("status"), method="filter_status",
                                         choices=[("open", _("Open (not closed)")), *AlarmStatus.choices])
    level = django_filters.ChoiceFilter(label=_("alarm level"), choices=LEVELS)
    condition = django_filters.ChoiceFilter(label=_("condition"), choices=Condition.choices)
    enterprise = django_filters.NumberFilter(label=_("enterprise"), field_name="enterprise_id")
    hazard = django_filters.NumberFilter(label=_("major hazard source"), field_name="hazard_id")
    point = django_filters.NumberFilter(label=_("monitoring point"), field_name="point_id")
    raised_after = django_filters.DateFilter(label=_("Raised on or after"), field_name="raised_at",
                                             lookup_expr="date__gte")
    raised_before = django_filters.DateFilter(label=_("Raised on or before"), field_name="raised_at",
                                              lookup_expr="date__lte")

    class Meta:
        model = Alarm
        fields = []

    def filter_status(self, queryset, name, value):
        if value == "open":
            return queryset.filter(status__in=OPEN_STATUSES)
        return queryset.filter(status=value) if value else queryset


class QualityEventFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["enterprise__name", "gateway__code",
                                                                        "point__code", "point__name"]))
    jurisdiction = JurisdictionFilter(code_path="enterprise__county__code")
    kind = django_filters.ChoiceFilter(label=_("kind"), choices=QualityKind.choices)
    is_open = django_filters.ChoiceFilter(label=_("open"), choices=YES_NO, method=_yes_no("is_open"))
    enterprise = django_filters.NumberFilter(label=_("enterprise"), field_name="enterprise_id")
    gateway = django_filters.NumberFilter(label=_("gateway"), field_name="gateway_id")
    point = django_filters.NumberFilter(label=_("monitoring point"), field_name="point_id")
    started_after = django_filters.DateFilter(label=_("Started on or after"), field_name="started_at",
                                              lookup_expr="date__gte")
    started_before = django_filters.DateFilter(label=_("Started on or before"), field_name="started_at",
                                               lookup_expr="date__lte")

    class Meta:
        model = QualityEvent
        fields = []


class DeadLetterFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="filter_text")
    jurisdiction = JurisdictionFilter(code_path="enterprise__county__code")
    reason = django_filters.CharFilter(label=_("reason"), field_name="reason")
    enterprise = django_filters.NumberFilter(label=_("enterprise"), field_name="enterprise_id")
    gateway = django_filters.NumberFilter(label=_("gateway"), field_name="gateway_id")
    received_after = django_filters.DateFilter(label=_("Received on or after"), field_name="received_at",
                                               lookup_expr="date__gte")
    received_before = django_filters.DateFilter(label=_("Received on or before"), field_name="received_at",
                                                lookup_expr="date__lte")

    class Meta:
        model = DeadLetter
        fields = []

    def filter_text(self, queryset, name, value):
        value = (value or "").strip()
        if not value:
            return queryset
        return queryset.filter(Q(source__icontains=value) | Q(reason__icontains=value) | Q(detail__icontains=value)
                               | Q(enterprise__name__icontains=value))
