"""Check frequencies, task states, item outcomes and formalism flag kinds (STYLE §2)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from worksafe.checks import rules


class Frequency(models.TextChoices):
    DAILY = rules.DAILY, _("Daily")  # one check per day, due the same day
    WEEKLY = rules.WEEKLY, _("Weekly")  # one per ISO week (Monday–Sunday), due on Sunday
    MONTHLY = rules.MONTHLY, _("Monthly")  # one per calendar month, due on its last day


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")  # not done yet; shown as missed once its due date has passed (derived)
    DONE = "done", _("Done")  # a check record was handed in for it


# Displayed task states: the stored status plus "missed", derived at read time (rules.task_state).
TASK_STATES = {"open": _("Open"), "done": _("Done"), "missed": _("Missed")}


class Outcome(models.TextChoices):
    PASS = "pass", _("Pass")  # checked, in order
    FAIL = "fail", _("Fail")  # checked, something is wrong: may become a hazard
    NA = "na", _("Not applicable")  # the item does not apply here (e.g. no tank farm)


class FlagKind(models.TextChoices):
    DURATION = "duration", _("Impossible duration")  # faster than anyone can check, or ends before it starts
    PHOTO_REUSE = "photo_reuse", _("Reused photo")  # the same picture as in another check or another item
    COPIED_TEXT = "copied_text", _("Copy-pasted text")  # the same note on many items or as an earlier check
    FAR_AWAY = "far_away", _("Far from the enterprise")  # the phone was far from the enterprise's location
