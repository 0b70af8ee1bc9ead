"""Reading storage: the day-partitioned batch table, its partitions and retention, and the write path.

PostgreSQL: `monitoring_readingbatch` is range-partitioned by `day` (one partition per UTC day, created
ahead of time and on demand; partitions older than MONITORING_RAW_RETENTION_DAYS are dropped). Rows
are written with COPY; a redelivered message conflicts on (gateway_id, seq, day) and is skipped.
SQLite: one plain table with the same columns and key, written with INSERT … ON CONFLICT DO NOTHING.
"""

from __future__ import annotations

import datetime
import logging
import struct
from dataclasses import dataclass

from django.db import connections, transaction

from worksafe.monitoring import codec

log = logging.getLogger(__name__)
TABLE = "monitoring_readingbatch"
COLUMNS = ("gateway_id", "seq", "day", "t0", "received_at", "n", "digest", "data")

_PG_DDL = [
    f"""CREATE TABLE {TABLE} (
        gateway_id integer NOT NULL, seq bigint NOT NULL, day date NOT NULL, t0 timestamptz NOT NULL,
        received_at timestamptz NOT NULL, n smallint NOT NULL, digest bigint NOT NULL, data bytea NOT NULL,
        PRIMARY KEY (gateway_id, seq, day)
    ) PARTITION BY RANGE (day)""",
    f"CREATE INDEX {TABLE}_gw_t0 ON {TABLE} (gateway_id, t0)",
    f"CREATE INDEX {TABLE}_received ON {TABLE} USING brin (received_at)",
]
_SQLITE_DDL = [
    f"""CREATE TABLE {TABLE} (
        gateway_id integer NOT NULL, seq bigint NOT NULL, day date NOT NULL, t0 datetime NOT NULL,
        received_at datetime NOT NULL, n smallint NOT NULL, digest bigint NOT NULL, data blob NOT NULL,
        PRIMARY KEY (gateway_id, seq, day)
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


# --- writing --------------------------------------------------------------------------------------------

class Row:
    """One stored message. Built either from datetimes (Row(gateway_id, seq, day, t0, received_at, n, digest,
    data)) or, on the ingest hot path, from epoch ms with Row.from_ms (t0 as a datetime only when asked)."""

    __slots__ = ("gateway_id", "seq", "day", "_t0", "t0_ms", "received_at", "n", "digest", "data")

    def __init__(self, gateway_id: int, seq: int, day: datetime.date, t0: datetime.datetime,
                 received_at: datetime.datetime, n: int, digest: int, data: bytes):
        self.gateway_id, self.seq, self.day, self._t0, self.t0_ms = gateway_id, seq, day, t0, None
        self.received_at, self.n, self.digest, self.data = received_at, n, digest, data

    @classmethod
    def from_ms(cls, gateway_id: int, seq: int, t0_ms: int, received_at: datetime.datetime, n: int, digest: int,
                data: bytes = b"") -> Row:
        row = cls.__new__(cls)
        row.gateway_id, row.seq, row.day, row._t0, row.t0_ms = gateway_id, seq, codec.utc_day(t0_ms), None, t0_ms
        row.received_at, row.n, row.digest, row.data = received_at, n, digest, data
        return row

    @property
    def t0(self) -> datetime.datetime:
        if self._t0 is None:
            self._t0 = codec.ms_to_datetime(self.t0_ms)
        return self._t0

    @property
    def key(self) -> tuple[int, int, datetime.date]:
        return (self.gateway_id, self.seq, self.day)

    def values(self) -> tuple:
        return (self.gateway_id, self.seq, self.day, self.t0, self.received_at, self.n, self.digest, self.data)

    def __repr__(self) -> str:
        return f"Row({self.gateway_id}, {self.seq}, {self.day}, n={self.n})"


# Binary COPY (PostgreSQL's own format: no text formatting or parsing of the eight columns).
_PG_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z, the origin of PostgreSQL's date and timestamp
_PG_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
_US = datetime.timedelta(microseconds=1)
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_COPY_TRAILER = struct.pack("!h", -1)
# field count, then (length, value) per column: gateway_id int4, seq int8, day date, t0 timestamptz,
# received_at timestamptz, n int2, digest int8, and the length of data (bytea), whose bytes follow.
_COPY_ROW = struct.Struct("!h" "ii" "iq" "ii" "iq" "iq" "ih" "iq" "i")


def copy_data(rows: list[Row]) -> bytes:
    """The rows as one binary COPY stream for COLUMNS."""
    parts = [_COPY_HEADER]
    add = parts.append
    pack = _COPY_ROW.pack
    received: dict = {}
    for r in rows:
        t0_us = (r.t0_ms - _PG_EPOCH_MS) * 1000 if r.t0_ms is not None else (r.t0 - _PG_EPOCH) // _US
        rec_us = received.get(r.received_at)
        if rec_us is None:
            rec_us = received[r.received_at] = (r.received_at - _PG_EPOCH) // _US
        add(pack(8, 4, r.gateway_id, 8, r.seq, 4, (r.day - _PG_DAY0).days, 8, t0_us, 8, rec_us, 2, r.n,
                 8, r.digest, len(r.data)))
        add(r.data)
    add(_COPY_TRAILER)
    return b"".join(parts)


_PG_DAY0 = datetime.date(2000, 1, 1)


@dataclass
class WriteResult:
    new: list[Row]
    duplicates: list[Row]  # the same message again (redelivery)
    conflicts: list[Row]  # same (gateway, seq, day), different payload: an altered re-send


class Redelivery(Exception):
    """write(optimistic=True) met a row already stored: the transaction is aborted; roll it back and write
    the rows again with write(redelivery=True)."""


def write(rows: list[Row], using: str = "default", *, optimistic: bool = False,
          redelivery: bool = False) -> WriteResult:
    """Store rows inside the caller's transaction; report which were new, repeated or altered.

    PostgreSQL: by default a savepoint guards the COPY, so that a redelivered row sends the write down the
    slow path inside the same transaction. optimistic=True saves the savepoint's two round trips and
    raises Redelivery instead (the caller rolls back and calls again with redelivery=True, which goes
    straight to the slow path)."""
    if not rows:
        return WriteResult([], [], [])
    conn = connections[using]
    if conn.vendor == "postgresql":
        return _write_pg(rows, conn, optimistic, redelivery)
    return _write_sqlite(rows, conn)


_COPY_SQL = f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT binary)"


def _write_pg(rows: list[Row], conn, optimistic: bool = False, redelivery: bool = False) -> WriteResult:
    raw = conn.connection
    if not redelivery:
        # Fast path: nothing seen before (the usual case) — one binary COPY straight into the partitions.
        if optimistic:
            try:
                with raw.cursor() as cur, cur.copy(_COPY_SQL) as copy:
                    copy.write(copy_data(rows))
            except Exception as exc:
                if getattr(exc, "sqlstate", None) == "23505":
                    raise Redelivery from exc
                raise
            return WriteResult(rows, [], [])
        sid = transaction.savepoint(using=conn.alias)
        try:
            with raw.cursor() as cur, cur.copy(_COPY_SQL) as copy:
                copy.write(copy_data(rows))
            transaction.savepoint_commit(sid, using=conn.alias)
            return WriteResult(rows, [], [])
        except Exception as exc:
            transaction.savepoint_rollback(sid, using=conn.alias)
            if getattr(exc, "sqlstate", None) != "23505":  # only a unique violation takes the slow path
                raise
    # Slow path (redelivery): stage, insert what is new, compare digests of the rest.
    with raw.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS mon_stage (LIKE {TABLE}) ON COMMIT DELETE ROWS")
        cur.execute("TRUNCATE mon_stage")
        with cur.copy(f"COPY mon_stage ({', '.join(COLUMNS)}) FROM STDIN (FORMAT binary)") as copy:
            copy.write(copy_data(rows))
        cur.execute(f"INSERT INTO {TABLE} SELECT * FROM mon_stage ON CONFLICT DO NOTHING RETURNING gateway_id, seq, day")
        inserted = {tuple(x) for x in cur.fetchall()}
        rest = [r for r in rows if r.key not in inserted]
        stored = {}
        if rest:
            cur.execute(f"SELECT b.gateway_id, b.seq, b.day, b.digest FROM {TABLE} b JOIN mon_stage s "
                        "USING (gateway_id, seq, day)")
            stored = {(g, s, d): dg for g, s, d, dg in cur.fetchall()}
    return _split(rows, inserted, rest, stored)


def _write_sqlite(rows: list[Row], conn) -> WriteResult:
    inserted, stored = set(), {}
    with conn.cursor() as cur:
        for r in rows:
            cur.execute(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                        "ON CONFLICT DO NOTHING", r.values())
            if cur.rowcount == 1:
                inserted.add(r.key)
            else:
                cur.execute(f"SELECT digest FROM {TABLE} WHERE gateway_id = %s AND seq = %s AND day = %s",
                            [r.gateway_id, r.seq, r.day])
                stored[r.key] = cur.fetchone()[0]
    return _split(rows, inserted, [r for r in rows if r.key not in inserted], stored)


def _split(rows, inserted, rest, stored) -> WriteResult:
    return WriteResult([r for r in rows if r.key in inserted],
                       [r for r in rest if stored.get(r.key) == r.digest],
                       [r for r in rest if stored.get(r.key) != r.digest])
