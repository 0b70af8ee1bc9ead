"""Hazard-check entries for the generic authorisation test (core/tests/test_scoping.py)."""

import datetime

from django.utils import timezone

from worksafe.checks.models import (
    Checklist,
    ChecklistItem,
    CheckPlan,
    CheckRecord,
    CheckResult,
    CheckTask,
    FormalismFlag,
)
from worksafe.core.tests.spec import ScopedSpec


def checklist_of(ent):
    checklist, _created = Checklist.objects.get_or_create(
        enterprise=ent, name=f"{ent.name}日常巡检表", defaults={"key_class": ent.key_class, "basis": "企业巡检制度"})
    return checklist


def item_of(ent, number=1):
    item, _created = ChecklistItem.objects.get_or_create(
        checklist=checklist_of(ent), number=number, defaults={"text": f"{ent.name}：消防通道畅通，无占用"})
    return item


def plan_of(ent):
    plan, _created = CheckPlan.objects.get_or_create(
        enterprise=ent, name=f"{ent.name}罐区周检",
        defaults={"checklist": checklist_of(ent), "post": "罐区操作工", "place": "罐区", "frequency": "weekly",
                  "starts_on": datetime.date(2026, 1, 5)})
    return plan


def record_of(world, ent):
    record = CheckRecord.objects.filter(enterprise=ent).first()
    if record is None:
        item_of(ent)
        finished = timezone.make_aware(datetime.datetime(2026, 6, 3, 9, 30))
        record = CheckRecord.objects.create(enterprise=ent, checklist=checklist_of(ent),
                                            checked_by=world.province_officer, place="罐区",
                                            started_at=finished - datetime.timedelta(minutes=12),
                                            finished_at=finished, item_count=1)
    return record


def _checklist_data(world, c):
    return {"enterprise": c.enterprise_id, "name": c.name, "key_class": c.key_class, "basis": c.basis,
            "description": c.description, "is_active": c.is_active}


def _item_data(world, i):
    return {"checklist": i.checklist_id, "number": i.number, "text": i.text, "basis": i.basis,
            "is_major_criterion": i.is_major_criterion}


def _plan_data(world, p):
    return {"enterprise": p.enterprise_id, "checklist": p.checklist_id, "name": p.name, "post": p.post,
            "place": p.place, "frequency": p.frequency, "assignee": p.assignee_id or "",
            "starts_on": str(p.starts_on), "ends_on": str(p.ends_on or ""), "is_active": p.is_active}


def _plan_api(world, p):
    return {**_plan_data(world, p), "assignee": p.assignee_id, "ends_on": None}


def _task(world, ent):
    task, _created = CheckTask.objects.get_or_create(plan=plan_of(ent), period_start=datetime.date(2026, 6, 1),
                                                     defaults={"due_on": datetime.date(2026, 6, 7)})
    return task


def _task_data(world, t):
    return {"plan": t.plan_id, "period_start": str(t.period_start), "due_on": str(t.due_on),
            "assignee": t.assignee_id or ""}


def _task_api(world, t):
    return {**_task_data(world, t), "assignee": t.assignee_id}


def _result(world, ent):
    record = record_of(world, ent)
    return CheckResult.objects.get_or_create(record=record, item=item_of(ent),
                                             defaults={"outcome": "fail", "note": "通道堆放纸箱"})[0]


def _flag(world, ent):
    return FormalismFlag.objects.create(record=record_of(world, ent), kind="far_away",
                                        data={"distance_m": 5200, "max_m": 1000, "accuracy_m": 15})


def _read_only(model, make, api):
    return ScopedSpec(model=model, make=make, form_data=None, new_data=None, move=None, api=api, api_data=None,
                      ui_names=["list", "detail"], writable=False)


SPECS = [
    ScopedSpec(model=Checklist, make=lambda world, ent: checklist_of(ent), form_data=_checklist_data,
               new_data=lambda world, c: {**_checklist_data(world, c), "name": f"{c.name}（夜间）"},
               move=lambda world, c: {"enterprise": world.ent_fz.pk}, api="checks/checklists",
               api_data=_checklist_data),
    ScopedSpec(model=ChecklistItem, make=lambda world, ent: item_of(ent), form_data=_item_data,
               new_data=lambda world, i: {**_item_data(world, i), "number": i.number + 1},
               move=lambda world, i: {"checklist": checklist_of(world.ent_fz).pk}, api="checks/items",
               api_data=_item_data),
    ScopedSpec(model=CheckPlan, make=lambda world, ent: plan_of(ent), form_data=_plan_data,
               new_data=lambda world, p: {**_plan_data(world, p), "name": f"{p.name}（夜班）"},
               move=lambda world, p: {"enterprise": world.ent_fz.pk}, api="checks/plans", api_data=_plan_api),
    ScopedSpec(model=CheckTask, make=_task, form_data=_task_data,
               new_data=lambda world, t: {**_task_data(world, t), "period_start": "2026-06-08", "due_on": "2026-06-14"},
               move=lambda world, t: {"plan": plan_of(world.ent_fz).pk}, api="checks/tasks", api_data=_task_api),
    _read_only(CheckRecord, record_of, "checks/records"),
    _read_only(CheckResult, _result, "checks/results"),
    _read_only(FormalismFlag, _flag, "checks/flags"),
]

# Doing a check, copying a list, "failed item → hazard", photos and the flags alias: scoped through
# get_visible_or_404 / visible_to like the rest, tested by hand.
COVERED_ELSEWHERE = {
    "checks:checklist_copy": "test_checks.py::test_copy_*",
    "checks:checklist_check": "test_checks.py::test_adhoc_check_*",
    "checks:checktask_check": "test_checks.py::test_doing_a_check_*",
    "checks:checkresult_hazard": "test_checks.py::test_failed_item_becomes_a_hazard_*",
    "checks:flags": "the same view as checks:formalismflag_list (matrix) and test_checks.py::test_flags_*",
    "api-1:checkrecord-submit": "test_checks.py::test_api_submit_*",
    "api-1:checkresult-hazard": "test_checks.py::test_api_result_to_hazard_*",
}
