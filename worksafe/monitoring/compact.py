"""Compaction (`worksafe tick`): the small rows of quiet gateways are merged into fuller ones.

Ingest gives the messages of one gateway in one micro-batch a shared row (store.coalesce). A gateway that sends
single readings every few seconds has one message per micro-batch, so each message gets a row of its own: a
tuple header, eight columns and an index entry for 13 bytes of reading, ~130 bytes per reading in all. This
step merges such rows once the rollups have read them:

1. Rows received in (compaction watermark, rollup watermark], and at least 2 × store.SPAN_MS ago, whose
   messages + readings are under half of store.ROW_BYTES, are read a window of received time at a time.
2. Per gateway and UTC day, their messages are coalesced again (store.coalesce: messages starting within
   store.SPAN_MS of each other, rows up to store.ROW_BYTES) — the same rule ingest follows, which the
   redelivery lookup relies on (a message's row starts at most SPAN_MS before the message).
3. Where that gives fewer rows, the old rows are deleted and the new ones written in one transaction, under the
   gateway row's lock (as ingest takes it), with the newest received time of the rows they replace: the rollups
   have counted those readings and never read them again. Every message keeps its sequence number, digest and
   readings (store.messages of the new rows gives the same set).
4. The watermark moves in the same transaction as the window's last merge; a crash repeats at most a window,
   and merging merged rows again is harmless.

Disk: PostgreSQL reuses the space of the deleted rows for new ones after (auto)vacuum, so a partition being
written settles at the compacted size; an old partition keeps its file size until it is dropped by retention.
"""

from __future__ import annotations

import datetime
import logging

import numpy as np
from django.db import connections

from worksafe.monitoring import codec, rollup, store
from worksafe.monitoring.models import Watermark

log = logging.getLogger(__name__)
UTC = datetime.UTC
WATERMARK = "compact"
WINDOW = datetime.timedelta(minutes=10)  # received time per pass
SMALL_BYTES = store.ROW_BYTES // 2  # rows this full (msgs + data) are left as they are


def run(now: datetime.datetime | None = None, using: str = "default", budget_s: float = 30.0) -> dict:
    """Compact what the rollups have read; returns {"rows": rows read, "merged": rows replaced, "written": rows
    written}. Stops after `budget_s` (the rest is taken next time)."""
    now = now or datetime.datetime.now(UTC)
    rolled = Watermark.objects.using(using).filter(pk=rollup.WATERMARK).values_list("value", flat=True).first()
    totals = {"rows": 0, "merged": 0, "written": 0}
    if rolled is None:
        return totals  # nothing rolled up yet
    upto = min(rolled, now - datetime.timedelta(milliseconds=2 * store.SPAN_MS))
    for got in rollup.in_windows(WATERMARK, upto, compact_window, now, using, budget_s, WINDOW):
        for k in totals:
            totals[k] += got[k]
    return totals


def compact_window(after: datetime.datetime, upto: datetime.datetime, using: str = "default") -> dict:
    """Merge the small rows received in (after, upto], per gateway and day (inside the caller's transaction)."""
    conn = connections[using]
    with conn.cursor() as cur:
        cur.execute(f"SELECT gateway_id, seq, day, t0, received_at, msgs, data FROM {store.TABLE} "
                    "WHERE received_at > %s AND received_at <= %s AND length(msgs) + length(data) < %s "
                    "ORDER BY gateway_id, day, t0", [after, upto, SMALL_BYTES])
        rows = cur.fetchall()
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault((row[0], row[2]), []).append(row)
    out = {"rows": len(rows), "merged": 0, "written": 0}
    old_rows, new_rows, newest = [], [], None
    for group in groups.values():
        if len(group) < 2:
            continue
        entries, records, received = _entries(group)
        merged = store.coalesce(entries, records)
        if len(merged) >= len(group):
            continue
        # A row that comes out holding the same messages as before stays where it is.
        same = {_seqs(r.seq, r.msgs) for r in merged} & {_seqs(r[1], r[5]) for r in group}
        old_rows += [r for r in group if _seqs(r[1], r[5]) not in same]
        new_rows += [r for r in merged if _seqs(r.seq, r.msgs) not in same]
        newest = received if newest is None or received > newest else newest
    if not old_rows:
        return out
    keys = [(g, seq, day, t0) for g, seq, day, t0, *_rest in old_rows]
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            # As ingest does: the gateways' rows are locked (in id order) while their readings are rewritten.
            cur.execute("SELECT 1 FROM monitoring_gateway WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                        [sorted({k[0] for k in keys})])
            cur.execute(f"DELETE FROM {store.TABLE} b USING unnest(%s::integer[], %s::bigint[], %s::date[], "
                        "%s::timestamptz[]) AS k(g, s, d, t) WHERE b.gateway_id = k.g AND b.t0 = k.t AND b.seq = k.s "
                        "AND b.day = k.d", [list(col) for col in zip(*keys, strict=True)])
        else:
            cur.executemany(f"DELETE FROM {store.TABLE} WHERE gateway_id = %s AND seq = %s AND day = %s AND t0 = %s",
                            keys)
        if cur.rowcount != len(keys):  # another writer changed them meanwhile: leave this window as it was
            raise RuntimeError(f"compaction expected to replace {len(keys)} rows, found {cur.rowcount}")
    store.write(new_rows, newest, using=using)
    out["merged"], out["written"] = len(old_rows), len(new_rows)
    log.info("compacted %d rows into %d", len(old_rows), len(new_rows))
    return out


def _entries(group: list) -> tuple[list[store.Entry], np.ndarray, datetime.datetime]:
    """The messages of stored rows as entries (each message's records re-based on its own t0), their record
    array and the newest received time of the rows."""
    entries, parts, at = [], [], 0
    received = None
    for gateway_id, seq0, _day, t0, rec_at, msgs, data in group:
        rec_at = codec.aware(rec_at)
        received = rec_at if received is None or rec_at > received else received
        row_t0 = codec.datetime_to_ms(t0)
        for seq, digest, rec in store.messages(seq0, row_t0, msgs, data):
            n = len(rec)
            if n:
                msg_t0 = int(rec["ts"].min())
                span = int(rec["ts"].max()) - msg_t0
                parts.append(codec.pack_batch(rec["point"], rec["ts"], np.full(n, msg_t0, dtype=np.int64),
                                              rec["value"], rec["quality"]))
            else:  # a heartbeat: no readings, it starts with its row
                msg_t0, span = row_t0, 0
            entries.append(store.Entry(gateway_id, seq, msg_t0, span, n, digest, at))
            at += n
    records = np.concatenate(parts) if parts else np.empty(0, dtype=codec.RECORD)
    entries.sort(key=lambda e: e.t0_ms)  # time order packs fullest; each entry keeps its `start`
    return entries, records, received


def _seqs(seq0: int, msgs: bytes) -> frozenset:
    return frozenset((seq0 + np.frombuffer(bytes(msgs), dtype=store.MSG)["dseq"].astype(np.int64)).tolist())
