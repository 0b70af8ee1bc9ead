"""The reading table: range-partitioned by day on PostgreSQL, a plain table on SQLite (see store.py)."""

from django.db import migrations


def create(apps, schema_editor):
    from worksafe.monitoring import store

    store.create_table(schema_editor)


def drop(apps, schema_editor):
    from worksafe.monitoring import store

    store.drop_table(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
