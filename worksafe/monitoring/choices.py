"""Point kinds, alarm conditions and the alarm lifecycle table (STYLE §5)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PointKind(models.TextChoices):
    LEVEL = "level", pgettext_lazy("point kind", "Level")  # 液位
    TEMPERATURE = "temperature", _("Temperature")  # 温度
    PRESSURE = "pressure", _("Pressure")  # 压力
    FLAMMABLE_GAS = "flammable_gas", _("Combustible gas (%LEL)")  # 可燃气体
    TOXIC_GAS = "toxic_gas", _("Toxic gas (ppm)")  # 有毒气体
    FLOW = "flow", _("Flow")  # 流量
    VALVE = "valve", _("Valve position / switch")  # 阀位/开关量
    VIDEO = "video", _("Video online")  # 视频在线
    OXYGEN = "oxygen", _("Oxygen (%VOL)")  # 氧含量
    OTHER = "other", pgettext_lazy("point kind", "Other")


class Condition(models.TextChoices):
    """The four threshold conditions (ISA-18.2 style: each threshold raises its own alarm)."""

    HIGH = "H", _("High")  # 高报
    HIGH_HIGH = "HH", _("High-high")  # 高高报
    LOW = "L", _("Low")  # 低报
    LOW_LOW = "LL", _("Low-low")  # 低低报


class AlarmStatus(models.TextChoices):
    ACTIVE_UNACK = "active_unack", _("Active, unacknowledged")
    ACTIVE_ACK = "active_ack", _("Active, acknowledged")
    CLEARED_UNACK = "cleared_unack", _("Cleared, unacknowledged")  # returned to normal before anyone looked
    CLOSED = "closed", pgettext_lazy("alarm status", "Closed")  # cleared and acknowledged


OPEN_STATUSES = (AlarmStatus.ACTIVE_UNACK, AlarmStatus.ACTIVE_ACK, AlarmStatus.CLEARED_UNACK)
ACTIVE_STATUSES = (AlarmStatus.ACTIVE_UNACK, AlarmStatus.ACTIVE_ACK)

# Human steps: action: (allowed from-states, to-state); permission "monitoring.<action>_alarm".
# The system's own steps (raise, clear, escalate) are written by the ingest and tick paths.
TRANSITIONS = {
    "acknowledge": ({AlarmStatus.ACTIVE_UNACK}, AlarmStatus.ACTIVE_ACK),
    "acknowledge_cleared": ({AlarmStatus.CLEARED_UNACK}, AlarmStatus.CLOSED),
}
# What clearing does to each open status.
CLEARED = {AlarmStatus.ACTIVE_UNACK: AlarmStatus.CLEARED_UNACK, AlarmStatus.ACTIVE_ACK: AlarmStatus.CLOSED}


class EscalationLevel(models.IntegerChoices):
    """Who has been told about an unacknowledged alarm (enterprise → county → city → province)."""

    ENTERPRISE = 0, _("Enterprise")
    COUNTY = 1, _("County")
    CITY = 2, _("City")
    PROVINCE = 3, _("Province")


class QualityKind(models.TextChoices):
    INTERRUPTION = "interruption", _("Data interruption")  # 数据中断
    SEQUENCE_GAP = "sequence_gap", _("Sequence gap")  # messages missing from a gateway
    FLATLINE = "flatline", _("Flatline")  # value frozen
    OUT_OF_RANGE = "out_of_range", _("Out of range")  # outside the instrument range: a sensor fault
    CLOCK_DRIFT = "clock_drift", _("Clock drift")  # gateway clock ahead of ours
    BAD_QUALITY = "bad_quality", _("Bad quality flag")  # the gateway marked readings bad


class WarningColour(models.TextChoices):
    """Dynamic monitoring warning (重大/较大/一般/低 风险预警), kept apart from static risk grades."""

    NONE = "none", _("No warning")
    BLUE = "blue", _("Blue")
    YELLOW = "yellow", _("Yellow")
    ORANGE = "orange", _("Orange")
    RED = "red", _("Red")


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In-app")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")


class Quality(models.IntegerChoices):
    """Reading quality as gateways send it (OPC-style good/uncertain/bad)."""

    GOOD = 0, _("Good")
    UNCERTAIN = 1, _("Uncertain")
    BAD = 2, _("Bad")
