"""Risk points in the browser: an enterprise head assesses a risk point on a phone; a county regulator opens the
regional risk map and sees only its county's enterprises."""

import pytest

from worksafe.core.tests.browser import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"


def test_enterprise_head_assesses_a_risk_point_on_a_phone(page, demo):
    from worksafe.risks.models import RiskAssessment, RiskPoint

    page.set_viewport_size(PHONE)
    login(page, "chem_admin")  # 福建泉港恒信石化有限公司
    point = RiskPoint.objects.filter(enterprise__organisation__users__username="chem_admin").first()
    assert point is not None
    before = RiskAssessment.objects.filter(point=point).count()

    page.goto(page.base + f"/risks/riskpoints/{point.pk}/")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the detail page scrolls sideways at 390 px"
    page.click("[data-testid=assess]")
    page.wait_for_selector("[data-testid=assess-form]")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the assess page scrolls sideways at 390 px"
    # LS matrix: L = 4, S = 5 under variant C → R = 20, red
    page.click("label[for=id_method_1]")
    page.select_option("#id_ls_l", "4")
    page.select_option("#id_ls_s", "5")
    page.select_option("#id_scheme", "ls_20_10_4")
    assert page.locator("#id_lec_l").is_hidden()  # the LEC inputs are out of the way
    shot(page, "risks-assess-phone")
    page.click("[data-testid=save]")
    page.wait_for_load_state("networkidle")

    errors = page.locator("[data-testid=form-errors], .invalid-feedback").all_inner_texts()
    assert page.url.endswith(f"/risks/riskpoints/{point.pk}/"), errors
    assert RiskAssessment.objects.filter(point=point).count() == before + 1
    latest = RiskAssessment.objects.filter(point=point).order_by("-id").first()
    assert (latest.method, latest.score, latest.level, latest.criterion) == ("ls", 20, "red", "ls_20_10_4")
    point.refresh_from_db()
    assert point.level == "red" and point.control_tier in ("company", point.control_tier_override)
    assert page.locator("[data-testid=level]").inner_text().strip()
    assert page.locator("[data-testid=assessments] tbody tr").count() == before + 1
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    shot(page, "risks-detail-phone")
    response = page.request.get(page.base + f"/risks/riskpoints/{point.pk}/card.pdf")
    assert response.status == 200 and response.body().startswith(b"%PDF")


def test_county_regulator_sees_only_its_countys_enterprises_on_the_risk_map(page, demo):
    from worksafe.risks.models import RiskPoint

    login(page, "county_admin")  # 泉港区应急管理局
    mine = RiskPoint.objects.filter(enterprise__county_id="350505").exclude(level="")
    assert mine.exists() and RiskPoint.objects.exclude(enterprise__county_id="350505").exists()

    page.goto(page.base + "/risks/map/")
    page.wait_for_selector("[data-testid=risk-map] canvas")
    counties = page.locator("[data-testid=county-table] tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.county)")
    assert counties == ["350505"]
    total = int(page.locator("[data-testid=total]").inner_text())
    assert total == mine.values("enterprise_id").distinct().count()
    data = page.request.get(page.base + "/risks/map/?format=json").json()
    assert {e["county"] for e in data["enterprises"]} == {"350505"}
    assert len(data["enterprises"]) == total
    shot(page, "risks-map")

    other = RiskPoint.objects.exclude(enterprise__county_id="350505").first()  # guessed id, another county
    response = page.goto(page.base + f"/risks/riskpoints/{other.pk}/")
    assert response.status == 404
