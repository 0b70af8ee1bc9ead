"""Hazard checks end to end: built-in list, plans → tasks, doing a check on the phone page, a failed item
becoming a hazard in one tap, each anti-formalism flag at its boundary, and what other places see."""

import datetime
import io
import json
import random
import time
from decimal import Decimal

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from PIL import Image

from worksafe.checks import actions
from worksafe.checks.forms import START_SALT
from worksafe.checks.models import (
    Checklist,
    ChecklistItem,
    CheckPlan,
    CheckRecord,
    CheckTask,
    FormalismFlag,
)
from worksafe.checks.tests.specs import checklist_of
from worksafe.core.models import Attachment, AuditEntry
from worksafe.core.workflow import attachments
from worksafe.hazards.models import Hazard

D = datetime.date
BUILTIN = "hazchem-major-2017"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def png(bits: str | None = None, seed: int = 0, size: int = 8) -> SimpleUploadedFile:
    """A PNG whose 64-bit average hash is `bits` (an 8×8 black/white pattern), or a random picture."""
    if bits is not None:
        img = Image.new("L", (8, 8))
        img.putdata([255 if b == "1" else 0 for b in bits])
    else:
        rng = random.Random(seed)
        img = Image.new("L", (size, size))
        img.putdata([rng.randrange(256) for _ in range(size * size)])
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return SimpleUploadedFile(f"photo-{seed}.png", buffer.getvalue(), content_type="image/png")


PATTERN = "1111000011110000" * 4


def flip(bits: str, n: int) -> str:
    return "".join(("0" if b == "1" else "1") if i < n else b for i, b in enumerate(bits))


@pytest.fixture
def checklist(world):
    """厦门鹭江化工's own 4-item tank-farm list; item 4 is a 重大事故隐患 criterion."""
    cl = checklist_of(world.ent_xm)
    for number, text, major in [(1, "消防通道畅通，无占用", False), (2, "可燃气体报警器投用正常", False),
                                (3, "罐区防火堤完好，无渗漏", False), (4, "安全阀、爆破片等安全附件未正常投用", True)]:
        ChecklistItem.objects.create(checklist=cl, number=number, text=text, is_major_criterion=major)
    return cl


@pytest.fixture
def plan(world, checklist):
    return CheckPlan.objects.create(enterprise=world.ent_xm, checklist=checklist, name="罐区日检", post="罐区操作工",
                                    place="一号罐区", frequency="daily", assignee=world.ent_xm_staff,
                                    starts_on=timezone.localdate() - datetime.timedelta(days=3))


@pytest.fixture
def task(plan):
    actions.generate_tasks(plans=[plan])
    return CheckTask.objects.get(plan=plan, due_on=timezone.localdate())


def token(user, checklist, task=None, seconds_ago=600):
    return signing.dumps({"u": user.pk, "c": checklist.pk, "k": task.pk if task else None,
                          "t": time.time() - seconds_ago}, salt=START_SALT)


def post_data(user, checklist, task=None, outcomes=None, notes=None, seconds_ago=600, **extra):
    data = {"started": token(user, checklist, task, seconds_ago), "place": "一号罐区", "notes": "", **extra}
    for item in checklist.items.all():
        data[f"outcome_{item.pk}"] = (outcomes or {}).get(item.number, "pass")
        data[f"note_{item.pk}"] = (notes or {}).get(item.number, "")
    return data


def submit(world, checklist, *, outcomes=None, notes=None, photos=None, seconds=600, finished=None, record_notes="",
           lng=None, lat=None, accuracy=None, enterprise=None, by=None):
    finished = finished or timezone.now()
    results = [actions.ItemResult(item=i, outcome=(outcomes or {}).get(i.number, "pass"),
                                  note=(notes or {}).get(i.number, ""), photos=(photos or {}).get(i.number, []))
               for i in checklist.items.all()]
    return actions.submit(by=by or world.ent_xm_staff, enterprise=enterprise or world.ent_xm, checklist=checklist,
                          results=results, started_at=finished - datetime.timedelta(seconds=seconds),
                          finished_at=finished, notes=record_notes, lng=lng, lat=lat, accuracy_m=accuracy)


def kinds(record):
    return sorted(FormalismFlag.objects.filter(record=record).values_list("kind", flat=True))


