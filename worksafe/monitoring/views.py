"""Monitoring pages: gateways, points (with Excel import), alarms and their lifecycle, data-quality events and
rejected messages. The live board and the quality/warning pages live in board.py and quality_views.py.

The alarm steps (acknowledge, assign, comment) are plain functions below, shared with api.py: each is one
transaction holding the state change (core.workflow.transition, compare-and-set), its timeline row, the audit
entry and the live event.
"""

from __future__ import annotations

import datetime
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, CharField, F, IntegerField, Q, Value, When
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from worksafe.core import audit
from worksafe.core.generic import (
    ScopedDeleteView,
    ScopedDetailView,
    ScopedEditView,
    ScopedImportView,
    ScopedListView,
)
from worksafe.core.models import AuditEntry, TransitionLog, User
from worksafe.core.scoping import get_visible_or_404
from worksafe.core.workflow import InvalidTransition, allowed_actions, transition
from worksafe.monitoring import codec, live, rules
from worksafe.monitoring.choices import (
    ACTIVE_STATUSES,
    TRANSITIONS,
    AlarmStatus,
    EscalationLevel,
    QualityKind,
)
from worksafe.monitoring.filters import (
    AlarmFilterSet,
    DeadLetterFilterSet,
    GatewayFilterSet,
    PointFilterSet,
    QualityEventFilterSet,
)
from worksafe.monitoring.forms import AcknowledgeForm, AssignForm, CommentForm, GatewayForm, PointForm
from worksafe.monitoring.importer import PointImporter
from worksafe.monitoring.models import Alarm, DeadLetter, Gateway, Point, QualityEvent, ReadingBatch

UTC = datetime.UTC
READINGS_WINDOW = timedelta(minutes=10)  # the alarm page shows the readings ±10 min around the crossing
READINGS_MAX_BATCHES = 3000  # bound on stored messages read for one alarm page
READINGS_MAX_POINTS = 1500  # plotted points after thinning

# Timeline labels, including the system's own steps (raise, clear, escalate) and the non-state steps.
STEP_LABELS = {
    "raise": gettext_lazy("Raised"),
    "clear": gettext_lazy("Back to normal"),
    "escalate": gettext_lazy("Escalated"),
    "acknowledge": gettext_lazy("Acknowledged"),
    "acknowledge_cleared": gettext_lazy("Acknowledged after it cleared (closed)"),
    "assign": gettext_lazy("Assigned"),
    "comment": gettext_lazy("Comment"),
}


# --- point state --------------------------------------------------------------------------------------

