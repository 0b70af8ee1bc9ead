"""Load GB/T 4754-2017 sections (门类) and divisions (大类) from worksafe/data/industry_gbt4754.csv."""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parents[2] / "data" / "industry_gbt4754.csv"


def load(apps, schema_editor):
    Industry = apps.get_model("enterprises", "Industry")
    with DATA.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows.sort(key=lambda r: r["level"] != "section")
    Industry.objects.bulk_create(
        [Industry(code=r["code"], name=r["name"], level=r["level"], parent_id=r["parent_code"] or None)
         for r in rows]
    )


def unload(apps, schema_editor):
    apps.get_model("enterprises", "Industry").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("enterprises", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