# ---------------------------------------------------------------------------------------------
# The built-in list
# ---------------------------------------------------------------------------------------------


def test_the_20_hazchem_criteria_are_a_built_in_list_everyone_with_the_permission_sees(client, world):
    builtin = Checklist.objects.get(builtin_key=BUILTIN)
    assert builtin.is_builtin and builtin.items.count() == 20
    assert all(builtin.items.values_list("is_major_criterion", flat=True))
    assert builtin.items.get(number=2).text == "特种作业人员未持证上岗。"
    for user in (world.ent_xm_staff, world.ent_fz_staff, world.fz_officer, world.xm_housing_staff):
        client.force_login(user)
        assert client.get(reverse("checks:checklist_detail", args=[builtin.pk])).status_code == 200
        listed = client.get(reverse("checks:checklist_list")).context["page"].paginator.object_list
        assert builtin in listed
        assert client.get(f"/api/v1/checks/checklists/{builtin.pk}").json()["is_builtin"] is True


def test_built_in_lists_and_their_items_are_read_only_even_for_an_enterprise_head(client, world):
    builtin = Checklist.objects.get(builtin_key=BUILTIN)
    item = builtin.items.get(number=1)
    client.force_login(world.ent_xm_head)
    assert client.get(reverse("checks:checklist_edit", args=[builtin.pk])).status_code == 403
    assert client.post(reverse("checks:checklist_delete", args=[builtin.pk])).status_code == 403
    assert client.get(reverse("checks:checklistitem_edit", args=[item.pk])).status_code == 403
    assert client.post(reverse("checks:checklistitem_delete", args=[item.pk])).status_code == 403
    body = {"enterprise": world.ent_xm.pk, "name": "改名", "key_class": "hazchem", "basis": "", "description": "",
            "is_active": True}
    assert client.put(f"/api/v1/checks/checklists/{builtin.pk}", json.dumps(body),
                      content_type="application/json").status_code == 400
    assert client.delete(f"/api/v1/checks/checklists/{builtin.pk}").status_code == 409
    assert client.delete(f"/api/v1/checks/items/{item.pk}").status_code == 409
    # nor can an item be added to it
    response = client.post(reverse("checks:checklistitem_add"), {"checklist": builtin.pk, "number": 21, "text": "新增"})
    assert response.status_code == 200 and builtin.items.count() == 20
    builtin.refresh_from_db()
    assert builtin.enterprise_id is None and builtin.name.startswith("化工和危险化学品")


def test_copy_of_the_built_in_list_belongs_to_the_enterprise(client, world):
    builtin = Checklist.objects.get(builtin_key=BUILTIN)
    client.force_login(world.ent_xm_head)
    response = client.post(reverse("checks:checklist_copy", args=[builtin.pk]))
    copy = Checklist.objects.get(enterprise=world.ent_xm)
    assert response.status_code == 302 and response["Location"] == reverse("checks:checklist_detail", args=[copy.pk])
    assert copy.items.count() == 20 and copy.items.filter(is_major_criterion=True).count() == 20
    assert AuditEntry.objects.filter(object_type="checks.checklist", action="create").count() == 1
    # the copy is the enterprise's own: editable by its head, unseen by another city
    assert client.get(reverse("checks:checklist_edit", args=[copy.pk])).status_code == 200
    client.force_login(world.fz_officer)
    assert client.post(reverse("checks:checklist_copy", args=[copy.pk])).status_code == 404
    client.force_login(world.xm_officer)  # a regulator keeps no lists
    assert client.post(reverse("checks:checklist_copy", args=[builtin.pk])).status_code == 403


# ---------------------------------------------------------------------------------------------
# Plans → tasks
# ---------------------------------------------------------------------------------------------