def online_q(now: datetime.datetime | None = None, prefix: str = "") -> Q:
    """Points (at `prefix`, e.g. "points__") that are active and reported within their offline window
    (rules.offline_after: N sampling periods, at least the floor). One small query for the distinct long
    sampling periods; every short period shares the floor."""
    now = now or timezone.now()
    periods, floor = settings.MONITORING_OFFLINE_PERIODS, settings.MONITORING_OFFLINE_FLOOR_S
    short = max(1, floor // max(periods, 1))  # sampling_period ≤ short → periods × sp ≤ floor → the floor applies
    q = Q(**{f"{prefix}sampling_period__lte": short,
             f"{prefix}last_ts__gte": now - timedelta(seconds=rules.offline_after(short, periods, floor))})
    long_periods = (Point.objects.filter(sampling_period__gt=short).values_list("sampling_period", flat=True)
                    .distinct().order_by("sampling_period"))
    for sp in long_periods:
        q |= Q(**{f"{prefix}sampling_period": sp,
                  f"{prefix}last_ts__gte": now - timedelta(seconds=rules.offline_after(sp, periods, floor))})
    return Q(**{f"{prefix}active": True}) & q


SECOND_LEVEL_MASK = rules.MASK[rules.HH] | rules.MASK[rules.LL]
STATES = {  # point state code → label, in order of precedence (the live board's codes and words, + disabled)
    "disabled": gettext_lazy("Disabled"),
    "alarm2": gettext_lazy("Level-2 alarm active"),
    "alarm1": gettext_lazy("Level-1 alarm active"),
    "nodata": gettext_lazy("No data yet"),
    "normal": gettext_lazy("Normal"),
    "stale": gettext_lazy("No recent data"),
}


def with_state(qs):
    """Annotate `state_code` and `state` (its translated label), so the page, the export and the detail share
    one rule: disabled, in a level-2 / level-1 alarm, no data yet, normal, or stale (nothing within
    rules.offline_after) — the same codes as the live board's point_state."""
    conditions = [
        ("disabled", Q(active=False)),
        ("alarm2", Q(alarm_mask__gt=0) & ~Q(second_level=0)),
        ("alarm1", Q(alarm_mask__gt=0)),
        ("nodata", Q(last_ts__isnull=True)),
        ("normal", online_q()),
    ]
    qs = qs.annotate(second_level=F("alarm_mask").bitand(SECOND_LEVEL_MASK))
    return qs.annotate(
        state_code=Case(*[When(q, then=Value(code)) for code, q in conditions], default=Value("stale"),
                        output_field=CharField()),
        state=Case(*[When(q, then=Value(str(STATES[code]))) for code, q in conditions],
                   default=Value(str(STATES["stale"])), output_field=CharField()))


# --- gateways -----------------------------------------------------------------------------------------

GATEWAY_COLUMNS = ["code", "name", "enterprise__name", "enterprise__county__name", "active", "last_seen_at",
                   "max_seq", "received", ("missing", gettext_lazy("messages missing"))]


class GatewayListView(ScopedListView):
    model = Gateway
    filterset_class = GatewayFilterSet
    columns = GATEWAY_COLUMNS
    export_columns = [*GATEWAY_COLUMNS, "first_seq", "enterprise__credit_code"]
    select_related = ["enterprise", "enterprise__county"]


class GatewayDetailView(ScopedDetailView):
    model = Gateway
    template_name = "monitoring/gateway_detail.html"
    fields = ["enterprise", "code", "name", "last_seen_at", "first_seq"]

    def get_context(self, obj):
        user = self.request.user
        points = with_state(Point.objects.visible_to(user).filter(gateway=obj)).select_related("hazard")
        return {
            "topic": mqtt_topic(obj),
            "points": points[:100],
            "point_count": points.count(),
            "open_events": QualityEvent.objects.visible_to(user).filter(gateway=obj, is_open=True)
            .select_related("point")[:20],
            "can_issue_token": user.has_perm("monitoring.change_gateway"),
        }


def mqtt_topic(gateway: Gateway) -> str:
    return f"worksafe/v1/{gateway.enterprise.credit_code}/{gateway.code}/data"


class GatewayEditView(ScopedEditView):
    model = Gateway
    form_class = GatewayForm


class GatewayDeleteView(ScopedDeleteView):
    model = Gateway


class IssueTokenView(LoginRequiredMixin, View):
    """POST: a new HTTP ingest token for the gateway, shown once on the answer page (never stored in clear)."""

    def post(self, request, pk):
        gateway = get_visible_or_404(Gateway, request.user, pk, "change")
        with transaction.atomic():
            token = gateway.issue_token()
            audit.record(AuditEntry.Action.SECURITY, gateway, detail="ingest token issued; the previous one no "
                                                                       "longer works")
        response = render(request, "monitoring/gateway_token.html",
                          {"object": gateway, "token": token, "topic": mqtt_topic(gateway)})
        response["Cache-Control"] = "no-store"
        return response


# --- points -------------------------------------------------------------------------------------------

POINT_COLUMNS = ["code", "name", "enterprise__name", "hazard__name", ("state", gettext_lazy("state")), "last_value",
                 "unit", "last_ts", "low_low", "low", "high", "high_high"]


class PointListView(ScopedListView):
    model = Point
    filterset_class = PointFilterSet
    columns = POINT_COLUMNS
    export_columns = ["code", "name", "enterprise__name", "enterprise__credit_code", "hazard__code", "hazard__name",
                      "kind", "unit", "range_low", "range_high", "low_low", "low", "high", "high_high", "deadband",
                      "min_duration", "sampling_period", "gateway__code", "active", "last_value", "last_ts",
                      ("state", gettext_lazy("state"))]
    select_related = ["enterprise", "hazard", "gateway"]

    def get_queryset(self):
        return with_state(super().get_queryset())


class PointDetailView(ScopedDetailView):
    model = Point
    template_name = "monitoring/point_detail.html"
    fields = ["enterprise", "hazard", "gateway", "code", "name", "kind", "unit", "sampling_period"]

    def get_object(self):
        return get_visible_or_404(Point, self.request.user, self.kwargs["pk"], "view",
                                  queryset=with_state(Point.objects.select_related("enterprise", "hazard",
                                                                                   "gateway")))

    def get_context(self, obj):
        user = self.request.user
        return {
            "thresholds": [(_("low-low"), obj.low_low, "LL"), (_("low"), obj.low, "L"), (_("high"), obj.high, "H"),
                           (_("high-high"), obj.high_high, "HH")],
            "alarms": Alarm.objects.visible_to(user).filter(point=obj).select_related("assignee")[:10],
            "open_events": QualityEvent.objects.visible_to(user).filter(
                Q(point=obj) | Q(gateway_id=obj.gateway_id, point__isnull=True), is_open=True)[:10],
            "trend_template": _optional_template("monitoring/board_trend.html"),
            "offline_after": rules.offline_after(obj.sampling_period, settings.MONITORING_OFFLINE_PERIODS,
                                                 settings.MONITORING_OFFLINE_FLOOR_S),
        }


def _optional_template(name: str) -> str | None:
    """The template's name if it exists (a slot another module fills), else None."""
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return None
    return name


class PointEditView(ScopedEditView):
    """Add or edit a point; a threshold change is audited with the values before and after (the generic edit
    path snapshots every field)."""

    model = Point
    form_class = PointForm


class PointDeleteView(ScopedDeleteView):
    model = Point


class PointImportView(ScopedImportView):
    model = Point
    importer_class = PointImporter


# --- alarms -------------------------------------------------------------------------------------------

ALARM_COLUMNS = ["point__code", "point__name", "enterprise__name", "enterprise__county__name", "level", "condition",
                 "status", "peak_value", "point__unit", "raised_at", "escalation", "assignee"]


class AlarmListView(ScopedListView):
    """Open alarms first (active before cleared-unacknowledged), newest first within each."""

    model = Alarm
    filterset_class = AlarmFilterSet
    columns = ALARM_COLUMNS
    export_columns = ["enterprise__name", "enterprise__credit_code", "enterprise__county__name", "hazard__name",
                      "point__code", "point__name", "level", "condition", "status", "threshold", "raise_value",
                      "peak_value", "point__unit", "raised_at", "cleared_at", "acknowledged_at", "acknowledged_by",
                      "assignee", "escalation", "escalated_at", "late"]
    select_related = ["point", "enterprise", "enterprise__county", "hazard", "assignee", "acknowledged_by"]

    def get_queryset(self):
        rank = Case(When(status__in=ACTIVE_STATUSES, then=Value(0)),
                    When(status=AlarmStatus.CLEARED_UNACK, then=Value(1)), default=Value(2),
                    output_field=IntegerField())
        return super().get_queryset().annotate(open_rank=rank).order_by("open_rank", "-raised_at", "-id")


class AlarmDetailView(ScopedDetailView):
    model = Alarm
    template_name = "monitoring/alarm_detail.html"
    fields = ["enterprise", "hazard", "point", "condition", "level", "status", "threshold", "raise_value",
              "peak_value", "raised_at", "cleared_at", "acknowledged_at", "acknowledged_by", "assignee", "escalation",
              "escalated_at"]

    def get_object(self):
        return get_visible_or_404(Alarm, self.request.user, self.kwargs["pk"], "view",
                                  queryset=Alarm.objects.select_related("point", "enterprise", "enterprise__county",
                                                                        "hazard", "assignee", "acknowledged_by"))

    def get_context(self, obj):
        user = self.request.user
        can = set(allowed_actions(obj, user, TRANSITIONS))
        can_assign = user.has_perm("monitoring.assign_alarm") and obj.status != AlarmStatus.CLOSED
        readings = readings_around(obj.point, obj.raised_at)
        return {
            "can": can,
            "can_acknowledge": bool(can),
            "acknowledge_form": AcknowledgeForm(),
            "can_assign": can_assign,
            "assign_form": AssignForm(users=assignable_users(obj), initial={"assignee": obj.assignee_id})
            if can_assign else None,
            "can_comment": user.has_perm("monitoring.comment_alarm"),
            "comment_form": CommentForm(),
            "timeline": alarm_timeline(obj),
            "chart": {
                "readings": readings,
                "threshold": obj.threshold,
                "thresholds": {k: v for k, v in obj.point.thresholds().items() if v is not None},
                "raised": _ms(obj.raised_at),
                "cleared": _ms(obj.cleared_at) if obj.cleared_at else None,
                "start": _ms(obj.raised_at - READINGS_WINDOW),
                "end": _ms(obj.raised_at + READINGS_WINDOW),
                "unit": obj.point.unit,
                "condition": obj.get_condition_display(),
            },
            "readings_count": len(readings),
            "window_minutes": int(READINGS_WINDOW.total_seconds() // 60),
            "retention_days": settings.MONITORING_RAW_RETENTION_DAYS,
            "escalation_levels": EscalationLevel,
        }


def _ms(dt: datetime.datetime) -> int:
    return int(dt.timestamp() * 1000)


def readings_around(point: Point, centre: datetime.datetime, window: timedelta = READINGS_WINDOW) -> list[list]:
    """[[epoch ms, value], …] of the point within ±window of `centre`, from the stored messages of its
    gateway (codec.unpack), oldest first and thinned to READINGS_MAX_POINTS.

    A message's readings start at its t0, so messages that began up to one window earlier are read too;
    the (gateway_id, t0) index serves the range, and `day` lets PostgreSQL skip other partitions.
    """
    start, end = centre - window, centre + window
    earliest = start - window
    days = [(earliest.astimezone(UTC) + timedelta(days=i)).date()
            for i in range((end.astimezone(UTC).date() - earliest.astimezone(UTC).date()).days + 1)]
    batches = (ReadingBatch.objects.filter(gateway_id=point.gateway_id, day__in=days, t0__gte=earliest, t0__lte=end)
               .order_by("t0").values_list("t0", "data")[:READINGS_MAX_BATCHES])
    lo, hi = _ms(start), _ms(end)
    parts = []
    for t0, data in batches:
        rec = codec.unpack(_ms(t0), data)
        rec = rec[(rec["point"] == point.pk) & (rec["ts"] >= lo) & (rec["ts"] <= hi)]
        if len(rec):
            parts.append(rec)
    if not parts:
        return []
    rec = np.concatenate(parts)
    rec = rec[np.argsort(rec["ts"], kind="stable")]
    if len(rec) > READINGS_MAX_POINTS:
        rec = rec[:: -(-len(rec) // READINGS_MAX_POINTS)]
    return [[int(t), float(f"{v:.6g}")] for t, v in zip(rec["ts"].tolist(), rec["value"].tolist(), strict=True)]


def alarm_timeline(alarm: Alarm) -> list[dict]:
    """The alarm's steps, oldest first: the system's (raised, cleared, escalated) from the alarm row, and the
    people's (acknowledged, assigned, comments) from the workflow log."""
    unit = alarm.point.unit
    steps = [{"at": alarm.raised_at, "action": "raise", "system": True,
              "text": _("{value} {unit} reached the {condition} threshold {threshold} {unit}").format(
                  value=f"{alarm.raise_value:g}", unit=unit, condition=alarm.get_condition_display(),
                  threshold=f"{alarm.threshold:g}")}]
    if alarm.escalated_at and alarm.escalation:
        steps.append({"at": alarm.escalated_at, "action": "escalate", "system": True,
                      "text": _("Not acknowledged in time: escalated to the {level} level").format(
                          level=alarm.get_escalation_display())})
    if alarm.cleared_at:
        steps.append({"at": alarm.cleared_at, "action": "clear", "system": True,
                      "text": _("Peak {peak} {unit}").format(peak=f"{alarm.peak_value:g}", unit=unit)})
    logs = (TransitionLog.objects.filter(content_type=ContentType.objects.get_for_model(Alarm),
                                         object_id=str(alarm.pk)).select_related("by", "by__organisation"))
    for log in logs:
        steps.append({"at": log.at, "action": log.action, "system": False, "by": log.by, "comment": log.comment,
                      "data": log.data})
    steps.sort(key=lambda s: s["at"])
    for s in steps:
        s["label"] = str(STEP_LABELS.get(s["action"], s["action"]))
    return steps


# --- alarm steps (shared with api.py) -----------------------------------------------------------------------

ACK_ACTION = {AlarmStatus.ACTIVE_UNACK: "acknowledge", AlarmStatus.CLEARED_UNACK: "acknowledge_cleared"}


def cannot_acknowledge_message(alarm: Alarm) -> str:
    return _("This alarm cannot be acknowledged now: its status is “{status}”.").format(
        status=alarm.get_status_display())


def acknowledge(alarm: Alarm, *, by, comment: str = "") -> TransitionLog:
    """Acknowledge an alarm: active → active-acknowledged, or cleared-unacknowledged → closed.

    If the alarm cleared between the page load and the click, the cleared alarm is acknowledged (what the
    user meant). InvalidTransition when there is nothing to acknowledge; PermissionDenied without the step's
    permission. The live boards are told when the transaction commits.
    """
    for attempt in range(2):
        action = ACK_ACTION.get(alarm.status)
        if action is None:
            raise InvalidTransition("acknowledge")
        try:
            with transaction.atomic():
                log = transition(alarm, action, by=by, transitions=TRANSITIONS, comment=comment,
                                 updates={"acknowledged_at": timezone.now(), "acknowledged_by": by})
                announce(alarm, "acknowledged")
            return log
        except InvalidTransition:
            alarm.refresh_from_db()
            if attempt:
                raise
    raise InvalidTransition("acknowledge")  # pragma: no cover - the loop returns or raises


def announce(alarm: Alarm, change: str) -> None:
    """Tell live boards about a change (delivered on commit; see live.publish)."""
    point = alarm.point
    live.publish({"type": "alarm", "change": change, "id": alarm.pk, "status": alarm.status, "level": alarm.level,
                  "condition": alarm.condition, "enterprise_id": alarm.enterprise_id,
                  "county": alarm.enterprise.county_id, "point": point.code, "point_name": point.name,
                  "unit": point.unit, "value": alarm.raise_value, "raised_at": alarm.raised_at.isoformat()})


def assignable_users(alarm: Alarm):
    """The alarm's enterprise's active users who may see alarms (a role holding monitoring.view_alarm)."""
    return (User.objects.filter(organisation__enterprise__id=alarm.enterprise_id, is_active=True,
                                groups__permissions__codename="view_alarm",
                                groups__permissions__content_type__app_label="monitoring")
            .distinct().order_by("full_name", "username"))


def _event(alarm: Alarm, action: str, *, by, comment: str = "", data: dict | None = None) -> TransitionLog:
    """A timeline row for a step that does not change the status."""
    return TransitionLog.objects.create(
        content_type=ContentType.objects.get_for_model(Alarm), object_id=str(alarm.pk), action=action,
        from_state=alarm.status, to_state=alarm.status, by=by, comment=comment, data=data or {})


def assign(alarm: Alarm, *, by, assignee, comment: str = "") -> TransitionLog:
    """Name who handles the alarm: one of the enterprise's own people (they get an in-app notice)."""
    from worksafe.monitoring.ingest import queue_alarm_notifications

    if not by.has_perm("monitoring.assign_alarm"):
        raise PermissionDenied
    if alarm.status == AlarmStatus.CLOSED:
        raise ValidationError(_("A closed alarm cannot be assigned."))
    if not assignable_users(alarm).filter(pk=assignee.pk).exists():
        raise ValidationError({"assignee": _("Choose one of the enterprise's own people who can see alarms.")})
    with transaction.atomic():
        before = audit.snapshot(alarm)
        Alarm.objects.filter(pk=alarm.pk).update(assignee=assignee)
        alarm.refresh_from_db()
        log = _event(alarm, "assign", by=by, comment=comment,
                     data={"assignee_id": assignee.pk, "assignee": str(assignee)})
        audit.record(AuditEntry.Action.UPDATE, alarm, before=before, after=audit.snapshot(alarm), user=by,
                     detail="assign")
        queue_alarm_notifications(alarm, alarm.point, kind=f"assigned-{log.pk}", recipients=[assignee])
        announce(alarm, "assigned")
    return log


def comment(alarm: Alarm, *, by, text: str) -> TransitionLog:
    """Add a remark to the alarm's timeline (what was checked on site, who was called …)."""
    if not by.has_perm("monitoring.comment_alarm"):
        raise PermissionDenied
    text = (text or "").strip()
    if not text:
        raise ValidationError({"comment": _("Write the comment first.")})
    with transaction.atomic():
        log = _event(alarm, "comment", by=by, comment=text)
        audit.record(AuditEntry.Action.UPDATE, alarm, user=by, detail=f"comment: {text[:200]}")
    return log


class _AlarmStep(LoginRequiredMixin, View):
    """POST one step from the alarm page; errors come back as messages."""

    form_class = AcknowledgeForm

    def get_form(self, request, alarm):
        return self.form_class(request.POST)

    def post(self, request, pk):
        alarm = get_visible_or_404(Alarm, request.user, pk, "view",
                                   queryset=Alarm.objects.select_related("point", "enterprise"))
        form = self.get_form(request, alarm)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect("monitoring:alarm_detail", pk=pk)
        try:
            self.step(request, alarm, form.cleaned_data)
        except InvalidTransition:
            messages.error(request, cannot_acknowledge_message(alarm))
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        return redirect("monitoring:alarm_detail", pk=pk)


class AcknowledgeView(_AlarmStep):
    def step(self, request, alarm, data):
        acknowledge(alarm, by=request.user, comment=data["comment"])
        messages.success(request, _("Alarm acknowledged."))


class AssignView(_AlarmStep):
    form_class = AssignForm

    def get_form(self, request, alarm):
        if not request.user.has_perm("monitoring.assign_alarm"):
            raise PermissionDenied
        return AssignForm(request.POST, users=assignable_users(alarm))

    def step(self, request, alarm, data):
        assign(alarm, by=request.user, assignee=data["assignee"], comment=data["comment"])
        messages.success(request, _("Assigned to {name}.").format(name=data["assignee"]))


class CommentView(_AlarmStep):
    form_class = CommentForm

    def get_form(self, request, alarm):
        if not request.user.has_perm("monitoring.comment_alarm"):
            raise PermissionDenied
        return CommentForm(request.POST)

    def step(self, request, alarm, data):
        comment(alarm, by=request.user, text=data["comment"])
        messages.success(request, _("Comment added."))


# --- data-quality events and rejected messages (read-only) ---------------------------------------------------

QUALITY_COLUMNS = ["kind", "enterprise__name", "gateway__code", "point__code", "started_at", "ended_at", "is_open",
                   "count", "backfilled"]


class QualityEventListView(ScopedListView):
    model = QualityEvent
    filterset_class = QualityEventFilterSet
    columns = QUALITY_COLUMNS
    export_columns = ["enterprise__name", "enterprise__credit_code", "enterprise__county__name", "kind",
                      "gateway__code", "point__code", "point__name", "started_at", "ended_at", "last_seen_at",
                      "is_open", "count", "backfilled"]
    select_related = ["enterprise", "enterprise__county", "gateway", "point"]


class QualityEventDetailView(ScopedDetailView):
    model = QualityEvent
    template_name = "monitoring/qualityevent_detail.html"
    fields = ["enterprise", "gateway", "point", "kind", "started_at", "ended_at", "last_seen_at", "is_open", "count",
              "backfilled"]

    def get_context(self, obj):
        return {"duration": obj.duration, "kinds": QualityKind}


def _reason_label():
    """The rejection reason in words (the telemetry API's messages), as an annotation for page and export."""
    from worksafe.monitoring.api_telemetry import REASONS

    return Case(*[When(reason=code, then=Value(str(text))) for code, text in REASONS.items()],
                default=F("reason"), output_field=CharField())


class DeadLetterListView(ScopedListView):
    model = DeadLetter
    filterset_class = DeadLetterFilterSet
    columns = ["received_at", ("reason_label", gettext_lazy("reason")), "enterprise__name", "gateway__code",
               ("source", gettext_lazy("source"))]
    export_columns = ["enterprise__name", "enterprise__credit_code", "gateway__code", ("source", gettext_lazy("source")),
                      ("reason", gettext_lazy("reason code")), ("reason_label", gettext_lazy("reason")),
                      "received_at", ("detail", gettext_lazy("details"))]
    select_related = ["enterprise", "gateway"]

    def get_queryset(self):
        return super().get_queryset().defer("payload").annotate(reason_label=_reason_label())


class DeadLetterDetailView(ScopedDetailView):
    model = DeadLetter
    template_name = "monitoring/deadletter_detail.html"
    fields = ["received_at", "enterprise", "gateway"]
    PAYLOAD_SHOWN = 20_000

    def get_context(self, obj):
        from worksafe.monitoring.api_telemetry import REASONS

        payload = bytes(obj.payload or b"")
        return {"reason_label": REASONS.get(obj.reason, obj.reason), "payload_size": len(payload),
                "payload_text": payload[: self.PAYLOAD_SHOWN].decode("utf-8", errors="replace"),
                "payload_cut": len(payload) > self.PAYLOAD_SHOWN}

