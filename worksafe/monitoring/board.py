"""The live board (实时监测大屏): a Server-Sent Events stream of alarms for the user's place, the summary
for the user's level (enterprise, county, city, province), a Fujian map of major hazard sources coloured
by state, last values of points and per-point trend charts.

The SSE stream works under both servers the project runs: `worksafe serve` (uvicorn, ASGI) and the
threaded WSGI server of the tests. Django's StreamingHttpResponse reads a sync iterator to the end
before sending it under ASGI, and an async iterator to the end under WSGI, so the view picks an async
generator for an ASGIRequest and a sync generator otherwise. Both read a `live.Subscription` (fed by
PostgreSQL LISTEN, or in-process on SQLite) and pass on only the events the user may see (`Viewer`).
"""

from __future__ import annotations

import datetime
import json
import time
from collections import defaultdict

import numpy as np
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.db.models import Count, F, Max
from django.db.models.functions import Substr
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from worksafe.core.choices import LEVEL_WIDTH
from worksafe.core.models import Jurisdiction
from worksafe.core.scoping import get_visible_or_404
from worksafe.monitoring import codec, live, rules
from worksafe.monitoring.choices import (
    ACTIVE_STATUSES,
    OPEN_STATUSES,
    AlarmStatus,
    Condition,
    QualityKind,
)
from worksafe.monitoring.models import Alarm, Point, QualityEvent, ReadingBatch, Rollup

UTC = datetime.UTC
DB = "default"

# --- who receives which live event -----------------------------------------------------------------------

# Event type → the permission needed to receive it. Alarms, quality events and warnings are all scoped
# through their enterprise (models._SCOPE), so one place rule serves them all. Other types are not sent.
TYPE_PERMS = {"alarm": "monitoring.view_alarm", "quality": "monitoring.view_qualityevent",
              "warning": "monitoring.view_enterprisewarning"}


class Viewer:
    """What one user may receive from the live stream.

    Alarms, quality events and warnings scope through their enterprise (models._SCOPE), so an event is
    visible exactly when its enterprise is in `Enterprise.objects.scoped(user)` — the one scoping rule,
    asked once per enterprise per connection and cached (it also gives the name shown on the board) —
    and the user holds the event type's view permission.
    """

    def __init__(self, user):
        self.user = user
        self.types = frozenset(t for t, perm in TYPE_PERMS.items() if user.has_perm(perm))
        self.info: dict[int, tuple | None] = {}  # enterprise id → (name,) when visible, None when not

    def wanted(self, event: dict) -> bool:
        """False when the event can be refused without looking anything up."""
        eid = event.get("enterprise_id")
        return (event.get("type") in self.types and isinstance(eid, int) and not isinstance(eid, bool)
                and self.info.get(eid, ()) is not None)

    def missing(self, events: list[dict]) -> set[int]:
        """Enterprises to look up before these events can be decided."""
        return {e["enterprise_id"] for e in events if self.wanted(e) and e["enterprise_id"] not in self.info}

    def remember(self, found: dict[int, tuple | None]) -> None:
        self.info.update(found)

    def allows(self, event: dict) -> bool:
        """The final word (after `remember` has the event's enterprise)."""
        return self.wanted(event) and self.info.get(event["enterprise_id"]) is not None

    def frames(self, events: list[dict], dropped: int) -> str:
        """The SSE text for the events this viewer may see, enriched for the board; a resync if any were
        dropped (the board then reloads its state)."""
        out = []
        for event in events:
            if event.get("type") == "resync":
                dropped += 1
                continue
            if not self.allows(event):
                continue
            data = dict(event)
            data["enterprise"] = self.info[event["enterprise_id"]][0]
            if data["type"] == "alarm" and data.get("id"):
                data.setdefault("url", safe_reverse("monitoring:alarm_detail", data["id"]))
            out.append(sse(data["type"], data))
        if dropped:
            out.append(sse("resync", {"dropped": dropped}))
        return "".join(out)


