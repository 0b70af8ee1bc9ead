"""The major hazard loop in the browser: the enterprise reports → the county bureau lists it → the enterprise
rectifies → the bureau verifies on site and closes it; the timeline shows every step; another city sees none."""

import datetime

import pytest

from worksafe.core.tests.browser import login, shot, shown_count

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _submit(page, selector):
    page.click(selector)
    page.wait_for_load_state("networkidle")


def test_major_hazard_loop_between_enterprise_and_county_bureau(page, demo):
    from worksafe.core.models import User
    from worksafe.hazards.models import Hazard

    enterprise = User.objects.get(username="chem_staff").organisation.enterprise
    # 1. enterprise staff report a major hazard with the three required parts
    login(page, "chem_staff")
    page.goto(page.base + "/hazards/hazards/add/")
    page.select_option("select[name=enterprise]", str(enterprise.pk))
    page.fill("input[name=title]", "液化烃罐区可燃气体报警器失效")
    page.select_option("select[name=level]", "major")
    page.fill("input[name=found_on]", datetime.date.today().isoformat())
    _submit(page, "[data-testid=save]")
    assert page.locator("[data-testid=form-errors]").count() == 1  # the three parts are missing
    page.fill("textarea[name=status_and_causes]", "报警器探头老化，3台失效")
    page.fill("textarea[name=harm_and_difficulty]", "泄漏无法及时发现，需停用罐区更换")
    page.fill("textarea[name=treatment_plan]", "停用罐区，更换探头并与DCS联调，完成后申请复查")
    _submit(page, "[data-testid=save]")
    hazard = Hazard.objects.get(title="液化烃罐区可燃气体报警器失效")
    assert page.url.endswith(f"/hazards/hazards/{hazard.pk}/")
    assert hazard.reported_to_regulator_at is not None

    # 2. the county bureau (泉港区) lists it for supervision
    page.context.clear_cookies()
    login(page, "county_admin")
    page.goto(page.base + f"/hazards/hazards/{hazard.pk}/")
    page.fill("input[name=notice_number]", "泉港安督〔2026〕1号")
    page.fill("input[name=supervising_office]", "泉港区安委办")
    _submit(page, "[data-testid=list]")
    assert page.locator("[data-testid=listed]").count() == 1

    # 3. the enterprise head assigns it, staff report it rectified
    page.context.clear_cookies()
    login(page, "chem_admin")
    page.goto(page.base + f"/hazards/hazards/{hazard.pk}/")
    page.fill("input[name=responsible_person]", "陈志远")
    page.fill("textarea[name=measures]", "停用罐区，更换探头")
    page.fill("input[name=funds]", "68000")
    _submit(page, "[data-testid=assign]")
    page.context.clear_cookies()
    login(page, "chem_staff")
    page.goto(page.base + f"/hazards/hazards/{hazard.pk}/")
    page.fill("textarea[name=comment]", "已更换全部探头并联调合格")
    _submit(page, "[data-testid=rectify]")
    # the enterprise cannot close a listed hazard itself
    page.context.clear_cookies()
    login(page, "chem_admin")
    page.goto(page.base + f"/hazards/hazards/{hazard.pk}/")
    assert page.locator("[data-testid=verify]").count() == 0

    # 4. the bureau verifies on site, closes it and lifts the listing
    page.context.clear_cookies()
    login(page, "county_admin")
    page.goto(page.base + f"/hazards/hazards/{hazard.pk}/")
    page.fill("form[action$='/verify/'] textarea[name=comment]", "现场核查合格，同意摘牌")
    _submit(page, "[data-testid=verify]")
    hazard.refresh_from_db()
    assert hazard.status == "closed" and hazard.listing.status == "lifted"
    steps = page.locator("[data-testid=timeline] li")
    assert steps.count() == 5
    shot(page, "hazard-major-loop")

    # 5. a user of another city sees none of it
    page.context.clear_cookies()
    login(page, "xm_admin")
    assert page.goto(page.base + f"/hazards/hazards/{hazard.pk}/").status == 404
    page.goto(page.base + "/hazards/hazards/?q=液化烃罐区可燃气体报警器失效")
    assert shown_count(page) == 0
