"""The enterprise REST API (/api/v1/enterprises/enterprises/): error bodies, token and session auth,
pagination, filters shared with the page, PATCH, OpenAPI and docs, the jurisdictions API."""

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from worksafe.core.models import ApiToken, AuditEntry, Jurisdiction
from worksafe.core.testing import make_enterprise, next_credit_code
from worksafe.enterprises.models import Enterprise, EnterpriseStatus

API = "/api/v1/enterprises/enterprises/"
PAGE = "/enterprises/enterprises/"


def detail(ent_or_pk):
    return f"{API}{getattr(ent_or_pk, 'pk', ent_or_pk)}"


def new_payload(**changes):
    return {"name": "厦门接口新建有限公司", "credit_code": next_credit_code("350203"), "county": "350203",
            "township": "350203005", "industry": "26", "key_class": "hazchem", "legal_representative": "吴接口",
            "employees": 20, **changes}


def post_json(client, url, data, **extra):
    return client.post(url, json.dumps(data), content_type="application/json", **extra)


def patch_json(client, url, data, **extra):
    return client.patch(url, json.dumps(data), content_type="application/json", **extra)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "field_errors"}
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


def changes():
    """Audit entries other than the login that force_login writes."""
    return AuditEntry.objects.exclude(action=AuditEntry.Action.LOGIN)


@pytest.fixture
def officer(client, world):
    client.force_login(world.xm_officer)
    return client


# ---------------------------------------------------------------- errors

def test_post_with_bad_credit_code_is_a_field_error(officer, world):
    response = post_json(officer, API, new_payload(credit_code="914403001922038217"))

    body = assert_error(response, 400, "validation_error")
    assert list(body["field_errors"]) == ["credit_code"]
    assert len(body["field_errors"]["credit_code"]) == 1
    assert not Enterprise.objects.filter(name="厦门接口新建有限公司").exists()
    assert not changes().exists()


def test_post_with_missing_required_field(officer, world):
    payload = new_payload()
    del payload["legal_representative"]

    body = assert_error(post_json(officer, API, payload), 400, "validation_error")
    assert "legal_representative" in body["field_errors"]
    assert not changes().exists()


def test_post_with_blank_required_field(officer, world):
    body = assert_error(post_json(officer, API, new_payload(legal_representative="")), 400, "validation_error")
    assert list(body["field_errors"]) == ["legal_representative"]


def test_post_outside_the_jurisdiction_is_a_field_error(officer, world):
    body = assert_error(post_json(officer, API, new_payload(county="350102", township=None,
                                                            credit_code=next_credit_code("350102"))),
                        400, "validation_error")
    assert "county" in body["field_errors"]
    assert not Enterprise.objects.filter(county_id="350102", name="厦门接口新建有限公司").exists()


def test_post_valid_creates_and_audits(officer, world):
    payload = new_payload()
    response = post_json(officer, API, payload)

    assert response.status_code == 201, response.content
    body = response.json()
    ent = Enterprise.objects.get(credit_code=payload["credit_code"])
    assert (body["id"], body["county_id"], body["township_id"]) == (ent.pk, "350203", "350203005")
    entry = changes().get()
    assert (entry.action, entry.object_id, entry.user) == (AuditEntry.Action.CREATE, str(ent.pk), world.xm_officer)
    assert entry.after["credit_code"] == payload["credit_code"]


def test_post_without_add_permission_is_403(client, world):
    client.force_login(world.ent_xm_head)
    assert_error(post_json(client, API, new_payload()), 403, "permission_denied")
    assert not Enterprise.objects.filter(name="厦门接口新建有限公司").exists()


@pytest.mark.parametrize("_case", ["other city", "does not exist", "not a number"])
def test_get_out_of_scope_id_is_404(officer, world, _case):
    pk = {"other city": world.ent_fz.pk, "does not exist": 987654, "not a number": "abc"}[_case]
    response = officer.get(detail(pk))
    if _case == "not a number":  # not even a route
        assert response.status_code == 404
    else:
        assert_error(response, 404, "not_found")


