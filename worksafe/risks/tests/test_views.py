"""Risk points in the browser and the API: assess (LEC, LS), card PDF, map, import, filters, export."""

import datetime
import io
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from worksafe.core.models import AuditEntry
from worksafe.risks import actions, rules
from worksafe.risks.importer import RiskPointImporter
from worksafe.risks.models import AccidentType, ControlMeasure, RiskAssessment, RiskPoint
from worksafe.risks.tests.specs import point_of


def _assess(client, point, **data):
    payload = {"assessed_on": timezone.localdate().isoformat(), **data}
    return client.post(reverse("risks:riskpoint_assess", args=[point.pk]), payload)


# ----------------------------------------------------------------------------------------------
# Assess
# ----------------------------------------------------------------------------------------------


def test_assess_via_lec_stores_the_inputs_and_criterion_and_updates_the_point(client, world):
    # given a risk point of 厦门鹭江化工 and its enterprise head
    point = point_of(world.ent_xm)
    client.force_login(world.ent_xm_head)
    # when they assess it with L=3, E=6, C=7
    response = _assess(client, point, method="lec", lec_l="3", lec_e="6", lec_c="7", note="年度评价")
    # then D = 126: 显著危险 → yellow, kept as a version with its inputs and criterion
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    a = RiskAssessment.objects.get()
    assert (a.method, a.likelihood, a.exposure, a.consequence, a.severity) == ("lec", 3, 6, 7, None)
    assert (a.score, a.level, a.band) == (Decimal("126"), "yellow", "substantial")
    assert (a.criterion, a.table_version, a.assessed_by, a.note) == (
        rules.LEC_CRITERION_ID, rules.LEC_TABLE_VERSION, world.ent_xm_head, "年度评价")
    point.refresh_from_db()
    assert (point.level, point.score, point.method, point.criterion) == ("yellow", Decimal("126"), "lec",
                                                                       rules.LEC_CRITERION_ID)
    assert point.control_tier == "workshop"  # rules.control_tier_for("yellow")
    assert point.assessed_on == timezone.localdate()
    assert point.reassessment_due == rules.reassessment_due(point.assessed_on, "yellow")
    # one audit entry for the new version and one for the point
    assert AuditEntry.objects.filter(object_type="risks.riskassessment", action="create").count() == 1
    assert AuditEntry.objects.filter(object_type="risks.riskpoint", action="update").count() == 1


def test_assess_via_ls_stores_the_scheme_and_the_form_defaults_to_it_next_time(client, world):
    point, other = point_of(world.ent_xm), point_of(world.ent_xm, "FX-02")
    client.force_login(world.ent_xm_head)
    response = _assess(client, point, method="ls", ls_l="3", ls_s="3", scheme="ls_20_9_4")
    assert response.status_code == 302
    a = RiskAssessment.objects.get()
    # R = 9: orange under variant B (9–16), yellow under variant A (9–12)
    assert (a.method, a.likelihood, a.severity, a.score, a.criterion) == ("ls", 3, 3, 9, "ls_20_9_4")
    assert a.level == "orange" and a.band == ""
    point.refresh_from_db()
    assert (point.level, point.control_tier, point.criterion) == ("orange", "company", "ls_20_9_4")
    # the enterprise's last-used scheme is the default for its next LS assessment
    page = client.get(reverse("risks:riskpoint_assess", args=[other.pk]))
    assert page.status_code == 200
    assert page.context["form"].initial["scheme"] == "ls_20_9_4"


