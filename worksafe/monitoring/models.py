"""Online monitoring (在线监测预警): gateways, points with thresholds, stored readings, alarms, data-quality
events, warning levels and the notification outbox.

Readings are stored per gateway message, small messages of one gateway sharing a row (`ReadingBatch`: the
readings packed as 13-byte records, see `codec.py`, and a 14-byte entry per message), in a table
range-partitioned by day on PostgreSQL. A redelivered message is recognised by its gateway's sequence
bookkeeping (`Gateway.max_seq` and `holes`, see `store.py`).
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from worksafe.core.scoping import Scope, ScopedManager
from worksafe.monitoring.choices import (
    AlarmStatus,
    Channel,
    Condition,
    EscalationLevel,
    PointKind,
    QualityKind,
    WarningColour,
)

_SCOPE = dict(jurisdiction="enterprise__county__code", organisation="enterprise__organisation_id",
              sector="enterprise__key_class")
code_validator = RegexValidator(r"^[A-Za-z0-9_.\-]+$", _("Use letters, digits, '-', '_' or '.' only."))


class Gateway(models.Model):
    """An enterprise's data gateway (数据采集网关): publishes to worksafe/v1/{credit_code}/{code}/data."""

    enterprise = models.ForeignKey("enterprises.Enterprise", models.PROTECT, related_name="gateways",
                                   verbose_name=_("enterprise"))
    code = models.CharField(_("gateway code"), max_length=40, validators=[code_validator])
    name = models.CharField(_("name"), max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, blank=True, editable=False)
    active = models.BooleanField(_("active"), default=True)
    # Sequence bookkeeping (updated by ingest in the same transaction as the readings).
    first_seq = models.BigIntegerField(_("first sequence number"), null=True, blank=True, editable=False)
    max_seq = models.BigIntegerField(_("highest sequence number"), null=True, blank=True, editable=False)
    received = models.BigIntegerField(_("messages stored"), default=0, editable=False)
    # Missing sequence numbers between first_seq and max_seq: [[first, last, epoch s when noticed], …]
    # ascending (store.track_sequence; at most store.MAX_HOLES ranges, the oldest forgotten first).
    holes = models.JSONField(default=list, editable=False)
    seq_forgotten = models.BigIntegerField(null=True, blank=True, editable=False)  # highest forgotten hole number
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Bumped by save() (a rename, a deactivation): running ingest workers reload their directory. Ingest's
    # own counter updates are raw SQL and leave it alone.
    updated_at = models.DateTimeField(auto_now=True)

    scope = Scope(**_SCOPE)
    objects = ScopedManager()

    class Meta:
        ordering = ["enterprise_id", "code"]
        verbose_name = _("gateway")
        verbose_name_plural = _("gateways")
        constraints = [models.UniqueConstraint(fields=["enterprise", "code"], name="mon_gateway_code")]

    def __str__(self) -> str:
        return self.name or self.code

    @property
    def missing(self) -> int:
        """Messages between the first and highest sequence number that never arrived."""
        from worksafe.monitoring import store

        return store.missing(self.holes)

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def issue_token(self) -> str:
        """A new HTTP ingest token (shown once); the old one stops working."""
        token = "wsg_" + secrets.token_urlsafe(32)
        self.token_hash = self.hash_token(token)
        type(self).objects.filter(pk=self.pk).update(token_hash=self.token_hash)
        return token


