"""Enterprise registry pages as a 厦门 officer and an enterprise head: filters, pagination, export,
add/edit with audit, read-only fields, licence states and the HTMX table partial.

The generic scope matrix (every role × in/out of place) lives in core/tests/test_scoping.py.
"""

import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_str
from openpyxl import load_workbook

from worksafe.core.excel import columns_for
from worksafe.core.models import AuditEntry
from worksafe.core.testing import make_enterprise, next_credit_code
from worksafe.enterprises.models import Enterprise, EnterpriseStatus, Licence, LicenceKind
from worksafe.enterprises.views import EnterpriseListView

LIST = "/enterprises/enterprises/"
ADD = "/enterprises/enterprises/add/"
FORM_FIELDS = ["name", "credit_code", "county", "township", "address", "lng", "lat", "industry", "key_class",
               "scale", "employees", "tier", "status", "legal_representative", "legal_representative_phone",
               "principal", "principal_phone", "safety_manager", "safety_manager_phone"]


def edit_url(ent):
    return reverse("enterprises:enterprise_edit", args=[ent.pk])


def detail_url(ent):
    return reverse("enterprises:enterprise_detail", args=[ent.pk])


def form_data(ent, **changes):
    """POST data that saves `ent` unchanged, with `changes` applied."""
    data = {}
    for name in FORM_FIELDS:
        value = getattr(ent, ent._meta.get_field(name).attname)
        data[name] = "" if value is None else value
    return {**data, **changes}


def new_data(**changes):
    return {"name": "厦门同益新材料有限公司", "credit_code": next_credit_code("350203"), "county": "350203",
            "township": "350203003", "address": "厦门市思明区中华路1号", "lng": "", "lat": "", "industry": "26",
            "key_class": "hazchem", "scale": "below", "employees": 40, "tier": "county", "status": "operating",
            "legal_representative": "周建华", "legal_representative_phone": "0592-1234567", "principal": "",
            "principal_phone": "", "safety_manager": "", "safety_manager_phone": "", **changes}


def entries():
    """Audit entries other than the login that force_login writes."""
    return AuditEntry.objects.exclude(action=AuditEntry.Action.LOGIN)


def listed(response) -> set[int]:
    return {e.pk for e in response.context["page"].paginator.object_list}


@pytest.fixture
def rows(world):
    """The world's 厦门 enterprises plus one in 湖里区 and one suspended in 思明区."""
    huli = make_enterprise("厦门港湾物流有限公司", "350206", industry="54", key_class="road_transport")
    suspended = make_enterprise("厦门思明旧厂有限公司", "350203", status=EnterpriseStatus.SUSPENDED)
    return {"ent_xm": world.ent_xm, "construction": world.ent_xm_construction, "huli": huli,
            "suspended": suspended, "ent_fz": world.ent_fz}


@pytest.fixture
def officer(client, world):
    client.force_login(world.xm_officer)
    return client


# ---------------------------------------------------------------- list filters

@pytest.mark.parametrize(("_case", "params", "expected"), [
    ("no filter: all of 厦门, not 福州", {}, {"ent_xm", "construction", "huli", "suspended"}),
    ("jurisdiction county 思明区", {"jurisdiction": "350203"}, {"ent_xm", "construction", "suspended"}),
    ("jurisdiction county 湖里区", {"jurisdiction": "350206"}, {"huli"}),
    ("jurisdiction city 厦门", {"jurisdiction": "3502"}, {"ent_xm", "construction", "huli", "suspended"}),
    ("jurisdiction outside scope is ignored, never widens", {"jurisdiction": "350102"},
     {"ent_xm", "construction", "huli", "suspended"}),
    ("key class", {"key_class": "construction"}, {"construction"}),
    ("status", {"status": "suspended"}, {"suspended"}),
    ("industry division", {"industry": "47"}, {"construction"}),
    ("q on name", {"q": "港湾物流"}, {"huli"}),
    ("q with no match", {"q": "不存在的企业名"}, set()),
    ("jurisdiction and key class combined", {"jurisdiction": "350203", "key_class": "hazchem"},
     {"ent_xm", "suspended"}),
])
def test_list_filters(officer, rows, _case, params, expected):
    response = officer.get(LIST, params)
    assert response.status_code == 200
    assert listed(response) == {rows[k].pk for k in expected}