def test_generating_tasks_creates_one_per_period_and_is_idempotent(world, checklist):
    weekly = CheckPlan.objects.create(enterprise=world.ent_xm, checklist=checklist, name="周检", post="安全员",
                                      frequency="weekly", starts_on=D(2026, 6, 3), assignee=world.ent_xm_staff)
    monthly = CheckPlan.objects.create(enterprise=world.ent_xm, checklist=checklist, name="月检", post="安全主任",
                                       frequency="monthly", starts_on=D(2026, 1, 31))
    CheckPlan.objects.create(enterprise=world.ent_xm, checklist=checklist, name="停用", post="安全员",
                             frequency="daily", starts_on=D(2026, 1, 1), is_active=False)
    # when the tasks up to 20 June are generated from 1 June
    created = actions.generate_tasks(today=D(2026, 6, 20), since=D(2026, 6, 1))
    # then the weekly plan owes three weeks (the first from its Wednesday start), the monthly one June
    assert [(t.period_start, t.due_on) for t in weekly.tasks.order_by("due_on")] == [
        (D(2026, 6, 3), D(2026, 6, 7)), (D(2026, 6, 8), D(2026, 6, 14)), (D(2026, 6, 15), D(2026, 6, 21))]
    assert [(t.period_start, t.due_on) for t in monthly.tasks.all()] == [(D(2026, 6, 1), D(2026, 6, 30))]
    assert created == 4 and CheckTask.objects.count() == 4
    assert set(weekly.tasks.values_list("assignee", flat=True)) == {world.ent_xm_staff.pk}
    # again, and on a later day within the same periods: nothing new
    assert actions.generate_tasks(today=D(2026, 6, 20), since=D(2026, 6, 1)) == 0
    assert actions.generate_tasks(today=D(2026, 6, 21)) == 0
    call_command("generate_check_tasks", "--date", "2026-06-21", verbosity=0)
    assert CheckTask.objects.count() == 4
    # the next day opens the next week
    call_command("generate_check_tasks", "--date", "2026-06-22", verbosity=0)
    assert weekly.tasks.filter(period_start=D(2026, 6, 22), due_on=D(2026, 6, 28)).exists()


def test_saving_a_plan_creates_its_current_task_and_a_missed_task_shows_as_missed(client, world, checklist):
    client.force_login(world.ent_xm_head)
    today = timezone.localdate()
    response = client.post(reverse("checks:checkplan_add"), {
        "enterprise": world.ent_xm.pk, "checklist": checklist.pk, "name": "罐区日检", "post": "罐区操作工",
        "frequency": "daily", "assignee": world.ent_xm_staff.pk, "starts_on": str(today), "is_active": "on"})
    assert response.status_code == 302
    plan = CheckPlan.objects.get()
    task = plan.tasks.get()
    assert (task.due_on, task.assignee, task.state) == (today, world.ent_xm_staff, "open")
    CheckTask.objects.filter(pk=task.pk).update(due_on=today - datetime.timedelta(days=1))
    task.refresh_from_db()
    assert task.state == "missed"
    listed = client.get(reverse("checks:checktask_list"), {"state": "missed"}).context["page"].paginator.object_list
    assert list(listed) == [task]


def test_an_assignee_from_another_enterprise_is_refused(client, world, checklist):
    client.force_login(world.ent_xm_head)
    response = client.post(reverse("checks:checkplan_add"), {
        "enterprise": world.ent_xm.pk, "checklist": checklist.pk, "name": "罐区日检", "post": "罐区操作工",
        "frequency": "daily", "assignee": world.ent_fz_staff.pk, "starts_on": "2026-06-01"})
    assert response.status_code == 200 and "assignee" in response.context["form"].errors
    # and a plan may not use another enterprise's list
    plan = CheckPlan(enterprise=world.ent_fz, checklist=checklist, name="x", post="x", frequency="daily")
    with pytest.raises(Exception, match="checklist"):
        plan.full_clean()


# ---------------------------------------------------------------------------------------------
# Doing a check on the phone page
# ---------------------------------------------------------------------------------------------