@pytest.mark.parametrize(("_case", "data", "score", "level"), [
    ("LEC D=70 is yellow", {"method": "lec", "lec_l": "10", "lec_e": "1", "lec_c": "7"}, 70, "yellow"),
    ("LEC D=63 is blue", {"method": "lec", "lec_l": "3", "lec_e": "3", "lec_c": "7"}, 63, "blue"),
    ("LEC D=20 (0.1×2×100) is blue", {"method": "lec", "lec_l": "0.1", "lec_e": "2", "lec_c": "100"}, 20, "blue"),
    ("LEC D=360 is red", {"method": "lec", "lec_l": "3", "lec_e": "3", "lec_c": "40"}, 360, "red"),
    ("LS R=4 under B is yellow", {"method": "ls", "ls_l": "2", "ls_s": "2", "scheme": "ls_20_9_4"}, 4, "yellow"),
    ("LS R=4 under A is blue", {"method": "ls", "ls_l": "2", "ls_s": "2", "scheme": "ls_20_15_9"}, 4, "blue"),
    ("LS R=12 under D is orange", {"method": "ls", "ls_l": "3", "ls_s": "4", "scheme": "ls_15_8_4"}, 12, "orange"),
    ("LS R=15 under D is red", {"method": "ls", "ls_l": "3", "ls_s": "5", "scheme": "ls_15_8_4"}, 15, "red"),
])
def test_assess_boundaries_go_through_the_rules(client, world, _case, data, score, level):
    point = point_of(world.ent_xm)
    client.force_login(world.ent_xm_head)
    assert _assess(client, point, **data).status_code == 302
    point.refresh_from_db()
    assert (point.score, point.level) == (Decimal(score), level)
    if data["method"] == "lec":
        expected = rules.lec(Decimal(data["lec_l"]), Decimal(data["lec_e"]), Decimal(data["lec_c"]))
    else:
        expected = rules.ls(int(data["ls_l"]), int(data["ls_s"]), scheme=data["scheme"])
    assert point.level == expected.level