def enterprise_info(user, ids, using: str = DB) -> dict[int, tuple | None]:
    """(name,) for each of `ids` the user's scope covers, None for the others."""
    from worksafe.enterprises.models import Enterprise

    found: dict[int, tuple | None] = dict.fromkeys(ids)
    for pk, name in Enterprise.objects.using(using).scoped(user).filter(pk__in=list(ids)).values_list("id", "name"):
        found[pk] = (name,)
    release_db(using)
    return found


def release_db(using: str = DB) -> None:
    """A stream lives for minutes: do not hold a PostgreSQL connection for it between look-ups."""
    conn = connections[using]
    if conn.vendor == "postgresql" and not conn.in_atomic_block:
        conn.close()


# --- the Server-Sent Events streams -------------------------------------------------------------------------

HEARTBEAT_S = 15.0  # a comment line this often keeps proxies from closing an idle stream
STREAM_MAX_S = 600.0  # then the stream ends and the browser reconnects (and the session is checked again)
RETRY_MS = 3000


def sse(event_type: str, data: dict) -> str:
    return f"event: {event_type}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def _hello() -> str:
    return f"retry: {RETRY_MS}\n" + sse("hello", {"at": timezone.now().isoformat()})


def stream_sync(viewer: Viewer, using: str = DB):
    """The stream for a thread-per-request (WSGI) server."""
    sub = live.subscribe(using)  # before the first byte: once the browser sees `hello`, nothing is missed
    try:
        release_db(using)
        yield _hello()
        sent = time.monotonic()
        end = sent + STREAM_MAX_S
        while time.monotonic() < end:
            events, dropped = sub.get(max(0.05, HEARTBEAT_S - (time.monotonic() - sent)))
            missing = viewer.missing(events)
            if missing:
                viewer.remember(enterprise_info(viewer.user, missing, using))
            text = viewer.frames(events, dropped)
            if not text and time.monotonic() - sent >= HEARTBEAT_S:
                text = ": ping\n\n"
            if text:
                yield text
                sent = time.monotonic()
    finally:
        live.unsubscribe(sub)


async def stream_async(viewer: Viewer, using: str = DB):
    """The stream for the event loop (ASGI, uvicorn): no thread is held while waiting."""
    sub = live.subscribe(using)
    sub.bind_loop()
    try:
        await sync_to_async(release_db)(using)
        yield _hello()
        sent = time.monotonic()
        end = sent + STREAM_MAX_S
        while time.monotonic() < end:
            events, dropped = await sub.aget(max(0.05, HEARTBEAT_S - (time.monotonic() - sent)))
            missing = viewer.missing(events)
            if missing:
                viewer.remember(await sync_to_async(enterprise_info)(viewer.user, missing, using))
            text = viewer.frames(events, dropped)
            if not text and time.monotonic() - sent >= HEARTBEAT_S:
                text = ": ping\n\n"
            if text:
                yield text
                sent = time.monotonic()
    finally:
        live.unsubscribe(sub)