@pytest.mark.parametrize("_case", ["full code", "partial code", "lower case"])
def test_list_q_searches_credit_code(officer, rows, _case):
    code = rows["huli"].credit_code
    q = {"full code": code, "partial code": code[8:], "lower case": code.lower()}[_case]
    response = officer.get(LIST, {"q": q})
    assert listed(response) == {rows["huli"].pk}


def test_list_ordered_by_county_then_name(officer, rows):
    response = officer.get(LIST)
    names = [(e.county_id, e.name) for e in response.context["page"].object_list]
    assert names == sorted(names)


# ---------------------------------------------------------------- pagination and query count

def test_pagination(officer, world, settings):
    for i in range(30):
        make_enterprise(f"厦门分页测试企业{i:02d}有限公司", "350203")
    visible = set(Enterprise.objects.filter(county__code__startswith="3502").values_list("pk", flat=True))
    assert len(visible) == 32  # 30 + the world's two 思明区 enterprises
    assert settings.PAGE_SIZE == 25

    first = officer.get(LIST)
    second = officer.get(LIST, {"page": 2})

    first_ids = {e.pk for e in first.context["rows"]}
    second_ids = {e.pk for e in second.context["rows"]}
    assert len(first_ids) == 25
    assert len(second_ids) == 7
    assert first_ids | second_ids == visible
    assert not first_ids & second_ids
    assert first.context["page"].paginator.count == 32
    assert "page=2" in first.content.decode()


def test_pagination_keeps_filters_in_links(officer, world):
    for i in range(26):
        make_enterprise(f"厦门分页测试企业{i:02d}有限公司", "350203")
    response = officer.get(LIST, {"jurisdiction": "350203", "page": 1})
    assert response.context["querystring"] == "jurisdiction=350203"
    assert re.search(r'href="/enterprises/enterprises/\?jurisdiction=350203&(amp;)?page=2"', response.content.decode())


LIST_QUERIES = 13  # measured: session+user+roles+perms 5, organisation, filter choices 2, count, rows, session save 3


def test_list_query_count_does_not_grow_with_rows(officer, world, django_assert_max_num_queries):
    officer.get(LIST)  # warm per-process caches (content types)
    for i in range(3):
        make_enterprise(f"厦门计数企业{i}有限公司", "350203", township="350203001")
    with django_assert_max_num_queries(LIST_QUERIES) as few:
        response = officer.get(LIST)
    assert len(response.context["rows"]) == 5

    for i in range(3, 30):
        make_enterprise(f"厦门计数企业{i}有限公司", "350203", township="350203001")
    with django_assert_max_num_queries(LIST_QUERIES) as many:
        response = officer.get(LIST)
    assert len(response.context["rows"]) == 25

    assert len(few.captured_queries) == len(many.captured_queries)


# ---------------------------------------------------------------- Excel export

def _sheet(response):
    ws = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_export_holds_exactly_the_filtered_rows(officer, rows):
    params = {"jurisdiction": "350203", "key_class": "hazchem", "export": "xlsx"}
    response = officer.get(LIST, params)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in response["Content-Disposition"]
    sheet = _sheet(response)
    code_col = EnterpriseListView.export_columns.index("credit_code")
    codes = [r[code_col] for r in sheet[1:]]
    assert sorted(codes) == sorted([rows["ent_xm"].credit_code, rows["suspended"].credit_code])


def test_export_header_row_is_the_rendered_verbose_names(officer, rows):
    response = officer.get(LIST, {"export": "xlsx"})
    with translation.override("zh-hans"):
        expected = [force_str(c.header) for c in columns_for(Enterprise, EnterpriseListView.export_columns)]
    assert _sheet(response)[0] == expected
    assert len(_sheet(response)) == 1 + 4  # header + the four 厦门 enterprises


