"""The built-in checklist: the 20 criteria of 化工和危险化学品生产经营单位重大生产安全事故隐患判定标准（试行）,
安监总管三〔2017〕121号 (regulations.md §3.5), from worksafe.hazards.rules. Idempotent (keyed by builtin_key)."""

from django.db import migrations

HAZCHEM_KEY = "hazchem-major-2017"


def load(apps, schema_editor):
    from worksafe.hazards.rules import MAJOR_HAZARD_CRITERIA_HAZCHEM, MAJOR_HAZARD_CRITERIA_HAZCHEM_SOURCE

    Checklist = apps.get_model("checks", "Checklist")
    ChecklistItem = apps.get_model("checks", "ChecklistItem")
    checklist, _created = Checklist.objects.update_or_create(
        builtin_key=HAZCHEM_KEY, defaults={
            "enterprise": None, "name": "化工和危险化学品重大生产安全事故隐患判定标准（20项）",
            "key_class": "hazchem", "basis": "安监总管三〔2017〕121号",
            "description": MAJOR_HAZARD_CRITERIA_HAZCHEM_SOURCE + "。任何一项不符合即判定为重大事故隐患。",
        })
    for number, text in MAJOR_HAZARD_CRITERIA_HAZCHEM:
        ChecklistItem.objects.update_or_create(checklist=checklist, number=number, defaults={
            "text": text, "basis": f"第{number}项", "is_major_criterion": True})


def unload(apps, schema_editor):
    Checklist = apps.get_model("checks", "Checklist")
    ChecklistItem = apps.get_model("checks", "ChecklistItem")
    ChecklistItem.objects.filter(checklist__builtin_key=HAZCHEM_KEY).delete()
    Checklist.objects.filter(builtin_key=HAZCHEM_KEY).delete()


class Migration(migrations.Migration):
    dependencies = [("checks", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
