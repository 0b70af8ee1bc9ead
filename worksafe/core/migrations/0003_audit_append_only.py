"""Make the audit log append-only on PostgreSQL: a trigger refuses UPDATE and DELETE (等保 DB-AU-3)."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION core_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'core_auditentry is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditentry_append_only
    BEFORE UPDATE OR DELETE ON core_auditentry
    FOR EACH ROW EXECUTE FUNCTION core_auditentry_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS core_auditentry_append_only ON core_auditentry;
DROP FUNCTION IF EXISTS core_auditentry_append_only();
"""
# SQLite (the try-it default) refuses UPDATE only: Django's flush empties tables with DELETE there, and the
# hash chain already exposes a deleted row. PostgreSQL's flush uses TRUNCATE, which a row trigger does not see;
# production revokes TRUNCATE from the application role (docs/architecture.md).
SQLITE_FORWARD = [
    """CREATE TRIGGER core_auditentry_no_update BEFORE UPDATE ON core_auditentry
       BEGIN SELECT RAISE(ABORT, 'core_auditentry is append-only (UPDATE refused)'); END;""",
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS core_auditentry_no_update"]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_load_divisions")]
    operations = [migrations.RunPython(forward, backward)]
