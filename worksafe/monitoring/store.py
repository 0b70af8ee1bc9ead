"""Reading storage: the day-partitioned table of message rows, its partitions and retention, the write path,
and the sequence bookkeeping that recognises a redelivered message.

A stored row holds the readings of one or more messages of one gateway from one micro-batch (`coalesce`):
their readings packed as codec.RECORDs relative to the row's t0, and per message a 14-byte entry in `msgs`
(MSG: sequence number after the row's `seq`, reading count, payload digest). Small messages share a row, so
a one-reading message costs ~27 bytes plus its share of one row header and one index entry, instead of a
row and two index entries of its own (docs/performance.md).

Redelivery is recognised by sequence number, not by a unique index (which would cost an index entry per
message): the gateway row, locked for the transaction, keeps the first and highest sequence numbers and the
holes between them (`track_sequence`). A message above the highest or inside a hole is new; any other is
looked up among the stored rows (`stored_digests`) and is a duplicate (same digest) or an altered re-send
(another digest, or not found: an altered message may start at another time).

PostgreSQL: `monitoring_readingbatch` is range-partitioned by `day` (one partition per UTC day, created ahead
of time and on demand; partitions older than MONITORING_RAW_RETENTION_DAYS are dropped); rows are written
with binary COPY. SQLite: one plain table with the same columns.
"""

from __future__ import annotations

import datetime
import logging
import struct
from dataclasses import dataclass

import numpy as np
from django.db import connections, transaction

from worksafe.monitoring import codec

log = logging.getLogger(__name__)
TABLE = "monitoring_readingbatch"
COLUMNS = ("gateway_id", "seq", "day", "t0", "received_at", "n", "msgs", "data")
# Per message of a row: sequence number minus the row's seq, readings, payload digest (big-endian, so that
# SQL can build one with int4send(…) || int2send(…) || int8send(…)).
MSG = np.dtype([("dseq", ">u4"), ("n", ">u2"), ("digest", ">i8")])
ROW_BYTES = 1600  # a row's msgs + data stay below PostgreSQL's TOAST threshold (~2 kB a row): no TOAST
SPAN_MS = 300_000  # a row's messages start within 5 minutes of each other: readers look back at least that far

_PG_DDL = [
    f"""CREATE TABLE {TABLE} (
        gateway_id integer NOT NULL, seq bigint NOT NULL, day date NOT NULL, t0 timestamptz NOT NULL,
        received_at timestamptz NOT NULL, n smallint NOT NULL, msgs bytea NOT NULL, data bytea NOT NULL
    ) PARTITION BY RANGE (day)""",
    f"CREATE INDEX {TABLE}_gw_t0 ON {TABLE} (gateway_id, t0)",
    f"CREATE INDEX {TABLE}_received ON {TABLE} USING brin (received_at)",
]
_SQLITE_DDL = [
    f"""CREATE TABLE {TABLE} (
        gateway_id integer NOT NULL, seq bigint NOT NULL, day date NOT NULL, t0 datetime NOT NULL,
        received_at datetime NOT NULL, n smallint NOT NULL, msgs blob NOT NULL, data blob NOT NULL
    )""",
    f"CREATE INDEX {TABLE}_gw_t0 ON {TABLE} (gateway_id, t0)",
    f"CREATE INDEX {TABLE}_received ON {TABLE} (received_at)",
]


def create_table(schema_editor) -> None:
    ddl = _PG_DDL if schema_editor.connection.vendor == "postgresql" else _SQLITE_DDL
    for sql in ddl:
        schema_editor.execute(sql)


def drop_table(schema_editor) -> None:
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


# --- partitions ---------------------------------------------------------------------------------------