def test_doing_a_check_hands_in_results_photos_and_location_and_closes_the_task(client, world, task, checklist):
    client.force_login(world.ent_xm_staff)
    url = reverse("checks:checktask_check", args=[task.pk])
    page = client.get(url)
    assert page.status_code == 200 and page.context["form"].items == list(checklist.items.all())
    assert b'capture="environment"' in page.content and b'accept="image/*"' in page.content
    item1 = checklist.items.get(number=1)
    data = post_data(world.ent_xm_staff, checklist, task, outcomes={2: "fail", 3: "na"}, notes={2: "3号探头无响应"},
                     lng="118.08", lat="24.45", accuracy="12")
    data[f"photos_{item1.pk}"] = [png(seed=1), png(seed=2)]
    response = client.post(url, data)
    record = CheckRecord.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("checks:checkrecord_detail", args=[record.pk])
    task.refresh_from_db()
    assert (task.status, task.state, record.task) == ("done", "done", task)
    assert (record.checked_by, record.item_count, record.failed_count) == (world.ent_xm_staff, 4, 1)
    assert 590 <= record.duration_s <= 620  # from the signed start, not from the phone's clock
    assert (record.lng, record.lat, record.accuracy_m) == (Decimal("118.080000"), Decimal("24.450000"), 12)
    assert [r.outcome for r in record.results.all()] == ["pass", "fail", "na", "pass"]
    evidence = attachments(record.results.get(item=item1), "evidence")
    assert evidence.count() == 2 and all(a.phash for a in evidence)
    assert AuditEntry.objects.filter(object_type="checks.checkrecord", action="create").count() == 1
    assert record.flag_count == 0  # ent_xm has no coordinates: the distance test does not apply
    # the record page shows the failure with its "report as a hazard" button, and the photos
    page = client.get(response["Location"])
    assert b'data-testid="to-hazard-2"' in page.content and page.content.count(b"/attachments/") >= 2
    # a second tap on "hand in" is refused and changes nothing
    again = client.post(url, post_data(world.ent_xm_staff, checklist, task))
    assert again.status_code == 302 and CheckRecord.objects.count() == 1


def test_doing_a_check_needs_a_note_on_a_failed_item_and_saves_nothing_without(client, world, task, checklist):
    client.force_login(world.ent_xm_staff)
    url = reverse("checks:checktask_check", args=[task.pk])
    item2 = checklist.items.get(number=2)
    response = client.post(url, post_data(world.ent_xm_staff, checklist, task, outcomes={2: "fail"}))
    assert response.status_code == 200 and f"note_{item2.pk}" in response.context["form"].errors
    data = post_data(world.ent_xm_staff, checklist, task)
    del data[f"outcome_{item2.pk}"]
    assert f"outcome_{item2.pk}" in client.post(url, data).context["form"].errors
    assert not CheckRecord.objects.exists() and CheckTask.objects.get(pk=task.pk).status == "open"


def test_doing_a_check_refuses_a_made_up_or_borrowed_start(client, world, task, checklist):
    client.force_login(world.ent_xm_staff)
    url = reverse("checks:checktask_check", args=[task.pk])
    data = post_data(world.ent_xm_staff, checklist, task)
    data["started"] = data["started"][:-2] + "xx"
    assert "started" in client.post(url, data).context["form"].errors
    data["started"] = token(world.ent_xm_head, checklist, task)  # another user's page
    assert "started" in client.post(url, data).context["form"].errors
    assert not CheckRecord.objects.exists()


def test_doing_a_check_of_another_city_is_404_and_a_regulator_cannot_do_one(client, world, task, checklist):
    url = reverse("checks:checktask_check", args=[task.pk])
    client.force_login(world.ent_fz_staff)
    assert client.get(url).status_code == 404
    assert client.post(url, post_data(world.ent_fz_staff, checklist, task)).status_code == 404
    client.force_login(world.xm_officer)
    assert client.get(url).status_code == 403
    assert not CheckRecord.objects.exists()


def test_my_tasks_show_as_cards_on_the_task_list(client, world, task):
    client.force_login(world.ent_xm_staff)
    page = client.get(reverse("checks:checktask_list"))
    assert f'data-testid="start-task-{task.pk}"'.encode() in page.content
    client.force_login(world.xm_officer)  # regulators see the table, no cards
    page = client.get(reverse("checks:checktask_list"))
    assert b'data-testid="my-tasks"' not in page.content and task in page.context["page"].paginator.object_list


def test_adhoc_check_against_the_built_in_list(client, world):
    builtin = Checklist.objects.get(builtin_key=BUILTIN)
    url = reverse("checks:checklist_check", args=[builtin.pk])
    client.force_login(world.ent_xm_staff)
    data = post_data(world.ent_xm_staff, builtin, outcomes={2: "fail"}, notes={2: "焊工张某证件过期"}, seconds_ago=900)
    assert client.post(url, data).status_code == 302
    record = CheckRecord.objects.get()
    assert (record.enterprise, record.checklist, record.task, record.item_count) == (world.ent_xm, builtin, None, 20)
    client.force_login(world.xm_officer)
    assert client.get(url).status_code == 403
    client.force_login(world.ent_fz_staff)  # another enterprise's own list is not in its place
    assert client.get(reverse("checks:checklist_check", args=[checklist_of(world.ent_xm).pk])).status_code == 404