class Point(models.Model):
    """A monitoring point (监测点位) at a major hazard source, identified by its tag number (位号)."""

    enterprise = models.ForeignKey("enterprises.Enterprise", models.PROTECT, related_name="points",
                                   verbose_name=_("enterprise"))
    hazard = models.ForeignKey("majorhazards.MajorHazard", models.PROTECT, related_name="points",
                               verbose_name=_("major hazard source"))
    gateway = models.ForeignKey(Gateway, models.PROTECT, related_name="points", verbose_name=_("gateway"))
    code = models.CharField(_("tag number"), max_length=40, validators=[code_validator],
                            help_text=_("位号, as the gateway sends it, e.g. LT-1001."))
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=PointKind.choices)
    unit = models.CharField(_("unit of measure"), max_length=16, blank=True)
    range_low = models.FloatField(_("range low"), null=True, blank=True)
    range_high = models.FloatField(_("range high"), null=True, blank=True)
    low_low = models.FloatField(_("low-low"), null=True, blank=True)
    low = models.FloatField(_("low"), null=True, blank=True)
    high = models.FloatField(_("high"), null=True, blank=True)
    high_high = models.FloatField(_("high-high"), null=True, blank=True)
    deadband = models.FloatField(_("deadband"), default=0, validators=[MinValueValidator(0)],
                                 help_text=_("An alarm clears only when the value is back past the threshold by "
                                             "this much."))
    min_duration = models.PositiveIntegerField(
        _("minimum duration (s)"), default=0,
        help_text=_("A threshold must be exceeded this long before the alarm is raised."))
    sampling_period = models.PositiveIntegerField(_("sampling period (s)"), default=10,
                                                  validators=[MinValueValidator(1)])
    active = models.BooleanField(_("active"), default=True)
    # Alarm evaluation state (bitmasks over Condition, see rules.MASK), written with the alarms.
    alarm_mask = models.PositiveSmallIntegerField(default=0, editable=False)
    pending_mask = models.PositiveSmallIntegerField(default=0, editable=False)
    pending_since = models.JSONField(default=dict, blank=True, editable=False)  # {condition: epoch ms}
    state_ts = models.BigIntegerField(null=True, blank=True, editable=False)  # epoch ms of the last evaluated
    # Last value, refreshed by ingest at most every few seconds (see ingest.LastValues).
    last_value = models.FloatField(_("last value"), null=True, blank=True, editable=False)
    last_ts = models.DateTimeField(_("last reading at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    scope = Scope(**_SCOPE)
    objects = ScopedManager()

    class Meta:
        ordering = ["enterprise_id", "code"]
        verbose_name = _("monitoring point")
        verbose_name_plural = _("monitoring points")
        permissions = [("import_point", "Can import monitoring points"),
                       ("export_point", "Can export monitoring points")]
        constraints = [models.UniqueConstraint(fields=["enterprise", "code"], name="mon_point_code")]
        indexes = [models.Index(fields=["alarm_mask"], name="mon_point_abnormal",
                                condition=~models.Q(alarm_mask=0) | ~models.Q(pending_mask=0))]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self):
        from worksafe.monitoring import rules

        errors = rules.threshold_errors(self.range_low, self.low_low, self.low, self.high, self.high_high,
                                        self.range_high)
        if errors:
            raise ValidationError(errors)
        if self.hazard_id and self.enterprise_id and self.hazard.enterprise_id != self.enterprise_id:
            raise ValidationError({"hazard": _("The major hazard source belongs to another enterprise.")})
        if self.gateway_id and self.enterprise_id and self.gateway.enterprise_id != self.enterprise_id:
            raise ValidationError({"gateway": _("The gateway belongs to another enterprise.")})

    def thresholds(self) -> dict[str, float | None]:
        return {"LL": self.low_low, "L": self.low, "H": self.high, "HH": self.high_high}


class ReadingBatch(models.Model):
    """Stored gateway messages: one or more messages of one gateway from one micro-batch (store.coalesce).
    The table is created by migration 0002 and reshaped by 0006 (partitioned on PostgreSQL)."""

    pk = models.CompositePrimaryKey("gateway_id", "seq", "day")  # unique by construction; no index enforces it
    gateway_id = models.IntegerField()
    seq = models.BigIntegerField()  # the lowest sequence number of the row's messages
    day = models.DateField()  # partition key: UTC day of t0
    t0 = models.DateTimeField()  # earliest reading in the row; records are relative to it
    received_at = models.DateTimeField()
    n = models.SmallIntegerField()  # readings
    msgs = models.BinaryField()  # store.MSG per message: seq − row seq, readings, payload digest
    data = models.BinaryField()  # codec.RECORD × n, message after message

    class Meta:
        managed = False
        db_table = "monitoring_readingbatch"

    def __str__(self) -> str:
        return f"{self.gateway_id}#{self.seq}"


class Rollup(models.Model):
    """Per-point aggregates over 1-minute and 1-hour buckets for long trend charts."""

    point = models.ForeignKey(Point, models.CASCADE, related_name="+", db_constraint=False)
    width = models.PositiveIntegerField()  # seconds: 60 or 3600
    bucket = models.DateTimeField()
    n = models.IntegerField()
    vmin = models.FloatField()
    vmax = models.FloatField()
    vsum = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["point", "width", "bucket"], name="mon_rollup_key")]
        indexes = [models.Index(fields=["width", "bucket"], name="mon_rollup_age")]  # retention deletes

    def __str__(self) -> str:
        return f"{self.point_id}@{self.bucket:%Y-%m-%d %H:%M}/{self.width}s"


