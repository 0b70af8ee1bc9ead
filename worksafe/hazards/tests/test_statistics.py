"""The statistics page: figures equal counts from the visible records, breakdowns, trend, exports, bounded
queries; the API returns the same figures."""

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from worksafe.core.models import AuditEntry
from worksafe.core.testing import make_enterprise, make_org, make_user
from worksafe.hazards import actions
from worksafe.hazards.models import Hazard
from worksafe.hazards.statistics import Statistics, default_period

TODAY = timezone.localdate()
URL = reverse("hazards:statistics")


def _days(n):
    return TODAY - datetime.timedelta(days=n)


def _hazard(world, ent, *, found, closed=None, deadline=None, level="general"):
    extra = {}
    if level == "major":
        extra = dict(status_and_causes="原因", harm_and_difficulty="危害", treatment_plan="方案")
    return Hazard.objects.create(enterprise=ent, title="消防通道堵塞", level=level, found_on=found, closed_on=closed,
                                 deadline=deadline, reported_by=world.province_officer,
                                 status="closed" if closed else ("rectifying" if deadline else "reported"), **extra)


@pytest.fixture
def spread(world):
    """Hazards in 厦门 (chemicals, construction), 福州 and 平潭, open, closed and overdue."""
    pingtan = make_enterprise("平潭海峡化工有限公司", "350128")
    h = {
        "xm_closed": _hazard(world, world.ent_xm, found=_days(40), closed=_days(30)),
        "xm_overdue": _hazard(world, world.ent_xm, found=_days(20), deadline=_days(2)),
        "xm_major": _hazard(world, world.ent_xm, found=_days(10), deadline=_days(-30), level="major"),
        "xm_old": _hazard(world, world.ent_xm, found=_days(500), closed=_days(100)),  # found before the period
        "construction": _hazard(world, world.ent_xm_construction, found=_days(5), deadline=_days(1)),
        "fz": _hazard(world, world.ent_fz, found=_days(60), closed=_days(59)),
        "pingtan": _hazard(world, pingtan, found=_days(3)),
    }
    return world, h


def test_city_regulator_sees_the_figures_of_its_city(client, spread):
    world, _h = spread
    client.force_login(world.xm_officer)
    response = client.get(URL)
    assert response.status_code == 200
    totals = response.context["totals"]
    # found in the last 12 months: xm_closed, xm_overdue, xm_major, construction (xm_old was found earlier)
    assert (totals["found"], totals["rectified"], totals["found_rectified"]) == (4, 2, 1)
    assert totals["rate"] == 25.0
    assert (totals["open"], totals["overdue"]) == (3, 2)
    assert {h.title for h in response.context["overdue"]} == {"消防通道堵塞"} and len(response.context["overdue"]) == 2
    assert "deadline_state=overdue" in response.context["overdue_query"]
    # the overdue figure equals the hazard list's overdue filter
    listed = client.get(reverse("hazards:hazard_list"), {"deadline_state": "overdue"})
    assert listed.context["page"].paginator.count == totals["overdue"]
    tables = {t["key"]: t["rows"] for t in response.context["tables"]}
    counties = {r["code"]: r for r in tables["jurisdiction"]}
    assert counties["350203"]["found"] == 4 and sum(r["found"] for r in counties.values()) == 4
    assert {r["code"]: r["found"] for r in tables["key_class"]} == {"hazchem": 3, "construction": 1}
    assert [(r["code"], r["found"]) for r in tables["level"]] == [("general", 3), ("major", 1), ("total", 4)]
    trend = response.context["trend"]
    assert len(trend) == 12 and sum(m["found"] for m in trend) == 4 and sum(m["closed"] for m in trend) == 2


def test_province_breakdown_lists_cities_and_pingtan_counted_within_fuzhou(client, spread):
    world, _h = spread
    client.force_login(world.province_officer)
    tables = {t["key"]: t["rows"] for t in client.get(URL).context["tables"]}
    cities = {r["code"]: r["found"] for r in tables["jurisdiction"] if not r["group"]}
    assert len(cities) == 9 and cities["3502"] == 4 and cities["3501"] == 2
    (pingtan,) = [r for r in tables["jurisdiction"] if r["group"]]
    assert pingtan["label"] == "平潭综合实验区" and pingtan["found"] == 1
    assert sum(cities.values()) == client.get(URL).context["totals"]["found"] == 6


def test_filters_narrow_every_figure(client, spread):
    world, _h = spread
    client.force_login(world.province_officer)
    ctx = client.get(URL, {"jurisdiction": "3502", "level": "general"}).context
    assert ctx["totals"]["found"] == 3
    assert [r["code"] for r in {t["key"]: t for t in ctx["tables"]}["jurisdiction"]["rows"]][:1] == ["350203"]
    ctx = client.get(URL, {"key_class": "construction"}).context
    assert (ctx["totals"]["found"], ctx["totals"]["overdue"]) == (1, 1)
    ctx = client.get(URL, {"date_from": _days(45).isoformat(), "date_to": _days(25).isoformat()}).context
    assert (ctx["totals"]["found"], ctx["totals"]["rectified"]) == (1, 1)  # xm_closed only
    assert ctx["totals"]["open"] == 0  # everything found by then was closed by then
    ctx = client.get(URL, {"status": "closed"}).context
    assert ctx["totals"]["open"] == 0