# ---------------------------------------------------------------------------------------------
# A failed item → a hazard, in one tap
# ---------------------------------------------------------------------------------------------


def test_failed_item_becomes_a_hazard_once_with_its_photos(client, world, checklist):
    record = submit(world, checklist, outcomes={2: "fail"}, notes={2: "3号探头无响应"}, photos={2: [png(seed=5)]})
    failed = record.results.get(item__number=2)
    client.force_login(world.ent_xm_staff)
    url = reverse("checks:checkresult_hazard", args=[failed.pk])
    response = client.post(url)
    hazard = Hazard.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("hazards:hazard_detail", args=[hazard.pk])
    assert (hazard.enterprise, hazard.source, hazard.level, hazard.title) == (
        world.ent_xm, "self_check", "general", "3号探头无响应")  # what is wrong, not what should be right
    assert "可燃气体报警器投用正常" in hazard.description and hazard.reported_by == world.ent_xm_staff
    failed.refresh_from_db()
    assert failed.hazard == hazard
    copied = attachments(hazard)
    assert copied.count() == 1 and copied.get().sha256 == attachments(failed).get().sha256
    # a second tap opens the same hazard
    assert client.post(url)["Location"] == reverse("hazards:hazard_detail", args=[hazard.pk])
    assert Hazard.objects.count() == 1
    # the hazard is on the hazards list, as a self-check, for the enterprise and its regulator
    for user in (world.ent_xm_head, world.xm_officer):
        client.force_login(user)
        rows = client.get(reverse("hazards:hazard_list"), {"source": "self_check"}).context["page"].paginator.object_list
        assert list(rows) == [hazard]
    client.force_login(world.fz_officer)
    assert client.post(url).status_code == 404
    assert not client.get(reverse("hazards:hazard_list")).context["page"].paginator.object_list.exists()


def test_failed_item_becomes_a_hazard_only_for_the_enterprise_and_only_when_failed(client, world, checklist):
    record = submit(world, checklist, outcomes={2: "fail"}, notes={2: "3号探头无响应"})
    client.force_login(world.xm_officer)  # in place, but a regulator does not report the enterprise's hazards
    assert client.post(reverse("checks:checkresult_hazard", args=[record.results.get(item__number=2).pk])).status_code == 403
    client.force_login(world.ent_xm_staff)
    passed = record.results.get(item__number=1)
    response = client.post(reverse("checks:checkresult_hazard", args=[passed.pk]))
    assert response.status_code == 302 and not Hazard.objects.exists()


def test_failed_item_becomes_a_hazard_major_when_it_meets_a_criterion(world, checklist):
    record = submit(world, checklist, outcomes={4: "fail"}, notes={4: "二号罐安全阀铅封破损且未校验"})
    hazard, created = actions.result_to_hazard(record.results.get(item__number=4), by=world.ent_xm_staff)
    assert created and hazard.level == "major" and hazard.reported_to_regulator_at is not None
    assert hazard.title == "安全阀、爆破片等安全附件未正常投用"  # a criterion item is worded as the hazard
    assert "二号罐安全阀铅封破损" in hazard.status_and_causes and hazard.treatment_plan
    assert actions.result_to_hazard(record.results.get(item__number=4), by=world.ent_xm_staff) == (hazard, False)


# ---------------------------------------------------------------------------------------------
# Anti-formalism: each flag raised, and not raised, at its boundary
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "seconds", "flagged"), [
    ("4 items in 19 s: under 5 s each", 19, True),
    ("4 items in 20 s: exactly 5 s each", 20, False),
    ("finished before started", -60, True),
])
def test_flag_duration(world, checklist, _case, seconds, flagged):
    record = submit(world, checklist, seconds=seconds)
    assert kinds(record) == (["duration"] if flagged else [])
    assert record.flag_count == int(flagged)


def test_flag_duration_follows_the_setting(world, checklist, settings):
    settings.CHECK_MIN_SECONDS_PER_ITEM = 30
    assert kinds(submit(world, checklist, seconds=119)) == ["duration"]
    assert kinds(submit(world, checklist, seconds=120)) == []


