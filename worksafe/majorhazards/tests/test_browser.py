"""Major hazard sources in the browser: a county regulator's registry, map and overdue list; an enterprise
assesses its own unit and prints the registration form."""

import pytest

from worksafe.core.tests.browser import login, shot, shown_count

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_county_regulator_sees_registry_map_and_overdue_of_its_county_only(page, demo):
    from worksafe.majorhazards.models import MajorHazard

    login(page, "county_admin")  # 泉港区应急管理局
    mine = MajorHazard.objects.filter(enterprise__county_id="350505")
    page.goto(page.base + "/majorhazards/majorhazards/")
    assert shown_count(page) == mine.count() > 0
    page.goto(page.base + "/majorhazards/map/")
    page.wait_for_selector("[data-testid=hazard-map] canvas")
    total = sum(int(page.locator(f"[data-testid=grade-{g}]").inner_text()) for g in (1, 2, 3, 4))
    assert total == mine.exclude(grade__isnull=True).count()
    shot(page, "majorhazards-map")
    page.goto(page.base + "/majorhazards/overdue/")
    rows = page.locator("[data-testid=overdue-table] tbody tr")
    assert rows.count() >= 1
    other = MajorHazard.objects.exclude(enterprise__county_id="350505").first()  # guessed id, another county
    response = page.goto(page.base + f"/majorhazards/majorhazards/{other.pk}/")
    assert response.status == 404


def test_enterprise_assesses_its_unit_and_prints_the_form(page, demo):
    from worksafe.majorhazards.models import Assessment, MajorHazard

    login(page, "chem_admin")
    hazard = MajorHazard.objects.filter(enterprise__organisation__users__username="chem_admin").first()
    assert hazard is not None
    before = Assessment.objects.filter(hazard=hazard).count()
    page.goto(page.base + f"/majorhazards/majorhazards/{hazard.pk}/")
    page.click("[data-testid=assess]")
    page.wait_for_load_state("networkidle")
    assert Assessment.objects.filter(hazard=hazard).count() == before + 1
    assert page.locator("[data-testid=grade]").inner_text().strip()
    shot(page, "majorhazard-detail")
    response = page.request.get(page.base + f"/majorhazards/majorhazards/{hazard.pk}/registration.pdf")
    assert response.status == 200 and response.body().startswith(b"%PDF")
