"""The landing page and map data count only what the user may see."""

import pytest
from django.urls import reverse

from worksafe.core.testing import make_enterprise


@pytest.fixture
def spread(world):
    # given one more enterprise in 平潭 (350128, under 福州) and one in 泉州
    make_enterprise("平潭海峡化工有限公司", "350128")
    make_enterprise("泉州港口物流有限公司", "350502", key_class="road_transport", industry="54")
    return world


def test_city_regulator_home_counts_only_its_city(client, spread):
    client.force_login(spread.xm_officer)
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 200
    assert response.context["total"] == 2  # ent_xm and ent_xm_construction
    rows = {r["code"]: r["n"] for r in response.context["breakdown"]}
    assert rows["350203"] == 2 and sum(rows.values()) == 2
    assert all(code.startswith("3502") for code in rows)


def test_province_breakdown_lists_cities_and_pingtan_as_a_group(client, spread):
    client.force_login(spread.province_officer)
    response = client.get(reverse("dashboard:home"))
    rows = response.context["breakdown"]
    cities = [r for r in rows if not r["group"]]
    assert len(cities) == 9
    assert {r["code"]: r["n"] for r in cities} == {
        **{r["code"]: 0 for r in cities}, "3502": 2, "3501": 2, "3505": 1}
    (pingtan,) = [r for r in rows if r["group"]]
    assert pingtan["name"] == "平潭综合实验区" and pingtan["n"] == 1
    # the group is inside 福州's count, not added to the province total
    assert response.context["total"] == sum(r["n"] for r in cities) == 5


def test_industry_department_map_counts_only_its_classes(client, spread):
    client.force_login(spread.xm_housing_staff)
    data = client.get(reverse("dashboard:county_map_data")).json()
    assert data == {"counties": [{"code": "350203", "name": "思明区", "value": 1}]}  # construction only


def test_enterprise_user_lands_on_its_own_file(client, world):
    client.force_login(world.ent_xm_staff)
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("enterprises:enterprise_detail", args=[world.ent_xm.pk])


def test_administrators_see_no_business_figures(client, world):
    client.force_login(world.audit_admin)
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 200
    assert "total" not in response.context
    assert client.get(reverse("dashboard:county_map_data")).json() == {"counties": []}


def test_regulator_home_counts_overdue_and_escalated_listings(client, world):
    import datetime

    from worksafe.core.testing import make_org, make_user
    from worksafe.hazards import actions
    from worksafe.hazards.models import Hazard

    # given a major hazard listed by the 思明 county bureau, past the listing deadline (not yet assigned, so no
    # rectification deadline of its own), and a general hazard past its rectification deadline
    today = datetime.date.today()
    county_org = make_org("厦门市思明区应急管理局", "emergency", "350203")
    county_officer = make_user("siming_officer", county_org, ["regulator_staff"])
    major = actions.report(Hazard(enterprise=world.ent_xm, title="储罐区防火堤坍塌", level="major", found_on=today,
                                  status_and_causes="a", harm_and_difficulty="b", treatment_plan="c"),
                           by=world.ent_xm_staff)
    actions.list_for_supervision(major, by=county_officer, notice_number="思安督〔2026〕2号", supervising_office="x",
                                 deadline=today - datetime.timedelta(days=1))
    Hazard.objects.create(enterprise=world.ent_xm, title="消防通道堵塞", found_on=today, status="rectifying",
                          deadline=today - datetime.timedelta(days=3), reported_by=world.ent_xm_staff)
    # then the city bureau (one level up) sees it escalated; the county bureau sees it overdue, not escalated
    client.force_login(world.xm_officer)
    figures = client.get(reverse("dashboard:home")).context["hazards"]
    assert figures == {"escalated": 1, "overdue_listings": 1, "overdue_hazards": 1}
    client.force_login(county_officer)
    response = client.get(reverse("dashboard:home"))
    assert response.context["hazards"] == {"escalated": 0, "overdue_listings": 1, "overdue_hazards": 1}
    assert b'data-testid="hazard-cards"' in response.content
    client.force_login(world.fz_officer)
    assert client.get(reverse("dashboard:home")).context["hazards"] == {
        "escalated": 0, "overdue_listings": 0, "overdue_hazards": 0}