def partition_name(day: datetime.date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def existing_partitions(using: str = "default") -> set[datetime.date]:
    conn = connections[using]
    if conn.vendor != "postgresql":
        return set()
    with conn.cursor() as cur:
        cur.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s", [TABLE])
        names = [r[0] for r in cur.fetchall()]
    return {datetime.datetime.strptime(n.rsplit("_p", 1)[1], "%Y%m%d").date() for n in names}


def ensure_partitions(days, using: str = "default") -> None:
    """Create the day partitions that do not exist yet (PostgreSQL; a no-op on SQLite)."""
    conn = connections[using]
    if conn.vendor != "postgresql":
        return
    with transaction.atomic(using=using), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [TABLE])
        have = existing_partitions(using)
        for day in sorted(set(days) - have):
            cur.execute(f"CREATE TABLE {partition_name(day)} PARTITION OF {TABLE} "
                        f"FOR VALUES FROM ('{day:%Y-%m-%d}') TO ('{day + datetime.timedelta(days=1):%Y-%m-%d}')")
            log.info("created partition %s", partition_name(day))


def drop_expired(retention_days: int, today: datetime.date | None = None, using: str = "default") -> int:
    """Drop raw readings older than the retention (whole partitions on PostgreSQL). Returns partitions/rows."""
    today = today or datetime.datetime.now(datetime.UTC).date()
    cutoff = today - datetime.timedelta(days=retention_days)
    conn = connections[using]
    with transaction.atomic(using=using), conn.cursor() as cur:
        if conn.vendor != "postgresql":
            cur.execute(f"DELETE FROM {TABLE} WHERE day < %s", [cutoff])
            return cur.rowcount
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [TABLE])
        old = sorted(d for d in existing_partitions(using) if d < cutoff)
        for day in old:
            cur.execute(f"DROP TABLE {partition_name(day)}")
        return len(old)


# --- what is written ---------------------------------------------------------------------------------------

class Entry:
    """One message to store: gateway, sequence number, earliest reading t0 (epoch ms) and how far its readings
    reach beyond it, reading count, payload digest, and where its readings start in the micro-batch's record
    array (codec.RECORDs relative to the message's t0)."""

    __slots__ = ("gateway_id", "seq", "t0_ms", "span_ms", "n", "digest", "start", "day")

    def __init__(self, gateway_id: int, seq: int, t0_ms: int, span_ms: int, n: int, digest: int, start: int):
        self.gateway_id, self.seq, self.t0_ms, self.span_ms = gateway_id, seq, t0_ms, span_ms
        self.n, self.digest, self.start = n, digest, start
        self.day = codec.utc_day(t0_ms)

    @property
    def key(self) -> tuple[int, int]:
        return (self.gateway_id, self.seq)

    def __repr__(self) -> str:
        return f"Entry({self.gateway_id}, {self.seq}, n={self.n})"


def entries_from(messages: list[tuple[int, int, int, bytes]]) -> tuple[list[Entry], np.ndarray]:
    """Entries and their record array from already packed messages [(gateway id, seq, t0 ms, data)] (as
    codec.pack returns them); the digest is the data's."""
    entries, at = [], 0
    for gateway_id, seq, t0_ms, data in messages:
        rec = np.frombuffer(data, dtype=codec.RECORD)
        span = int(rec["dt"].max()) if len(rec) else 0
        entries.append(Entry(gateway_id, seq, t0_ms, span, len(rec), codec.digest(data), at))
        at += len(rec)
    return entries, np.frombuffer(b"".join(m[3] for m in messages), dtype=codec.RECORD)


@dataclass(slots=True)
class Row:
    """One stored row: messages of one gateway and UTC day (`msgs`, MSG entries) and their readings (`data`)."""

    gateway_id: int
    seq: int  # the lowest sequence number of its messages
    day: datetime.date
    t0_ms: int  # the earliest t0 of its messages; every record's dt is relative to it
    n: int
    msgs: bytes
    data: bytes


_MAX_DSEQ = 2**32 - 1