class DeadLetter(models.Model):
    """A message or readings that could not be stored, with the reason (nothing is silently dropped)."""

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    source = models.CharField(max_length=200)  # MQTT topic or "http:<gateway id>"
    gateway = models.ForeignKey(Gateway, models.SET_NULL, null=True, blank=True, related_name="+")
    enterprise = models.ForeignKey("enterprises.Enterprise", models.SET_NULL, null=True, blank=True, related_name="+")
    reason = models.CharField(max_length=40)
    detail = models.TextField(blank=True)
    payload = models.BinaryField()

    scope = Scope(**_SCOPE)
    objects = ScopedManager()

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("rejected message")
        verbose_name_plural = _("rejected messages")

    def __str__(self) -> str:
        return f"{self.reason} {self.received_at:%Y-%m-%d %H:%M:%S}"


class Alarm(models.Model):
    """One threshold crossing of one point (报警), from raise to clear and acknowledgement."""

    point = models.ForeignKey(Point, models.PROTECT, related_name="alarms", verbose_name=_("monitoring point"))
    enterprise = models.ForeignKey("enterprises.Enterprise", models.PROTECT, related_name="alarms",
                                   verbose_name=_("enterprise"))
    hazard = models.ForeignKey("majorhazards.MajorHazard", models.PROTECT, related_name="alarms",
                               verbose_name=_("major hazard source"))
    condition = models.CharField(_("condition"), max_length=2, choices=Condition.choices)
    level = models.PositiveSmallIntegerField(_("alarm level"), choices=[(1, _("Level 1")), (2, _("Level 2"))])
    status = models.CharField(_("status"), max_length=14, choices=AlarmStatus.choices,
                              default=AlarmStatus.ACTIVE_UNACK, db_index=True)
    threshold = models.FloatField(_("threshold"))
    raised_at = models.DateTimeField(_("raised at"))
    raised_ms = models.BigIntegerField(editable=False)  # epoch ms of the crossing reading: the dedupe key
    raise_value = models.FloatField(_("value at raise"))
    peak_value = models.FloatField(_("peak value"))
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                        related_name="+", verbose_name=_("acknowledged by"))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                                 related_name="assigned_alarms", verbose_name=_("assignee"))
    escalation = models.PositiveSmallIntegerField(_("escalated to"), choices=EscalationLevel.choices,
                                                  default=EscalationLevel.ENTERPRISE)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    late = models.BooleanField(_("raised from late data"), default=False,
                               help_text=_("The crossing arrived after newer readings (backfill or reorder)."))
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    scope = Scope(**_SCOPE)
    objects = ScopedManager()

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("alarm")
        verbose_name_plural = _("alarms")
        permissions = [("acknowledge_alarm", "Can acknowledge an alarm"),
                       ("acknowledge_cleared_alarm", "Can acknowledge a cleared alarm"),
                       ("assign_alarm", "Can assign an alarm"),
                       ("comment_alarm", "Can comment on an alarm"),
                       ("export_alarm", "Can export alarms")]
        constraints = [models.UniqueConstraint(fields=["point", "condition", "raised_ms"], name="mon_alarm_once")]
        indexes = [models.Index(fields=["enterprise", "status"], name="mon_alarm_ent_status")]

    def __str__(self) -> str:
        return f"{self.point.code} {self.get_condition_display()} {self.raised_at:%Y-%m-%d %H:%M:%S}"


