"""The periodic side of monitoring (`worksafe tick`): rollups, data-quality detection, alarm escalation,
enterprise warning levels, the notification outbox and retention.

Each step is a function of `now` that returns what it did, so tests run one step at a time. `run_once`
runs them all, each timed and logged; on PostgreSQL it holds an advisory lock so that two tick
processes never run the same step at once (the outbox dispatcher needs no lock: it claims rows with
SKIP LOCKED, so it runs in both).

Data quality (major_hazards.md §2.3 [D]; every number is a MONITORING_* setting, docs/rules.md):
1. Interruption (数据中断): a gateway silent for `offline_after` its fastest point → one gateway-wide
   event from its last reading; otherwise each point silent for `offline_after` its own sampling period
   → a point event from its last reading. Ingest closes them when data returns (and counts backfill).
2. Sequence gap: a gateway whose sequence numbers have holes (`Gateway.missing`) older than a grace
   period → one event listing the missing ranges; closed when they all arrive (or are too old to).
3. Flatline: a point whose 1-minute rollups show one unchanging value over MONITORING_FLATLINE_MINUTES
   with enough readings to tell; valves and video points are exempt (a constant value is normal there).
4. Out-of-range, bad-quality and clock-drift events (opened by ingest) close after a quiet period.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Count, Max, Min, Q, Sum

from worksafe.monitoring import live, rules
from worksafe.monitoring.choices import AlarmStatus, PointKind, QualityKind
from worksafe.monitoring.models import Alarm, Gateway, Point, QualityEvent, Rollup

log = logging.getLogger(__name__)
UTC = datetime.UTC
LOCK_NAME = "worksafe_tick"
NO_FLATLINE_KINDS = (PointKind.VALVE, PointKind.VIDEO)  # a constant value is their normal state
QUIET_KINDS = (QualityKind.OUT_OF_RANGE, QualityKind.BAD_QUALITY, QualityKind.CLOCK_DRIFT)


def _county(enterprise_id: int, cache: dict, using: str) -> str:
    if enterprise_id not in cache:
        from worksafe.enterprises.models import Enterprise

        cache[enterprise_id] = Enterprise.objects.using(using).filter(pk=enterprise_id).values_list(
            "county_id", flat=True).first() or ""
    return cache[enterprise_id]


def _publish_quality(event: QualityEvent, change: str, counties: dict, using: str) -> None:
    live.publish({"type": "quality", "change": change, "id": event.pk, "kind": event.kind,
                  "enterprise_id": event.enterprise_id, "county": _county(event.enterprise_id, counties, using),
                  "point_id": event.point_id, "gateway_id": event.gateway_id,
                  "started_at": event.started_at.isoformat()}, using=using)


# --- 1. interruptions ---------------------------------------------------------------------------------------

def detect_interruptions(now: datetime.datetime | None = None, using: str = "default") -> dict[str, int]:
    """Open 数据中断 events for silent gateways and points; close those of deactivated ones."""
    now = now or datetime.datetime.now(UTC)
    periods = settings.MONITORING_OFFLINE_PERIODS
    floor = settings.MONITORING_OFFLINE_FLOOR_S
    # Point.last_ts reaches the table up to MONITORING_LAST_VALUE_FLUSH_S late (ingest.LastValues).
    slack = datetime.timedelta(seconds=float(settings.MONITORING_LAST_VALUE_FLUSH_S) + 1)
    counties: dict = {}
    opened = closed = 0
    with transaction.atomic(using=using):
        open_events = list(QualityEvent.objects.using(using).select_for_update().filter(
            kind=QualityKind.INTERRUPTION, is_open=True))
        open_gw = {e.gateway_id for e in open_events if e.point_id is None}
        open_pt = {e.point_id for e in open_events if e.point_id is not None}
        per_gateway = {r["gateway_id"]: r for r in Point.objects.using(using).filter(
            active=True, gateway__active=True).values("gateway_id").annotate(
            period=Min("sampling_period"), last=Max("last_ts"))}
        gateways = Gateway.objects.using(using).filter(pk__in=list(per_gateway)).values(
            "id", "enterprise_id", "last_seen_at")
        silent = set()
        new: list[QualityEvent] = []
        for gw in gateways:
            if gw["last_seen_at"] is None:
                continue  # never connected: shown as such on the quality page, not an interruption
            info = per_gateway[gw["id"]]
            limit = datetime.timedelta(seconds=rules.offline_after(info["period"], periods, floor))
            if now - gw["last_seen_at"] <= limit:
                continue
            silent.add(gw["id"])
            if gw["id"] in open_gw:
                continue
            last = min(x for x in (info["last"], gw["last_seen_at"], now) if x is not None)
            new.append(QualityEvent(enterprise_id=gw["enterprise_id"], gateway_id=gw["id"], point=None,
                                    kind=QualityKind.INTERRUPTION, started_at=last, last_seen_at=now,
                                    detail={"silent_s": int((now - gw["last_seen_at"]).total_seconds()),
                                            "limit_s": int(limit.total_seconds())}))
        # Points of gateways that still talk: silent longer than their own limit (the floor is the least).
        stale = Point.objects.using(using).filter(
            active=True, gateway__active=True, gateway__last_seen_at__isnull=False).filter(
            Q(last_ts__lt=now - datetime.timedelta(seconds=floor) - slack)
            | Q(last_ts__isnull=True, created_at__lt=now - datetime.timedelta(seconds=floor))).exclude(
            gateway_id__in=silent).exclude(pk__in=open_pt).values(
            "id", "gateway_id", "enterprise_id", "sampling_period", "last_ts", "created_at")
        for p in stale:
            limit = datetime.timedelta(seconds=rules.offline_after(p["sampling_period"], periods, floor))
            since = p["last_ts"] or p["created_at"]
            if now - since <= limit + (slack if p["last_ts"] else datetime.timedelta()):
                continue
            detail = {"limit_s": int(limit.total_seconds())}
            if p["last_ts"] is None:
                detail["never_reported"] = True
            new.append(QualityEvent(enterprise_id=p["enterprise_id"], gateway_id=p["gateway_id"],
                                    point_id=p["id"], kind=QualityKind.INTERRUPTION, started_at=min(since, now),
                                    last_seen_at=now, detail=detail))
        for event in new:
            event.save(using=using)
            _publish_quality(event, "opened", counties, using)
        opened = len(new)
        # Deactivated points or gateways: their interruptions end now (nobody expects that data any more).
        # (A point moved to another gateway: its old event could never be closed by the new gateway's data.)
        live_points = set(Point.objects.using(using).filter(
            pk__in=[e.point_id for e in open_events if e.point_id], active=True, gateway__active=True
        ).values_list("pk", "gateway_id"))
        live_gateways = set(Gateway.objects.using(using).filter(
            pk__in=[e.gateway_id for e in open_events if e.gateway_id], active=True).values_list("pk", flat=True))
        gone = [e for e in open_events
                if ((e.point_id, e.gateway_id) not in live_points if e.point_id else e.gateway_id not in live_gateways)]
        for event in gone:
            event.is_open, event.ended_at = False, now
            event.detail = {**event.detail, "deactivated": True}
            event.save(update_fields=["is_open", "ended_at", "detail"])
            _publish_quality(event, "closed", counties, using)
        closed = len(gone)
    return {"opened": opened, "closed": closed}


# --- 2. sequence gaps ---------------------------------------------------------------------------------------

def missing_ranges(holes: list[list[int]], since: datetime.datetime, before: datetime.datetime,
                   limit: int = 100) -> list[tuple[int, int]]:
    """A gateway's holes (Gateway.holes) noticed since `since` and before `before` (the message after the hole
    arrived then, so the hole has had the grace period to fill). [(first missing, last missing)], oldest first."""
    lo_s, hi_s = since.timestamp(), before.timestamp()
    return [(lo, hi) for lo, hi, at in holes if lo_s <= at <= hi_s][:limit]


def detect_sequence_gaps(now: datetime.datetime | None = None, using: str = "default") -> dict[str, int]:
    now = now or datetime.datetime.now(UTC)
    grace = datetime.timedelta(seconds=settings.MONITORING_SEQ_GAP_GRACE_S)
    lookback = settings.MONITORING_SEQ_GAP_LOOKBACK_DAYS
    since = now - datetime.timedelta(days=lookback)
    counties: dict = {}
    opened = updated = closed = 0
    with transaction.atomic(using=using):
        events = {e.gateway_id: e for e in QualityEvent.objects.using(using).select_for_update().filter(
            kind=QualityKind.SEQUENCE_GAP, is_open=True, point__isnull=True)}
        gateways = Gateway.objects.using(using).filter(
            Q(pk__in=list(events)) | Q(active=True, max_seq__isnull=False))
        for gw in gateways:
            missing = gw.missing
            event = events.get(gw.pk)
            if missing == 0:
                if event is not None:
                    event.is_open, event.ended_at, event.last_seen_at = False, now, now
                    event.backfilled += event.count
                    event.detail = {**event.detail, "missing": 0, "recovered": True}
                    event.save(update_fields=["is_open", "ended_at", "last_seen_at", "backfilled", "detail"])
                    _publish_quality(event, "closed", counties, using)
                    closed += 1
                continue
            ranges = missing_ranges(gw.holes, since, now - grace)
            located = sum(b - a + 1 for a, b in ranges)
            detail = {"missing": missing, "ranges": [list(r) for r in ranges[:50]], "located": located,
                      "older": max(0, missing - located)}
            if event is None:
                if not ranges:
                    continue  # holes still inside the grace period, or only older than the look-back
                event = QualityEvent(enterprise_id=gw.enterprise_id, gateway_id=gw.pk, point=None,
                                     kind=QualityKind.SEQUENCE_GAP, started_at=now, last_seen_at=now,
                                     count=missing, detail=detail)
                event.save(using=using)
                _publish_quality(event, "opened", counties, using)
                opened += 1
            elif not ranges:
                # What is still missing is older than the look-back: it will not come back any more.
                event.is_open, event.ended_at, event.last_seen_at = False, now, now
                event.backfilled = max(0, event.count - missing)
                event.detail = {**detail, "unrecovered": missing}
                event.save(update_fields=["is_open", "ended_at", "last_seen_at", "backfilled", "detail"])
                _publish_quality(event, "closed", counties, using)
                closed += 1
            else:
                if missing < event.count:
                    event.backfilled += event.count - missing
                event.count, event.last_seen_at, event.detail = missing, now, detail
                event.save(update_fields=["count", "last_seen_at", "detail", "backfilled"])
                updated += 1
    return {"opened": opened, "updated": updated, "closed": closed}


# --- 3. flatline and quiet events -----------------------------------------------------------------------------

def detect_flatlines(now: datetime.datetime | None = None, using: str = "default") -> dict[str, int]:
    """Points whose value did not change over the flatline window (from the 1-minute rollups)."""
    now = now or datetime.datetime.now(UTC)
    minutes = settings.MONITORING_FLATLINE_MINUTES
    fill = settings.MONITORING_FLATLINE_MIN_FILL
    end = now.replace(second=0, microsecond=0)  # the current minute is still filling
    start = end - datetime.timedelta(minutes=minutes)
    stats = Rollup.objects.using(using).filter(
        width=60, bucket__gte=start, bucket__lt=end, point__active=True).exclude(
        point__kind__in=NO_FLATLINE_KINDS).values(
        "point_id", "point__enterprise_id", "point__gateway_id", "point__sampling_period").annotate(
        lo=Min("vmin"), hi=Max("vmax"), n=Sum("n"), first=Min("bucket"))
    counties: dict = {}
    opened = closed = 0
    still_flat = []
    with transaction.atomic(using=using):
        events = {e.point_id: e for e in QualityEvent.objects.using(using).select_for_update().filter(
            kind=QualityKind.FLATLINE, is_open=True, point__isnull=False)}
        for s in stats:
            pid = s["point_id"]
            expected = minutes * 60 / max(1, s["point__sampling_period"])
            min_samples = max(3, int(expected * fill))
            covers = s["first"] <= start + datetime.timedelta(minutes=max(1, minutes // 10))
            flat = covers and rules.is_flatline(s["lo"], s["hi"], s["n"], min_samples)
            event = events.get(pid)
            if flat and event is None:
                event = QualityEvent(enterprise_id=s["point__enterprise_id"], gateway_id=s["point__gateway_id"],
                                     point_id=pid,
                                     kind=QualityKind.FLATLINE, started_at=s["first"], last_seen_at=now,
                                     count=s["n"], detail={"value": s["lo"], "minutes": minutes})
                event.save(using=using)
                _publish_quality(event, "opened", counties, using)
                opened += 1
            elif flat:
                still_flat.append(event.pk)
            elif event is not None and s["hi"] > s["lo"]:
                value = event.detail.get("value", s["lo"])
                changed = Rollup.objects.using(using).filter(
                    Q(vmin__lt=value) | Q(vmax__gt=value), point_id=pid, width=60,
                    bucket__gte=event.last_seen_at - datetime.timedelta(minutes=minutes + 1)).order_by(
                    "bucket").values_list("bucket", flat=True).first()
                event.is_open, event.ended_at = False, max(changed or now, event.started_at)
                event.save(update_fields=["is_open", "ended_at"])
                _publish_quality(event, "closed", counties, using)
                closed += 1
        QualityEvent.objects.using(using).filter(pk__in=still_flat).update(last_seen_at=now)
    return {"opened": opened, "closed": closed}


def close_quiet_events(now: datetime.datetime | None = None, using: str = "default") -> int:
    """Out-of-range, bad-quality and clock-drift events end at their last occurrence once quiet long enough."""
    now = now or datetime.datetime.now(UTC)
    quiet = datetime.timedelta(minutes=settings.MONITORING_QUALITY_QUIET_MINUTES)
    counties: dict = {}
    with transaction.atomic(using=using):
        events = list(QualityEvent.objects.using(using).select_for_update().filter(
            kind__in=QUIET_KINDS, is_open=True, last_seen_at__lt=now - quiet))
        for event in events:
            event.is_open, event.ended_at = False, event.last_seen_at
            event.save(update_fields=["is_open", "ended_at"])
            _publish_quality(event, "closed", counties, using)
    return len(events)


# --- 4. escalation ---------------------------------------------------------------------------------------------

@dataclass
class _Recipients:
    """Regulators told at each escalation level: active users of emergency-management departments whose
    jurisdiction is the enterprise's county (1), city (2) or province (3) and who may view alarms."""

    using: str
    cache: dict = field(default_factory=dict)

    def __call__(self, county_code: str, level: int) -> list:
        from worksafe.core.choices import LEVEL_WIDTH, OrganisationKind
        from worksafe.core.models import User

        width = {1: LEVEL_WIDTH["county"], 2: LEVEL_WIDTH["city"], 3: LEVEL_WIDTH["province"]}[level]
        code = county_code[:width]
        if code not in self.cache:
            users = User.objects.using(self.using).filter(
                is_active=True, organisation__kind=OrganisationKind.EMERGENCY,
                organisation__jurisdiction_id=code).order_by("pk")
            self.cache[code] = [u for u in users if u.has_perm("monitoring.view_alarm")]
        return self.cache[code]