def coalesce(entries: list[Entry], records: np.ndarray, span_ms: int = SPAN_MS,
             row_bytes: int = ROW_BYTES) -> list[Row]:
    """Rows for the entries (whose readings are records[e.start:e.start + e.n]): the messages of a gateway
    and UTC day share a row while their t0s lie within `span_ms` and the row's msgs + data stay within
    `row_bytes`; a message whose readings reach further than span_ms past its t0 has a row of its own.
    Each message's records are re-based on its row's t0 — one numpy pass for the whole micro-batch."""
    if not entries:
        return []
    runs: list[list] = []  # [entries, lowest t0, highest t0, bytes, lowest seq, highest seq]
    open_runs: dict[tuple, list] = {}
    item, rec_size = MSG.itemsize, codec.RECORD.itemsize
    for e in entries:
        size = item + e.n * rec_size
        t, s = e.t0_ms, e.seq
        if e.span_ms <= span_ms:
            key = (e.gateway_id, e.day)
            run = open_runs.get(key)
            if run is not None:
                lo, hi = min(run[1], t), max(run[2], t)
                smin, smax = min(run[4], s), max(run[5], s)
                if hi - lo <= span_ms and run[3] + size <= row_bytes and smax - smin <= _MAX_DSEQ:
                    run[0].append(e)
                    run[1], run[2], run[3], run[4], run[5] = lo, hi, run[3] + size, smin, smax
                    continue
            run = [[e], t, t, size, s, s]
            open_runs[key] = run
        else:
            run = [[e], t, t, size, s, s]
        runs.append(run)
    ordered = [e for run in runs for e in run[0]]
    n_runs = [len(run[0]) for run in runs]
    counts = np.fromiter((e.n for e in ordered), dtype=np.int64, count=len(ordered))
    shift = (np.fromiter((e.t0_ms for e in ordered), dtype=np.int64, count=len(ordered))
             - np.repeat(np.fromiter((run[1] for run in runs), dtype=np.int64, count=len(runs)), n_runs))
    total = int(counts.sum())
    rec = records[_gather(ordered, counts, total)]  # a copy, in row order
    if shift.any():
        rec["dt"] += np.repeat(shift, counts).astype(np.int32)
    meta = np.empty(len(ordered), dtype=MSG)
    meta["dseq"] = (np.fromiter((e.seq for e in ordered), dtype=np.int64, count=len(ordered))
                    - np.repeat(np.fromiter((run[4] for run in runs), dtype=np.int64, count=len(runs)), n_runs))
    meta["n"] = counts
    meta["digest"] = np.fromiter((e.digest for e in ordered), dtype=np.int64, count=len(ordered))
    rows = []
    m = r = 0
    for run, k in zip(runs, n_runs, strict=True):
        n = int(counts[m:m + k].sum()) if k > 1 else int(counts[m])
        first = run[0][0]
        rows.append(Row(first.gateway_id, run[4], first.day, run[1], n, meta[m:m + k].tobytes(),
                        rec[r:r + n].tobytes()))
        m += k
        r += n
    return rows


def _gather(ordered: list[Entry], counts: np.ndarray, total: int) -> np.ndarray:
    """Indexes into the record array of the entries' readings, entry after entry."""
    starts = np.fromiter((e.start for e in ordered), dtype=np.int64, count=len(ordered))
    offsets = np.cumsum(counts) - counts
    return np.repeat(starts - offsets, counts) + np.arange(total)


def messages(seq: int, t0_ms: int, msgs: bytes, data: bytes) -> list[tuple[int, int, np.ndarray]]:
    """A stored row's messages: [(seq, digest, readings as codec.unpack gives them)], in stored order."""
    meta = np.frombuffer(bytes(msgs), dtype=MSG)
    rec = codec.unpack(t0_ms, data)
    out, at = [], 0
    for dseq, n, digest in zip(meta["dseq"].tolist(), meta["n"].tolist(), meta["digest"].tolist(), strict=True):
        out.append((seq + dseq, digest, rec[at:at + n]))
        at += n
    return out


# --- sequence bookkeeping ------------------------------------------------------------------------------------

MAX_HOLES = 1000  # ranges of missing sequence numbers kept per gateway (the oldest are forgotten first)


