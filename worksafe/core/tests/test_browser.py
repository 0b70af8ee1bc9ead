"""Browser tests: Playwright driving the system Chromium against a live server with the demo dataset.

Run with `make test-browser` (pytest -m browser). Screenshots go to test-results/.
"""

import io
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from worksafe.core.tests.browser import login, shot, shown_count

# The live server needs committed data; serialized_rollback restores the reference data (divisions,
# industries) that migrations load, since a transactional test empties every table afterwards.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

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
