"""Late readings (backfill, reordering, a second worker): re-run a point's alarm history exactly.

The in-order path steps each new reading through `rules.step`. A reading older than what the point has
already seen cannot be stepped: it may start an excursion earlier, end one sooner, or be an excursion no
one saw. For such a point (rare) we replay every stored reading from a quiet moment before the late data
through `rules.step`, and reconcile the alarms in the database with the replay:

- a replayed alarm that overlaps an existing alarm of the same condition is that alarm: its start moves
  earlier or its clear time moves as the replay says (an alarm is never deleted — people may have acted
  on it);
- a replayed alarm that overlaps none is created, marked late (already cleared if it ended);
- the point's state becomes the replay's final state.

So, whatever order readings arrive in, the alarms end up as `rules.step` over all readings in time order
would have raised them — "one alarm per crossing".
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from worksafe.monitoring import codec, rules
from worksafe.monitoring.choices import CLEARED
from worksafe.monitoring.models import Alarm, Gateway, Point, ReadingBatch

FOREVER = 1 << 62


@dataclass
class Replayed:
    condition: str
    start: int  # epoch ms of the crossing (the alarm's identity)
    raised: int  # epoch ms it was confirmed (min duration)
    value: float
    peak: float
    end: int | None = None  # epoch ms of the clearing reading; None while active


def _ms(dt: datetime.datetime | None) -> int | None:
    return None if dt is None else int(dt.timestamp() * 1000)


def alarm_spans(point_ids: list[int], earliest: int, using: str) -> dict[int, list[tuple[int, int]]]:
    """{point id: [(crossing ms, clearing ms or FOREVER)]} of the points' alarms not over before `earliest`."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for pid, raised, cleared in Alarm.objects.using(using).filter(point_id__in=point_ids).exclude(
            cleared_at__lt=codec.ms_to_datetime(earliest)).values_list("point_id", "raised_ms", "cleared_at"):
        spans.setdefault(pid, []).append((raised, _ms(cleared) or FOREVER))
    return spans


def quiet_start(point: Point, earliest: int, using: str) -> int:
    """The earliest late reading, moved back to the start of any alarm of the point that spans it, so the
    replay starts from a normal state."""
    alarms = alarm_spans([point.pk], earliest, using).get(point.pk, [])
    start = earliest
    changed = True
    while changed:
        changed = False
        for raised, cleared in alarms:
            if raised < start <= cleared:
                start, changed = raised, True
    return start


def stored_readings(point: Point, since: int, using: str) -> tuple[np.ndarray, np.ndarray]:
    """(ts, values) of the point's good, in-range readings from `since`, in time order, one per timestamp."""
    lookback = settings.MONITORING_LATE_LOOKBACK_S * 1000
    gateways = list(Gateway.objects.using(using).filter(enterprise_id=point.enterprise_id).values_list("id", flat=True))
    rows = (ReadingBatch.objects.using(using).filter(gateway_id__in=gateways, t0__gte=codec.ms_to_datetime(since - lookback))
            .values_list("t0", "data"))
    ts_parts, v_parts = [], []
    for t0, data in rows.iterator():
        rec = codec.unpack(_ms(t0), data)
        sel = (rec["point"] == point.pk) & (rec["ts"] >= since) & (rec["quality"] == 0)
        if sel.any():
            ts_parts.append(rec["ts"][sel])
            v_parts.append(rec["value"][sel].astype(np.float64))
    if not ts_parts:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    ts, values = np.concatenate(ts_parts), np.concatenate(v_parts)
    lo = -np.inf if point.range_low is None else point.range_low
    hi = np.inf if point.range_high is None else point.range_high
    keep = (values >= lo) & (values <= hi)
    ts, values = ts[keep], values[keep]
    ts, first = np.unique(ts, return_index=True)  # sorted; a repeated timestamp counts once
    return ts, values[first]


def replay(ts, values, thresholds: dict, deadband: float, min_duration_ms: int) -> tuple[list[Replayed], rules.PointState]:
    """rules.step over the readings from a normal state: the alarms it raises, and the final state."""
    state = rules.PointState()
    open_: dict[str, Replayed] = {}
    done: list[Replayed] = []
    for t, v in zip(ts.tolist(), values.tolist(), strict=True):
        for ev in rules.step(state, t, v, thresholds, deadband, min_duration_ms):
            if ev.kind == "raise":
                open_[ev.condition] = Replayed(ev.condition, ev.since, ev.ts, ev.value, ev.value)
            else:
                alarm = open_.pop(ev.condition)
                alarm.end = ev.ts
                done.append(alarm)
        for cond, alarm in open_.items():
            alarm.peak = max(alarm.peak, v) if rules.HIGH_SIDE[cond] else min(alarm.peak, v)
    return sorted(done + list(open_.values()), key=lambda a: (a.start, a.condition)), state


def reconcile(ingestor, point: Point, thresholds: dict, replayed: list[Replayed], since: int, now) -> None:
    """Make the point's alarms from `since` on agree with the replay (see the module docstring)."""
    using = ingestor.using
    existing = list(Alarm.objects.using(using).filter(point_id=point.pk).exclude(
        cleared_at__lt=codec.ms_to_datetime(since)).order_by("raised_ms"))
    for r in replayed:
        r_end = FOREVER if r.end is None else r.end
        match = next((a for a in existing if a.condition == r.condition
                      and a.raised_ms <= r_end and r.start <= (_ms(a.cleared_at) or FOREVER)), None)
        if match is None:
            ingestor._raise(point, rules.Event("raise", r.condition, r.raised, r.value, r.start),
                            thresholds[r.condition], now, late=True, cleared_ms=r.end, peak=r.peak)
            continue
        updates = {}
        if r.start < match.raised_ms and not Alarm.objects.using(using).filter(
                point_id=point.pk, condition=r.condition, raised_ms=r.start).exists():
            updates.update(raised_ms=r.start, raised_at=codec.ms_to_datetime(r.raised), raise_value=r.value)
        better = r.peak > match.peak_value if rules.HIGH_SIDE[r.condition] else r.peak < match.peak_value
        if better:
            updates["peak_value"] = r.peak
        cleared = _ms(match.cleared_at)
        if r.end is not None and (cleared is None or r.end < cleared):
            updates["cleared_at"] = codec.ms_to_datetime(r.end)
            if match.status in CLEARED:
                updates["status"] = CLEARED[match.status]
        if updates:
            Alarm.objects.using(using).filter(pk=match.pk).update(**updates)
            for k, v in updates.items():
                setattr(match, k, v)
            ingestor._announce(match, point, "changed")
        # The replayed interval now belongs to this alarm; later replayed alarms must not match it again.
        existing.remove(match)


def reevaluate_point(ingestor, point: Point, i: int, earliest_late: int, now) -> None:
    """Replay the point from a quiet moment before `earliest_late` and reconcile its alarms and state."""
    row = ingestor.directory.rows[i]
    thresholds = ingestor.directory.thresholds[i]
    since = quiet_start(point, earliest_late, ingestor.using)
    ts, values = stored_readings(point, since, ingestor.using)
    replayed, state = replay(ts, values, thresholds, row["deadband"], row["min_duration"] * 1000)
    reconcile(ingestor, point, thresholds, replayed, since, now)
    last = int(ts[-1]) if len(ts) else point.state_ts
    Point.objects.using(ingestor.using).filter(pk=point.pk).update(
        alarm_mask=state.alarm_mask, pending_mask=state.pending_mask, pending_since=state.pending,
        state_ts=max(last or 0, point.state_ts or 0) or None)