@dataclass(slots=True)
class SeqState:
    """A gateway's sequence bookkeeping: first and highest sequence number stored, and the holes between
    them as [first missing, last missing, epoch s when noticed], ascending."""

    first: int | None
    top: int | None
    holes: list[list[int]]
    forgotten: int | None = None  # the highest number of a hole forgotten beyond MAX_HOLES

    def may_be_forgotten(self, seq: int) -> bool:
        """Not new by the bookkeeping and not found stored: the number may lie in a forgotten hole."""
        return self.forgotten is not None and seq <= self.forgotten

    def is_new(self, seq: int) -> bool:
        """True: certainly not stored yet. False: perhaps stored (look it up)."""
        if self.top is None or seq > self.top or seq < self.first:
            return True
        for lo, hi, _at in self.holes:  # short: holes close as messages arrive
            if lo <= seq <= hi:
                return True
            if lo > seq:
                break
        return False


def track_sequence(state: SeqState, seqs: list[int], now_s: int, max_holes: int = MAX_HOLES) -> SeqState:
    """The bookkeeping after storing messages `seqs` (new ones, distinct): they leave the holes they fill;
    numbers skipped above the old highest (or below the old first) open holes noticed at `now_s`. When more
    than `max_holes` ranges are open, the lowest are forgotten, and `forgotten` remembers how far: a message
    numbered up to there that is not found among the stored rows is stored (only the gap count is understated)."""
    if not seqs:
        return state
    new = sorted(seqs)
    holes = [list(h) for h in state.holes]
    first, top, forgotten = state.first, state.top, state.forgotten
    if top is None:
        first, top = new[0], new[0]
    if new[0] < first:
        if new[0] < first - 1:
            holes.insert(0, [new[0] + 1, first - 1, now_s])
        first = new[0]
    if new[-1] > top:
        if new[-1] > top + 1:
            holes.append([top + 1, new[-1] - 1, now_s])
        top = new[-1]
    # Remove the new numbers from the holes (a hole may split in two).
    out = []
    k = 0
    for lo, hi, at in holes:
        while k < len(new) and new[k] < lo:
            k += 1
        while lo <= hi and k < len(new) and new[k] <= hi:
            s = new[k]
            if s > lo:
                out.append([lo, s - 1, at])
            lo = s + 1
            k += 1
        if lo <= hi:
            out.append([lo, hi, at])
    if len(out) > max_holes:
        forgotten = max(forgotten if forgotten is not None else out[-max_holes - 1][1], out[-max_holes - 1][1])
        out = out[-max_holes:]
    return SeqState(first, top, out, forgotten)


def missing(holes: list[list[int]]) -> int:
    return sum(hi - lo + 1 for lo, hi, _at in holes)


# --- redelivery lookup ---------------------------------------------------------------------------------------

def stored_digests(wanted: list[Entry], using: str = "default", span_ms: int = SPAN_MS) -> dict[tuple, int]:
    """{(gateway id, seq): stored digest} for those of `wanted` (messages with readings) already stored. A
    message's row starts at most span_ms before the message's own t0, so the (gateway_id, t0) index finds it."""
    if not wanted:
        return {}
    conn = connections[using]
    found: dict[tuple, int] = {}
    keys = {e.key for e in wanted}
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            lo = [codec.ms_to_datetime(e.t0_ms - span_ms) for e in wanted]
            hi = [codec.ms_to_datetime(e.t0_ms) for e in wanted]
            cur.execute(
                f"SELECT DISTINCT b.gateway_id, b.seq, b.msgs FROM "
                f"unnest(%s::integer[], %s::timestamptz[], %s::timestamptz[]) AS w(g, lo, hi) "
                f"JOIN {TABLE} b ON b.gateway_id = w.g AND b.t0 BETWEEN w.lo AND w.hi "
                f"AND b.day BETWEEN (w.lo AT TIME ZONE 'UTC')::date AND (w.hi AT TIME ZONE 'UTC')::date",
                [[e.gateway_id for e in wanted], lo, hi])
            rows = cur.fetchall()
        else:
            rows = []
            for e in wanted:
                cur.execute(f"SELECT gateway_id, seq, msgs FROM {TABLE} WHERE gateway_id = %s "
                            "AND t0 BETWEEN %s AND %s",
                            [e.gateway_id, codec.ms_to_datetime(e.t0_ms - span_ms), codec.ms_to_datetime(e.t0_ms)])
                rows += cur.fetchall()
    for g, seq0, msgs in rows:
        meta = np.frombuffer(bytes(msgs), dtype=MSG)
        for dseq, digest in zip(meta["dseq"].tolist(), meta["digest"].tolist(), strict=True):
            if (g, seq0 + dseq) in keys:
                found[(g, seq0 + dseq)] = digest
    return found


