"""The ingest pipeline: decode → validate → evaluate thresholds → store, one transaction per micro-batch.

`Ingestor.process(messages)` is shared by the MQTT worker (`worksafe ingest`, which acknowledges the
messages only after it returns) and the HTTP endpoint (which answers 2xx only after it returns).
It returns after COMMIT; if it raises, nothing of the micro-batch was committed and the caller retries.

Per micro-batch:
1. decode each message (codec.py), resolve its gateway and points, sort bad readings out to the
   dead-letter table with the reason (the good readings of the same message are kept);
2. lock the batch's gateways and sort the messages into new, redelivered and altered re-sends by sequence
   number (store.SeqState: the gateway's highest number and the holes below it; anything else is looked up
   among the stored rows); altered re-sends are dead-lettered as conflicts; the new messages are written
   with COPY, small messages of one gateway sharing a row (store.coalesce);
3. evaluate thresholds over the new readings: numpy compares every reading with the point's watch band
   at once, and only points with a reading outside it, or already in alarm, go through the exact
   per-reading state machine (rules.step) under a row lock;
4. write alarms, the notification outbox, gateway sequence counters and data-quality events, and NOTIFY
   the live board — all in the same transaction.
Last values are kept in memory and written to the point table every MONITORING_LAST_VALUE_FLUSH_S.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, Q
from django.utils.translation import gettext

from worksafe.monitoring import codec, live, reevaluate, rules, store
from worksafe.monitoring.choices import CLEARED, AlarmStatus, EscalationLevel, QualityKind
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
        with connections[self.using].cursor() as cur:  # one round trip instead of four
            cur.execute("SELECT (SELECT MAX(updated_at) FROM monitoring_point), (SELECT COUNT(*) FROM monitoring_point), "
                        "(SELECT MAX(updated_at) FROM monitoring_gateway), (SELECT COUNT(*) FROM monitoring_gateway), "
                        "(SELECT COUNT(*) FROM monitoring_gateway WHERE active)")
            return tuple(cur.fetchone())

    def load(self) -> None:
        self.version = self._stamp()
        self.checked = time.monotonic()
        gws = Gateway.objects.using(self.using).filter(active=True).values_list(
            "id", "code", "enterprise_id", "enterprise__credit_code")
        self.by_topic = {(c, code): GatewayInfo(i, code, e, c) for i, code, e, c in gws}
        self.by_id = {g.id: g for g in self.by_topic.values()}
        rows = list(Point.objects.using(self.using).filter(active=True).values(
            "id", "enterprise_id", "hazard_id", "gateway_id", "code", "range_low", "range_high", "low_low", "low",
            "high", "high_high", "deadband", "min_duration", "sampling_period", "last_ts"))
        self.index = {(r["enterprise_id"], r["code"]): i for i, r in enumerate(rows)}
        self.codes: dict[int, dict[str, int]] = {}  # enterprise id → {point code → index}: no tuple per reading
        self.last_points: dict[int, tuple[list[str], list[int]]] = {}  # gateway id → (its last point list, indexes)
        for i, r in enumerate(rows):
            self.codes.setdefault(r["enterprise_id"], {})[r["code"]] = i
        self.rows = rows
        self.ids = np.array([r["id"] for r in rows], dtype=np.int32)
        self.by_point_id = {r["id"]: i for i, r in enumerate(rows)}
        self.thresholds = [{"LL": r["low_low"], "L": r["low"], "H": r["high"], "HH": r["high_high"]} for r in rows]
        bands = [rules.watch_band(t, r["deadband"]) for t, r in zip(self.thresholds, rows, strict=True)]
        self.lo = np.array([b[0] for b in bands], dtype=np.float64)
        self.hi = np.array([b[1] for b in bands], dtype=np.float64)
        self.rlo = np.array([-np.inf if r["range_low"] is None else r["range_low"] for r in rows], dtype=np.float64)
        self.rhi = np.array([np.inf if r["range_high"] is None else r["range_high"] for r in rows], dtype=np.float64)
        # Newest reading time per point as stored when loaded (epoch ms, -1: none); Ingestor keeps it current.
        self.last_ms = np.array([-1 if r["last_ts"] is None else int(r["last_ts"].timestamp() * 1000) for r in rows],
                                dtype=np.int64)

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
        self.last = LastValues()  # point id → (ts ms, value) not yet flushed
        self.flushed = time.monotonic()
        self.lock = threading.Lock()
        self._seen: np.ndarray | None = None  # newest reading time seen per point index (late detection)
        self._seen_for: np.ndarray | None = None  # the directory's ids the array is aligned with
        self._counties: dict[int, str] = {}

    def seen(self) -> np.ndarray:
        """Newest reading time per point index that this process stored or found stored (epoch ms)."""
        d = self.directory
        if self._seen_for is not d.ids:  # directory reloaded: carry over what we knew, by point id
            fresh = d.last_ms.copy()
            if self._seen is not None:
                old = dict(zip(self._seen_for.tolist(), self._seen.tolist(), strict=True))
                for k, pid in enumerate(d.ids.tolist()):
                    fresh[k] = max(fresh[k], old.get(pid, -1))
            self._seen, self._seen_for = fresh, d.ids
        return self._seen

    # --- entry point ----------------------------------------------------------------------------------
    def process(self, messages: list[Message]) -> list[Outcome]:
        with self.lock:
            self.directory.maybe_refresh()
            now = datetime.datetime.now(UTC)
            prepared = self._prepare(messages, now)
            if prepared.unknown and not prepared.refreshed:
                self.directory.maybe_refresh(force=True)  # a point or gateway added since the last refresh
                prepared = self._prepare(messages, now)
            days = {e.day for e in prepared.entries}
            self._ensure_partitions(days)
            try:
                self._write(prepared, now)
            except Exception as exc:
                if getattr(exc, "sqlstate", None) != "23514" or "no partition" not in str(exc):
                    raise
                self.days -= days  # a partition we knew of is gone (dropped by retention or a rollback)
                self._ensure_partitions(days)
                self._write(prepared, now)
            if prepared.new_readings is not None:  # committed: remember them for the next flush
                self.last.update(*prepared.new_readings)
                np.maximum.at(self.seen(), prepared.new_index, prepared.new_readings[1])
            self.flush_last_values()
            return prepared.outcomes

    def _write(self, prepared: _Prepared, now: datetime.datetime) -> None:
        with transaction.atomic(using=self.using):
            states = self._lock_gateways(prepared.entries)
            result = self._classify(prepared.entries, states)
            store.write(store.coalesce(result.new, prepared.records), now, using=self.using)
            self._after_write(prepared, result, states, now)

    def _lock_gateways(self, entries: list[store.Entry]) -> dict[int, store.SeqState]:
        """Lock the gateways of the micro-batch (in id order: workers never deadlock on them) and read their
        sequence bookkeeping. Held until COMMIT, so two writers never both take a message as new."""
        ids = sorted({e.gateway_id for e in entries})
        if not ids:
            return {}
        rows = (Gateway.objects.using(self.using).select_for_update(no_key=True).filter(id__in=ids).order_by("id")
                .values_list("id", "first_seq", "max_seq", "holes", "seq_forgotten"))  # SQLite: one writer anyway
        return {gid: store.SeqState(first, top, holes, forgotten) for gid, first, top, holes, forgotten in rows}

    def _classify(self, entries: list[store.Entry], states: dict[int, store.SeqState]) -> _Sorted:
        """New, redelivered (same digest) and altered (another digest) messages. Above the highest sequence
        number or in a hole: new. Otherwise look it up: the same digest is a duplicate, another one or none at
        all an altered re-send (unless the number lies in a forgotten hole); a heartbeat (no readings) seen
        before is a duplicate."""
        out = _Sorted([], [], [])
        suspects = []
        for e in entries:
            st = states.get(e.gateway_id)
            if st is None or st.is_new(e.seq):
                out.new.append(e)
            elif e.n:
                suspects.append(e)
            else:
                out.duplicates.append(e)
        if suspects:
            stored = store.stored_digests(suspects, using=self.using)
            for e in suspects:
                digest = stored.get(e.key)
                if digest is None and states[e.gateway_id].may_be_forgotten(e.seq):
                    out.new.append(e)
                elif digest == e.digest:
                    out.duplicates.append(e)
                else:
                    out.conflicts.append(e)
        return out

    # --- 1. decode and validate -------------------------------------------------------------------------
    def _prepare(self, messages: list[Message], now: datetime.datetime) -> _Prepared:
        """Decode every message; the readings of the whole micro-batch end up in four arrays (one numpy
        conversion and one packing per batch, not per message); each message keeps a slice of them."""
        d = self.directory
        out = _Prepared(refreshed=False)
        now_ms = int(now.timestamp() * 1000)
        latest_ms = now_ms + settings.MONITORING_MAX_CLOCK_AHEAD_S * 1000
        drift_ms = settings.MONITORING_CLOCK_DRIFT_S * 1000
        oldest_ms = now_ms - settings.MONITORING_RAW_RETENTION_DAYS * 86_400_000
        seen: dict[tuple, int] = {}
        b_idx: list[int] = []
        b_ts: list[int] = []
        b_values: list[float] = []
        b_quality: list[int] = []
        for m in messages:
            gw = d.by_id.get(m.gateway_id) if m.gateway_id is not None else d.by_topic.get(
                (m.credit_code, m.gateway_code))
            try:
                dec = codec.decode(m.payload)
            except codec.PayloadError as exc:
                out.reject(m, gw, exc.reason, exc.detail)
                continue
            if gw is None:
                out.unknown = True  # perhaps added since the last refresh: process() looks again once
                out.reject(m, None, "unknown_gateway", f"{m.credit_code}/{m.gateway_code or m.gateway_id}")
                continue
            if dec.gateway != gw.code:
                out.reject(m, gw, "gateway_mismatch", f"payload gateway {dec.gateway!r}, expected {gw.code!r}")
                continue
            # A gateway sends the same points in the same order scan after scan: comparing the list with the
            # last one (string compares) is cheaper than a dictionary lookup per reading.
            seen_points = d.last_points.get(gw.id)
            if seen_points is not None and seen_points[0] == dec.points:
                idx = seen_points[1]
            else:
                get = d.codes.get(gw.enterprise_id, _NO_CODES).get
                idx = [get(code, -1) for code in dec.points]
                d.last_points[gw.id] = (dec.points, idx)
            ts = dec.ts
            if dec.bad or (idx and (min(idx) < 0 or min(ts) < oldest_ms or max(ts) > latest_ms)):
                errors, idx, ts, values, quality = self._sort_out(dec, idx, gw, out, now_ms, latest_ms, oldest_ms)
            else:  # the usual case: every reading is good
                errors, values, quality = [], dec.values, dec.quality
            n = len(idx)
            t0 = min(ts) if n else now_ms  # a heartbeat (no readings): the sequence number still counts
            newest = max(ts) if n else t0
            if newest - t0 > codec.MAX_SPAN_MS:
                out.reject(m, gw, "span_too_long", "readings of one message must lie within 24 days")
                continue
            if newest - now_ms > drift_ms:  # accepted, but the gateway's clock runs ahead: a drift event
                out.drift[gw.id] = max(out.drift.get(gw.id, 0), newest - now_ms)
            if errors:
                out.dead.append(DeadLetter(source=m.source, gateway_id=gw.id, enterprise_id=gw.enterprise_id,
                                           reason=errors[0][1], payload=m.payload,
                                           detail="\n".join(f"#{j}: {r} {t}" for j, r, t in errors[:200])))
            if not n and (dec.points or errors):
                out.outcomes.append(Outcome("rejected", 0, len(errors), errors[0][1], errors))
                continue
            entry = store.Entry(gw.id, dec.seq, t0, newest - t0, n, codec.digest(m.payload), len(b_idx))
            status = "partial" if errors else "stored"
            key = (gw.id, dec.seq)
            if key in seen:  # the same message twice in one micro-batch
                first = out.entries[seen[key]]
                status = "duplicate" if first.digest == entry.digest else "conflict"
                if status == "conflict":
                    out.altered(m, gw, dec.seq)
                out.outcomes.append(Outcome(status, 0, len(errors), "altered_resend" if status == "conflict" else ""))
                continue
            seen[key] = len(out.entries)
            out.entries.append(entry)
            out.row_outcome.append(len(out.outcomes))
            out.row_gw.append(gw)
            out.row_msg.append(m)
            b_idx += idx
            b_ts += ts
            b_values += values
            b_quality += quality
            out.outcomes.append(Outcome(status, n, len(errors), errors[0][1] if errors else "", errors))
        out.pidx = np.array(b_idx, dtype=np.int32)
        out.ts = np.array(b_ts, dtype=np.int64)
        out.values = np.array(b_values, dtype=np.float64)
        out.quality = np.frombuffer(bytes(b_quality), dtype=np.uint8)  # 0–2, validated by the decoder
        # Every message's readings packed in one go (relative to each message's t0); store.coalesce cuts rows.
        t0s = np.fromiter((e.t0_ms for e in out.entries), dtype=np.int64, count=len(out.entries))
        out.records = codec.pack_batch(d.ids[out.pidx], out.ts, np.repeat(t0s, out.counts), out.values, out.quality)
        return out

    @staticmethod
    def _sort_out(dec, idx, gw, out, now_ms, latest_ms, oldest_ms):
        """Some readings are bad: (errors, and the good readings' point index, ts, value, quality lists)."""
        errors = list(dec.bad)
        keep_idx, keep_ts, keep_values, keep_quality = [], [], [], []
        for j, i in enumerate(idx):
            t = dec.ts[j]
            if i < 0:
                out.unknown = True
                errors.append((j, "unknown_point", dec.points[j]))
            elif t > latest_ms:
                errors.append((j, "future_timestamp", str(t)))
                out.drift[gw.id] = max(out.drift.get(gw.id, 0), t - now_ms)
            elif t < oldest_ms:
                errors.append((j, "too_old", str(t)))
            else:
                keep_idx.append(i)
                keep_ts.append(t)
                keep_values.append(dec.values[j])
                keep_quality.append(dec.quality[j])
        return errors, keep_idx, keep_ts, keep_values, keep_quality

    def _ensure_partitions(self, days: set[datetime.date]) -> None:
        missing = days - self.days
        if missing and connections[self.using].vendor == "postgresql":
            store.ensure_partitions(missing, using=self.using)
        self.days |= missing

    # --- 2.–4. inside the transaction ---------------------------------------------------------------------
    def _after_write(self, prep: _Prepared, result: _Sorted, states: dict[int, store.SeqState],
                     now: datetime.datetime) -> None:
        all_new = len(result.new) == len(prep.entries)
        if not all_new:
            new_keys = {e.key for e in result.new}
            conflicts = {e.key for e in result.conflicts}
            for pos, row in enumerate(prep.entries):
                if row.key in new_keys:
                    continue
                outcome = prep.outcomes[prep.row_outcome[pos]]
                if row.key in conflicts:
                    outcome.status, outcome.reason, outcome.stored = "conflict", "altered_resend", 0
                    prep.altered(prep.row_msg[pos], prep.row_gw[pos], row.seq)
                else:
                    outcome.status, outcome.stored = "duplicate", 0
        if prep.dead:
            DeadLetter.objects.using(self.using).bulk_create(prep.dead)
        for gw_id, ahead in prep.drift.items():  # also when the readings were refused as too far ahead
            self._upsert_quality(QualityKind.CLOCK_DRIFT, self.directory.by_id[gw_id], None, 1, now,
                                 {"ahead_ms": ahead})
        if not result.new:
            return
        if all_new:
            pidx, ts, values, quality = prep.pidx, prep.ts, prep.values, prep.quality
            gws, counts = prep.row_gw, prep.counts
        else:  # only the readings of the messages stored now
            is_new = [e.key in new_keys for e in prep.entries]
            mask = np.repeat(np.array(is_new, dtype=bool), prep.counts)
            pidx, ts, values, quality = prep.pidx[mask], prep.ts[mask], prep.values[mask], prep.quality[mask]
            gws = [g for g, k in zip(prep.row_gw, is_new, strict=True) if k]
            counts = [c for c, k in zip(prep.counts, is_new, strict=True) if k]
        with_readings = {g.id for g, n in zip(gws, counts, strict=True) if n}
        abnormal, interrupted = self._update_gateways(result.new, states, with_readings, now)
        if len(ts):
            d = self.directory
            in_range = (values >= d.rlo[pidx]) & (values <= d.rhi[pidx])
            good = in_range & (quality == 0)
            self._quality_events(pidx, ts, quality, in_range, now)
            self._evaluate(pidx, ts, values, good, now, abnormal)
            if interrupted:
                self._close_interruptions(gws, counts, pidx, ts, now)
            prep.new_readings = (d.ids[pidx], ts, values)
            prep.new_index = pidx

    def _update_gateways(self, new: list[store.Entry], states: dict[int, store.SeqState], with_readings: set[int],
                         now: datetime.datetime) -> tuple[list[int], bool]:
        """Sequence bookkeeping of the gateways (locked by _lock_gateways); also returns (ids of points in a
        non-normal alarm state, whether any of `with_readings` has an interruption event that readings may
        close). PostgreSQL: the three statements go in one round trip (pipeline)."""
        per: dict[int, list[int]] = {}
        for e in new:
            seqs = per.get(e.gateway_id)
            if seqs is None:
                per[e.gateway_id] = [e.seq]
            else:
                seqs.append(e.seq)
        now_s = int(now.timestamp())
        items = []
        for gid in sorted(per):
            st = store.track_sequence(states.get(gid) or store.SeqState(None, None, []), per[gid], now_s)
            items.append((gid, st.first, st.top, json.dumps(st.holes), st.forgotten, len(per[gid])))
        conn = connections[self.using]
        if conn.vendor != "postgresql":
            with conn.cursor() as cur:
                cur.executemany("UPDATE monitoring_gateway SET first_seq = %s, max_seq = %s, holes = %s, "
                                "seq_forgotten = %s, received = received + %s, last_seen_at = %s WHERE id = %s",
                                [(first, top, holes, forgotten, n, now, gid)
                                 for gid, first, top, holes, forgotten, n in items])
            abnormal = list(Point.objects.using(self.using).exclude(alarm_mask=0, pending_mask=0)
                            .values_list("id", flat=True))
            interrupted = bool(with_readings) and QualityEvent.objects.using(self.using).filter(
                kind=QualityKind.INTERRUPTION, gateway_id__in=with_readings, started_at__lt=now).exists()
            return abnormal, interrupted
        raw = conn.connection
        with raw.pipeline(), raw.cursor() as update, raw.cursor() as points, raw.cursor() as events:
            update.execute(
                "UPDATE monitoring_gateway g SET first_seq = v.first, max_seq = v.top, holes = v.holes::jsonb, "
                "seq_forgotten = v.forgotten, received = g.received + v.n, last_seen_at = %s "
                "FROM unnest(%s::integer[], %s::bigint[], %s::bigint[], %s::text[], %s::bigint[], %s::bigint[]) "
                "AS v(id, first, top, holes, forgotten, n) WHERE g.id = v.id",
                [now, *(list(col) for col in zip(*items, strict=True))])
            points.execute("SELECT id FROM monitoring_point WHERE NOT (alarm_mask = 0 AND pending_mask = 0)")
            events.execute("SELECT 1 FROM monitoring_qualityevent WHERE kind = %s AND gateway_id = ANY(%s) "
                           "AND started_at < %s LIMIT 1", [QualityKind.INTERRUPTION.value, sorted(with_readings), now])
            abnormal = [r[0] for r in points.fetchall()]
            interrupted = events.fetchone() is not None
        return abnormal, interrupted

    # --- alarms -----------------------------------------------------------------------------------------
    def _evaluate(self, pidx, ts, values, good, now, abnormal: list[int]) -> None:
        d = self.directory
        interesting = good & ((values <= d.lo[pidx]) | (values >= d.hi[pidx]))
        is_cand = np.zeros(len(d.ids), dtype=bool)  # by point index: no sorting (np.unique) per batch
        is_cand[pidx[interesting]] = True
        if abnormal:  # points in a non-normal alarm state: every new reading of theirs is evaluated
            present = np.zeros(len(d.ids), dtype=bool)
            present[pidx[good]] = True
            for p in abnormal:
                i = d.by_point_id.get(p)
                if i is not None and present[i]:
                    is_cand[i] = True
        late = good & (ts <= self.seen()[pidx])
        if late.any():  # older than what the point has seen: a late normal reading may end an alarm early
            self._late_candidates(is_cand, pidx[late], ts[late])
        candidates = np.flatnonzero(is_cand)
        if not len(candidates):
            return
        sel = good & is_cand[pidx]
        p_sel, t_sel, v_sel = pidx[sel], ts[sel], values[sel]
        order = np.lexsort((t_sel, p_sel))
        p_sel, t_sel, v_sel = p_sel[order], t_sel[order], v_sel[order]
        bounds = np.flatnonzero(np.diff(p_sel)) + 1
        groups = np.split(np.arange(len(p_sel)), bounds)
        ids = sorted(d.ids[candidates].tolist())
        locked = {p.id: p for p in Point.objects.using(self.using).select_for_update().filter(id__in=ids)
                  .order_by("id").only("id", "alarm_mask", "pending_mask", "pending_since", "state_ts",
                                       "enterprise_id", "hazard_id", "code", "name", "unit", "last_ts")}
        for g in groups:
            i = int(p_sel[g[0]])
            point = locked.get(int(d.ids[i]))
            if point is None:
                continue
            self._evaluate_point(point, i, t_sel[g].tolist(), v_sel[g].tolist(), now)

    def _late_candidates(self, is_cand: np.ndarray, pidx: np.ndarray, ts: np.ndarray) -> None:
        """Late readings inside the watch band matter only where they fall inside one of their point's alarms
        (from its crossing to its clearing, or still open): there they may end it earlier. Elsewhere the point
        was normal at that time and such a reading changes nothing, so backfilled normal data is not replayed
        (before, any alarm of the point after the backfilled period sent every batch of it to a replay)."""
        d = self.directory
        spans = reevaluate.alarm_spans(d.ids[np.unique(pidx)].tolist(), int(ts.min()), self.using)
        for pid, intervals in spans.items():
            i = d.by_point_id[pid]
            t = ts[pidx == i]
            if any(((t >= lo) & (t <= hi)).any() for lo, hi in intervals):
                is_cand[i] = True

    def _evaluate_point(self, point: Point, i: int, ts: list[int], values: list[float], now) -> None:
        d = self.directory
        th = d.thresholds[i]
        row = d.rows[i]
        state = rules.PointState(point.alarm_mask, {k: int(v) for k, v in (point.pending_since or {}).items()})
        # Newest reading already seen: evaluated (state_ts), flushed (last_ts) or stored by this process.
        seen = [point.state_ts, int(self.seen()[i]),
                int(point.last_ts.timestamp() * 1000) if point.last_ts else None]
        last = max((s for s in seen if s is not None and s >= 0), default=None)
        if last is not None and ts[0] <= last:  # late readings (ts is sorted): replay the point's history
            reevaluate.reevaluate_point(self, point, i, ts[0], now)
            return
        events: list[rules.Event] = []
        for t, v in zip(ts, values, strict=True):
            events += rules.step(state, t, v, th, row["deadband"], row["min_duration"] * 1000)
        for ev in events:
            if ev.kind == "raise":
                self._raise(point, ev, th[ev.condition], now)
            else:
                self._clear(point, ev)
        if state.alarm_mask:
            self._track_peak(point, state.alarm_mask, ts, values)
        Point.objects.using(self.using).filter(pk=point.pk).update(
            alarm_mask=state.alarm_mask, pending_mask=state.pending_mask, pending_since=state.pending, state_ts=ts[-1])

    def _raise(self, point: Point, ev: rules.Event, threshold: float, now, *, late: bool = False,
               cleared_ms: int | None = None, peak: float | None = None) -> None:
        """A new alarm; `late` ones come from a replay and may already be over (`cleared_ms`)."""
        alarm, created = Alarm.objects.using(self.using).get_or_create(
            point_id=point.pk, condition=ev.condition, raised_ms=ev.since,
            defaults=dict(enterprise_id=point.enterprise_id, hazard_id=point.hazard_id, level=rules.LEVEL[ev.condition],
                          threshold=threshold, raised_at=codec.ms_to_datetime(ev.ts), raise_value=ev.value,
                          peak_value=ev.value if peak is None else peak, late=late,
                          status=AlarmStatus.ACTIVE_UNACK if cleared_ms is None else AlarmStatus.CLEARED_UNACK,
                          cleared_at=None if cleared_ms is None else codec.ms_to_datetime(cleared_ms)))
        if created:
            self._announce(alarm, point, "raised")
            self._queue_notifications(alarm, point)

    def _clear(self, point: Point, ev: rules.Event) -> None:
        # Locked, so an acknowledgement at this moment waits and then finds the alarm cleared (not lost).
        for alarm in Alarm.objects.using(self.using).select_for_update().filter(
                point_id=point.pk, condition=ev.condition, status__in=list(CLEARED)):
            Alarm.objects.using(self.using).filter(pk=alarm.pk).update(
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

    def _announce(self, alarm: Alarm, point: Point, change: str) -> None:
        gw_county = self._county(point.enterprise_id)
        live.publish({"type": "alarm", "change": change, "id": alarm.pk, "status": alarm.status,
                      "level": alarm.level, "condition": alarm.condition, "enterprise_id": point.enterprise_id,
                      "county": gw_county, "point": point.code, "point_name": point.name, "unit": point.unit,
                      "value": alarm.raise_value, "raised_at": alarm.raised_at.isoformat()}, using=self.using)

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

    def _close_interruptions(self, gws: list[GatewayInfo], counts: list[int], pidx, ts, now) -> None:
        """Data is back: close open 数据中断 events of these gateways/points; count backfill into closed gaps."""
        gateways = {g.id for g, n in zip(gws, counts, strict=True) if n}
        earliest = codec.ms_to_datetime(int(ts.min()))
        open_events = list(QualityEvent.objects.using(self.using).filter(
            Q(is_open=True) | Q(ended_at__gt=earliest), kind=QualityKind.INTERRUPTION, gateway_id__in=gateways,
            started_at__lt=now))
        if not open_events:
            return
        # Earliest reading per gateway and per (gateway, point) in this batch.
        gw_of = np.repeat(np.array([g.id for g in gws], dtype=np.int64), counts)
        first_ts: dict[tuple, int] = {}
        for key_arr, as_key in ((gw_of, lambda k: (k, None)),
                                ((gw_of << 32) | self.directory.ids[pidx].astype(np.int64),
                                 lambda k: (k >> 32, k & 0xFFFFFFFF))):
            order = np.lexsort((ts, key_arr))
            k_sorted = key_arr[order]
            heads = np.flatnonzero(np.r_[True, k_sorted[1:] != k_sorted[:-1]])
            for k, t in zip(k_sorted[heads].tolist(), ts[order][heads].tolist(), strict=True):
                first_ts[as_key(k)] = t
        gw_all = np.repeat(np.array([g.id for g in gws], dtype=np.int64), counts)
        point_all = self.directory.ids[pidx]
        for ev in open_events:
            key = (ev.gateway_id, ev.point_id)
            if key not in first_ts:
                continue
            start_ms = int(ev.started_at.timestamp() * 1000)
            mine = gw_all == ev.gateway_id
            if ev.point_id is not None:
                mine &= point_all == ev.point_id
            if ev.is_open:  # data is back: the gap ends at the first reading after it began
                after = ts[mine & (ts > start_ms)]
                ev.is_open = False
                ev.ended_at = codec.ms_to_datetime(int(after.min()) if len(after) else first_ts[key])
                ev.save(update_fields=["is_open", "ended_at"])
                live.publish({"type": "quality", "change": "closed", "id": ev.pk, "kind": ev.kind,
                              "enterprise_id": ev.enterprise_id, "county": self._county(ev.enterprise_id)},
                             using=self.using)
            else:  # readings inside a closed gap: backfill
                inside = int((mine & (ts > start_ms) & (ts < int(ev.ended_at.timestamp() * 1000))).sum())
                if inside:
                    QualityEvent.objects.using(self.using).filter(pk=ev.pk).update(backfilled=F("backfilled") + inside)

    # --- last values --------------------------------------------------------------------------------------
    FLUSH_CHUNK = 2000  # points per last-value transaction: a flush never holds up ingest for long

    def flush_last_values(self, force: bool = False) -> int:
        """Write the last values to the point table, every MONITORING_LAST_VALUE_FLUSH_S. A flush is written
        in chunks of FLUSH_CHUNK points, one chunk per call (process() calls this after every micro-batch),
        so that a flush of many points does not stall ingest (and alarm latency) behind one long UPDATE.
        force=True writes everything pending now."""
        lv = self.last
        written = 0
        while True:
            if not lv.flushing:
                if not lv.count or (not force and time.monotonic() - self.flushed < settings.MONITORING_LAST_VALUE_FLUSH_S):
                    return written
                lv.start_flush()
                self.flushed = time.monotonic()
            ids, ts, values = lv.next_chunk(None if force else self.FLUSH_CHUNK)
            try:
                self._write_last_values(ids, ts, values)
            finally:
                lv.chunk_done(ids)
            written += len(ids)
            if not force:
                return written

    def _write_last_values(self, ids: np.ndarray, ts: np.ndarray, values: np.ndarray) -> None:
        conn = connections[self.using]
        with transaction.atomic(using=self.using), conn.cursor() as cur:
            if conn.vendor == "postgresql":
                _flush_pg(cur, ids, ts, values)
            else:
                cur.executemany("UPDATE monitoring_point SET last_value = %s, last_ts = %s "
                                "WHERE id = %s AND (last_ts IS NULL OR last_ts < %s)",
                                [(v, codec.ms_to_datetime(t), pid, codec.ms_to_datetime(t))
                                 for pid, t, v in zip(ids.tolist(), ts.tolist(), values.tolist(), strict=True)])


class LastValues:
    """The newest (ts ms, value) per point id that this process stored and has not yet written to the point
    table: arrays indexed by point id, updated a micro-batch at a time (no Python loop per reading).

    A flush takes a snapshot of the pending points (start_flush) and writes it chunk by chunk; until its
    chunk is written, a point still counts as not written (get() returns it)."""

    def __init__(self):
        self.ts = np.zeros(0, dtype=np.int64)
        self.value = np.zeros(0, dtype=np.float64)
        self.dirty = np.zeros(0, dtype=bool)  # newer than anything handed to a flush
        self.inflight = np.zeros(0, dtype=bool)  # handed to the flush under way, not yet written
        self.count = 0  # dirty points
        self.flushing: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # snapshot left to write, in chunks

    def __bool__(self) -> bool:
        return self.count > 0 or bool(self.flushing)

    def __len__(self) -> int:
        return self.count + sum(len(c[0]) for c in self.flushing)

    def get(self, point_id: int, default=None):
        if 0 <= point_id < len(self.dirty) and (self.dirty[point_id] or self.inflight[point_id]):
            return int(self.ts[point_id]), float(self.value[point_id])
        return default

    def update(self, point_ids: np.ndarray, ts: np.ndarray, values: np.ndarray) -> None:
        if not len(ts):
            return
        order = np.lexsort((ts, point_ids))  # by point, then time: the last of each point is its newest
        ids = point_ids[order]
        last = np.flatnonzero(np.append(ids[1:] != ids[:-1], True))
        ids, ts, values = ids[last].astype(np.int64), ts[order][last], values[order][last]
        top = int(ids[-1]) + 1
        if top > len(self.dirty):
            size = max(top, 2 * len(self.dirty))
            grow = size - len(self.dirty)
            self.ts = np.concatenate([self.ts, np.zeros(grow, dtype=np.int64)])
            self.value = np.concatenate([self.value, np.zeros(grow, dtype=np.float64)])
            self.dirty = np.concatenate([self.dirty, np.zeros(grow, dtype=bool)])
            self.inflight = np.concatenate([self.inflight, np.zeros(grow, dtype=bool)])
        newer = ~(self.dirty[ids] | self.inflight[ids]) | (ts > self.ts[ids])  # never older than pending
        ids = ids[newer]
        self.ts[ids] = ts[newer]
        self.value[ids] = values[newer]
        self.dirty[ids] = True
        self.count = int(np.count_nonzero(self.dirty))

    def start_flush(self) -> None:
        """Hand every pending point to a new flush (ids ascending)."""
        ids = np.flatnonzero(self.dirty)
        self.flushing = [(ids, self.ts[ids], self.value[ids])]
        self.dirty[ids] = False
        self.inflight[ids] = True
        self.count = 0

    def next_chunk(self, size: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ids, ts, values = self.flushing.pop(0)
        if size is not None and len(ids) > size:
            self.flushing.insert(0, (ids[size:], ts[size:], values[size:]))
            ids, ts, values = ids[:size], ts[:size], values[:size]
        return ids, ts, values

    def chunk_done(self, ids: np.ndarray) -> None:
        self.inflight[ids] = False


_NO_CODES: dict[str, int] = {}
_LAST_ROW = np.dtype([("n", ">i2"), ("l1", ">i4"), ("id", ">i4"), ("l2", ">i4"), ("value", ">f8"), ("l3", ">i4"),
                      ("ms", ">i8")])


def _flush_pg(cur, ids: np.ndarray, ts: np.ndarray, values: np.ndarray) -> None:
    """Last values to the point table in one UPDATE: the (id, value, ms) rows go in by binary COPY (built by
    numpy, no per-value Python) into a temporary table, then one UPDATE joins it. The join is forced to a
    nested loop over the ids in ascending order, so rows are locked in id order, as the row-by-row UPDATEs
    did and as the alarm evaluation locks them: two workers flushing, or a flush and an evaluation, never
    deadlock."""
    rows = np.empty(len(ids), dtype=_LAST_ROW)
    rows["n"], rows["l1"], rows["l2"], rows["l3"] = 3, 4, 8, 8
    rows["id"], rows["value"], rows["ms"] = ids, values, ts
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS mon_last (id integer, value float8, ms bigint) "
                "ON COMMIT DELETE ROWS")
    with cur.connection.cursor() as raw, raw.copy("COPY mon_last FROM STDIN (FORMAT binary)") as copy:
        copy.write(b"PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00" + rows.tobytes() + b"\xff\xff")
    cur.execute("SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin'), "
                "set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)")
    hashjoin, mergejoin, _a, _b = cur.fetchone()
    cur.execute("UPDATE monitoring_point p SET last_value = v.value, last_ts = v.ts "
                "FROM (SELECT id, value, timestamptz 'epoch' + ms * interval '1 millisecond' AS ts "
                "      FROM mon_last ORDER BY id) v "
                "WHERE p.id = v.id AND (p.last_ts IS NULL OR p.last_ts < v.ts)")
    cur.execute("SELECT set_config('enable_hashjoin', %s, true), set_config('enable_mergejoin', %s, true)",
                [hashjoin, mergejoin])


@dataclass
class _Sorted:
    """The micro-batch's messages after the sequence check."""

    new: list[store.Entry]
    duplicates: list[store.Entry]  # the same message again (redelivery)
    conflicts: list[store.Entry]  # a used sequence number with other content: an altered re-send


@dataclass
class _Prepared:
    refreshed: bool
    entries: list[store.Entry] = field(default_factory=list)  # the messages to store, one per (gateway, seq)
    row_outcome: list[int] = field(default_factory=list)  # entries[i] → index into outcomes
    row_gw: list[GatewayInfo] = field(default_factory=list)  # entries[i] → its gateway
    row_msg: list[Message] = field(default_factory=list)  # entries[i] → the message (an altered one is kept)
    # The micro-batch's readings (point index, epoch ms, value, quality), message after message.
    pidx: np.ndarray | None = None
    ts: np.ndarray | None = None
    values: np.ndarray | None = None
    quality: np.ndarray | None = None
    records: np.ndarray | None = None  # the same readings packed (codec.RECORD, relative to their message's t0)
    new_readings: tuple | None = None  # (point ids, ts, values) stored by this micro-batch
    new_index: np.ndarray | None = None  # their point indexes in the directory
    outcomes: list[Outcome] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    drift: dict[int, int] = field(default_factory=dict)  # gateway id → ms ahead
    unknown: bool = False  # a gateway or point not in the directory (refresh it and try once more)

    @property
    def counts(self) -> list[int]:
        """Readings per entry (entries[i]'s are [entries[i].start, … + counts[i]))."""
        return [e.n for e in self.entries]

    def altered(self, m: Message, gw: GatewayInfo, seq: int) -> None:
        """An altered re-send: refused, and kept whole in the dead-letter table."""
        self.dead.append(DeadLetter(source=m.source, gateway_id=gw.id, enterprise_id=gw.enterprise_id,
                                    reason="altered_resend", payload=m.payload,
                                    detail=gettext("Sequence number %(seq)s was already received with other "
                                                   "content; the first version is kept.") % {"seq": seq}))

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
    if kind.startswith("escalate:"):  # a regulator's inbox: say that it is an escalation, and whose alarm
        from worksafe.enterprises.models import Enterprise

        enterprise = Enterprise.objects.using(using).filter(pk=alarm.enterprise_id).values_list("name", flat=True).first()
        title = gettext("Unacknowledged alarm escalated to %(level)s · %(enterprise)s · %(alarm)s") % {
            "level": EscalationLevel(int(kind.split(":")[1])).label, "enterprise": enterprise or "", "alarm": title}
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
