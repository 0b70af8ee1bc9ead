"""Major hazard sources in the browser and the API: assess, file, deregister, PDF, import, overdue, map."""

import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import Workbook

from worksafe.core.models import AuditEntry
from worksafe.majorhazards.importer import MajorHazardImporter
from worksafe.majorhazards.models import Assessment, Custodian, CustodianCheck, MajorHazard, Substance
from worksafe.majorhazards.tests.specs import hazard_of


@pytest.fixture
def ammonia(world):
    """厦门 enterprise's ammonia tank farm: 25 t of ammonia (Q 10 t, β 2), 80 people (α 1.5)."""
    hazard = hazard_of(world.ent_xm)
    hazard.people_within_500m = 80
    hazard.save()
    Substance.objects.create(hazard=hazard, name="液氨", cas="7664-41-7", q=25)
    return hazard


def _post(client, name, hazard, data=None):
    return client.post(reverse(f"majorhazards:{name}", args=[hazard.pk]), data or {})


def test_assess_grades_the_unit_and_keeps_a_version(client, world, ammonia):
    # given the enterprise head of 厦门鹭江化工
    client.force_login(world.ent_xm_head)
    # when they assess the tank farm
    response = _post(client, "majorhazard_assess", ammonia)
    # then S = 2.5, R = α·β·q/Q = 1.5 × 2 × 2.5 = 7.5 (50–99 people → α 1.5) → grade 4, kept as a version
    assert response.status_code == 302
    ammonia.refresh_from_db()
    assessment = Assessment.objects.get()
    assert (ammonia.s_value, ammonia.r_value, ammonia.grade) == (Decimal("2.5000"), Decimal("7.5000"), 4)
    assert (assessment.s_value, assessment.r_value, assessment.grade) == (ammonia.s_value, ammonia.r_value, 4)
    assert assessment.inputs["people_within_500m"] == 80
    assert assessment.result["lines"][0]["Q_source"] == "table1"
    assert AuditEntry.objects.filter(object_type="majorhazards.assessment").count() == 1


def test_assess_of_another_citys_source_is_404_and_staff_without_permission_get_403(client, world, ammonia):
    fz_hazard = hazard_of(world.ent_fz)
    client.force_login(world.xm_officer)
    assert _post(client, "majorhazard_assess", fz_hazard).status_code == 404
    client.force_login(world.ent_xm_staff)
    assert _post(client, "majorhazard_assess", ammonia).status_code == 403
    assert not Assessment.objects.exists()


def test_assess_with_an_unknown_substance_shows_the_rule_error_and_saves_nothing(client, world, ammonia):
    Substance.objects.create(hazard=ammonia, name="不存在的化学品", q=3)
    client.force_login(world.ent_xm_head)
    response = _post(client, "majorhazard_assess", ammonia)
    assert response.status_code == 302
    assert not Assessment.objects.exists()
    page = client.get(reverse("majorhazards:majorhazard_detail", args=[ammonia.pk]))
    assert "不存在的化学品" in page.content.decode()


