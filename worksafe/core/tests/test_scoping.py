"""The generic authorisation test: every scoped model × every role × rows inside and outside the scope,
over the pages, the Excel export and the API. Out of scope is 404, in scope without permission is 403.

A model joins by one ScopedSpec in its app's tests/specs.py; `test_every_url_is_covered` fails when a
new URL or API operation is neither covered by a spec nor listed as deliberately unscoped.
"""

import io
import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from openpyxl import load_workbook

from worksafe.core.models import AuditEntry
from worksafe.core.scoping import perm_name
from worksafe.core.tests.spec import all_specs, covered_elsewhere, in_place

SPECS = all_specs()
USERS = ["province_officer", "xm_officer", "fz_officer", "xm_housing_staff", "ent_xm_staff", "ent_xm_head",
         "ent_fz_staff", "system_admin", "security_admin", "audit_admin", "no_role"]
ENTERPRISES = ["ent_xm", "ent_fz", "ent_xm_construction"]


def _name(spec, kind):
    return f"{spec.model._meta.app_label}:{spec.model._meta.model_name}_{kind}"


def _status(allowed_place: bool, allowed_perm: bool) -> int:
    if not allowed_place:
        return 404
    return 200 if allowed_perm else 403


def _export_ids(response, rows, spec):
    """Which of `rows` appear in the exported workbook (matched on the first column's text)."""
    ws = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    cells = {str(c) for row in ws.iter_rows(min_row=2, values_only=True) for c in row if c is not None}
    return {key for key, row in rows.items() if str(_first_column_value(row, spec)) in cells}


def _first_column_value(row, spec):
    from django.urls import resolve as resolve_url

    from worksafe.core.excel import columns_for

    view = resolve_url(reverse(_name(spec, "list"))).func.view_class
    return columns_for(spec.model, view.export_columns or view.columns)[0].value(row)


@pytest.mark.parametrize("username", USERS)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_scope_matrix(world, client, spec, username):
    # given a row for each world enterprise and one user
    user = getattr(world, username)
    rows = {key: spec.make(world, getattr(world, key)) for key in ENTERPRISES}
    place = {key: in_place(user, row) for key, row in rows.items()}
    can = {a: user.has_perm(perm_name(spec.model, a)) for a in ("view", "add", "change", "delete", "export")}
    client.force_login(user)

    # list page: only rows in place; no view permission → 403
    response = client.get(reverse(_name(spec, "list")))
    assert response.status_code == (200 if can["view"] else 403)
    if can["view"]:
        listed = {r.pk for r in response.context["page"].paginator.object_list}
        assert {k for k, r in rows.items() if r.pk in listed} == {k for k in rows if place[k]}

        # Excel export of the same list: same rows, never more
        response = client.get(reverse(_name(spec, "list")), {"export": "xlsx"})
        exportable = can["export"] or not _has_export_perm(spec.model)
        assert response.status_code == (200 if exportable else 403)
        if exportable:
            assert _export_ids(response, rows, spec) == {k for k in rows if place[k]}

    # detail / edit / delete pages, by guessed id
    for key, row in rows.items():
        for kind, action in (("detail", "view"), ("edit", "change"), ("delete", "delete")):
            if kind not in spec.ui_names:
                continue
            response = client.get(reverse(_name(spec, kind), args=[row.pk]))
            expected = _status(place[key], can["view"] and can[action])
            assert response.status_code == expected, (key, kind, response.status_code)

    # API: list and detail
    api = f"/api/v1/{spec.api}/"
    response = client.get(api)
    assert response.status_code == (200 if can["view"] else 403), response.content
    if can["view"]:
        ids = {r["id"] for r in response.json()["results"]}
        assert {k for k, r in rows.items() if r.pk in ids} == {k for k in rows if place[k]}
    else:
        assert response.json()["code"] == "permission_denied"
    for key, row in rows.items():
        response = client.get(f"{api}{row.pk}")
        assert response.status_code == _status(place[key], can["view"]), (key, response.content)

    if not spec.writable:
        return  # read-only: the workflow tests cover how these rows change

    # edits: out of place → 404 and unchanged; in place → saved with exactly one audit entry, or 403
    for key, row in rows.items():
        before = AuditEntry.objects.count()
        response = client.post(reverse(_name(spec, "edit"), args=[row.pk]), spec.form_data(world, row))
        expected = _status(place[key], can["view"] and can["change"])
        if expected == 200:
            assert response.status_code == 302, response.context["form"].errors if response.context else response
            assert AuditEntry.objects.count() == before + 1
            assert AuditEntry.objects.order_by("-id").first().action == AuditEntry.Action.UPDATE
        else:
            assert response.status_code == expected
            assert AuditEntry.objects.count() == before

        response = client.put(f"{api}{row.pk}", json.dumps(spec.api_data(world, row)),
                              content_type="application/json")
        assert response.status_code == (200 if expected == 200 else expected), (key, response.content)

    # moving a row out of the jurisdiction is refused and leaves it unchanged
    for key, row in rows.items():
        if not (place[key] and can["view"] and can["change"]):
            continue
        row.refresh_from_db()
        moved = {**spec.form_data(world, row), **spec.move(world, row)}
        snapshot = _values(row)
        response = client.post(reverse(_name(spec, "edit"), args=[row.pk]), moved)
        row.refresh_from_db()
        if in_place(user, _moved_copy(row, spec, world)):
            continue  # the "move" stays inside this user's scope (e.g. the province): nothing to refuse
        assert response.status_code == 200, (key, response.status_code)
        assert _values(row) == snapshot
        api_moved = {**spec.api_data(world, row), **spec.move(world, row)}
        response = client.put(f"{api}{row.pk}", json.dumps(api_moved), content_type="application/json")
        assert response.status_code in (400, 403), response.content
        row.refresh_from_db()
        assert _values(row) == snapshot

    # add: allowed only with the permission, and only inside the place
    for key, row in rows.items():
        before = spec.model.objects.count()
        response = client.post(reverse(_name(spec, "add")), spec.new_data(world, row))
        if not can["add"]:
            assert response.status_code == 403
        elif place[key]:
            assert response.status_code == 302, response.context["form"].errors
        else:
            assert response.status_code == 200  # choice outside the scope is not valid
        assert spec.model.objects.count() == before + (1 if can["add"] and place[key] else 0)

    # API delete by guessed id: out of place → 404 and the row is still there
    for key, row in rows.items():
        response = client.delete(f"{api}{row.pk}")
        expected = _status(place[key], can["view"] and can["delete"])
        assert response.status_code == (204 if expected == 200 else expected) or (
            expected == 200 and response.status_code == 409), (key, response.content)
        still_there = spec.model.objects.filter(pk=row.pk).exists()
        assert still_there == (response.status_code != 204)


