"""Reading storage: the day-partitioned batch table, its partitions and retention, and the write path.

PostgreSQL: `monitoring_readingbatch` is range-partitioned by `day` (one partition per UTC day, created
ahead of time and on demand; partitions older than MONITORING_RAW_RETENTION_DAYS are dropped). Rows
are written with COPY; a redelivered message conflicts on (gateway_id, seq, day) and is skipped.
SQLite: one plain table with the same columns and key, written with INSERT … ON CONFLICT DO NOTHING.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.db import connections, transaction

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

@dataclass
class Row:
    gateway_id: int
    seq: int
    day: datetime.date
    t0: datetime.datetime
    received_at: datetime.datetime
    n: int
    digest: int
    data: bytes

    @property
    def key(self) -> tuple[int, int, datetime.date]:
        return (self.gateway_id, self.seq, self.day)

    def values(self) -> tuple:
        return (self.gateway_id, self.seq, self.day, self.t0, self.received_at, self.n, self.digest, self.data)


@dataclass
class WriteResult:
    new: list[Row]
    duplicates: list[Row]  # the same message again (redelivery)
    conflicts: list[Row]  # same (gateway, seq, day), different payload: an altered re-send


def write(rows: list[Row], using: str = "default") -> WriteResult:
    """Store rows inside the caller's transaction; report which were new, repeated or altered."""
    if not rows:
        return WriteResult([], [], [])
    conn = connections[using]
    if conn.vendor == "postgresql":
        return _write_pg(rows, conn)
    return _write_sqlite(rows, conn)


def _write_pg(rows: list[Row], conn) -> WriteResult:
    raw = conn.connection
    # Fast path: nothing seen before (the usual case) — COPY straight into the partitions.
    sid = transaction.savepoint(using=conn.alias)
    try:
        with raw.cursor() as cur, cur.copy(f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r.values())
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
        with cur.copy(f"COPY mon_stage ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r.values())
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
