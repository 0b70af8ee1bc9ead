"""Leave room in each point page for the frequent last-value updates (HOT updates: no index churn, less WAL).

bench/telemetry.py: with 100,000 points a last-value flush took 4.0 s and 86 MB of WAL at the default
fillfactor, 0.56 s and 9 MB at 50. PostgreSQL only.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE monitoring_point SET (fillfactor = 50)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE monitoring_point RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0003_watermark")]
    operations = [migrations.RunPython(forwards, backwards)]