def escalate(now: datetime.datetime | None = None, using: str = "default") -> int:
    """Unacknowledged active alarms move up (county → city → province) after MONITORING_ESCALATION_MINUTES
    without acknowledgement, counted from when the platform raised them. Returns alarms escalated."""
    from worksafe.monitoring.ingest import queue_alarm_notifications

    now = now or datetime.datetime.now(UTC)
    steps = list(settings.MONITORING_ESCALATION_MINUTES)
    if not steps:
        return 0
    first_due = now - datetime.timedelta(minutes=min(steps))
    recipients = _Recipients(using)
    counties: dict = {}
    escalated = 0
    candidates = Alarm.objects.using(using).filter(
        status=AlarmStatus.ACTIVE_UNACK, escalation__lt=3, created_at__lte=first_due).values_list("pk", flat=True)
    for pk in list(candidates):
        with transaction.atomic(using=using):
            alarm = Alarm.objects.using(using).select_for_update(of=("self",)).select_related("point").filter(
                pk=pk, status=AlarmStatus.ACTIVE_UNACK).first()
            if alarm is None:
                continue  # acknowledged or cleared meanwhile
            minutes = (now - alarm.created_at).total_seconds() / 60
            target = rules.escalation_target(minutes, alarm.escalation, steps)
            if target <= alarm.escalation:
                continue
            previous = alarm.escalation
            Alarm.objects.using(using).filter(pk=pk).update(escalation=target, escalated_at=now)
            alarm.escalation, alarm.escalated_at = target, now
            county = _county(alarm.enterprise_id, counties, using)
            for level in range(previous + 1, target + 1):
                queue_alarm_notifications(alarm, alarm.point, kind=f"escalate:{level}",
                                          recipients=recipients(county, level), using=using)
            live.publish({"type": "alarm", "change": "escalated", "id": alarm.pk, "status": alarm.status,
                          "level": alarm.level, "condition": alarm.condition, "enterprise_id": alarm.enterprise_id,
                          "county": county, "point": alarm.point.code, "point_name": alarm.point.name,
                          "unit": alarm.point.unit, "value": alarm.raise_value,
                          "raised_at": alarm.raised_at.isoformat(), "escalation": target, "previous": previous},
                         using=using)
            escalated += 1
    return escalated