class QualityEvent(models.Model):
    """A data-quality event (数据中断, sequence gap, flatline …), open until it ends."""

    enterprise = models.ForeignKey("enterprises.Enterprise", models.PROTECT, related_name="quality_events",
                                   verbose_name=_("enterprise"))
    gateway = models.ForeignKey(Gateway, models.CASCADE, related_name="quality_events", null=True, blank=True,
                                verbose_name=_("gateway"))
    point = models.ForeignKey(Point, models.CASCADE, related_name="quality_events", null=True, blank=True,
                              verbose_name=_("monitoring point"))
    kind = models.CharField(_("kind"), max_length=14, choices=QualityKind.choices)
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)  # latest occurrence while open
    is_open = models.BooleanField(_("open"), default=True)
    count = models.PositiveIntegerField(_("count"), default=1)  # readings or messages concerned
    backfilled = models.PositiveIntegerField(_("backfilled"), default=0)
    detail = models.JSONField(_("details"), default=dict, blank=True)

    scope = Scope(**_SCOPE)
    objects = ScopedManager()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("data-quality event")
        verbose_name_plural = _("data-quality events")
        constraints = [
            # At most one open event of a kind per point, and per gateway for gateway-wide events.
            models.UniqueConstraint(fields=["point", "kind"], condition=models.Q(is_open=True, point__isnull=False),
                                    name="mon_quality_open_point"),
            models.UniqueConstraint(fields=["gateway", "kind"], condition=models.Q(is_open=True, point__isnull=True),
                                    name="mon_quality_open_gateway"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        end = self.ended_at or timezone.now()
        return end - self.started_at


class EnterpriseWarning(models.Model):
    """The enterprise's current dynamic warning colour and why (recomputed by `worksafe tick`)."""

    enterprise = models.OneToOneField("enterprises.Enterprise", models.CASCADE, related_name="warning",
                                      verbose_name=_("enterprise"))
    colour = models.CharField(_("warning level"), max_length=8, choices=WarningColour.choices,
                              default=WarningColour.NONE)
    score = models.FloatField(_("score"), default=0)
    inputs = models.JSONField(_("inputs"), default=dict)
    reasons = models.JSONField(_("reasons"), default=list)
    since = models.DateTimeField(_("since"), default=timezone.now)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    scope = Scope(**_SCOPE)
    objects = ScopedManager()

    class Meta:
        verbose_name = _("enterprise warning level")
        verbose_name_plural = _("enterprise warning levels")

    def __str__(self) -> str:
        return f"{self.enterprise_id}: {self.colour}"


class Notification(models.Model):
    """Outbox (发件箱): one row per recipient and channel; written with the event, sent by the dispatcher."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="notifications")
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.IN_APP)
    key = models.CharField(max_length=80)  # e.g. "alarm:42:raise" — the same event is never queued twice
    alarm = models.ForeignKey(Alarm, models.CASCADE, null=True, blank=True, related_name="notifications")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["recipient", "channel", "key"], name="mon_notify_once")]
        indexes = [models.Index(fields=["sent_at"], name="mon_notify_pending", condition=models.Q(sent_at=None))]

    def __str__(self) -> str:
        return self.title


class Watermark(models.Model):
    """How far a periodic step of `worksafe tick` has got (e.g. the rollups: raw rows received up to `value`)."""

    name = models.CharField(max_length=40, primary_key=True)
    value = models.DateTimeField()
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name}: {self.value:%Y-%m-%d %H:%M:%S}"
