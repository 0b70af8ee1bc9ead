import datetime

from django import template
from django.db.models import Count, Q
from django.utils import timezone

from worksafe.checks.choices import TaskStatus
from worksafe.checks.models import CheckTask

register = template.Library()

RECENTLY_MISSED_DAYS = 7  # the phone list also offers tasks missed this past week, to be done late


@register.simple_tag
def my_open_tasks(user) -> list:
    """The user's open tasks of the current periods (and recently missed ones), for the phone cards.

    Empty for users who do no checks (regulators); through visible_to like every list.
    """
    if not (user.has_perm("checks.add_checkrecord") and user.is_enterprise_user):
        return []
    today = timezone.localdate()
    return list(CheckTask.objects.visible_to(user)
                .filter(status=TaskStatus.OPEN, period_start__lte=today,
                        due_on__gte=today - datetime.timedelta(days=RECENTLY_MISSED_DAYS))
                .filter(Q(assignee=user) | Q(assignee__isnull=True))
                .select_related("plan", "plan__checklist").annotate(item_count=Count("plan__checklist__items"))
                .order_by("due_on", "plan__name", "id")[:30])


@register.simple_tag
def flag_badge_class(kind: str) -> str:
    return {"duration": "bg-red-lt", "photo_reuse": "bg-orange-lt", "copied_text": "bg-yellow-lt",
            "far_away": "bg-purple-lt"}.get(kind, "bg-secondary-lt")