def test_flag_photo_reused_from_an_earlier_check(world, checklist):
    yesterday = timezone.now() - datetime.timedelta(days=1)
    first = submit(world, checklist, photos={1: [png(seed=7)]}, finished=yesterday)
    assert kinds(first) == []
    again = submit(world, checklist, photos={3: [png(seed=7)]})  # the same file, on another item
    flag = FormalismFlag.objects.get(record=again)
    assert (flag.kind, flag.other_record, flag.data["items"]) == ("photo_reuse", first, [3])
    assert "已" in flag.detail or "already" in flag.detail
    fresh = submit(world, checklist, photos={1: [png(seed=8)]})
    assert kinds(fresh) == []


@pytest.mark.parametrize(("_case", "bits_apart", "max_distance", "flagged"), [
    ("4 bits apart at the default 4: the same picture", 4, 4, True),
    ("5 bits apart at 4: another picture", 5, 4, False),
    ("identical hash, different file, at 0", 0, 0, True),
    ("1 bit apart at 0", 1, 0, False),
])
def test_flag_photo_reused_by_perceptual_hash(world, checklist, settings, _case, bits_apart, max_distance, flagged):
    settings.CHECK_PHASH_MAX_DISTANCE = max_distance
    first = submit(world, checklist, photos={1: [png(PATTERN)]}, finished=timezone.now() - datetime.timedelta(hours=1))
    other = png(flip(PATTERN, bits_apart)) if bits_apart else _reencoded(PATTERN)
    again = submit(world, checklist, photos={1: [other]})
    a, b = Attachment.objects.order_by("id")
    assert a.sha256 != b.sha256
    assert kinds(again) == (["photo_reuse"] if flagged else [])
    assert kinds(first) == []


def _reencoded(bits):
    """The same 8×8 picture saved again with other PNG settings: other bytes, the same hash."""
    img = Image.new("L", (8, 8))
    img.putdata([255 if b == "1" else 0 for b in bits])
    buffer = io.BytesIO()
    img.convert("RGB").save(buffer, "PNG", compress_level=1)
    return SimpleUploadedFile("again.png", buffer.getvalue(), content_type="image/png")


def test_flag_photo_repeated_on_items_of_one_check(world, checklist):
    record = submit(world, checklist, photos={1: [png(seed=9)], 2: [png(seed=9)], 3: [png(seed=10)]})
    flag = FormalismFlag.objects.get(record=record)
    assert (flag.kind, flag.other_record, flag.data["items"]) == ("photo_reuse", None, [1, 2])


def test_flag_photo_of_another_enterprise_is_not_compared(world, checklist):
    fz_list = checklist_of(world.ent_fz)
    ChecklistItem.objects.create(checklist=fz_list, number=1, text="消防通道畅通")
    submit(world, fz_list, photos={1: [png(seed=11)]}, enterprise=world.ent_fz, by=world.ent_fz_staff,
           finished=timezone.now() - datetime.timedelta(days=1))
    assert kinds(submit(world, checklist, photos={1: [png(seed=11)]})) == []


NOTE = "阀门外观完好，无跑冒滴漏"


@pytest.mark.parametrize(("_case", "notes", "flagged"), [
    ("the same note on 3 items", {1: NOTE, 2: NOTE, 3: NOTE + "。"}, True),
    ("on 2 items only", {1: NOTE, 2: NOTE}, False),
    ("routine words on every item", {1: "正常", 2: "正常", 3: "正常", 4: "正常"}, False),
])
def test_flag_copied_text_on_items(world, checklist, _case, notes, flagged):
    record = submit(world, checklist, notes=notes)
    assert kinds(record) == (["copied_text"] if flagged else [])


def test_flag_copied_text_from_an_earlier_check(world, checklist, settings):
    notes = {1: "东侧消防通道畅通，灭火器压力正常", 3: "防火堤排水阀关闭，堤内无积液"}
    first = submit(world, checklist, notes=notes, record_notes="夜班交接后对罐区进行全面巡检",
                   finished=timezone.now() - datetime.timedelta(days=1))
    copy = submit(world, checklist, notes=notes, record_notes="夜班交接后对罐区进行全面巡检")
    flag = FormalismFlag.objects.get(record=copy)
    assert (flag.kind, flag.other_record, flag.data["ratio"]) == ("copied_text", first, 1.0)
    new = submit(world, checklist, notes={1: "西侧通道临时堆放托盘，已当场清理", 3: "防火堤排水阀关闭，堤内无积液"})
    assert kinds(new) == []
    settings.CHECK_COPY_SIMILARITY_PERCENT = 100
    nearly = submit(world, checklist, notes={1: "东侧消防通道畅通，灭火器压力正常", 3: "防火堤排水阀关闭，堤内无积水"},
                    record_notes="夜班交接后对罐区进行全面巡检")
    assert kinds(nearly) == []  # one character in 43 differs: copied at 95 %, not at 100 %