def test_export_headers_are_unique_and_name_the_relation(officer, rows):
    response = officer.get(LIST, {"export": "xlsx"})
    header = _sheet(response)[0]
    assert len(header) == len(set(header)), header
    cols = EnterpriseListView.export_columns
    with translation.override("zh-hans"):
        assert header[cols.index("county__name")] == force_str(Enterprise._meta.get_field("county").verbose_name)
        assert header[cols.index("township__name")] == force_str(Enterprise._meta.get_field("township").verbose_name)


def test_export_records_one_audit_entry(officer, world, rows):
    response = officer.get(LIST, {"key_class": "construction", "export": "xlsx"})
    assert response.status_code == 200
    entry = entries().get()
    assert entry.action == AuditEntry.Action.EXPORT
    assert entry.object_type == "enterprises.enterprise"
    assert entry.user == world.xm_officer
    assert "key_class=construction" in entry.detail


# ---------------------------------------------------------------- add / edit

def test_create_with_bad_credit_code_saves_nothing(officer, world):
    before = Enterprise.objects.count()
    data = new_data(credit_code="914403001922038217")  # check character should be 6

    response = officer.post(ADD, data)

    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == ["credit_code"]
    assert [e.code for e in form.errors.as_data()["credit_code"]] == ["credit_code_check_digit"]
    assert Enterprise.objects.count() == before
    assert not entries().exists()


def test_create_valid_records_create_entry(officer, world):
    data = new_data()
    response = officer.post(ADD, data)

    assert response.status_code == 302
    ent = Enterprise.objects.get(credit_code=data["credit_code"])
    assert response["Location"] == detail_url(ent)
    assert (ent.county_id, ent.township_id, ent.name) == ("350203", "350203003", data["name"])
    entry = entries().get()
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.after["credit_code"] == data["credit_code"]
    assert entry.before is None
    assert (entry.object_type, entry.object_id, entry.user) == ("enterprises.enterprise", str(ent.pk), world.xm_officer)


def test_create_upper_cases_credit_code(officer, world):
    code = "N2350105MA2XXXXX08"
    response = officer.post(ADD, new_data(credit_code=code.lower(), county="350203"))
    assert response.status_code == 302
    assert Enterprise.objects.filter(credit_code=code).exists()


def test_create_with_duplicate_credit_code_is_refused(officer, world):
    response = officer.post(ADD, new_data(credit_code=world.ent_fz.credit_code))
    assert response.status_code == 200
    assert [e.code for e in response.context["form"].errors.as_data()["credit_code"]] == ["unique"]
    assert not entries().exists()


def test_edit_records_update_with_before_and_after(officer, world):
    ent = world.ent_xm
    old_phone = ent.legal_representative_phone
    response = officer.post(edit_url(ent), form_data(ent, legal_representative_phone="13900001111", employees=200))

    assert response.status_code == 302
    ent.refresh_from_db()
    assert (ent.legal_representative_phone, ent.employees) == ("13900001111", 200)
    entry = entries().get()
    assert entry.action == AuditEntry.Action.UPDATE
    assert entry.object_id == str(ent.pk)
    assert entry.before["legal_representative_phone"] == old_phone
    assert entry.after["legal_representative_phone"] == "13900001111"
    assert (entry.before["employees"], entry.after["employees"]) == (180, 200)
    assert entry.before != entry.after


def test_township_outside_county_is_a_form_error(officer, world):
    ent = world.ent_xm
    response = officer.post(edit_url(ent), form_data(ent, township="350206001"))  # 湖里街道, not in 思明区

    assert response.status_code == 200
    assert "township" in response.context["form"].errors
    ent.refresh_from_db()
    assert ent.township_id == "350203001"
    assert not entries().exists()


