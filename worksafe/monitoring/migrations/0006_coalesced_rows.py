"""Rows hold several small messages (store.coalesce): `digest` becomes the per-message `msgs` entries, the
primary key index goes (redelivery is recognised by the gateway's sequence bookkeeping, `Gateway.holes`,
which is filled here from the stored sequence numbers).

PostgreSQL: the partitioned table is rebuilt (a new table and partitions, the rows copied in SQL, the old
table dropped), so that no dropped column is left behind in every new row."""

import datetime

from django.db import migrations, models

OLD = "monitoring_readingbatch_old"


def holes_from_rows(apps, schema_editor):
    """Each gateway's missing sequence numbers between its first and highest stored ones."""
    Gateway = apps.get_model("monitoring", "Gateway")
    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT gateway_id, seq, nxt, nxt_at FROM (SELECT gateway_id, seq, "
                    "LEAD(seq) OVER (PARTITION BY gateway_id ORDER BY seq) AS nxt, "
                    "LEAD(received_at) OVER (PARTITION BY gateway_id ORDER BY seq) AS nxt_at "
                    "FROM monitoring_readingbatch) s WHERE nxt > seq + 1 ORDER BY gateway_id, seq")
        holes: dict[int, list] = {}
        for gid, seq, nxt, at in cur.fetchall():
            if isinstance(at, str):  # SQLite returns the raw text
                at = datetime.datetime.fromisoformat(at)
            if at.tzinfo is None:
                at = at.replace(tzinfo=datetime.UTC)
            noticed = int(at.timestamp())
            holes.setdefault(gid, []).append([int(seq) + 1, int(nxt) - 1, noticed])
    for gid, h in holes.items():
        Gateway.objects.filter(pk=gid).update(holes=h[-1000:], seq_forgotten=h[-1001][1] if len(h) > 1000 else None)


def rebuild(apps, schema_editor):
    from worksafe.monitoring import store

    conn = schema_editor.connection
    cols = "gateway_id, seq, day, t0, received_at, n"
    if conn.vendor == "postgresql":
        days = store.existing_partitions(conn.alias)
        for day in days:
            schema_editor.execute(f"ALTER TABLE {store.partition_name(day)} RENAME TO {OLD}_p{day:%Y%m%d}")
        schema_editor.execute(f"ALTER TABLE {store.TABLE} RENAME TO {OLD}")
        for name in ("pkey", "gw_t0", "received"):
            schema_editor.execute(f"ALTER INDEX IF EXISTS {store.TABLE}_{name} RENAME TO {OLD}_{name}")
        store.create_table(schema_editor)
        for day in sorted(days):
            schema_editor.execute(
                f"CREATE TABLE {store.partition_name(day)} PARTITION OF {store.TABLE} FOR VALUES FROM "
                f"('{day:%Y-%m-%d}') TO ('{day + datetime.timedelta(days=1):%Y-%m-%d}')")
        schema_editor.execute(f"INSERT INTO {store.TABLE} ({cols}, msgs, data) SELECT {cols}, "
                              f"int4send(0) || int2send(n) || int8send(digest), data FROM {OLD}")
        schema_editor.execute(f"DROP TABLE {OLD}")
        return
    schema_editor.execute(f"ALTER TABLE {store.TABLE} RENAME TO {OLD}")
    for name in ("gw_t0", "received"):
        schema_editor.execute(f"DROP INDEX IF EXISTS {store.TABLE}_{name}")
    store.create_table(schema_editor)
    with conn.cursor() as cur:
        cur.execute(f"SELECT {cols}, digest, data FROM {OLD}")
        rows = cur.fetchall()
        for *head, n, digest, data in rows:
            cur.execute(f"INSERT INTO {store.TABLE} ({cols}, msgs, data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                        [*head, n, (0).to_bytes(4, "big") + int(n).to_bytes(2, "big")
                         + int(digest).to_bytes(8, "big", signed=True), data])
    schema_editor.execute(f"DROP TABLE {OLD}")


def unsupported(apps, schema_editor):
    raise RuntimeError("0006 cannot be reversed: rows may hold several messages by now")


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0005_rollup_age_index")]
    operations = [
        migrations.AddField(model_name="gateway", name="holes", field=models.JSONField(default=list, editable=False)),
        migrations.AddField(model_name="gateway", name="seq_forgotten",
                            field=models.BigIntegerField(blank=True, editable=False, null=True)),
        migrations.RunPython(holes_from_rows, migrations.RunPython.noop),
        migrations.RemoveField(model_name="readingbatch", name="digest"),
        migrations.AddField(model_name="readingbatch", name="msgs", field=models.BinaryField(default=b""),
                            preserve_default=False),
        migrations.RunPython(rebuild, unsupported),
    ]