def test_scope_narrows_to_the_place_and_the_sector(client, spread):
    world, _h = spread
    client.force_login(world.fz_officer)
    assert client.get(URL).context["totals"]["found"] == 2  # 福州 + 平潭
    client.force_login(world.xm_housing_staff)
    assert client.get(URL).context["totals"]["found"] == 1  # construction only
    client.force_login(world.ent_xm_staff)
    ctx = client.get(URL).context
    assert ctx["totals"]["found"] == 3 and {t["key"]: t["rows"] for t in ctx["tables"]}["jurisdiction"] == []
    client.force_login(world.no_role)
    assert client.get(URL).status_code == 403


def test_escalated_listings_are_counted_one_level_up(client, world):
    county_org = make_org("厦门市思明区应急管理局", "emergency", "350203")
    county_officer = make_user("siming_officer", county_org, ["regulator_staff"])
    major = actions.report(Hazard(enterprise=world.ent_xm, title="储罐区防火堤坍塌", level="major", found_on=_days(50),
                                  status_and_causes="a", harm_and_difficulty="b", treatment_plan="c"),
                           by=world.ent_xm_staff)
    actions.list_for_supervision(major, by=county_officer, notice_number="思安督〔2026〕1号", supervising_office="x",
                                 deadline=_days(3))
    client.force_login(world.xm_officer)
    assert client.get(URL).context["escalated"] == 1
    client.force_login(county_officer)
    assert client.get(URL).context["escalated"] == 0


@pytest.mark.parametrize("table, header", [
    ("jurisdiction", "所属区域"), ("key_class", "重点行业领域"), ("level", "级别"), ("status", "状态"),
    ("trend", "月份"), ("overdue", "隐患编号")])
def test_each_table_exports_to_excel_with_its_headers_and_is_audited(client, spread, table, header):
    world, _h = spread
    client.force_login(world.xm_officer)
    response = client.get(URL, {"export": "xlsx", "table": table})
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).worksheets[0].values)
    assert rows[0][0] == header and len(rows) > 1
    entry = AuditEntry.objects.get(action="export")
    assert entry.object_type == "hazards.hazard" and table in entry.detail


def test_export_needs_the_export_permission_and_a_known_table(client, spread):
    world, _h = spread
    client.force_login(world.ent_xm_staff)
    assert client.get(URL, {"export": "xlsx", "table": "level"}).status_code == 403
    client.force_login(world.xm_officer)
    assert client.get(URL, {"export": "xlsx", "table": "nope"}).status_code == 404
    assert not AuditEntry.objects.filter(action="export").exists()


def _more(world, n):
    for i in range(n):
        _hazard(world, world.ent_xm if i % 2 else world.ent_xm_construction, found=_days(i % 300),
                closed=_days(i % 300 - 1) if i % 3 == 0 and i % 300 else None, deadline=_days(i % 7 - 3))


def test_page_queries_do_not_grow_with_the_rows(client, world, django_assert_max_num_queries):
    client.force_login(world.province_officer)
    _more(world, 5)
    client.get(URL)  # warm the session and permission caches
    with django_assert_max_num_queries(20) as few:
        client.get(URL)
    _more(world, 200)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL)
    assert response.context["totals"]["found"] == 205


def test_api_returns_the_same_figures(client, spread):
    world, _h = spread
    client.force_login(world.xm_officer)
    page = client.get(URL, {"level": "general"}).context
    data = client.get("/api/v1/hazards/statistics/", {"level": "general"}).json()
    assert data["totals"]["found"] == page["totals"]["found"] == 3
    assert [r["found"] for r in data["trend"]] == [r["found"] for r in page["trend"]]
    assert data["by_jurisdiction"][0]["code"] == "350203"
    assert client.get("/api/v1/hazards/statistics/", {"level": "bogus"}).status_code == 400
    client.force_login(world.no_role)
    assert client.get("/api/v1/hazards/statistics/").status_code == 403


def test_default_period_is_the_last_twelve_months():
    assert default_period(datetime.date(2026, 11, 29)) == (datetime.date(2025, 12, 1), datetime.date(2026, 11, 29))
    assert default_period(datetime.date(2026, 1, 5)) == (datetime.date(2025, 2, 1), datetime.date(2026, 1, 5))


def test_period_end_is_never_after_today(world):
    stats = Statistics(world.xm_officer, {"date_to": (TODAY + datetime.timedelta(days=40)).isoformat()})
    assert stats.end == TODAY


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_browser_city_regulator_reads_the_statistics_and_a_report(page, demo):
    from worksafe.core.tests.browser import login, shot

    # the city bureau of 厦门 lands on its overview: escalated listings from its county bureaus are shown
    login(page, "xm_admin")
    assert int(page.locator("[data-testid=escalated-to-me]").inner_text()) >= 1
    # the statistics page draws the monthly trend and the breakdown by county
    page.goto(page.base + "/hazards/statistics/")
    page.wait_for_selector("#trend-chart canvas")
    page.wait_for_timeout(500)  # let the chart finish drawing
    assert page.locator("[data-testid=by-jurisdiction] tbody tr").count() == 6  # the six districts of 厦门
    assert int(page.locator("[data-testid=found]").inner_text().replace(",", "")) > 0
    shot(page, "hazard-statistics")
    # a submitted quarterly report, printable
    page.goto(page.base + "/hazards/reports/?submission=late")
    page.locator("#table tbody tr td a").first.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=figures] tbody tr").count() == 6
    assert page.locator("[data-testid=state]").inner_text() == "逾期报送"
    shot(page, "hazard-report")
    page.emulate_media(media="print")
    shot(page, "hazard-report-print")
