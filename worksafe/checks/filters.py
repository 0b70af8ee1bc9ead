import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from worksafe.checks.choices import TASK_STATES, FlagKind, Frequency, Outcome, TaskStatus
from worksafe.checks.models import (
    Checklist,
    ChecklistItem,
    CheckPlan,
    CheckRecord,
    CheckResult,
    CheckTask,
    FormalismFlag,
)
from worksafe.core.choices import KeyIndustry
from worksafe.core.filters import YES_NO, JurisdictionFilter, PresenceFilter, ScopedFilterSet, text_search


class ChecklistFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["name", "basis", "enterprise__name"]))
    key_class = django_filters.ChoiceFilter(label=_("key industry class"), choices=KeyIndustry.choices)
    builtin = PresenceFilter(label=_("Built-in"), field_name="enterprise", present_means_yes=False)
    enterprise = django_filters.NumberFilter(label=_("enterprise"), field_name="enterprise_id")

    class Meta:
        model = Checklist
        fields = []


class ChecklistItemFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["text", "basis", "checklist__name"]))
    checklist = django_filters.NumberFilter(label=_("checklist"), field_name="checklist_id")
    is_major_criterion = django_filters.BooleanFilter(label=_("major hazard criterion"))

    class Meta:
        model = ChecklistItem
        fields = []


class CheckPlanFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["name", "post", "place",
                                                                        "enterprise__name"]))
    jurisdiction = JurisdictionFilter(code_path="enterprise__county__code")
    frequency = django_filters.ChoiceFilter(label=_("frequency"), choices=Frequency.choices)
    is_active = django_filters.BooleanFilter(label=_("active"))
    enterprise = django_filters.NumberFilter(label=_("enterprise"), field_name="enterprise_id")

    class Meta:
        model = CheckPlan
        fields = []


class CheckTaskFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["plan__name", "plan__post",
                                                                        "plan__enterprise__name"]))
    jurisdiction = JurisdictionFilter(code_path="plan__enterprise__county__code")
    state = django_filters.ChoiceFilter(label=_("state"), choices=list(TASK_STATES.items()), method="filter_state")
    mine = django_filters.ChoiceFilter(label=_("Mine"), choices=[("yes", _("Yes"))], method="filter_mine")
    due_after = django_filters.DateFilter(label=_("Due on or after"), field_name="due_on", lookup_expr="gte")
    due_before = django_filters.DateFilter(label=_("Due on or before"), field_name="due_on", lookup_expr="lte")
    plan = django_filters.NumberFilter(label=_("check plan"), field_name="plan_id")
    enterprise = django_filters.NumberFilter(label=_("enterprise"), field_name="plan__enterprise_id")

    class Meta:
        model = CheckTask
        fields = []

    def filter_state(self, queryset, name, value):
        today = timezone.localdate()
        if value == "done":
            return queryset.filter(status=TaskStatus.DONE)
        if value == "open":
            return queryset.filter(status=TaskStatus.OPEN, due_on__gte=today)
        if value == "missed":
            return queryset.filter(status=TaskStatus.OPEN, due_on__lt=today)
        return queryset

    def filter_mine(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if value == "yes" and user is not None:
            return queryset.filter(Q(assignee=user) | Q(assignee__isnull=True,
                                                        plan__enterprise__organisation__users=user))
        return queryset


class CheckRecordFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["checklist__name", "place", "notes",
                                                                        "enterprise__name"]))
    jurisdiction = JurisdictionFilter(code_path="enterprise__county__code")
    flagged = django_filters.ChoiceFilter(label=_("Flagged"), choices=YES_NO, method="filter_flagged")
    failed = django_filters.ChoiceFilter(label=_("With failed items"), choices=YES_NO, method="filter_failed")
    after = django_filters.DateFilter(label=_("Checked on or after"), field_name="finished_at__date",
                                      lookup_expr="gte")
    before = django_filters.DateFilter(label=_("Checked on or before"), field_name="finished_at__date",
                                       lookup_expr="lte")
    enterprise = django_filters.NumberFilter(label=_("enterprise"), field_name="enterprise_id")
    checklist = django_filters.NumberFilter(label=_("checklist"), field_name="checklist_id")

    class Meta:
        model = CheckRecord
        fields = []

    def filter_flagged(self, queryset, name, value):
        return _count_filter(queryset, "flag_count", value)

    def filter_failed(self, queryset, name, value):
        return _count_filter(queryset, "failed_count", value)


def _count_filter(queryset, field, value):
    if value == "yes":
        return queryset.filter(**{f"{field}__gt": 0})
    if value == "no":
        return queryset.filter(**{field: 0})
    return queryset


class CheckResultFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["item__text", "note",
                                                                        "record__enterprise__name"]))
    jurisdiction = JurisdictionFilter(code_path="record__enterprise__county__code")
    outcome = django_filters.ChoiceFilter(label=_("outcome"), choices=Outcome.choices)
    hazard = PresenceFilter(label=_("Became a hazard"), field_name="hazard")
    record = django_filters.NumberFilter(label=_("check record"), field_name="record_id")

    class Meta:
        model = CheckResult
        fields = []


class FormalismFlagFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method=text_search(["record__enterprise__name",
                                                                        "record__checklist__name"]))
    jurisdiction = JurisdictionFilter(code_path="record__enterprise__county__code")
    kind = django_filters.ChoiceFilter(label=_("kind"), choices=FlagKind.choices)
    after = django_filters.DateFilter(label=_("Checked on or after"), field_name="record__finished_at__date",
                                      lookup_expr="gte")
    before = django_filters.DateFilter(label=_("Checked on or before"), field_name="record__finished_at__date",
                                       lookup_expr="lte")
    enterprise = django_filters.NumberFilter(label=_("enterprise"), field_name="record__enterprise_id")
    record = django_filters.NumberFilter(label=_("check record"), field_name="record_id")

    class Meta:
        model = FormalismFlag
        fields = []