def test_substance_form_refuses_a_substance_the_standard_does_not_know(client, world, ammonia):
    client.force_login(world.ent_xm_head)
    response = client.post(reverse("majorhazards:substance_add"),
                           {"hazard": ammonia.pk, "name": "不存在的化学品", "q": "3"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert Substance.objects.count() == 1


def test_filing_by_the_regulator_registers_the_source(client, world, ammonia):
    client.force_login(world.ent_xm_head)
    assert _post(client, "majorhazard_file", ammonia, {"filed_on": "2026-06-01"}).status_code == 403
    client.force_login(world.xm_officer)
    assert _post(client, "majorhazard_file", ammonia, {"filed_on": "2026-06-01"}).status_code == 302
    ammonia.refresh_from_db()
    assert (ammonia.status, ammonia.filed_on) == ("registered", datetime.date(2026, 6, 1))
    assert AuditEntry.objects.filter(action="transition", object_id=str(ammonia.pk)).count() == 1


def test_deregister_needs_a_reason_and_then_stops_further_steps(client, world, ammonia):
    client.force_login(world.xm_officer)
    _post(client, "majorhazard_deregister", ammonia, {"deregistered_on": "2026-07-01", "reason": ""})
    ammonia.refresh_from_db()
    assert ammonia.status == "draft"
    _post(client, "majorhazard_deregister", ammonia, {"deregistered_on": "2026-07-01", "reason": "评估S<1"})
    ammonia.refresh_from_db()
    assert (ammonia.status, ammonia.deregistration_reason) == ("deregistered", "评估S<1")
    # a deregistered source cannot be filed again
    _post(client, "majorhazard_file", ammonia, {"filed_on": "2026-07-02"})
    ammonia.refresh_from_db()
    assert ammonia.status == "deregistered" and ammonia.filed_on is None


def test_registration_pdf_is_a_pdf_inside_the_scope_only(client, world, ammonia):
    client.force_login(world.ent_xm_head)
    _post(client, "majorhazard_assess", ammonia)
    response = client.get(reverse("majorhazards:majorhazard_pdf", args=[ammonia.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    client.force_login(world.fz_officer)
    assert client.get(reverse("majorhazards:majorhazard_pdf", args=[ammonia.pk])).status_code == 404


def _sheet(rows):
    wb = Workbook()
    ws = wb.active
    ws.append([str(h) for h, _f, _n in MajorHazardImporter.headers])
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = "registry.xlsx"
    return buffer


def test_import_groups_rows_into_units_assesses_them_and_is_idempotent(client, world):
    code = world.ent_xm.credit_code
    rows = [[code, "MH-07", "液化烃罐区", "储存单元", 120, "2025-06-30", "液化石油气", "74-98-6", "", 30],
            [code, "MH-07", "液化烃罐区", "储存单元", 120, "2025-06-30", "汽油", "", "", 100],
            [code, "MH-08", "氯气钢瓶库", "储存单元", 10, "", "氯", "7782-50-5", "", 2]]
    client.force_login(world.xm_officer)
    for _ in range(2):  # the second import replaces the substance lists: same result
        response = client.post(reverse("majorhazards:majorhazard_import"), {"file": _sheet(rows),
                                                                           "all_or_nothing": "on"})
        assert response.status_code == 302
    units = {h.code: h for h in MajorHazard.objects.filter(enterprise=world.ent_xm)}
    assert set(units) == {"MH-07", "MH-08"}
    assert units["MH-07"].substances.count() == 2 and units["MH-08"].substances.count() == 1
    assert units["MH-07"].s_value is not None and units["MH-07"].assessed_on is not None


def test_import_reports_bad_rows_and_saves_nothing(client, world):
    rows = [[world.ent_xm.credit_code, "MH-07", "液化烃罐区", "储存单元", 120, "", "液化石油气", "", "", 30],
            [world.ent_fz.credit_code, "MH-09", "福州罐区", "储存单元", 5, "", "液氨", "", "", 30],
            [world.ent_xm.credit_code, "MH-10", "未知", "储存单元", 5, "", "不存在的化学品", "", "", 3]]
    client.force_login(world.xm_officer)
    response = client.post(reverse("majorhazards:majorhazard_import"), {"file": _sheet(rows), "all_or_nothing": "on"})
    job = client.get(response["Location"]).context["job"]
    assert job.status == "failed"
    assert [e["row"] for e in job.errors] == [3, 4]
    assert not MajorHazard.objects.exists()


def test_overdue_lists_late_duties_in_scope_only(client, world, ammonia):
    ammonia.evaluation_report_on = datetime.date(2020, 1, 1)  # 3-yearly evaluation long overdue
    ammonia.save()
    Custodian.objects.create(hazard=ammonia, role="operational", name="陈操作", phone="13900000000",
                             appointed_on=datetime.date(2026, 1, 1))
    fz = hazard_of(world.ent_fz)
    fz.evaluation_report_on = datetime.date(2020, 1, 1)
    fz.save()
    client.force_login(world.xm_officer)
    rows = client.get(reverse("majorhazards:overdue")).context["rows"]
    assert [r["hazard"] for r in rows] == [ammonia]
    (row,) = rows
    assert "evaluation" in row["items"] and "filing" in row["items"]
    assert [c.name for c in row["late_custodians"]] == ["陈操作"]
    assert len(row["missing"]) == 2  # principal and technical custodians not named


def test_a_recent_check_keeps_the_custodian_off_the_overdue_list(client, world, ammonia):
    custodian = Custodian.objects.create(hazard=ammonia, role="operational", name="陈操作", phone="13900000000",
                                         appointed_on=datetime.date(2026, 1, 1))
    CustodianCheck.objects.create(custodian=custodian, checked_on=datetime.date.today())
    client.force_login(world.xm_officer)
    rows = client.get(reverse("majorhazards:overdue")).context["rows"]
    assert all(not r["late_custodians"] for r in rows)


def test_map_points_are_only_in_scope(client, world, ammonia):
    world.ent_xm.lng, world.ent_xm.lat = Decimal("118.08"), Decimal("24.45")
    world.ent_xm.save()
    fz = hazard_of(world.ent_fz)
    fz.lng, fz.lat = Decimal("119.3"), Decimal("26.08")
    fz.save()
    client.force_login(world.xm_officer)
    points = client.get(reverse("majorhazards:map"), {"format": "json"}).json()["points"]
    assert [p["id"] for p in points] == [ammonia.pk]
    assert points[0]["value"] == [118.08, 24.45]


def test_catalogue_finds_by_alias_and_cas(client, world):
    client.force_login(world.xm_officer)
    by_alias = client.get(reverse("majorhazards:catalogue"), {"q": "液氨", "format": "json"}).json()["results"]
    assert by_alias[0]["name"] == "氨" and by_alias[0]["Q"] == "10"
    by_cas = client.get(reverse("majorhazards:catalogue"), {"q": "7782-50-5", "format": "json"}).json()["results"]
    assert by_cas[0]["name"] == "氯"


def test_api_assess_returns_the_version_and_refuses_out_of_scope(client, world, ammonia):
    client.force_login(world.ent_xm_head)
    response = client.post(f"/api/v1/majorhazards/majorhazards/{ammonia.pk}/assess")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["s_value"] == "2.5000" and body["is_major"] is True
    client.force_login(world.ent_fz_staff)
    assert client.post(f"/api/v1/majorhazards/majorhazards/{ammonia.pk}/assess").status_code == 404


def test_rule_errors_reach_the_user_in_chinese(client, world, ammonia):
    client.force_login(world.ent_xm_head)
    response = client.post(reverse("majorhazards:substance_add"),
                           {"hazard": ammonia.pk, "name": "硝化纤维素", "q": "3"})
    (message,) = response.context["form"].non_field_errors()
    assert message.startswith("硝化纤维素") and "表1" in message and "not" not in message
