"""The ingest pipeline: decode → validate → evaluate thresholds → store, one transaction per micro-batch.

`Ingestor.process(messages)` is shared by the MQTT worker (`worksafe ingest`, which acknowledges the
messages only after it returns) and the HTTP endpoint (which answers 2xx only after it returns).
It returns after COMMIT; if it raises, nothing of the micro-batch was committed and the caller retries.

Per micro-batch:
1. decode each message (codec.py), resolve its gateway and points, sort bad readings out to the
   dead-letter table with the reason (the good readings of the same message are kept);
2. write one row per message (store.py); a redelivered message is recognised by (gateway, seq, day)
   and skipped, an altered re-send under the same key is dead-lettered as a conflict;
3. evaluate thresholds over the new readings: numpy compares every reading with the point's watch band
   at once, and only points with a reading outside it, or already in alarm, go through the exact
   per-reading state machine (rules.step) under a row lock;
4. write alarms, the notification outbox, gateway sequence counters and data-quality events, and NOTIFY
   the live board — all in the same transaction.
Last values are kept in memory and written to the point table every MONITORING_LAST_VALUE_FLUSH_S.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connections, transaction
from django.db.models import Max

from worksafe.monitoring import codec, live, rules, store
from worksafe.monitoring.choices import CLEARED, AlarmStatus, QualityKind
from worksafe.monitoring.models import Alarm, DeadLetter, Gateway, Notification, Point, QualityEvent

log = logging.getLogger(__name__)
UTC = datetime.UTC


@dataclass
class Message:
    """One gateway payload as it arrived."""

    payload: bytes
    source: str = "http"  # the MQTT topic, or "http"
    credit_code: str | None = None  # from the topic worksafe/v1/{credit_code}/{gateway}/data
    gateway_code: str | None = None
    gateway_id: int | None = None  # HTTP: the gateway the token belongs to


@dataclass
class Outcome:
    """What became of one message: stored, duplicate, partial (some readings rejected), rejected, conflict."""

    status: str
    stored: int = 0
    rejected: int = 0
    reason: str = ""
    errors: list = field(default_factory=list)  # [(reading index, reason, detail)]


def parse_topic(topic: str) -> tuple[str, str] | None:
    """worksafe/v1/{credit_code}/{gateway}/data → (credit_code, gateway)."""
    parts = topic.split("/")
    if len(parts) == 5 and parts[0] == "worksafe" and parts[1] == "v1" and parts[4] == "data":
        return parts[2], parts[3]
    return None


@dataclass(frozen=True)
class GatewayInfo:
    id: int
    code: str
    enterprise_id: int
    credit_code: str


class Directory:
    """Gateways and points with their thresholds, as arrays indexed by a dense point index."""

    REFRESH_S = 5.0

    def __init__(self, using: str):
        self.using = using
        self.version = None
        self.checked = 0.0
        self.load()

    def _stamp(self):
        return (Point.objects.using(self.using).aggregate(m=Max("updated_at"))["m"],
                Point.objects.using(self.using).count(), Gateway.objects.using(self.using).count(),
                Gateway.objects.using(self.using).filter(active=True).count())

    def load(self) -> None:
        self.version = self._stamp()
        self.checked = time.monotonic()
        gws = Gateway.objects.using(self.using).filter(active=True).values_list(
            "id", "code", "enterprise_id", "enterprise__credit_code")
        self.by_topic = {(c, code): GatewayInfo(i, code, e, c) for i, code, e, c in gws}
        self.by_id = {g.id: g for g in self.by_topic.values()}
        rows = list(Point.objects.using(self.using).filter(active=True).values(
            "id", "enterprise_id", "hazard_id", "gateway_id", "code", "range_low", "range_high", "low_low", "low",
            "high", "high_high", "deadband", "min_duration", "sampling_period"))
        self.index = {(r["enterprise_id"], r["code"]): i for i, r in enumerate(rows)}
        self.rows = rows
        self.ids = np.array([r["id"] for r in rows], dtype=np.int32)
        self.by_point_id = {r["id"]: i for i, r in enumerate(rows)}
        self.thresholds = [{"LL": r["low_low"], "L": r["low"], "H": r["high"], "HH": r["high_high"]} for r in rows]
        bands = [rules.watch_band(t, r["deadband"]) for t, r in zip(self.thresholds, rows, strict=True)]
        self.lo = np.array([b[0] for b in bands], dtype=np.float64)
        self.hi = np.array([b[1] for b in bands], dtype=np.float64)
        self.rlo = np.array([-np.inf if r["range_low"] is None else r["range_low"] for r in rows], dtype=np.float64)
        self.rhi = np.array([np.inf if r["range_high"] is None else r["range_high"] for r in rows], dtype=np.float64)

    def maybe_refresh(self, force: bool = False) -> None:
        """Reload when points or gateways changed (checked at most every REFRESH_S unless forced)."""
        if not force and time.monotonic() - self.checked < self.REFRESH_S:
            return
        self.checked = time.monotonic()
        if self._stamp() != self.version:
            self.load()


class Ingestor:
    def __init__(self, using: str = "default"):
        self.using = using
        self.directory = Directory(using)
        self.days: set[datetime.date] = set()
        self.last: dict[int, tuple[int, float]] = {}  # point id → (ts ms, value) not yet flushed
        self.flushed = time.monotonic()
        self.lock = threading.Lock()

    # --- entry point ----------------------------------------------------------------------------------
    def process(self, messages: list[Message]) -> list[Outcome]:
        with self.lock:
            self.directory.maybe_refresh()
            now = datetime.datetime.now(UTC)
            prepared = self._prepare(messages, now)
            if prepared.unknown_points and not prepared.refreshed:
                self.directory.maybe_refresh(force=True)  # a point added since the last refresh
                prepared = self._prepare(messages, now)
            self._ensure_partitions({r.day for r in prepared.rows})
            with transaction.atomic(using=self.using):
                result = store.write(prepared.rows, using=self.using)
                self._after_write(prepared, result, now)
            for key in (r.key for r in result.new):
                self._remember(prepared.arrays[key])
            self.flush_last_values()
            return prepared.outcomes

    # --- 1. decode and validate -------------------------------------------------------------------------
    def _prepare(self, messages: list[Message], now: datetime.datetime) -> _Prepared:
        d = self.directory
        out = _Prepared(refreshed=False)
        now_ms = int(now.timestamp() * 1000)
        ahead_ms = settings.MONITORING_MAX_CLOCK_AHEAD_S * 1000
        oldest_ms = now_ms - settings.MONITORING_RAW_RETENTION_DAYS * 86_400_000
        seen: dict[tuple, int] = {}
        for m in messages:
            gw = d.by_id.get(m.gateway_id) if m.gateway_id is not None else d.by_topic.get(
                (m.credit_code, m.gateway_code))
            try:
                dec = codec.decode(m.payload)
            except codec.PayloadError as exc:
                out.reject(m, gw, exc.reason, exc.detail)
                continue
            if gw is None:
                out.reject(m, None, "unknown_gateway", f"{m.credit_code}/{m.gateway_code or m.gateway_id}")
                continue
            if dec.gateway != gw.code:
                out.reject(m, gw, "gateway_mismatch", f"payload gateway {dec.gateway!r}, expected {gw.code!r}")
                continue
            errors = list(dec.bad)
            keep = []
            idx = []
            for j, code in enumerate(dec.points):
                i = d.index.get((gw.enterprise_id, code))
                if i is None:
                    out.unknown_points = True
                    errors.append((j, "unknown_point", code))
                elif dec.ts[j] > now_ms + ahead_ms:
                    errors.append((j, "future_timestamp", str(dec.ts[j])))
                    out.drift[gw.id] = max(out.drift.get(gw.id, 0), dec.ts[j] - now_ms)
                elif dec.ts[j] < oldest_ms:
                    errors.append((j, "too_old", str(dec.ts[j])))
                else:
                    keep.append(j)
                    idx.append(i)
            ts = np.array([dec.ts[j] for j in keep], dtype=np.int64)
            if len(ts) and int(ts.max() - ts.min()) > codec.MAX_SPAN_MS:
                out.reject(m, gw, "span_too_long", "readings of one message must lie within 24 days")
                continue
            if errors:
                out.dead.append(DeadLetter(source=m.source, gateway_id=gw.id, enterprise_id=gw.enterprise_id,
                                           reason=errors[0][1], payload=m.payload,
                                           detail="\n".join(f"#{j}: {r} {t}" for j, r, t in errors[:200])))
            if not keep and dec.points or (not keep and errors):
                out.outcomes.append(Outcome("rejected", 0, len(errors), errors[0][1], errors))
                continue
            pidx = np.array(idx, dtype=np.int32)
            values = np.array([dec.values[j] for j in keep], dtype=np.float64)
            quality = np.array([dec.quality[j] for j in keep], dtype=np.uint8)
            if len(ts):
                t0, data = codec.pack(d.ids[pidx], ts, values, quality)
            else:  # a heartbeat: no readings, but the sequence number counts
                t0, data = now_ms, b""
            t0_dt = codec.ms_to_datetime(t0)
            row = store.Row(gw.id, dec.seq, t0_dt.date(), t0_dt, now, len(keep), codec.digest(m.payload), data)
            status = "partial" if errors else "stored"
            if row.key in seen:  # the same key twice in one micro-batch
                first = out.rows[seen[row.key]]
                status = "duplicate" if first.digest == row.digest else "conflict"
                if status == "conflict":
                    out.dead.append(DeadLetter(source=m.source, gateway_id=gw.id, enterprise_id=gw.enterprise_id,
                                               reason="altered_resend", payload=m.payload,
                                               detail=f"seq {dec.seq} was already received with other content"))
                out.outcomes.append(Outcome(status, 0, len(errors), "altered_resend" if status == "conflict" else ""))
                continue
            seen[row.key] = len(out.rows)
            out.rows.append(row)
            out.row_outcome.append(len(out.outcomes))
            out.arrays[row.key] = (gw, pidx, ts, values, quality)
            out.outcomes.append(Outcome(status, len(keep), len(errors), errors[0][1] if errors else "", errors))
        return out

    def _ensure_partitions(self, days: set[datetime.date]) -> None:
        missing = days - self.days
        if missing and connections[self.using].vendor == "postgresql":
            store.ensure_partitions(missing, using=self.using)
        self.days |= missing

    # --- 2.–4. inside the transaction ---------------------------------------------------------------------
    def _after_write(self, prep: _Prepared, result: store.WriteResult, now: datetime.datetime) -> None:
        new_keys = {r.key for r in result.new}
        for pos, row in enumerate(prep.rows):
            if row.key in new_keys:
                continue
            outcome = prep.outcomes[prep.row_outcome[pos]]
            if any(r.key == row.key for r in result.conflicts):
                outcome.status, outcome.reason, outcome.stored = "conflict", "altered_resend", 0
                gw = prep.arrays[row.key][0]
                prep.dead.append(DeadLetter(source="", gateway_id=gw.id, enterprise_id=gw.enterprise_id,
                                            reason="altered_resend", payload=b"",
                                            detail=f"seq {row.seq} was already received with other content"))
            else:
                outcome.status, outcome.stored = "duplicate", 0
        if prep.dead:
            DeadLetter.objects.using(self.using).bulk_create(prep.dead)
        if not result.new:
            return
        arrays = [prep.arrays[r.key] for r in result.new]
        self._update_gateways(result.new, now)
        with_readings = [a for a in arrays if len(a[2])]
        if with_readings:
            pidx = np.concatenate([a[1] for a in with_readings])
            ts = np.concatenate([a[2] for a in with_readings])
            values = np.concatenate([a[3] for a in with_readings])
            quality = np.concatenate([a[4] for a in with_readings])
            in_range = (values >= self.directory.rlo[pidx]) & (values <= self.directory.rhi[pidx])
            good = in_range & (quality == 0)
            self._quality_events(pidx, ts, quality, in_range, now)
            self._evaluate(pidx, ts, values, good, now)
            self._close_interruptions(with_readings, now)
        for gw_id, ahead in prep.drift.items():
            self._upsert_quality(QualityKind.CLOCK_DRIFT, self.directory.by_id[gw_id], None, 1, now,
                                 {"ahead_ms": ahead})

    def _update_gateways(self, rows: list[store.Row], now: datetime.datetime) -> None:
        per = {}
        for r in rows:
            lo, hi, n = per.get(r.gateway_id, (r.seq, r.seq, 0))
            per[r.gateway_id] = (min(lo, r.seq), max(hi, r.seq), n + 1)
        with connections[self.using].cursor() as cur:
            cur.executemany(
                "UPDATE monitoring_gateway SET "
                "first_seq = CASE WHEN first_seq IS NULL OR first_seq > %s THEN %s ELSE first_seq END, "
                "max_seq = CASE WHEN max_seq IS NULL OR max_seq < %s THEN %s ELSE max_seq END, "
                "received = received + %s, last_seen_at = %s WHERE id = %s",
                [(lo, lo, hi, hi, n, now, gid) for gid, (lo, hi, n) in sorted(per.items())])

    # --- alarms -----------------------------------------------------------------------------------------
    def _evaluate(self, pidx, ts, values, good, now) -> None:
        d = self.directory
        interesting = good & ((values <= d.lo[pidx]) | (values >= d.hi[pidx]))
        candidates = set(np.unique(pidx[interesting]).tolist())
        abnormal = Point.objects.using(self.using).exclude(alarm_mask=0, pending_mask=0).values_list("id", flat=True)
        present = set(np.unique(pidx[good]).tolist())
        candidates |= {d.by_point_id[p] for p in abnormal if p in d.by_point_id} & present
        if not candidates:
            return
        cand = np.array(sorted(candidates), dtype=np.int32)
        sel = good & np.isin(pidx, cand)
        p_sel, t_sel, v_sel = pidx[sel], ts[sel], values[sel]
        order = np.lexsort((t_sel, p_sel))
        p_sel, t_sel, v_sel = p_sel[order], t_sel[order], v_sel[order]
        bounds = np.flatnonzero(np.diff(p_sel)) + 1
        groups = np.split(np.arange(len(p_sel)), bounds)
        ids = sorted(int(d.ids[i]) for i in candidates)
        locked = {p.id: p for p in Point.objects.using(self.using).select_for_update().filter(id__in=ids)
                  .order_by("id").only("id", "alarm_mask", "pending_mask", "pending_since", "state_ts",
                                       "enterprise_id", "hazard_id", "code", "name", "unit", "last_ts")}
        for g in groups:
            i = int(p_sel[g[0]])
            point = locked.get(int(d.ids[i]))
            if point is None:
                continue
            self._evaluate_point(point, i, t_sel[g].tolist(), v_sel[g].tolist(), now)

    def _evaluate_point(self, point: Point, i: int, ts: list[int], values: list[float], now) -> None:
        d = self.directory
        th = d.thresholds[i]
        row = d.rows[i]
        state = rules.PointState(point.alarm_mask, {k: int(v) for k, v in (point.pending_since or {}).items()})
        # Newest reading already seen: evaluated (state_ts), flushed (last_ts) or stored by this process.
        seen = [point.state_ts, self.last.get(point.pk, (None,))[0],
                int(point.last_ts.timestamp() * 1000) if point.last_ts else None]
        last = max((s for s in seen if s is not None), default=None)
        events: list[rules.Event] = []
        late: list[tuple[int, float]] = []
        for t, v in zip(ts, values, strict=True):
            if last is not None and t <= last:
                late.append((t, v))
                continue
            events += rules.step(state, t, v, th, row["deadband"], row["min_duration"] * 1000)
            last = t
        for ev in events:
            if ev.kind == "raise":
                self._raise(point, ev, th[ev.condition], now)
            else:
                self._clear(point, ev)
        if state.alarm_mask:
            self._track_peak(point, state.alarm_mask, ts, values)
        if late:
            self._late(point, th, late, now)
        Point.objects.using(self.using).filter(pk=point.pk).update(
            alarm_mask=state.alarm_mask, pending_mask=state.pending_mask, pending_since=state.pending, state_ts=last)

    def _raise(self, point: Point, ev: rules.Event, threshold: float, now, *, late: bool = False,
               cleared_ms: int | None = None) -> None:
        alarm, created = Alarm.objects.using(self.using).get_or_create(
            point_id=point.pk, condition=ev.condition, raised_ms=ev.since,
            defaults=dict(enterprise_id=point.enterprise_id, hazard_id=point.hazard_id, level=rules.LEVEL[ev.condition],
                          threshold=threshold, raised_at=codec.ms_to_datetime(ev.ts), raise_value=ev.value,
                          peak_value=ev.value, late=late,
                          status=AlarmStatus.CLEARED_UNACK if late else AlarmStatus.ACTIVE_UNACK,
                          cleared_at=codec.ms_to_datetime(cleared_ms) if late else None))
        if created:
            self._announce(alarm, point, "raised")
            self._queue_notifications(alarm, point)

    def _clear(self, point: Point, ev: rules.Event) -> None:
        for alarm in Alarm.objects.using(self.using).filter(point_id=point.pk, condition=ev.condition,
                                                            status__in=list(CLEARED)):
            Alarm.objects.using(self.using).filter(pk=alarm.pk, status=alarm.status).update(
                status=CLEARED[alarm.status], cleared_at=codec.ms_to_datetime(ev.ts))
            alarm.status = CLEARED[alarm.status]
            self._announce(alarm, point, "cleared")

    def _track_peak(self, point: Point, mask: int, ts, values) -> None:
        hi, lo = max(values), min(values)
        for cond, bit in rules.MASK.items():
            if mask & bit:
                qs = Alarm.objects.using(self.using).filter(point_id=point.pk, condition=cond,
                                                            status__in=list(CLEARED))
                if rules.HIGH_SIDE[cond]:
                    qs.filter(peak_value__lt=hi).update(peak_value=hi)
                else:
                    qs.filter(peak_value__gt=lo).update(peak_value=lo)

    def _late(self, point: Point, th: dict, late: list[tuple[int, float]], now) -> None:
        """Readings older than the point's state (backfill, reordering): an excursion that no alarm covers
        gets its own alarm, already cleared, marked late — so no crossing goes unrecorded."""
        for cond in rules.CONDITIONS:
            limit = th.get(cond)
            if limit is None:
                continue
            runs: list[list[tuple[int, float]]] = []
            run: list[tuple[int, float]] = []
            for t, v in sorted(late):
                if rules.enters(cond, v, limit):
                    run.append((t, v))
                elif run:
                    runs.append(run)
                    run = []
            if run:
                runs.append(run)
            for run in runs:
                start, end = run[0][0], run[-1][0]
                covered = Alarm.objects.using(self.using).filter(
                    point_id=point.pk, condition=cond, raised_ms__lte=start).exclude(
                    cleared_at__lt=codec.ms_to_datetime(end)).exists()
                if not covered:
                    peak = max(v for _t, v in run) if rules.HIGH_SIDE[cond] else min(v for _t, v in run)
                    ev = rules.Event("raise", cond, start, run[0][1], start)
                    self._raise(point, ev, limit, now, late=True, cleared_ms=end)
                    Alarm.objects.using(self.using).filter(point_id=point.pk, condition=cond, raised_ms=start).update(
                        peak_value=peak)

    def _announce(self, alarm: Alarm, point: Point, change: str) -> None:
        gw_county = self._county(point.enterprise_id)
        live.publish({"type": "alarm", "change": change, "id": alarm.pk, "status": alarm.status,
                      "level": alarm.level, "condition": alarm.condition, "enterprise_id": point.enterprise_id,
                      "county": gw_county, "point": point.code, "point_name": point.name, "unit": point.unit,
                      "value": alarm.raise_value, "raised_at": alarm.raised_at.isoformat()}, using=self.using)

    _counties: dict[int, str] = {}

    def _county(self, enterprise_id: int) -> str:
        if enterprise_id not in self._counties:
            from worksafe.enterprises.models import Enterprise

            self._counties[enterprise_id] = Enterprise.objects.using(self.using).filter(
                pk=enterprise_id).values_list("county__code", flat=True).first() or ""
        return self._counties[enterprise_id]

    def _queue_notifications(self, alarm: Alarm, point: Point) -> None:
        queue_alarm_notifications(alarm, point, kind="raised", using=self.using)

    # --- data quality -------------------------------------------------------------------------------------
    def _quality_events(self, pidx, ts, quality, in_range, now) -> None:
        d = self.directory
        for kind, mask in ((QualityKind.OUT_OF_RANGE, ~in_range), (QualityKind.BAD_QUALITY, in_range & (quality > 1))):
            if not mask.any():
                continue
            for i, n in zip(*np.unique(pidx[mask], return_counts=True), strict=True):
                row = d.rows[int(i)]
                self._upsert_quality(kind, d.by_id.get(row["gateway_id"]), int(d.ids[i]), int(n), now,
                                     {"enterprise_id": row["enterprise_id"]})

    def _upsert_quality(self, kind, gw: GatewayInfo | None, point_id: int | None, n: int, now, detail: dict) -> None:
        enterprise_id = detail.pop("enterprise_id", None) or (gw.enterprise_id if gw else None)
        qs = QualityEvent.objects.using(self.using).filter(kind=kind, is_open=True, point_id=point_id,
                                                           gateway_id=None if point_id else gw.id)
        event = qs.select_for_update().first()
        if event is None:
            QualityEvent.objects.using(self.using).create(
                kind=kind, enterprise_id=enterprise_id, gateway_id=gw.id if gw else None, point_id=point_id,
                started_at=now, last_seen_at=now, count=n, detail=detail)
        else:
            event.count += n
            event.last_seen_at = now
            event.detail = {**event.detail, **detail}
            event.save(update_fields=["count", "last_seen_at", "detail"])

    def _close_interruptions(self, arrays, now) -> None:
        """Data is back: close open 数据中断 events of these gateways/points; count backfill into closed gaps."""
        gateways = {a[0].id for a in arrays}
        open_events = list(QualityEvent.objects.using(self.using).filter(
            kind=QualityKind.INTERRUPTION, gateway_id__in=gateways, started_at__lt=now))
        if not open_events:
            return
        first_ts: dict[tuple, int] = {}
        for gw, pidx, ts, _v, _q in arrays:
            ids = self.directory.ids[pidx]
            for key, sel in (((gw.id, None), slice(None)),):
                first_ts[key] = min(first_ts.get(key, 1 << 62), int(ts[sel].min()))
            for pid in np.unique(ids).tolist():
                first_ts[(gw.id, pid)] = min(first_ts.get((gw.id, pid), 1 << 62), int(ts[ids == pid].min()))
        for ev in open_events:
            key = (ev.gateway_id, ev.point_id)
            if key not in first_ts:
                continue
            start_ms = int(ev.started_at.timestamp() * 1000)
            if ev.is_open:
                ev.is_open = False
                ev.ended_at = codec.ms_to_datetime(max(first_ts[key], start_ms))
                ev.save(update_fields=["is_open", "ended_at"])
                live.publish({"type": "quality", "change": "closed", "id": ev.pk, "kind": ev.kind,
                              "enterprise_id": ev.enterprise_id}, using=self.using)
            elif ev.ended_at and start_ms <= first_ts[key] < int(ev.ended_at.timestamp() * 1000):
                QualityEvent.objects.using(self.using).filter(pk=ev.pk).update(backfilled=ev.backfilled + 1)

    # --- last values --------------------------------------------------------------------------------------
    def _remember(self, array) -> None:
        _gw, pidx, ts, values, _q = array
        if not len(ts):
            return
        ids = self.directory.ids[pidx]
        order = np.lexsort((ts, ids))
        ids, ts, values = ids[order], ts[order], values[order]
        last = np.flatnonzero(np.append(np.diff(ids), 1))
        for pid, t, v in zip(ids[last].tolist(), ts[last].tolist(), values[last].tolist(), strict=True):
            old = self.last.get(pid)
            if old is None or old[0] < t:
                self.last[pid] = (t, v)

    def flush_last_values(self, force: bool = False) -> int:
        if not self.last or (not force and time.monotonic() - self.flushed < settings.MONITORING_LAST_VALUE_FLUSH_S):
            return 0
        batch, self.last = self.last, {}
        self.flushed = time.monotonic()
        rows = [(v, codec.ms_to_datetime(t), pid, codec.ms_to_datetime(t)) for pid, (t, v) in sorted(batch.items())]
        with transaction.atomic(using=self.using), connections[self.using].cursor() as cur:
            cur.executemany("UPDATE monitoring_point SET last_value = %s, last_ts = %s "
                            "WHERE id = %s AND (last_ts IS NULL OR last_ts < %s)", rows)
        return len(rows)


@dataclass
class _Prepared:
    refreshed: bool
    rows: list[store.Row] = field(default_factory=list)
    row_outcome: list[int] = field(default_factory=list)  # rows[i] → index into outcomes
    arrays: dict = field(default_factory=dict)  # row key → (gateway, point index, ts, values, quality)
    outcomes: list[Outcome] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    drift: dict[int, int] = field(default_factory=dict)  # gateway id → ms ahead
    unknown_points: bool = False

    def reject(self, m: Message, gw: GatewayInfo | None, reason: str, detail: str) -> None:
        self.dead.append(DeadLetter(source=m.source, gateway_id=gw.id if gw else None,
                                    enterprise_id=gw.enterprise_id if gw else None, reason=reason,
                                    detail=detail[:2000], payload=m.payload))
        self.outcomes.append(Outcome("rejected", 0, 0, reason, [(None, reason, detail[:500])]))


def queue_alarm_notifications(alarm: Alarm, point: Point, *, kind: str, recipients=None, using: str = "default") -> int:
    """Write outbox rows for an alarm event: one per recipient and channel, never twice (unique key)."""
    from worksafe.core.models import User

    if recipients is None:  # the enterprise's own people who may see alarms
        recipients = [u for u in User.objects.using(using).filter(
            organisation__enterprise__id=alarm.enterprise_id, is_active=True) if u.has_perm("monitoring.view_alarm")]
    title = f"{alarm.get_condition_display()} {point.code} {point.name}"
    body = f"{alarm.raise_value:g} {point.unit}".strip()
    rows = [Notification(recipient=u, channel=ch, key=f"alarm:{alarm.pk}:{kind}", alarm=alarm, title=title,
                         body=body, url=f"/monitoring/alarms/{alarm.pk}/")
            for u in recipients for ch in settings.MONITORING_CHANNELS]
    Notification.objects.using(using).bulk_create(rows, ignore_conflicts=True)
    return len(rows)


_shared: dict[str, Ingestor] = {}
_shared_lock = threading.Lock()


def shared(using: str = "default") -> Ingestor:
    """One Ingestor per process and database (the HTTP endpoint and the in-process simulator use it)."""
    with _shared_lock:
        if using not in _shared:
            _shared[using] = Ingestor(using)
        return _shared[using]


def reset_shared() -> None:
    with _shared_lock:
        _shared.clear()