def test_enterprise_head_edits_phones_but_not_regulator_fields(client, world):
    ent = world.ent_xm
    original = (ent.name, ent.credit_code, ent.county_id, ent.township_id, ent.key_class, ent.status)
    client.force_login(world.ent_xm_head)
    form = client.get(edit_url(ent)).context["form"]
    assert all(form.fields[f].disabled for f in ("name", "credit_code", "county", "township", "key_class", "status"))
    assert not form.fields["safety_manager_phone"].disabled

    response = client.post(edit_url(ent), form_data(
        ent, safety_manager="李安全", safety_manager_phone="13800138000", county="350206", township="",
        credit_code=next_credit_code("350206"), name="改名", status="closed"))

    assert response.status_code == 302
    ent.refresh_from_db()
    assert (ent.safety_manager, ent.safety_manager_phone) == ("李安全", "13800138000")
    assert (ent.name, ent.credit_code, ent.county_id, ent.township_id, ent.key_class, ent.status) == original
    entry = entries().get()
    assert (entry.action, entry.user) == (AuditEntry.Action.UPDATE, world.ent_xm_head)


# ---------------------------------------------------------------- licences on the detail page

@pytest.mark.parametrize(("_case", "days", "state", "badge"), [
    ("expiring in 10 days", 10, "expiring", "bg-orange-lt"),
    ("expired yesterday", -1, "expired", "bg-red-lt"),
    ("valid for a year", 365, "valid", "bg-green-lt"),
])
def test_detail_shows_licence_state(officer, world, settings, _case, days, state, badge):
    settings.LICENCE_EXPIRY_WARNING_DAYS = 60
    lic = Licence.objects.create(enterprise=world.ent_xm, kind=LicenceKind.HAZCHEM_OPERATION,
                                 number="闽厦危化经字[2023]0042",
                                 expires_on=timezone.localdate() + timezone.timedelta(days=days))

    response = officer.get(detail_url(world.ent_xm))

    assert response.status_code == 200
    assert [(x.pk, x.state) for x in response.context["licences"]] == [(lic.pk, state)]
    html = response.content.decode()
    assert "闽厦危化经字[2023]0042" in html
    assert f'<span class="badge {badge}">{lic.get_state_display()}</span>' in html


# ---------------------------------------------------------------- HTMX

def test_htmx_request_gets_only_the_table(officer, rows):
    response = officer.get(LIST, {"jurisdiction": "350206"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "<table" in html
    assert rows["huli"].name in html
    assert rows["ent_xm"].name not in html
    assert [t.name for t in response.templates][0] == "partials/table.html"


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_list_varies_on_hx_request(officer, rows, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = officer.get(LIST, **headers)
    vary = {v.strip().lower() for v in response["Vary"].split(",")}
    assert "hx-request" in vary
    assert {"cookie", "accept-language"} <= vary


def test_boosted_htmx_request_gets_the_full_page(officer, rows):
    response = officer.get(LIST, HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true")
    assert "<html" in response.content.decode()


def test_enterprise_file_has_a_tab_per_module_loading_its_scoped_list(client, world):
    from worksafe.majorhazards.tests.specs import hazard_of

    hazard_of(world.ent_xm)
    hazard_of(world.ent_fz)
    client.force_login(world.xm_officer)
    response = client.get(reverse("enterprises:enterprise_detail", args=[world.ent_xm.pk]))
    tabs = {key: url for key, _label, url in response.context["module_tabs"]}
    assert tabs["majorhazards"] == f"/majorhazards/majorhazards/?enterprise={world.ent_xm.pk}"
    # the tab's content is the module's own list partial, filtered and scoped
    partial = client.get(tabs["majorhazards"], HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content
    assert [h.enterprise_id for h in partial.context["page"].object_list] == [world.ent_xm.pk]
    # a guessed enterprise id outside the scope lists nothing
    other = client.get(f"/majorhazards/majorhazards/?enterprise={world.ent_fz.pk}", HTTP_HX_REQUEST="true")
    assert list(other.context["page"].object_list) == []
