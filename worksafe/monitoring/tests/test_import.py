"""Excel import of point tables: good rows saved (gateways added), bad rows reported per row, nothing half-saved."""

import io

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from worksafe.core.models import AuditEntry
from worksafe.monitoring.importer import PointImporter
from worksafe.monitoring.models import Gateway, Point
from worksafe.monitoring.testing import hazard_of

pytestmark = pytest.mark.django_db
URL = "monitoring:point_import"


def sheet(rows):
    wb = Workbook()
    ws = wb.active
    ws.append([str(h) for h, _f, _n in PointImporter.headers])
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = "点位表.xlsx"
    return buffer


def row(ent, code, *, kind="液位", unit="m", rng=(0, 15), th=(1, 2, 12, 13.5), gateway="GW01", hazard="MH-01",
        name="1#储罐液位"):
    return [ent.credit_code, code, name, kind, unit, *rng, *th, 0.1, 5, 10, gateway, hazard]


def upload(client, rows, all_or_nothing=True):
    response = client.post(reverse(URL), {"file": sheet(rows), **({"all_or_nothing": "on"} if all_or_nothing else {})})
    assert response.status_code == 302
    return client.get(response["Location"]).context["job"]


@pytest.fixture
def head(client, world):
    hazard_of(world.ent_xm)  # MH-01
    client.force_login(world.ent_xm_head)
    return client


def test_a_point_table_creates_points_and_their_gateway_audited(head, world):
    ent = world.ent_xm
    job = upload(head, [row(ent, "LT-1001"),
                        row(ent, "GT-1002", kind="可燃气体", unit="%LEL", rng=(0, 100), th=("", "", 25, 50),
                            name="罐区1#可燃气体检测器"),
                        row(ent, "PT-1003", kind="pressure", unit="MPa", rng=(0, 2.5), th=("", "", 1.6, 1.8),
                            name="1#储罐压力")])
    assert job.status == "done", job.errors
    assert (job.created_count, job.updated_count) == (4, 0)  # the gateway GW01 and three points
    gas = Point.objects.get(code="GT-1002")
    assert (gas.kind, gas.unit, gas.low_low, gas.low, gas.high, gas.high_high) == ("flammable_gas", "%LEL", None, None,
                                                                                     25, 50)
    assert (gas.deadband, gas.min_duration, gas.sampling_period) == (0.1, 5, 10)
    assert gas.gateway == Gateway.objects.get(enterprise=ent, code="GW01") and gas.hazard.code == "MH-01"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT, object_type="monitoring.point").count() == 3
    assert AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT, object_type="monitoring.gateway").count() == 1


def test_importing_again_updates_the_thresholds_with_before_and_after_in_the_audit(head, world):
    ent = world.ent_xm
    assert upload(head, [row(ent, "LT-1001")]).status == "done"
    job = upload(head, [row(ent, "LT-1001", th=(1, 2, 12.5, 14))])
    assert job.status == "done" and (job.created_count, job.updated_count) == (0, 1)
    point = Point.objects.get(code="LT-1001")
    assert (point.high, point.high_high) == (12.5, 14)
    entry = AuditEntry.objects.filter(object_type="monitoring.point").order_by("-id").first()
    assert (entry.before["high"], entry.after["high"]) == (12, 12.5)
    assert (entry.before["high_high"], entry.after["high_high"]) == (13.5, 14)


def test_bad_rows_are_reported_by_row_and_nothing_is_saved(head, world):
    ent = world.ent_xm
    job = upload(head, [
        row(ent, "LT-1001", gateway="GW09"),  # 2: good (and would add gateway GW09)
        row(ent, "LT-1002", th=(1, 2, 14, 13)),  # 3: high-high below high
        row(ent, "LT-1003", hazard="MH-99"),  # 4: no such major hazard source
        row(world.ent_fz, "LT-1004"),  # 5: another city's enterprise
        row(ent, "LT-1001"),  # 6: the same tag number as row 2
        row(ent, "LT 1006", kind="雷达"),  # 7: a space in the tag, unknown kind
    ])
    assert job.status == "failed"
    errors = {e["row"]: " ".join(e["errors"]) for e in job.errors}
    assert sorted(errors) == [3, 4, 5, 6, 7]
    assert str(PointImporter.headers[10][0]) in errors[3]  # names the column: high-high
    assert str(PointImporter.headers[15][0]) in errors[4]  # hazard code
    assert str(PointImporter.headers[0][0]) in errors[5]  # credit code
    assert str(PointImporter.headers[1][0]) in errors[6]
    assert not Point.objects.exists() and not Gateway.objects.exists()


def test_without_all_or_nothing_the_good_rows_are_saved(head, world):
    ent = world.ent_xm
    job = upload(head, [row(ent, "LT-1001"), row(ent, "LT-1002", th=(1, 2, 14, 13))], all_or_nothing=False)
    assert job.status == "done"
    assert list(Point.objects.values_list("code", flat=True)) == ["LT-1001"]
    assert [e["row"] for e in job.errors] == [3]


def test_staff_without_the_import_permission_get_403_and_the_template_downloads(client, world):
    client.force_login(world.ent_xm_staff)
    assert client.get(reverse(URL)).status_code == 403
    client.force_login(world.ent_xm_head)
    response = client.get(reverse(URL), {"template": "1"})
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in ws[1]] == [str(h) for h, _f, _n in PointImporter.headers]


def test_a_new_gateway_needs_the_permission_to_add_gateways(client, world, django_user_model):
    from django.contrib.auth.models import Permission

    hazard_of(world.ent_xm)
    user = world.ent_xm_head
    group = user.groups.get()  # take add_gateway away from the enterprise head role (inside this test only)
    group.permissions.remove(Permission.objects.get(codename="add_gateway"))
    user = django_user_model.objects.get(pk=user.pk)
    client.force_login(user)
    job = upload(client, [row(world.ent_xm, "LT-1001", gateway="GW07")])
    assert job.status == "failed"
    assert [e["row"] for e in job.errors] == [2]
    assert not Gateway.objects.exists()