# --- writing --------------------------------------------------------------------------------------------

# Binary COPY (PostgreSQL's own format: no text formatting or parsing of the eight columns).
_PG_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z, the origin of PostgreSQL's date and timestamp
_PG_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
_PG_DAY0 = datetime.date(2000, 1, 1)
_US = datetime.timedelta(microseconds=1)
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_COPY_TRAILER = struct.pack("!h", -1)
# field count, then (length, value) per column: gateway_id int4, seq int8, day date, t0 timestamptz,
# received_at timestamptz, n int2, then the length of msgs (bytea), whose bytes follow, then data likewise.
_COPY_ROW = struct.Struct("!h" "ii" "iq" "ii" "iq" "iq" "ih" "i")
_LEN = struct.Struct("!i")


def copy_data(rows: list[Row], received_at: datetime.datetime) -> bytes:
    """The rows as one binary COPY stream for COLUMNS."""
    parts = [_COPY_HEADER]
    add = parts.append
    pack, length = _COPY_ROW.pack, _LEN.pack
    rec_us = (received_at - _PG_EPOCH) // _US
    for r in rows:
        add(pack(8, 4, r.gateway_id, 8, r.seq, 4, (r.day - _PG_DAY0).days, 8, (r.t0_ms - _PG_EPOCH_MS) * 1000,
                 8, rec_us, 2, r.n, len(r.msgs)))
        add(r.msgs)
        add(length(len(r.data)))
        add(r.data)
    add(_COPY_TRAILER)
    return b"".join(parts)


_COPY_SQL = f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT binary)"


def write(rows: list[Row], received_at: datetime.datetime, using: str = "default") -> None:
    """Store rows inside the caller's transaction (which has decided that their messages are new)."""
    if not rows:
        return
    conn = connections[using]
    if conn.vendor == "postgresql":
        with conn.connection.cursor() as cur, cur.copy(_COPY_SQL) as copy:
            copy.write(copy_data(rows, received_at))
        return
    with conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                        [(r.gateway_id, r.seq, r.day, codec.ms_to_datetime(r.t0_ms), received_at, r.n, r.msgs, r.data)
                         for r in rows])


def write_entries(messages: list[tuple[int, int, int, bytes]], received_at: datetime.datetime,
                  using: str = "default") -> list[Row]:
    """Store packed messages [(gateway id, seq, t0 ms, data)] known to be new (demo history, benchmarks),
    without sequence bookkeeping; returns the rows."""
    rows = coalesce(*entries_from(messages))
    write(rows, received_at, using)
    return rows


def stored_messages(gateway_id: int | None = None, using: str = "default") -> list[tuple[int, int, int, np.ndarray]]:
    """Every stored message [(gateway id, seq, digest, readings)], by gateway and seq (checks and tests)."""
    where, params = ("WHERE gateway_id = %s", [gateway_id]) if gateway_id is not None else ("", [])
    with connections[using].cursor() as cur:
        cur.execute(f"SELECT gateway_id, seq, t0, msgs, data FROM {TABLE} {where}", params)
        rows = cur.fetchall()
    out = []
    for g, seq0, t0, msgs, data in rows:
        out += [(g, seq, digest, rec) for seq, digest, rec in messages(seq0, codec.datetime_to_ms(t0), msgs, data)]
    return sorted(out, key=lambda m: (m[0], m[1]))
