"""Hazard statuses, levels, sources and the closed-loop transition table (STYLE §5)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class HazardStatus(models.TextChoices):
    REPORTED = "reported", _("Reported")  # found and registered; nobody named to fix it yet
    RECTIFYING = "rectifying", _("Rectifying")  # responsible person, measures, funds and deadline set
    AWAITING_VERIFICATION = "awaiting_verification", _("Awaiting verification")  # fix reported done
    CLOSED = "closed", pgettext_lazy("hazard status", "Closed")  # verified and 销号 by someone other than the rectifier


class HazardLevel(models.TextChoices):
    GENERAL = "general", _("General")  # 一般事故隐患: low harm, fixed at once (16号令 Art. 3)
    MAJOR = "major", _("Major")  # 重大事故隐患: needs a stop and a treatment period, or outside help


class HazardSource(models.TextChoices):
    SELF_CHECK = "self_check", _("Self-check")  # 企业自查
    INSPECTION = "inspection", _("Regulator inspection")  # 监管检查
    TIPOFF = "tipoff", _("Tip-off")  # 举报 (12350)
    OTHER = "other", _("Other")


# action: (allowed from-states, to-state); permission is "hazards.<action>_hazard"
TRANSITIONS = {
    "assign": ({HazardStatus.REPORTED}, HazardStatus.RECTIFYING),
    "rectify": ({HazardStatus.RECTIFYING}, HazardStatus.AWAITING_VERIFICATION),
    "reject": ({HazardStatus.AWAITING_VERIFICATION}, HazardStatus.RECTIFYING),
    "verify": ({HazardStatus.AWAITING_VERIFICATION}, HazardStatus.CLOSED),
}


class ListingStatus(models.TextChoices):
    LISTED = "listed", _("Listed")  # 挂牌督办: under government supervision
    LIFTED = "lifted", _("Lifted")  # 摘牌: verified on site by the listing authority


# Timeline labels of every step, including those that do not change the status.
STEP_LABELS = {
    "report": _("Reported"),
    "assign": _("Rectification assigned"),
    "rectify": _("Reported rectified"),
    "reject": _("Sent back for rectification"),
    "verify": _("Verified and closed"),
    "list": _("Listed for supervision"),
}