def test_flag_far_from_the_enterprise_at_the_boundary(world, checklist, settings):
    world.ent_xm.lng, world.ent_xm.lat = Decimal("118.080000"), Decimal("24.450000")
    world.ent_xm.save()
    on_the_line = submit(world, checklist, lng=118.08, lat=24.46, accuracy=15)
    distance = on_the_line.distance_m  # ≈ 1112 m north
    assert 1100 < distance < 1125
    settings.CHECK_MAX_DISTANCE_M = distance
    assert kinds(submit(world, checklist, lng=118.08, lat=24.46, accuracy=15)) == []
    settings.CHECK_MAX_DISTANCE_M = distance - 1
    far = submit(world, checklist, lng=118.08, lat=24.46, accuracy=15)
    flag = FormalismFlag.objects.get(record=far)
    assert (flag.kind, flag.data["distance_m"], flag.data["accuracy_m"]) == ("far_away", distance, 15)
    assert kinds(submit(world, checklist)) == []  # no location sent: nothing to compare


# ---------------------------------------------------------------------------------------------
# What the regulator sees, and what another city does not
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def flagged(world, checklist):
    """A 30-second check of 4 items with a photo on two items: two flags, in 厦门."""
    record = submit(world, checklist, seconds=8, outcomes={2: "fail"}, notes={2: "报警器失效"},
                    photos={1: [png(seed=3)], 2: [png(seed=3)]})
    assert kinds(record) == ["duration", "photo_reuse"]
    return record


def test_flags_list_shows_the_citys_flags_with_filters_and_export(client, world, flagged):
    client.force_login(world.xm_officer)
    page = client.get(reverse("checks:flags"))
    assert page.status_code == 200 and page.context["page"].paginator.count == 2
    assert client.get(reverse("checks:flags"), {"kind": "duration"}).context["page"].paginator.count == 1
    export = client.get(reverse("checks:flags"), {"export": "xlsx"})
    ws = load_workbook(io.BytesIO(export.content), read_only=True).worksheets[0]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 2 and any("4" in str(c) and "秒" in str(c) for r in rows for c in r)
    record_page = client.get(reverse("checks:checkrecord_detail", args=[flagged.pk]))
    assert b'data-testid="flag-duration"' in record_page.content
    assert client.get(reverse("checks:checkrecord_list"), {"flagged": "yes"}).context["page"].paginator.count == 1


def test_regulator_of_another_city_sees_none_of_it(client, world, flagged, task):
    result = flagged.results.get(item__number=2)
    photo = attachments(result).get()
    flag = flagged.flags.first()
    client.force_login(world.fz_officer)
    for name, pk in [("checks:checkrecord_detail", flagged.pk), ("checks:checkresult_detail", result.pk),
                     ("checks:formalismflag_detail", flag.pk), ("core:attachment", photo.pk),
                     ("checks:checktask_detail", task.pk), ("checks:checkplan_detail", task.plan_id)]:
        assert client.get(reverse(name, args=[pk])).status_code == 404, name
    for name in ("checks:flags", "checks:checkrecord_list", "checks:checkresult_list", "checks:checktask_list",
                 "checks:checkplan_list"):
        assert client.get(reverse(name)).context["page"].paginator.count == 0, name
    assert client.post(reverse("checks:checkresult_hazard", args=[result.pk])).status_code == 404
    assert client.get("/api/v1/checks/flags/").json()["count"] == 0
    assert client.get(f"/api/v1/checks/records/{flagged.pk}").status_code == 404