def test_get_in_scope(officer, world):
    response = officer.get(detail(world.ent_xm))
    assert response.status_code == 200
    assert response.json()["credit_code"] == world.ent_xm.credit_code


@pytest.mark.parametrize(("method", "url"), [
    ("get", API), ("get", "detail"), ("post", API), ("put", "detail"), ("patch", "detail"), ("delete", "detail"),
])
def test_unauthenticated_is_401(client, world, method, url):
    url = detail(world.ent_xm) if url == "detail" else url
    if method == "get":
        response = client.get(url)
    else:
        response = getattr(client, method)(url, json.dumps({"employees": 1}), content_type="application/json")
    assert_error(response, 401, "not_authenticated")
    assert Enterprise.objects.filter(pk=world.ent_xm.pk).exists()


# ---------------------------------------------------------------- token auth

def test_token_lists_only_in_scope_enterprises(client, world):
    token, key = ApiToken.issue(world.xm_officer, "t")
    make_enterprise("厦门令牌测试有限公司", "350206")

    response = client.get(API, HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 200
    names = {r["name"] for r in response.json()["results"]}
    expected = set(Enterprise.objects.filter(county__code__startswith="3502").values_list("name", flat=True))
    assert names == expected
    assert world.ent_fz.name not in names
    assert response.json()["count"] == 3
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_token_stores_only_a_hash(world):
    token, key = ApiToken.issue(world.xm_officer, "t")
    assert key.startswith("ws_")
    assert token.key_hash == ApiToken.hash(key) != key
    assert key not in json.dumps(list(ApiToken.objects.values()), default=str)


@pytest.mark.parametrize("_case", ["expired", "wrong key", "not bearer", "inactive user", "empty"])
def test_bad_token_is_401(client, world, _case):
    expires = timezone.now() - timedelta(seconds=1) if _case == "expired" else None
    _token, key = ApiToken.issue(world.xm_officer, "t", expires_at=expires)
    if _case == "inactive user":
        world.xm_officer.is_active = False
        world.xm_officer.save()
    header = {"expired": f"Bearer {key}", "wrong key": f"Bearer {key}x", "not bearer": f"Token {key}",
              "inactive user": f"Bearer {key}", "empty": "Bearer "}[_case]

    response = client.get(API, HTTP_AUTHORIZATION=header)

    assert_error(response, 401, "not_authenticated")


def test_token_that_expires_later_works(client, world):
    _token, key = ApiToken.issue(world.xm_officer, "t", expires_at=timezone.now() + timedelta(days=1))
    assert client.get(API, HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200


def test_token_write_needs_no_csrf_and_is_audited_as_the_token_user(world):
    client = Client(enforce_csrf_checks=True)
    _token, key = ApiToken.issue(world.xm_officer, "t")
    payload = new_payload()

    response = post_json(client, API, payload, HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 201, response.content
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CREATE)
    assert (entry.user, entry.username) == (world.xm_officer, "xm_officer")
    assert entry.request_id == response["X-Request-ID"]


# ---------------------------------------------------------------- session auth and CSRF

def test_session_write_without_csrf_token_is_403(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.xm_officer)
    payload = new_payload()

    response = post_json(client, API, payload)

    # Recorded behaviour: CSRF failure is a 403 with the permission_denied code (not 401).
    assert_error(response, 403, "permission_denied")
    assert not Enterprise.objects.filter(credit_code=payload["credit_code"]).exists()
    assert not changes().exists()


def test_session_write_with_csrf_token_works(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.xm_officer)
    client.get(f"{PAGE}add/")  # renders {% csrf_token %}: sets the cookie
    token = client.cookies["csrftoken"].value

    response = post_json(client, API, new_payload(), HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 201, response.content


def test_session_read_needs_no_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.xm_officer)
    assert client.get(API).status_code == 200


# ---------------------------------------------------------------- pagination

@pytest.fixture
def thirty(world):
    return [make_enterprise(f"厦门接口分页{i:02d}有限公司", "350203") for i in range(30)]


def test_pagination(officer, thirty):
    first = officer.get(API, {"page_size": 20}).json()
    second = officer.get(API, {"page_size": 20, "page": 2}).json()

    assert (first["count"], first["page"], first["page_size"]) == (32, 1, 20)
    assert (second["count"], second["page"]) == (32, 2)
    assert len(first["results"]) == 20 and len(second["results"]) == 12
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(set(ids)) == 32
    assert set(ids) == set(Enterprise.objects.filter(county__code__startswith="3502").values_list("pk", flat=True))


def test_default_page_size(officer, thirty, settings):
    body = officer.get(API).json()
    assert body["page_size"] == settings.PAGE_SIZE == 25
    assert len(body["results"]) == 25


@pytest.mark.parametrize(("_case", "params"), [
    ("page size above 200", {"page_size": 201}),
    ("page size 0", {"page_size": 0}),
    ("page size not a number", {"page_size": "many"}),
])
def test_bad_page_size_is_400(officer, world, _case, params):
    body = assert_error(officer.get(API, params), 400, "validation_error")
    assert list(body["field_errors"]) == ["page_size"]


def test_page_size_200_is_allowed(officer, world):
    assert officer.get(API, {"page_size": 200}).status_code == 200


def test_page_zero_is_a_page_error(officer, world):
    body = assert_error(officer.get(API, {"page": 0}), 400, "validation_error")
    assert list(body["field_errors"]) == ["page"]


def test_page_beyond_the_last_is_404(officer, thirty):
    assert officer.get(API, {"page_size": 20, "page": 2}).status_code == 200
    assert_error(officer.get(API, {"page_size": 20, "page": 3}), 404, "not_found")


def test_empty_result_has_page_one(officer, world):
    body = officer.get(API, {"q": "没有这样的企业"}).json()
    assert (body["count"], body["page"], body["results"]) == (0, 1, [])


# ---------------------------------------------------------------- filters: the same as the page

@pytest.fixture
def mixed(world):
    make_enterprise("厦门湖里接口物流有限公司", "350206", industry="54", key_class="road_transport")
    make_enterprise("厦门思明接口停业有限公司", "350203", status=EnterpriseStatus.SUSPENDED)


@pytest.mark.parametrize("params", [
    {"jurisdiction": "350203"},
    {"jurisdiction": "350206"},
    {"jurisdiction": "3502"},
    {"key_class": "construction"},
    {"key_class": "hazchem", "jurisdiction": "350203"},
    {"q": "鹭江"},
    {"q": "接口"},
    {"status": "suspended"},
    {"industry": "54"},
], ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()))
def test_api_filters_match_the_page(officer, mixed, params):
    api = officer.get(API, {**params, "page_size": 200})
    page = officer.get(PAGE, params)

    assert api.status_code == 200
    api_ids = {r["id"] for r in api.json()["results"]}
    page_ids = {e.pk for e in page.context["page"].paginator.object_list}
    assert api_ids == page_ids
    assert api.json()["count"] == len(page_ids)
    assert api_ids  # every case above matches something


def test_api_q_matches_credit_code(officer, world):
    body = officer.get(API, {"q": world.ent_xm.credit_code[-8:].lower()}).json()
    assert [r["id"] for r in body["results"]] == [world.ent_xm.pk]


@pytest.mark.parametrize(("_case", "params", "field"), [
    ("unknown key class", {"key_class": "bogus"}, "key_class"),
    ("jurisdiction outside scope", {"jurisdiction": "350102"}, "jurisdiction"),
])
def test_invalid_filter_is_400(officer, world, _case, params, field):
    body = assert_error(officer.get(API, params), 400, "validation_error")
    assert list(body["field_errors"]) == [field]


# ---------------------------------------------------------------- PATCH

def test_patch_one_field(officer, world):
    ent = world.ent_xm
    before = Enterprise.objects.filter(pk=ent.pk).values().get()

    response = patch_json(officer, detail(ent), {"safety_manager_phone": "0592-7654321"})

    assert response.status_code == 200, response.content
    assert response.json()["safety_manager_phone"] == "0592-7654321"
    after = Enterprise.objects.filter(pk=ent.pk).values().get()
    assert after["safety_manager_phone"] == "0592-7654321"
    assert {k: v for k, v in after.items() if k not in ("safety_manager_phone", "updated_at")} == \
           {k: v for k, v in before.items() if k not in ("safety_manager_phone", "updated_at")}
    entry = changes().get()
    assert (entry.action, entry.object_id) == (AuditEntry.Action.UPDATE, str(ent.pk))
    assert (entry.before["safety_manager_phone"], entry.after["safety_manager_phone"]) == ("", "0592-7654321")


def test_patch_unknown_field_is_400(officer, world):
    ent = world.ent_xm
    before = Enterprise.objects.filter(pk=ent.pk).values().get()

    response = patch_json(officer, detail(ent), {"employees": 7, "bogus": 1})

    body = assert_error(response, 400, "validation_error")
    assert list(body["field_errors"]) == ["bogus"]
    assert Enterprise.objects.filter(pk=ent.pk).values().get() == before
    assert not changes().exists()


def test_patch_bad_credit_code_is_a_field_error(officer, world):
    body = assert_error(patch_json(officer, detail(world.ent_xm), {"credit_code": "914403001922038217"}),
                        400, "validation_error")
    assert list(body["field_errors"]) == ["credit_code"]


def test_patch_out_of_scope_is_404(officer, world):
    response = patch_json(officer, detail(world.ent_fz), {"employees": 1})
    assert response.status_code == 404
    world.ent_fz.refresh_from_db()
    assert world.ent_fz.employees == 65


# ---------------------------------------------------------------- OpenAPI and docs

def test_openapi_lists_the_enterprise_paths(officer):
    response = officer.get("/api/v1/openapi.json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths[API])
    assert {"get", "put", "patch", "delete"} <= set(paths[f"{API}{{pk}}"])
    assert "/api/v1/jurisdictions/" in paths
    assert "ErrorOut" in schema["components"]["schemas"]


def test_openapi_operation_ids_are_unique(officer):
    schema = officer.get("/api/v1/openapi.json").json()
    ids = [op["operationId"] for item in schema["paths"].values() for op in item.values() if "operationId" in op]
    assert len(ids) == len(set(ids)), sorted(ids)


def test_openapi_documents_the_patch_body(officer):
    schema = officer.get("/api/v1/openapi.json").json()
    patch = schema["paths"][f"{API}{{pk}}"]["patch"]
    assert "requestBody" in patch
    assert not [p for p in patch.get("parameters", []) if p["name"] == "payload"]


def test_docs_page_loads_nothing_from_outside(officer):
    response = officer.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r"<script[^>]+src=", html)  # it does load scripts ...
    assert not re.findall(r'(?:src|href)\s*=\s*["\']?(?:https?:)?//', html, flags=re.IGNORECASE)  # ... locally


# ---------------------------------------------------------------- jurisdictions

def test_jurisdictions_only_in_scope(officer, world):
    response = officer.get("/api/v1/jurisdictions/", {"level": "county", "page_size": 2000})

    assert response.status_code == 200
    codes = [r["code"] for r in response.json()["results"]]
    assert codes
    assert all(c.startswith("3502") for c in codes)
    assert set(codes) == set(Jurisdiction.objects.filter(level="county", code__startswith="3502")
                             .values_list("code", flat=True))


@pytest.mark.parametrize(("code", "status"), [("3501", 404), ("350102", 404), ("35", 404), ("3502", 200),
                                              ("350203", 200), ("350203001", 200)])
def test_jurisdiction_detail_scope(officer, world, code, status):
    response = officer.get(f"/api/v1/jurisdictions/{code}")
    assert response.status_code == status
    if status == 404:
        assert_error(response, 404, "not_found")
    else:
        assert response.json()["code"] == code