@pytest.mark.parametrize(("_case", "data"), [
    ("L not in the LEC table", {"method": "lec", "lec_l": "4", "lec_e": "6", "lec_c": "7"}),
    ("E missing", {"method": "lec", "lec_l": "3", "lec_e": "", "lec_c": "7"}),
    ("LS without a scheme", {"method": "ls", "ls_l": "3", "ls_s": "3", "scheme": ""}),
    ("LS S out of range", {"method": "ls", "ls_l": "3", "ls_s": "6", "scheme": "ls_20_9_4"}),
    ("unknown scheme", {"method": "ls", "ls_l": "3", "ls_s": "3", "scheme": "ls_1_1_1"}),
    ("no method", {"lec_l": "3", "lec_e": "6", "lec_c": "7"}),
    ("in the future", {"method": "lec", "lec_l": "3", "lec_e": "6", "lec_c": "7",
                       "assessed_on": (timezone.localdate() + datetime.timedelta(days=1)).isoformat()}),
])
def test_assess_refuses_invalid_inputs_and_saves_nothing(client, world, _case, data):
    point = point_of(world.ent_xm)
    client.force_login(world.ent_xm_head)
    response = _assess(client, point, **data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not RiskAssessment.objects.exists()
    point.refresh_from_db()
    assert point.level == "" and point.assessed_on is None


def test_assess_out_of_scope_is_404_and_without_permission_403(client, world):
    xm, fz = point_of(world.ent_xm), point_of(world.ent_fz)
    data = {"method": "lec", "lec_l": "3", "lec_e": "6", "lec_c": "7"}
    client.force_login(world.ent_xm_head)
    assert _assess(client, fz, **data).status_code == 404
    assert client.get(reverse("risks:riskpoint_assess", args=[fz.pk])).status_code == 404
    client.force_login(world.fz_officer)
    assert _assess(client, xm, **data).status_code == 404
    client.force_login(world.xm_officer)  # regulators read risk points; the enterprise assesses them
    assert _assess(client, xm, **data).status_code == 403
    client.force_login(world.ent_xm_staff)
    assert _assess(client, xm, **data).status_code == 403
    assert not RiskAssessment.objects.exists()


def test_a_fixed_control_tier_survives_assessments(client, world):
    point = point_of(world.ent_xm)
    point.control_tier_override = "team"
    point.save()
    actions.assess(point, by=world.ent_xm_head, method="lec", L=3, E=3, C=40)  # D=360, red
    assert (point.level, point.control_tier) == ("red", "team")
    point.control_tier_override = ""
    point.save()
    point.refresh_from_db()
    assert point.control_tier == "company"


def test_a_back_dated_assessment_is_kept_but_the_point_stays_on_its_latest(world):
    point = point_of(world.ent_xm)
    actions.assess(point, by=world.ent_xm_head, method="lec", L=3, E=3, C=40)  # today: red
    actions.assess(point, by=world.ent_xm_head, method="lec", L=1, E=1, C=7,
                   on=timezone.localdate() - datetime.timedelta(days=90))  # entered later, dated earlier: blue
    point.refresh_from_db()
    assert (point.level, point.assessed_on) == ("red", timezone.localdate())
    assert point.assessments.count() == 2


def test_assessments_are_versions_without_edit_or_delete(client, world):
    from django.urls import NoReverseMatch

    a = actions.assess(point_of(world.ent_xm), by=world.ent_xm_head, method="lec", L=3, E=6, C=7)
    for name in ("riskassessment_add", "riskassessment_edit", "riskassessment_delete"):
        with pytest.raises(NoReverseMatch):
            reverse(f"risks:{name}", args=[a.pk] if name != "riskassessment_add" else [])
    client.force_login(world.ent_xm_head)  # holds change/delete on assessments, yet nothing can change one
    detail = client.get(reverse("risks:riskassessment_detail", args=[a.pk]))
    assert detail.status_code == 200 and b'data-testid="edit"' not in detail.content
    api = f"/api/v1/risks/riskassessments/{a.pk}"
    assert client.get(api).json()["score"] == "126.00"
    assert client.put(api, "{}", content_type="application/json").status_code == 405
    assert client.delete(api).status_code == 405
    assert client.post("/api/v1/risks/riskassessments/", "{}", content_type="application/json").status_code == 405
    a.refresh_from_db()
    assert a.score == 126


def test_detail_page_shows_the_level_measures_and_history(client, world):
    point = point_of(world.ent_xm)
    ControlMeasure.objects.create(point=point, kind="emergency", description="泄漏时佩戴正压式空气呼吸器撤离")
    actions.assess(point, by=world.ent_xm_head, method="ls", L=4, S=5, scheme="ls_20_9_4")
    client.force_login(world.ent_xm_staff)
    response = client.get(reverse("risks:riskpoint_detail", args=[point.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "泄漏时佩戴正压式空气呼吸器撤离" in body and response.context["level_label"]
    assert len(response.context["assessments"]) == 1
    assert not response.context["can_assess"]  # enterprise staff read only


# ----------------------------------------------------------------------------------------------
# Risk notification card (PDF)
# ----------------------------------------------------------------------------------------------


def test_card_pdf_is_a_pdf_inside_the_scope_only(client, world):
    point = point_of(world.ent_xm)
    for kind in ("engineering", "management", "training", "ppe", "emergency"):
        ControlMeasure.objects.create(point=point, kind=kind, description=f"{kind} 措施")
    actions.assess(point, by=world.ent_xm_head, method="lec", L=3, E=3, C=40)
    client.force_login(world.ent_xm_staff)
    for size in ("", "a5"):
        response = client.get(reverse("risks:riskpoint_card", args=[point.pk]), {"size": size} if size else {})
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF") and len(response.content) > 2000
    assert AuditEntry.objects.filter(action="export", object_type="risks.riskpoint").count() == 2
    client.force_login(world.fz_officer)
    assert client.get(reverse("risks:riskpoint_card", args=[point.pk])).status_code == 404


def test_card_pdf_of_a_point_not_assessed_yet(client, world):
    client.force_login(world.xm_officer)
    response = client.get(reverse("risks:riskpoint_card", args=[point_of(world.ent_xm).pk]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


# ----------------------------------------------------------------------------------------------
# Region map
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def graded(world):
    """ent_xm: red + blue points (highest red); construction: yellow; ent_fz: orange; one point not assessed."""
    by = world.ent_xm_head
    actions.assess(point_of(world.ent_xm), by=by, method="lec", L=3, E=3, C=40)  # red
    actions.assess(point_of(world.ent_xm, "FX-02"), by=by, method="lec", L=1, E=1, C=7)  # blue
    point_of(world.ent_xm, "FX-03")  # not assessed
    actions.assess(point_of(world.ent_xm_construction), by=by, method="ls", L=2, S=3, scheme="ls_20_9_4")  # yellow
    actions.assess(point_of(world.ent_fz), by=by, method="ls", L=3, S=4, scheme="ls_20_9_4")  # orange
    return world


def _expected_counts(user):
    """The oracle: highest level per enterprise from the visible records, counted per county in Python."""
    per_enterprise = {}
    for p in RiskPoint.objects.visible_to(user).select_related("enterprise"):
        per_enterprise.setdefault(p.enterprise, []).append(p.level)
    counts = {}
    for ent, levels in per_enterprise.items():
        level = rules.highest_level(levels)
        if level:
            row = counts.setdefault(ent.county_id, dict.fromkeys([*rules.LEVELS, "total"], 0))
            row[level] += 1
            row["total"] += 1
    return counts


@pytest.mark.parametrize(("username", "enterprises"), [
    ("xm_officer", {"ent_xm": "red", "ent_xm_construction": "yellow"}),
    ("fz_officer", {"ent_fz": "orange"}),
    ("province_officer", {"ent_xm": "red", "ent_xm_construction": "yellow", "ent_fz": "orange"}),
    ("xm_housing_staff", {"ent_xm_construction": "yellow"}),
    ("ent_xm_staff", {"ent_xm": "red"}),
])
def test_map_data_is_only_in_scope_and_county_counts_equal_the_records(client, graded, username, enterprises):
    world = graded
    user = getattr(world, username)
    client.force_login(user)
    data = client.get(reverse("risks:map"), {"format": "json"}).json()
    assert {e["id"]: e["level"] for e in data["enterprises"]} == {getattr(world, k).pk: v for k, v in enterprises.items()}
    counties = {c["code"]: {k: c[k] for k in (*rules.LEVELS, "total")} for c in data["counties"]}
    assert counties == _expected_counts(user)
    page = client.get(reverse("risks:map"))
    assert page.status_code == 200
    assert page.context["totals"]["total"] == len(enterprises)
    assert [c["code"] for c in page.context["counties"]] == sorted(counties)


def test_map_of_siming_counts_each_enterprise_once_at_its_highest_level(client, graded):
    client.force_login(graded.xm_officer)
    (siming,) = client.get(reverse("risks:map"), {"format": "json"}).json()["counties"]
    assert siming == {"code": "350203", "name": "思明区", "red": 1, "orange": 0, "yellow": 1, "blue": 0, "total": 2}
    cards = {c["level"]: (c["enterprises"], c["points"]) for c in client.get(reverse("risks:map")).context["cards"]}
    assert cards == {"red": (1, 1), "orange": (0, 0), "yellow": (1, 1), "blue": (0, 1)}


def test_map_points_carry_the_enterprise_coordinates(client, graded):
    graded.ent_xm.lng, graded.ent_xm.lat = Decimal("118.08"), Decimal("24.45")
    graded.ent_xm.save()
    client.force_login(graded.ent_xm_staff)
    (ent,) = client.get(reverse("risks:map"), {"format": "json"}).json()["enterprises"]
    assert ent["value"] == [118.08, 24.45] and ent["points"] == 2


def test_map_needs_the_view_permission_and_its_queries_do_not_grow_with_rows(client, graded):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(graded.no_role)
    assert client.get(reverse("risks:map")).status_code == 403
    client.force_login(graded.province_officer)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("risks:map"), {"format": "json"}).status_code == 200
        return len(ctx.captured_queries)

    before = queries()
    for n in range(4, 10):
        actions.assess(point_of(graded.ent_fz, f"FX-0{n}"), by=graded.ent_xm_head, method="lec", L=1, E=1, C=7)
    assert queries() == before


# ----------------------------------------------------------------------------------------------
# Excel import
# ----------------------------------------------------------------------------------------------


def _sheet(rows):
    wb = Workbook()
    ws = wb.active
    ws.append([str(h) for h, _f, _n in RiskPointImporter.headers])
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = "register.xlsx"
    return buffer


def _import(client, rows):
    response = client.post(reverse("risks:riskpoint_import"), {"file": _sheet(rows), "all_or_nothing": "on"})
    assert response.status_code == 302
    return client.get(response["Location"]).context["job"]


def test_import_creates_and_assesses_the_points_and_a_second_import_adds_versions(client, world):
    code = world.ent_xm.credit_code
    rows = [[code, "FX-11", "液氨储罐区", "单元", "罐区东侧", "中毒和窒息、火灾、其他爆炸", "陈志远", "13859981234",
             "LEC", 3, 6, 40, "", "", "2025-06-30"],
            [code, "FX-12", "动火作业", "作业活动", "", "火灾，灼烫", "", "", "LS", 4, "", "", 4, "B", ""]]
    client.force_login(world.ent_xm_head)
    for _ in range(2):
        job = _import(client, rows)
        assert job.status == "done", job.errors
    points = {p.code: p for p in RiskPoint.objects.filter(enterprise=world.ent_xm)}
    assert set(points) == {"FX-11", "FX-12"}
    tank, hot_work = points["FX-11"], points["FX-12"]
    assert (tank.kind, tank.accident_types) == ("unit", ["fire", "other_explosion", "poisoning"])
    assert (tank.score, tank.level, tank.assessed_on) == (Decimal("720"), "red", datetime.date(2025, 6, 30))
    assert (hot_work.kind, hot_work.accident_types, hot_work.level) == ("activity", ["burns", "fire"], "orange")
    assert hot_work.criterion == "ls_20_9_4" and hot_work.assessed_on == timezone.localdate()
    assert tank.assessments.count() == 2 and hot_work.assessments.count() == 2


def test_import_reports_bad_rows_and_saves_nothing(client, world):
    ok = [world.ent_xm.credit_code, "FX-11", "液氨储罐区", "单元", "", "火灾", "", "", "LEC", 3, 6, 40, "", "", ""]
    rows = [ok,
            [world.ent_fz.credit_code, "FX-12", "福州罐区", "单元", "", "火灾", "", "", "LEC", 3, 6, 40, "", "", ""],
            [world.ent_xm.credit_code, "FX-13", "配电室", "场所", "", "雷击", "", "", "LEC", 3, 6, 7, "", "", ""],
            [world.ent_xm.credit_code, "FX-14", "反应釜", "设备设施", "", "", "", "", "LEC", 4, 6, 7, "", "", ""],
            [world.ent_xm.credit_code, "FX-15", "装卸", "作业活动", "", "", "", "", "LS", 3, "", "", 3, "", ""],
            [world.ent_xm.credit_code, "FX-16", "仓库", "仓储", "", "", "", "", "LEC", 3, 6, 7, "", "", ""],
            ok]
    client.force_login(world.ent_xm_head)
    job = _import(client, rows)
    assert job.status == "failed"
    assert [e["row"] for e in job.errors] == [3, 4, 5, 6, 7, 8]
    assert "雷击" in " ".join(job.errors[1]["errors"])
    assert not RiskPoint.objects.exists() and not RiskAssessment.objects.exists()


def test_import_needs_the_import_permission(client, world):
    client.force_login(world.xm_officer)
    assert client.get(reverse("risks:riskpoint_import")).status_code == 403
    client.force_login(world.ent_xm_head)
    template = client.get(reverse("risks:riskpoint_import"), {"template": "1"})
    assert template.status_code == 200
    headers = [c.value for c in load_workbook(io.BytesIO(template.content)).worksheets[0][1]]
    assert headers == [str(h) for h, _f, _n in RiskPointImporter.headers]


# ----------------------------------------------------------------------------------------------
# List filters and export
# ----------------------------------------------------------------------------------------------


def _listed(client, **params):
    response = client.get(reverse("risks:riskpoint_list"), params)
    assert response.status_code == 200
    return {(p.enterprise_id, p.code) for p in response.context["page"].paginator.object_list}


def test_list_filters(client, graded):
    world = graded
    hot = point_of(world.ent_xm, "FX-09")
    hot.kind, hot.name, hot.accident_types = "activity", "动火作业", ["burns"]
    hot.save()
    overdue = RiskPoint.objects.get(enterprise=world.ent_xm, code="FX-02")
    overdue.reassessment_due = timezone.localdate() - datetime.timedelta(days=1)
    overdue.save()
    client.force_login(world.province_officer)
    xm, fz, cons = world.ent_xm.pk, world.ent_fz.pk, world.ent_xm_construction.pk
    assert _listed(client, level="red") == {(xm, "FX-01")}
    assert _listed(client, level="orange") == {(fz, "FX-01")}
    assert _listed(client, method="ls") == {(cons, "FX-01"), (fz, "FX-01")}
    assert _listed(client, kind="activity") == {(xm, "FX-09")}
    assert _listed(client, accident_type="burns") == {(xm, "FX-09")}
    assert _listed(client, jurisdiction="3501") == {(fz, "FX-01")}
    assert _listed(client, jurisdiction="350203", level="yellow") == {(cons, "FX-01")}
    assert _listed(client, enterprise=cons) == {(cons, "FX-01")}
    assert _listed(client, q="动火") == {(xm, "FX-09")}
    assert _listed(client, overdue="yes") == {(xm, "FX-02")}
    assert (xm, "FX-02") not in _listed(client, overdue="no")
    assert _listed(client, control_tier="company") == {(xm, "FX-01"), (fz, "FX-01")}


def test_export_holds_the_filtered_rows_and_needs_the_export_permission(client, graded):
    client.force_login(graded.xm_officer)
    response = client.get(reverse("risks:riskpoint_list"), {"level": "red", "export": "xlsx"})
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][1] == "FX-01" and rows[1][2] == graded.ent_xm.name
    assert str(AccidentType.FIRE.label) in " ".join(str(c) for c in rows[1])  # accident types in words
    client.force_login(graded.ent_xm_staff)  # enterprise staff may read but not export
    assert client.get(reverse("risks:riskpoint_list"), {"export": "xlsx"}).status_code == 403


def test_child_lists_export_too(client, graded):
    client.force_login(graded.xm_officer)
    for name in ("riskassessment_list", "controlmeasure_list"):
        assert client.get(reverse(f"risks:{name}"), {"export": "xlsx"}).status_code == 200


def test_risk_point_form_keeps_accident_types_in_the_standards_order(client, world):
    client.force_login(world.ent_xm_head)
    response = client.post(reverse("risks:riskpoint_add"), {
        "enterprise": world.ent_xm.pk, "code": "FX-30", "name": "脱硫塔", "kind": "equipment",
        "accident_types": ["poisoning", "fire", "fall_from_height"]})
    assert response.status_code == 302
    point = RiskPoint.objects.get(code="FX-30")
    assert point.accident_types == ["fire", "fall_from_height", "poisoning"]
    assert point.control_tier == ""  # not assessed: no tier until there is a level
    response = client.post(reverse("risks:riskpoint_add"), {
        "enterprise": world.ent_xm.pk, "code": "FX-31", "name": "x", "kind": "equipment", "accident_types": ["雷击"]})
    assert response.status_code == 200 and response.context["form"].errors["accident_types"]


# ----------------------------------------------------------------------------------------------
# API
# ----------------------------------------------------------------------------------------------


def _api_assess(client, point, body):
    return client.post(f"/api/v1/risks/riskpoints/{point.pk}/assess", json.dumps(body),
                       content_type="application/json")


def test_api_assess_returns_the_version_and_refuses_bad_inputs_and_out_of_scope(client, world):
    point = point_of(world.ent_xm)
    client.force_login(world.ent_xm_head)
    response = _api_assess(client, point, {"method": "ls", "L": 3, "S": 5, "scheme": "ls_15_8_4"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["score"], body["level"], body["criterion"], body["point_id"]) == ("15.00", "red", "ls_15_8_4",
                                                                                   point.pk)
    response = _api_assess(client, point, {"method": "lec", "L": 4, "E": 6, "C": 7})
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    response = _api_assess(client, point, {"method": "ls", "L": 3, "S": 5})
    assert response.status_code == 400
    client.force_login(world.ent_fz_staff)
    assert _api_assess(client, point, {"method": "lec", "L": 3, "E": 6, "C": 7}).status_code == 404
    client.force_login(world.xm_officer)
    assert _api_assess(client, point, {"method": "lec", "L": 3, "E": 6, "C": 7}).status_code == 403
    assert RiskAssessment.objects.count() == 1


def test_the_reassessment_interval_comes_from_the_setting(world, settings):
    settings.RISK_REASSESSMENT_MONTHS = {"red": 6}  # [M] a deployment's choice; other levels keep 12 months
    red, blue = point_of(world.ent_xm), point_of(world.ent_xm, "FX-02")
    on = datetime.date(2026, 1, 31)
    actions.assess(red, by=world.ent_xm_head, method="lec", L=3, E=3, C=40, on=on)
    actions.assess(blue, by=world.ent_xm_head, method="lec", L=1, E=1, C=7, on=on)
    assert (red.reassessment_due, blue.reassessment_due) == (datetime.date(2026, 7, 31), datetime.date(2027, 1, 31))


def test_list_page_queries_do_not_grow_with_rows(client, graded):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(graded.province_officer)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("risks:riskpoint_list")).status_code == 200
        return len(ctx.captured_queries)

    before = queries()
    for n in range(4, 10):
        actions.assess(point_of(graded.ent_fz, f"FX-0{n}"), by=graded.ent_xm_head, method="lec", L=1, E=1, C=7)
    assert queries() == before