def test_photos_are_served_only_inside_the_place(client, world, flagged):
    photo = attachments(flagged.results.get(item__number=1)).get()
    client.force_login(world.xm_officer)
    response = client.get(reverse("core:attachment", args=[photo.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"\x89PNG")
    client.force_login(world.fz_officer)
    assert client.get(reverse("core:attachment", args=[photo.pk])).status_code == 404


@pytest.mark.parametrize("name", ["checks:flags", "checks:checkrecord_list", "checks:checkresult_list",
                                  "checks:checktask_list"])
def test_lists_do_not_query_per_row(client, world, checklist, plan, name):
    client.force_login(world.ent_xm_staff)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse(name)).status_code == 200
        return len(ctx.captured_queries)

    actions.generate_tasks(plans=[plan], since=plan.starts_on)
    submit(world, checklist, seconds=1)
    few = queries()
    for _ in range(5):
        submit(world, checklist, seconds=1)
    CheckPlan.objects.create(enterprise=world.ent_xm, checklist=checklist, name="周检", post="安全员",
                             frequency="daily", starts_on=plan.starts_on, assignee=world.ent_xm_staff)
    actions.generate_tasks(since=plan.starts_on)
    assert FormalismFlag.objects.count() == 6 and CheckTask.objects.count() == 8
    assert queries() == few


# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------


def _api_check(task, checklist, **extra):
    finished = timezone.now()
    body = {"task": task.pk, "started_at": (finished - datetime.timedelta(minutes=10)).isoformat(),
            "finished_at": finished.isoformat(), "lng": 118.08, "lat": 24.45, "accuracy_m": 8,
            "results": [{"item": i.pk, "outcome": "pass", "note": ""} for i in checklist.items.all()], **extra}
    return json.dumps(body)


def test_api_submit_hands_in_a_check_with_photos(client, world, task, checklist):
    client.force_login(world.ent_xm_staff)
    item = checklist.items.get(number=1)
    response = client.post("/api/v1/checks/records/", {"data": _api_check(task, checklist),
                                                       f"photos_{item.pk}": [png(seed=21)]})
    assert response.status_code == 201, response.content
    body = response.json()
    record = CheckRecord.objects.get(pk=body["id"])
    assert (body["task_id"], body["item_count"], body["flag_count"], record.task.status) == (task.pk, 4, 0, "done")
    assert attachments(record.results.get(item=item)).count() == 1
    again = client.post("/api/v1/checks/records/", {"data": _api_check(task, checklist)})
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_api_submit_is_scoped_and_validated(client, world, task, checklist):
    client.force_login(world.ent_fz_staff)
    assert client.post("/api/v1/checks/records/", {"data": _api_check(task, checklist)}).status_code == 404
    client.force_login(world.xm_officer)
    assert client.post("/api/v1/checks/records/", {"data": _api_check(task, checklist)}).status_code == 403
    client.force_login(world.ent_xm_staff)
    assert client.post("/api/v1/checks/records/", {"data": "{not json"}).status_code == 400
    missing = json.loads(_api_check(task, checklist))
    missing["results"] = missing["results"][:2]
    response = client.post("/api/v1/checks/records/", {"data": json.dumps(missing)})
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    assert not CheckRecord.objects.exists()


def test_api_result_to_hazard_is_idempotent_and_scoped(client, world, checklist):
    record = submit(world, checklist, outcomes={1: "fail"}, notes={1: "通道堆放纸箱"})
    result = record.results.get(item__number=1)
    client.force_login(world.fz_officer)
    assert client.post(f"/api/v1/checks/results/{result.pk}/hazard").status_code == 404
    client.force_login(world.ent_xm_staff)
    first = client.post(f"/api/v1/checks/results/{result.pk}/hazard")
    second = client.post(f"/api/v1/checks/results/{result.pk}/hazard")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["hazard_id"] == second.json()["hazard_id"] == Hazard.objects.get().pk
    assert (first.json()["created"], second.json()["created"]) == (True, False)


def test_api_lists_records_with_flag_counts(client, world, flagged):
    client.force_login(world.xm_officer)
    body = client.get("/api/v1/checks/records/", {"flagged": "yes"}).json()
    assert body["count"] == 1 and body["results"][0]["flag_count"] == 2
    flags = client.get("/api/v1/checks/flags/", {"record": flagged.pk}).json()["results"]
    assert sorted(f["kind"] for f in flags) == ["duration", "photo_reuse"] and all(f["detail"] for f in flags)
    results = client.get("/api/v1/checks/results/", {"record": flagged.pk, "outcome": "fail"}).json()["results"]
    assert [r["item_id"] for r in results] == [flagged.results.get(item__number=2).item_id]
