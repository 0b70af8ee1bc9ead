"""The reading table: range-partitioned by day on PostgreSQL, a plain table on SQLite (see store.py).

The DDL is frozen here as it was (one row per message, dedupe by primary key); 0006 reshapes the table."""

from django.db import migrations

TABLE = "monitoring_readingbatch"
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


def create(apps, schema_editor):
    for sql in _PG_DDL if schema_editor.connection.vendor == "postgresql" else _SQLITE_DDL:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
