"""Browser tests: Playwright driving the system Chromium against a live server with the demo dataset.

Run with `make test-browser` (pytest -m browser). Screenshots go to test-results/.
"""

import io
import os
import re
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

# The live server needs committed data; serialized_rollback restores the reference data (divisions,
# industries) that migrations load, since a transactional test empties every table afterwards.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Playwright's sync API runs an event loop in this thread; the ORM calls the test makes are still plain sync.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SHOTS = Path(__file__).resolve().parents[3] / "test-results"
PASSWORD = "Demo@2017fj"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install the Debian package `chromium` (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def demo():
    from worksafe.enterprises.demo import build_demo

    return build_demo(enterprises=300)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    pg.base = live_server.url
    yield pg
    context.close()


def login(page, username, password=PASSWORD):
    page.goto(page.base + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("[data-testid=login]")
    page.wait_for_load_state("networkidle")


def shown_count(page) -> int:
    """The record count above a list (e.g. 共38条记录)."""
    return int(re.search(r"\d+", page.locator("[data-testid=count]").inner_text().replace(",", "")).group())


def shot(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_every_demo_account_logs_in_and_sees_its_own_landing_page(page, demo):
    from worksafe.core.models import User
    from worksafe.enterprises.models import Enterprise

    for account in demo["accounts"]:
        username = account["username"]
        login(page, username)
        user = User.objects.get(username=username)
        assert page.locator("html").get_attribute("lang") == "zh-hans"
        assert "/accounts/login/" not in page.url, username
        if user.is_enterprise_user:
            # an enterprise user lands on its own file (一企一档)
            assert page.url.endswith(f"/enterprises/enterprises/{user.organisation.enterprise.pk}/"), page.url
            assert user.organisation.enterprise.credit_code in page.content()
        elif user.has_perm("enterprises.view_enterprise"):
            expected = Enterprise.objects.visible_to(user).count()
            total = page.locator("[data-testid=total-enterprises]").inner_text().replace(",", "")
            assert int(total) == expected, username
            page.wait_for_selector("[data-testid=county-map] canvas")
        else:
            # the three separated administrators see no business data
            assert page.locator("[data-testid=total-enterprises]").count() == 0
        shot(page, f"home-{username}")
        page.context.clear_cookies()  # next account starts signed out


def test_wrong_password_is_refused_with_one_message(page, demo):
    login(page, "xm_admin", "not-the-password")
    assert "/accounts/login/" in page.url
    wrong = page.locator("[data-testid=login-error]").inner_text()
    login(page, "no-such-user", "not-the-password")
    assert page.locator("[data-testid=login-error]").inner_text() == wrong


def test_city_regulator_filters_exports_and_cannot_open_another_city(page, demo):
    from worksafe.enterprises.models import Enterprise

    login(page, "xm_admin")
    page.goto(page.base + "/enterprises/enterprises/")
    xiamen = Enterprise.objects.filter(county__code__startswith="3502")
    assert shown_count(page) == xiamen.count()
    # filter by one district through the select (HTMX swaps the table)
    county = xiamen.values_list("county_id", flat=True).first()
    page.select_option("select[name=jurisdiction]", county)
    page.wait_for_url(f"**jurisdiction={county}**")
    page.wait_for_load_state("networkidle")
    expected = xiamen.filter(county_id=county).count()
    assert shown_count(page) == expected
    shot(page, "enterprise-list-filtered")
    # export the filtered list
    with page.expect_download() as info:
        page.click("[data-testid=export]")
    ws = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()), read_only=True).worksheets[0]
    assert sum(1 for _ in ws.iter_rows(min_row=2)) == expected
    # another city's enterprise by guessed id: not found
    other = Enterprise.objects.filter(county__code__startswith="3501").first()
    response = page.goto(page.base + f"/enterprises/enterprises/{other.pk}/")
    assert response.status == 404


def test_excel_import_reports_bad_rows_in_chinese_and_saves_nothing(page, demo, tmp_path):
    from worksafe.enterprises.forms import EnterpriseImporter
    from worksafe.enterprises.models import Enterprise

    login(page, "xm_admin")
    page.goto(page.base + "/enterprises/enterprises/import/")
    with page.expect_download() as info:
        page.click("[data-testid=template]")
    headers = [c.value for c in load_workbook(io.BytesIO(Path(info.value.path()).read_bytes())).worksheets[0][1]]
    assert headers == [str(h) for h, _f, _n in EnterpriseImporter.headers]
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    good = ["厦门测试化工有限公司", "914403001922038216", "350203", "", "26", "危险化学品", "规模以上", 50, "县级", "在营",
            "张三", "13800000000", "", "", "", "", "思明区", 118.1, 24.45]
    bad = ["厦门坏数据有限公司", "91350203ABCDEFGHIJ", "350102", "", "26", "危险化学品", "规模以上", 50, "县级", "在营",
           "", "", "", "", "", "", "", "", ""]
    ws.append(good)
    ws.append(bad)
    path = tmp_path / "import.xlsx"
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(buffer.getvalue())
    before = Enterprise.objects.count()
    page.set_input_files("input[name=file]", str(path))
    page.click("[data-testid=upload]")
    page.wait_for_selector("[data-testid=import-errors]")
    errors = page.locator("[data-testid=import-errors] tbody tr")
    assert errors.count() == 1, errors.all_inner_texts()
    assert errors.first.locator("td").first.inner_text() == "3"
    assert "统一社会信用代码" in errors.first.inner_text()
    assert Enterprise.objects.count() == before
    shot(page, "import-errors")
