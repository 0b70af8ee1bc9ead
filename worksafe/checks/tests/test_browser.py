"""A check on site, on a phone: enterprise staff open today's task at 390 px, mark the items, photograph one,
fail one and turn it into a hazard in one tap; the regulator sees the record and its flags, another city none."""

import datetime

import pytest
from PIL import Image

from worksafe.core.tests.browser import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}


def _no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_enterprise_staff_check_on_a_phone_and_turn_a_failure_into_a_hazard(page, demo, tmp_path):
    from worksafe.checks.models import CheckRecord, CheckTask
    from worksafe.hazards.models import Hazard

    today = datetime.date.today()
    task = CheckTask.objects.select_related("plan__enterprise", "plan__checklist").get(
        assignee__username="chem_staff", status="open", due_on=today)
    enterprise, items = task.plan.enterprise, list(task.plan.checklist.items.order_by("number"))
    photo = tmp_path / "valve.png"
    Image.new("RGB", (320, 240), (180, 40, 40)).save(photo)
    page.set_viewport_size(PHONE)
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": float(enterprise.lat), "longitude": float(enterprise.lng),
                                  "accuracy": 12})

    # 1. today's task is a big card on the task list; it opens the check form
    login(page, "chem_staff")
    page.goto(page.base + "/checks/tasks/")
    assert _no_sideways_scroll(page)
    page.click(f"[data-testid=start-task-{task.pk}]")
    page.wait_for_load_state("networkidle")
    page.wait_for_function("document.querySelector('input[name=lat]').value !== ''")
    assert page.locator("[data-testid=item-1]").count() == 1 and _no_sideways_scroll(page)

    # 2. every item passes but the second, which fails with a note and a photo from the camera input
    for item in items:
        page.click(f"[data-testid=item-{item.number}-{'fail' if item.number == 2 else 'pass'}]")
    page.click("[data-testid=submit-check]")  # a failed item without a note: held back on the phone
    assert "border-danger" in page.locator("[data-testid=item-2]").get_attribute("class")
    assert not CheckRecord.objects.filter(task=task).exists()
    page.fill("[data-testid=item-2-note]", "3号罐呼吸阀锈蚀卡涩")
    page.set_input_files(f"input[name=photos_{items[1].pk}]", str(photo))
    assert page.locator("[data-testid=item-2] .photo-previews img").count() == 1
    assert page.locator(".done-count").inner_text() == str(len(items))
    shot(page, "checks-phone-form")
    page.click("[data-testid=submit-check]")
    page.wait_for_load_state("networkidle")
    record = CheckRecord.objects.get(task=task)
    assert page.url.endswith(f"/checks/records/{record.pk}/")
    assert (record.failed_count, record.distance_m) == (1, 0)
    # handed in within seconds of opening: the record carries the duration flag, nothing else
    assert page.locator("[data-testid=flag-duration]").count() == 1
    assert page.locator("[data-testid=flag-far_away]").count() == 0

    # 3. one tap turns the failed item into a hazard, with the photo
    page.click("[data-testid=to-hazard-2]")
    page.wait_for_load_state("networkidle")
    hazard = Hazard.objects.get(check_result__record=record)
    assert page.url.endswith(f"/hazards/hazards/{hazard.pk}/") and hazard.source == "self_check"
    assert page.locator("img[alt='valve.png']").count() == 1
    shot(page, "checks-failed-item-hazard")
    page.go_back()
    page.reload()
    assert page.locator("[data-testid=hazard-2]").inner_text().strip().endswith(hazard.code)

    # 4. the county bureau sees the record and its flag; another city sees neither
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "county_admin")
    page.goto(page.base + f"/checks/flags/?record={record.pk}")
    assert page.locator("table tbody tr").count() == 1
    page.context.clear_cookies()
    login(page, "xm_admin")
    assert page.goto(page.base + f"/checks/records/{record.pk}/").status == 404