def _has_export_perm(model):
    return any(p[0] == f"export_{model._meta.model_name}" for p in model._meta.permissions)


def _values(row):
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields if f.name != "updated_at"}


def _moved_copy(row, spec, world):
    """The row as it would be after the move, for the oracle (not saved)."""
    from copy import copy

    moved = copy(row)
    for name, value in spec.move(world, row).items():
        field = row._meta.get_field(name)
        if field.is_relation:
            setattr(moved, field.attname, value or None)
            if field.name in moved._state.fields_cache:
                del moved._state.fields_cache[field.name]
        else:
            setattr(moved, name, value)
    return moved


def test_anonymous_gets_login_page_or_401(client, world):
    for spec in SPECS:
        response = client.get(reverse(_name(spec, "list")))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        response = client.get(f"/api/v1/{spec.api}/")
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


# URLs deliberately outside the scoping rule, each for a stated reason.
UNSCOPED = {
    "set_language",  # language switch
    "healthz",  # liveness
    "dashboard:home", "dashboard:county_map_data",  # figures come from visible_to (test_dashboard)
    "dashboard:county_geojson",  # public boundary data
    "core:importjob_detail",  # only the uploader's own jobs (test_import)
    "core:attachment",  # the parent record's scoping rule (hazards/test_workflow)
}
ACCOUNT_PREFIX = "core:"  # login, password, second factor, profile and admin consoles: test_security


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{p.namespace}:" if p.namespace else ""
            yield from _walk(p.url_patterns, prefix + ns)
        elif isinstance(p, URLPattern) and p.name:
            yield prefix + p.name


def test_every_url_is_covered():
    covered = {_name(s, kind) for s in SPECS for kind in s.ui_names}
    covered |= {_name(s, "import") for s in SPECS}
    from worksafe.core.account_urls import urlpatterns as account_patterns

    account_names = {ACCOUNT_PREFIX + p.name for p in account_patterns if getattr(p, "name", None)}
    names = set(_walk(get_resolver().url_patterns))
    api_names = {n for n in names if n.startswith("api-1:")}
    ui_names = names - api_names
    elsewhere = set(covered_elsewhere())
    assert ui_names - covered - UNSCOPED - account_names - elsewhere == set()

    api_covered = {f"api-1:{s.model._meta.model_name}-{op}" for s in SPECS
                   for op in ("list", "detail", "create", "update", "patch", "delete")}
    api_covered |= {"api-1:jurisdiction-list", "api-1:jurisdiction-detail"}  # test_api
    api_docs = {"api-1:api-root", "api-1:openapi-json", "api-1:openapi-view"}
    assert api_names - api_covered - api_docs - elsewhere == set()