@login_required
def board_events(request):
    """text/event-stream of the alarms (and data-quality events) in the user's place."""
    require(request.user, "monitoring.view_alarm")
    viewer = Viewer(request.user)
    live.ensure_listener(DB)  # PostgreSQL: LISTEN is in place before the stream starts
    stream = stream_async(viewer) if isinstance(request, ASGIRequest) else stream_sync(viewer)
    response = StreamingHttpResponse(stream, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


# --- what the board shows -------------------------------------------------------------------------------------

def require(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


def safe_reverse(name: str, *args) -> str:
    """The URL, or "" while the page does not exist (the board links to pages other modules own)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def scope_level(user) -> str:
    """enterprise, province, city or county: which summary the board shows."""
    if user.is_enterprise_user:
        return "enterprise"
    code = user.organisation.jurisdiction_id if user.organisation_id else ""
    return {LEVEL_WIDTH["province"]: "province", LEVEL_WIDTH["city"]: "city"}.get(len(code), "county")


def counts(user) -> dict:
    alarms = Alarm.objects.visible_to(user)
    by_level = dict(alarms.filter(status__in=ACTIVE_STATUSES).values_list("level").annotate(n=Count("id")).order_by())
    return {
        "level2": by_level.get(2, 0),
        "level1": by_level.get(1, 0),
        "unack": alarms.filter(status__in=[AlarmStatus.ACTIVE_UNACK, AlarmStatus.CLEARED_UNACK]).count(),
        "interruptions": QualityEvent.objects.visible_to(user).filter(kind=QualityKind.INTERRUPTION,
                                                                     is_open=True).count(),
        "points": Point.objects.visible_to(user).filter(active=True).count(),
    }


def hazard_states(user) -> tuple[dict[int, str], dict[int, int]]:
    """({hazard id: alarm2 | alarm1 | interrupted | normal} for monitored hazards, {hazard id: active alarms}).

    Precedence: a level-2 alarm active (red) over a level-1 alarm (orange) over a data interruption of any
    of its points or of a gateway they report through (grey); otherwise normal (green).
    """
    points = Point.objects.visible_to(user).filter(active=True)
    states = dict.fromkeys(points.values_list("hazard_id", flat=True).distinct().order_by(), "normal")
    open_gaps = QualityEvent.objects.visible_to(user).filter(kind=QualityKind.INTERRUPTION, is_open=True)
    gap_points = open_gaps.filter(point__isnull=False).values_list("point__hazard_id", flat=True).distinct().order_by()
    gap_gateways = open_gaps.filter(point__isnull=True).values_list("gateway_id", flat=True)
    interrupted = set(gap_points) | set(points.filter(gateway_id__in=gap_gateways).values_list(
        "hazard_id", flat=True).distinct().order_by())
    for hid in interrupted:
        states[hid] = "interrupted"
    active = Alarm.objects.visible_to(user).filter(status__in=ACTIVE_STATUSES).values_list("hazard_id").annotate(
        top=Max("level"), n=Count("id")).order_by()
    alarm_counts = {}
    for hid, top, n in active:
        states[hid] = "alarm2" if top >= 2 else "alarm1"
        alarm_counts[hid] = n
    return states, alarm_counts


def breakdown(user, level: str) -> list[dict]:
    """One row per part one level down (cities of the province, counties of a city, enterprises of a
    county, major hazard sources of an enterprise) with active alarms by level, interruptions and points."""
    alarms = Alarm.objects.visible_to(user).filter(status__in=ACTIVE_STATUSES)
    gaps = QualityEvent.objects.visible_to(user).filter(kind=QualityKind.INTERRUPTION, is_open=True)
    points = Point.objects.visible_to(user).filter(active=True)
    if level in ("province", "city"):
        width = LEVEL_WIDTH["city"] if level == "province" else LEVEL_WIDTH["county"]
        key = Substr("enterprise__county_id", 1, width)
        parts = [(j.code, j.name, "") for j in Jurisdiction.objects.filter(
            parent_id=user.organisation.jurisdiction_id).order_by("code")]
    elif level == "county":
        from worksafe.enterprises.models import Enterprise

        key = F("enterprise_id")
        ids = set(points.values_list("enterprise_id", flat=True).distinct().order_by()) | set(
            alarms.values_list("enterprise_id", flat=True).distinct().order_by())
        parts = [(e.pk, e.name, safe_reverse("enterprises:enterprise_detail", e.pk))
                 for e in Enterprise.objects.filter(pk__in=ids).order_by("name")]
    else:
        from worksafe.majorhazards.models import MajorHazard

        key = F("hazard_id")
        states, _n = hazard_states(user)
        parts = [(h.pk, h.name, safe_reverse("majorhazards:majorhazard_detail", h.pk))
                 for h in MajorHazard.objects.filter(pk__in=list(states)).order_by("code")]
    by_level: dict = defaultdict(dict)
    for part, lvl, n in alarms.annotate(part=key).values_list("part", "level").annotate(n=Count("id")).order_by():
        by_level[part][lvl] = n
    if level == "enterprise":  # interruptions per hazard: of its points, or of the gateways they report through
        gap_gateways = set(gaps.filter(point__isnull=True).values_list("gateway_id", flat=True))
        gap_points = set(gaps.filter(point__isnull=False).values_list("point_id", flat=True))
        gap_counts: dict = defaultdict(int)
        for pid, hid, gid in points.values_list("id", "hazard_id", "gateway_id"):
            if pid in gap_points or gid in gap_gateways:
                gap_counts[hid] += 1
    else:
        gap_counts = dict(gaps.annotate(part=key).values_list("part").annotate(n=Count("id")).order_by())
    point_counts = dict(points.annotate(part=key).values_list("part").annotate(n=Count("id")).order_by())
    rows = [{"key": k, "name": name, "url": url, "level2": by_level[k].get(2, 0), "level1": by_level[k].get(1, 0),
             "interruptions": gap_counts.get(k, 0), "points": point_counts.get(k, 0)} for k, name, url in parts]
    if level in ("county", "enterprise"):
        rows.sort(key=lambda r: (-r["level2"], -r["level1"], -r["interruptions"]))
    return rows


def alarm_json(alarm: Alarm) -> dict:
    point = alarm.point
    return {"type": "alarm", "id": alarm.pk, "status": alarm.status, "level": alarm.level,
            "condition": alarm.condition, "enterprise_id": alarm.enterprise_id, "enterprise": alarm.enterprise.name,
            "point": point.code, "point_name": point.name, "unit": point.unit, "value": alarm.raise_value,
            "peak": alarm.peak_value, "raised_at": alarm.raised_at.isoformat(),
            "status_label": alarm.get_status_display(), "condition_label": alarm.get_condition_display(),
            "url": safe_reverse("monitoring:alarm_detail", alarm.pk),
            "point_url": reverse("monitoring:point_chart", args=[point.pk])}


SUMMARY_CACHE_S = 10


def summary(user, level: str) -> dict:
    """Counts and the breakdown, shared by users who see the same rows (same organisation and permissions)
    for a few seconds, and recomputed as soon as a live event has passed through this process."""
    perms = tuple(sorted(p for p in ("monitoring.view_alarm", "monitoring.view_qualityevent", "monitoring.view_point")
                         if user.has_perm(p)))
    key = "monitoring:board:{}:{}:{}:{}".format(user.organisation_id, level, ",".join(perms), live.generation())
    found = cache.get(key)
    if found is None:
        found = {"counts": counts(user), "breakdown": breakdown(user, level)}
        cache.set(key, found, SUMMARY_CACHE_S)
    return found


ALARM_ROWS = 50  # open alarms the board lists at first (newest first); live ones are added on top
POINT_ROWS = 100


def board_alarms(user, ids=()) -> list[dict]:
    """The newest open alarms, plus the alarms `ids` (rows already on a board, to refresh their status)."""
    qs = Alarm.objects.visible_to(user).select_related("enterprise", "point")
    rows = list(qs.filter(status__in=OPEN_STATUSES)[:ALARM_ROWS])
    seen = {a.pk for a in rows}
    extra = [i for i in ids if i not in seen][:200]
    if extra:
        rows += list(qs.filter(pk__in=extra))
    return [alarm_json(a) for a in rows]


def point_state(point: Point, now: datetime.datetime) -> str:
    if point.alarm_mask & (rules.MASK[Condition.HIGH_HIGH] | rules.MASK[Condition.LOW_LOW]):
        return "alarm2"
    if point.alarm_mask:
        return "alarm1"
    if point.last_ts is None:
        return "nodata"
    limit = rules.offline_after(point.sampling_period, settings.MONITORING_OFFLINE_PERIODS,
                                settings.MONITORING_OFFLINE_FLOOR_S)
    return "stale" if (now - point.last_ts).total_seconds() > limit else "normal"


def last_values(user, hazard: int | None = None) -> list[dict]:
    """Last values of the user's points: those in alarm first (at most POINT_ROWS)."""
    qs = Point.objects.visible_to(user).filter(active=True).select_related("enterprise", "hazard")
    if hazard:
        qs = qs.filter(hazard_id=hazard)
    now = timezone.now()
    return [{"id": p.pk, "code": p.code, "name": p.name, "enterprise": p.enterprise.name, "hazard": p.hazard.name,
             "value": p.last_value, "unit": p.unit, "ts": p.last_ts.isoformat() if p.last_ts else None,
             "state": (state := point_state(p, now)), "state_label": str(STATE_LABELS[state]),
             "url": reverse("monitoring:point_chart", args=[p.pk])}
            for p in qs.order_by("-alarm_mask", "enterprise_id", "code")[:POINT_ROWS]]


def _int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip().isdigit()][:200]


def _int_or_none(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


STATE_LABELS = {"alarm2": gettext_lazy("Level-2 alarm active"), "alarm1": gettext_lazy("Level-1 alarm active"),
                "interrupted": gettext_lazy("Data interrupted"), "normal": gettext_lazy("Normal"),
                "unmonitored": gettext_lazy("Not monitored"), "stale": gettext_lazy("No recent data"),
                "nodata": gettext_lazy("No data yet")}
MAP_STATES = ("alarm2", "alarm1", "interrupted", "normal", "unmonitored")


def labels() -> dict:
    """Texts the board's script shows (translated here: the script has none of its own)."""
    return {
        "status": {s.value: str(s.label) for s in AlarmStatus},
        "condition": {c.value: str(c.label) for c in Condition},
        "level": {"1": _("Level 1"), "2": _("Level 2")},
        "state": {k: str(v) for k, v in STATE_LABELS.items()},
        "live": {"open": _("Live"), "connecting": _("Reconnecting…")},
        "detail": _("Details"), "trend": _("Trend"), "none": _("No open alarms"),
    }


@login_required
def board(request):
    user = request.user
    require(user, "monitoring.view_alarm")
    level = scope_level(user)
    enterprise = getattr(user.organisation, "enterprise", None) if level == "enterprise" else None
    place = enterprise.name if enterprise else (user.jurisdiction.name if user.jurisdiction else "")
    focus = user.organisation.jurisdiction_id if user.organisation_id else "35"
    ctx = {
        **summary(user, level), "level": level, "place": place, "focus": focus,
        "alarms": board_alarms(user), "points": last_values(user),
        "labels": labels(), "alarm_list_url": safe_reverse("monitoring:alarm_list"),
        "level_title": {"enterprise": _("Enterprise"), "county": _("County"), "city": _("City"),
                        "province": _("Province")}[level],
        "breakdown_title": {"province": _("By city"), "city": _("By county"), "county": _("By enterprise"),
                            "enterprise": _("By major hazard source")}[level],
        "time_zone": settings.TIME_ZONE,
    }
    return render(request, "monitoring/board.html", ctx)


@login_required
def board_state(request):
    """Polled every few seconds: counts, open alarms (and the rows already shown), last values."""
    user = request.user
    require(user, "monitoring.view_alarm")
    ids = _int_list(request.GET.get("ids", ""))
    return JsonResponse({**summary(user, scope_level(user)), "alarms": board_alarms(user, ids),
                         "points": last_values(user, _int_or_none(request.GET.get("hazard"))),
                         "at": timezone.now().isoformat()})


@login_required
def board_map(request):
    """Major hazard sources with coordinates and their state, for the map."""
    from worksafe.majorhazards.models import MajorHazard

    user = request.user
    require(user, "monitoring.view_alarm")
    states, alarm_counts = hazard_states(user)
    out = []
    totals = dict.fromkeys(MAP_STATES, 0)
    hazards = MajorHazard.objects.visible_to(user).exclude(status="deregistered").select_related("enterprise")
    for h in hazards:
        state = states.get(h.pk, "unmonitored")
        totals[state] += 1
        lng, lat = h.lng if h.lng is not None else h.enterprise.lng, h.lat if h.lat is not None else h.enterprise.lat
        if lng is None or lat is None:
            continue
        out.append({"id": h.pk, "name": f"{h.enterprise.name} · {h.name}", "state": state,
                    "alarms": alarm_counts.get(h.pk, 0), "value": [float(lng), float(lat)],
                    "url": safe_reverse("majorhazards:majorhazard_detail", h.pk)})
    return JsonResponse({"hazards": out, "totals": totals})


# --- trends ------------------------------------------------------------------------------------------------

RAW_MAX_HOURS = 6  # up to this: raw readings; then 1-minute rollups up to a week, 1-hour beyond
MINUTE_ROLLUP_MAX_HOURS = 7 * 24
MAX_HOURS = 3 * 366 * 24
LOOKBACK = datetime.timedelta(minutes=15)  # a message's t0 is its earliest reading: its later ones may fall in


def trend_data(point: Point, hours: float, now: datetime.datetime | None = None) -> dict:
    """Readings of `point` over the last `hours`: raw (ts, values) or rollups (ts, min, avg, max)."""
    end = now or timezone.now()
    start = end - datetime.timedelta(hours=hours)
    out = {"point": {"id": point.pk, "code": point.code, "name": point.name}, "unit": point.unit,
           "hours": hours, "from": _ms(start), "to": _ms(end), "thresholds": point.thresholds(),
           "range": [point.range_low, point.range_high]}
    if hours <= RAW_MAX_HOURS:
        out.update(kind="raw", width=None, **_raw(point, start, end))
    else:
        width = 60 if hours <= MINUTE_ROLLUP_MAX_HOURS else 3600
        rows = Rollup.objects.filter(point=point, width=width, bucket__gte=start, bucket__lte=end).order_by(
            "bucket").values_list("bucket", "n", "vmin", "vmax", "vsum")
        ts, lo, avg, hi = [], [], [], []
        for bucket, n, vmin, vmax, vsum in rows:
            ts.append(_ms(bucket))
            lo.append(vmin)
            hi.append(vmax)
            avg.append(round(vsum / n, 6) if n else None)
        out.update(kind="rollup", width=width, ts=ts, min=lo, avg=avg, max=hi)
    return out


def _ms(dt: datetime.datetime) -> int:
    return int(dt.timestamp() * 1000)


def _raw(point: Point, start: datetime.datetime, end: datetime.datetime) -> dict:
    """Decode the point's gateway messages whose readings may fall in [start, end]; keep this point's
    readings in the window whose quality is not bad, in time order."""
    lo = start - LOOKBACK
    batches = ReadingBatch.objects.filter(
        gateway_id=point.gateway_id, day__gte=lo.astimezone(UTC).date(), day__lte=end.astimezone(UTC).date(),
        t0__gte=lo, t0__lte=end).values_list("t0", "data")
    start_ms, end_ms = _ms(start), _ms(end)
    parts = []
    for t0, data in batches.iterator(chunk_size=500):
        rec = codec.unpack(_ms(t0), data)
        rec = rec[(rec["point"] == point.pk) & (rec["ts"] >= start_ms) & (rec["ts"] <= end_ms) & (rec["quality"] < 2)]
        if len(rec):
            parts.append(rec)
    if not parts:
        return {"ts": [], "values": []}
    rec = np.concatenate(parts)
    rec = rec[np.argsort(rec["ts"], kind="stable")]
    # float32 as stored: print each with its shortest exact text (5.2, not 5.199999809265137)
    return {"ts": rec["ts"].tolist(), "values": [float(str(v)) for v in rec["value"]]}


@login_required
def point_trend(request, pk: int):
    point = get_visible_or_404(Point, request.user, pk)
    try:
        hours = float(request.GET.get("hours") or RAW_MAX_HOURS)
    except ValueError:
        hours = -1
    if not 0 < hours <= MAX_HOURS:
        return JsonResponse({"code": "invalid_hours", "message": _("hours must be a number above 0 and at most {}.")
                             .format(MAX_HOURS)}, status=400)
    return JsonResponse(trend_data(point, hours))


@login_required
def point_chart(request, pk: int):
    point = get_visible_or_404(Point, request.user, pk, queryset=Point.objects.select_related(
        "enterprise", "hazard", "gateway"))
    alarms = list(Alarm.objects.visible_to(request.user).filter(point=point)[:20])
    for alarm in alarms:
        alarm.url = safe_reverse("monitoring:alarm_detail", alarm.pk)
    state = point_state(point, timezone.now())
    return render(request, "monitoring/board_point.html", {
        "point": point, "alarms": alarms, "state": state, "state_label": STATE_LABELS[state],
        "point_detail_url": safe_reverse("monitoring:point_detail", point.pk)})


urlpatterns = [
    path("board/", board, name="board"),
    path("board/events/", board_events, name="board_events"),
    path("board/state.json", board_state, name="board_state"),
    path("board/map.json", board_map, name="board_map"),
    path("board/points/<int:pk>/", point_chart, name="point_chart"),
    path("board/points/<int:pk>/trend.json", point_trend, name="point_trend"),
]