# --- all steps --------------------------------------------------------------------------------------------------

@dataclass
class StepResult:
    name: str
    result: object = None
    seconds: float = 0.0
    error: str = ""


def steps() -> list[tuple[str, object, bool]]:
    """(name, callable(now, using), needs the tick lock) in the order they run."""
    from worksafe.monitoring import compact, outbox, rollup, warning_level

    return [
        ("rollup", lambda now, using: rollup.run(now, using), True),
        ("compaction", lambda now, using: compact.run(now, using), True),
        ("interruptions", detect_interruptions, True),
        ("sequence_gaps", detect_sequence_gaps, True),
        ("flatlines", detect_flatlines, True),
        ("quiet_events", close_quiet_events, True),
        ("escalation", escalate, True),
        ("warnings", warning_level.update_all, True),
        ("outbox", lambda now, using: outbox.dispatch(now=now, using=using), False),
        ("retention", lambda now, using: rollup.retention(now, using), True),
    ]


def run_once(now: datetime.datetime | None = None, using: str = "default", only: list[str] | None = None
             ) -> list[StepResult]:
    """Run every step once (or those named in `only`), each timed and logged; a failing step is logged and
    the others still run."""
    results = []
    locked = _try_lock(using)
    try:
        for name, func, needs_lock in steps():
            if only and name not in only:
                continue
            if needs_lock and not locked:
                results.append(StepResult(name, error="skipped: another tick holds the lock"))
                continue
            started = time.monotonic()
            step_now = now or datetime.datetime.now(UTC)
            try:
                result = StepResult(name, func(step_now, using))
            except Exception as exc:  # one broken step must not stop the others
                log.exception("tick step %s failed", name)
                result = StepResult(name, error=f"{type(exc).__name__}: {exc}"[:500])
            result.seconds = time.monotonic() - started
            log.info("tick %s: %s in %.3f s%s", name, result.result, result.seconds,
                     f" ({result.error})" if result.error else "")
            results.append(result)
    finally:
        if locked:
            _unlock(using)
    return results


def _try_lock(using: str) -> bool:
    """A session-level PostgreSQL advisory lock: only one tick process runs the locked steps at a time."""
    conn = connections[using]
    if conn.vendor != "postgresql":
        return True
    with conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [LOCK_NAME])
        return bool(cur.fetchone()[0])


def _unlock(using: str) -> None:
    conn = connections[using]
    if conn.vendor == "postgresql":
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(hashtext(%s))", [LOCK_NAME])


def counts_by(qs, key: str) -> dict:
    """{key value: row count} of a queryset (small helper for the warning and quality steps)."""
    out: dict = defaultdict(int)
    for row in qs.values(key).annotate(n=Count("pk")):
        out[row[key]] = row["n"]
    return out
