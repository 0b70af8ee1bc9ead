"""Monitoring pages: points (state, thresholds, audit), gateways (token, topic, sequence), quality events and
rejected messages, and the monitoring status on the major hazard pages."""

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from worksafe.core.models import AuditEntry
from worksafe.majorhazards.models import MajorHazard
from worksafe.majorhazards.views import MONITORING_COLUMNS
from worksafe.monitoring.models import Alarm, DeadLetter, Gateway, Point, QualityEvent
from worksafe.monitoring.testing import hazard_of, make_gateway, make_point, payload
from worksafe.monitoring.tests.specs import RAISED, gateway_of, point_of
from worksafe.monitoring.views import STATES

pytestmark = pytest.mark.django_db


def _alarm(point, status="active_unack", condition="HH", minutes_ago=5):
    raised = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    return Alarm.objects.create(point=point, enterprise_id=point.enterprise_id, hazard_id=point.hazard_id,
                                condition=condition, level=2 if condition in ("HH", "LL") else 1, status=status,
                                threshold=point.thresholds()[condition], raised_at=raised,
                                raised_ms=int(raised.timestamp() * 1000), raise_value=18.1, peak_value=18.6)


@pytest.fixture
def site(world):
    """厦门鹭江化工: a level point reporting now, a gas point in a level-2 alarm, a level point silent for an hour."""
    now = timezone.now()
    gw = make_gateway(world.ent_xm)
    level = make_point(world.ent_xm, "LT-1001", gateway=gw, last_value=6.2, last_ts=now)
    gas = make_point(world.ent_xm, "GT-1002", gateway=gw, name="罐区可燃气体", kind="flammable_gas", unit="%LEL",
                     range_low=0, range_high=100, low_low=None, low=None, high=25, high_high=50, deadband=1,
                     last_value=52, last_ts=now, alarm_mask=2)
    silent = make_point(world.ent_xm, "LT-1003", gateway=gw, last_value=3.0, last_ts=now - datetime.timedelta(hours=1))
    return gw, level, gas, silent


# --- points -------------------------------------------------------------------------------------------------

def test_point_list_shows_thresholds_last_value_and_state(client, world, site):
    gw, level, gas, silent = site
    point_of(world.ent_fz)  # another city: never listed
    client.force_login(world.xm_officer)
    response = client.get(reverse("monitoring:point_list"))
    rows = {p.code: p for p in response.context["page"].object_list}
    assert set(rows) == {"LT-1001", "GT-1002", "LT-1003"}
    assert {code: p.state_code for code, p in rows.items()} == {"LT-1001": "normal", "GT-1002": "alarm2",
                                                               "LT-1003": "stale"}
    headers = [str(c.header) for c in response.context["columns"]]
    assert headers[:2] == [str(Point._meta.get_field("code").verbose_name), str(Point._meta.get_field("name").verbose_name)]
    assert str(STATES["alarm2"]) in response.content.decode()

    in_alarm = client.get(reverse("monitoring:point_list"), {"in_alarm": "yes"}).context["page"].object_list
    assert [p.code for p in in_alarm] == ["GT-1002"]
    gas_only = client.get(reverse("monitoring:point_list"), {"kind": "flammable_gas", "q": "可燃"})
    assert [p.code for p in gas_only.context["page"].object_list] == ["GT-1002"]


def test_point_list_filters_by_enterprise_hazard_gateway_and_active(client, world, site):
    gw, level, gas, silent = site
    Point.objects.filter(pk=silent.pk).update(active=False)
    other = make_gateway(world.ent_xm, "GW02")
    Point.objects.filter(pk=level.pk).update(gateway=other)
    client.force_login(world.province_officer)
    url = reverse("monitoring:point_list")

    def codes(**params):
        return sorted(p.code for p in client.get(url, params).context["page"].object_list)

    assert codes(gateway=other.pk) == ["LT-1001"]
    assert codes(active="no") == ["LT-1003"]
    assert codes(enterprise=world.ent_xm.pk, hazard=level.hazard_id, active="yes") == ["GT-1002", "LT-1001"]
    assert codes(jurisdiction="3501") == []


def test_point_list_query_count_does_not_grow_with_rows(client, world, site, django_assert_max_num_queries):
    client.force_login(world.xm_officer)
    url = reverse("monitoring:point_list")
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for i in range(20):
        make_point(world.ent_xm, f"TT-2{i:03d}", kind="temperature", sampling_period=120 + i)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_point_page_shows_thresholds_recent_alarms_and_the_trend(client, world, site):
    gw, level, gas, silent = site
    alarm = _alarm(gas, condition="HH")
    client.force_login(world.ent_xm_staff)
    response = client.get(reverse("monitoring:point_detail", args=[gas.pk]))
    assert response.status_code == 200
    assert response.context["object"].state_code == "alarm2"
    assert list(response.context["alarms"]) == [alarm]
    page = response.content.decode()
    assert 'data-testid="thresholds"' in page and "50" in page
    assert reverse("monitoring:alarm_detail", args=[alarm.pk]) in page
    assert 'data-testid="trend-chart"' in page or 'data-testid="point-trend"' in page


def test_a_threshold_change_is_audited_with_before_and_after(client, world, site):
    gw, level, gas, silent = site
    client.force_login(world.ent_xm_head)
    data = {f: ("" if getattr(level, f) is None else getattr(level, f)) for f in (
        "code", "name", "kind", "unit", "range_low", "range_high", "low_low", "low", "high", "high_high", "deadband",
        "min_duration", "sampling_period")}
    data.update(enterprise=world.ent_xm.pk, hazard=level.hazard_id, gateway=gw.pk, active="on", high=16, high_high=17.5)
    response = client.post(reverse("monitoring:point_edit", args=[level.pk]), data)
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UPDATE, object_type="monitoring.point")
    assert (entry.before["high"], entry.after["high"]) == (15, 16)
    assert (entry.before["high_high"], entry.after["high_high"]) == (18, 17.5)
    assert entry.user == world.ent_xm_head


def test_thresholds_must_rise_within_the_range_and_nothing_changes(client, world, site):
    gw, level, gas, silent = site
    client.force_login(world.ent_xm_head)
    data = {"enterprise": world.ent_xm.pk, "hazard": level.hazard_id, "gateway": gw.pk, "code": level.code,
            "name": level.name, "kind": "level", "unit": "m", "range_low": 0, "range_high": 20, "low_low": 1, "low": 2,
            "high": 15, "high_high": 14, "deadband": 0.2, "min_duration": 0, "sampling_period": 10, "active": "on"}
    response = client.post(reverse("monitoring:point_edit", args=[level.pk]), data)
    assert response.status_code == 200
    assert "high_high" in response.context["form"].errors
    level.refresh_from_db()
    assert level.high_high == 18
    # the API validates with the same form
    api = {**data, "high_high": 14, "active": True}
    response = client.put(f"/api/v1/monitoring/points/{level.pk}", json.dumps(api), content_type="application/json")
    assert response.status_code == 400 and "high_high" in response.json()["field_errors"]
    level.refresh_from_db()
    assert level.high_high == 18


def test_the_hazard_and_gateway_must_be_the_enterprises_own(client, world, site):
    gw, level, gas, silent = site
    fz_gateway = gateway_of(world.ent_fz)
    fz_hazard = hazard_of(world.ent_fz)
    # a province user who may change points (no role does so today; the rule must hold anyway)
    from django.contrib.auth.models import Permission

    world.province_officer.user_permissions.add(Permission.objects.get(codename="change_point"))
    client.force_login(world.province_officer)
    form = client.get(reverse("monitoring:point_edit", args=[level.pk])).context["form"]
    assert set(form.fields["gateway"].queryset) == {gw}
    assert set(form.fields["hazard"].queryset) == {level.hazard}
    data = {"enterprise": world.ent_xm.pk, "hazard": fz_hazard.pk, "gateway": fz_gateway.pk, "code": level.code,
            "name": level.name, "kind": "level", "unit": "m", "range_low": 0, "range_high": 20, "deadband": 0,
            "min_duration": 0, "sampling_period": 10, "active": "on"}
    response = client.post(reverse("monitoring:point_edit", args=[level.pk]), data)
    assert response.status_code == 200
    assert {"hazard", "gateway"} <= set(response.context["form"].errors)
    level.refresh_from_db()
    assert (level.hazard_id, level.gateway_id) == (hazard_of(world.ent_xm).pk, gw.pk)


def test_a_point_with_alarms_cannot_be_deleted(client, world, site):
    gw, level, gas, silent = site
    _alarm(gas)
    client.force_login(world.ent_xm_head)
    response = client.post(reverse("monitoring:point_delete", args=[gas.pk]))
    assert response.status_code == 302
    assert Point.objects.filter(pk=gas.pk).exists()
    response = client.post(reverse("monitoring:point_delete", args=[silent.pk]))
    assert response.status_code == 302 and not Point.objects.filter(pk=silent.pk).exists()


# --- gateways -------------------------------------------------------------------------------------------------

def test_issue_token_shows_it_once_and_the_gateway_can_post_with_it(client, world, site):
    gw, level, gas, silent = site
    client.force_login(world.ent_xm_head)
    response = client.post(reverse("monitoring:gateway_token", args=[gw.pk]))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    token = response.context["token"]
    assert token.startswith("wsg_") and token in response.content.decode()
    gw.refresh_from_db()
    assert gw.token_hash == Gateway.hash_token(token)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SECURITY, object_type="monitoring.gateway",
                                     object_id=str(gw.pk)).count() == 1
    # never shown again
    page = client.get(reverse("monitoring:gateway_detail", args=[gw.pk])).content.decode()
    assert token not in page and 'data-testid="token-state"' in page
    # the gateway posts its readings with it
    body = payload("GW01", 1, [("LT-1001", int(timezone.now().timestamp() * 1000) - 1000, 6.3)])
    response = client.post("/api/v1/telemetry", body, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200 and response.json()["stored"] == 1, response.json()
    # a new token replaces it
    client.post(reverse("monitoring:gateway_token", args=[gw.pk]))
    response = client.post("/api/v1/telemetry", payload("GW01", 2, []), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401


def test_issue_token_needs_the_change_permission_and_the_place(client, world, site):
    gw = site[0]
    before = gw.token_hash
    for user, status in ((world.ent_xm_staff, 403), (world.xm_officer, 403), (world.fz_officer, 404),
                         (world.ent_fz_staff, 404)):
        client.force_login(user)
        assert client.post(reverse("monitoring:gateway_token", args=[gw.pk])).status_code == status
    client.force_login(world.ent_xm_head)
    assert client.get(reverse("monitoring:gateway_token", args=[gw.pk])).status_code == 405
    gw.refresh_from_db()
    assert gw.token_hash == before


def test_gateway_page_shows_the_topic_sequence_figures_and_points(client, world, site):
    gw, level, gas, silent = site
    Gateway.objects.filter(pk=gw.pk).update(first_seq=1, max_seq=100, received=97, holes=[[50, 52, 0]])
    client.force_login(world.xm_officer)
    response = client.get(reverse("monitoring:gateway_detail", args=[gw.pk]))
    page = response.content.decode()
    assert f"worksafe/v1/{world.ent_xm.credit_code}/GW01/data" in page
    assert response.context["object"].missing == 3
    assert 'data-testid="missing"' in page
    assert response.context["point_count"] == 3
    assert "issue-token" not in page  # regulators watch; the enterprise keeps its gateways
    listed = client.get(reverse("monitoring:gateway_list")).context["page"].object_list
    assert [(g.code, g.missing) for g in listed] == [("GW01", 3)]


# --- quality events and rejected messages ------------------------------------------------------------------

def test_quality_events_list_filters_open_ones_and_shows_the_duration(client, world, site):
    gw, level, gas, silent = site
    open_event = QualityEvent.objects.create(enterprise=world.ent_xm, gateway=gw, kind="interruption",
                                             started_at=RAISED)
    QualityEvent.objects.create(enterprise=world.ent_xm, gateway=gw, point=level, kind="flatline", started_at=RAISED,
                                ended_at=RAISED + datetime.timedelta(hours=2), is_open=False)
    client.force_login(world.ent_xm_staff)
    listed = client.get(reverse("monitoring:qualityevent_list"), {"is_open": "yes"}).context["page"].object_list
    assert list(listed) == [open_event]
    response = client.get(reverse("monitoring:qualityevent_list"), {"kind": "flatline"})
    assert [e.kind for e in response.context["page"].object_list] == ["flatline"]
    response = client.get(reverse("monitoring:qualityevent_detail", args=[open_event.pk]))
    assert response.status_code == 200 and response.context["duration"] > datetime.timedelta(hours=1)


def test_rejected_message_shows_its_reason_in_words_and_the_payload(client, world, site):
    gw = site[0]
    dead = DeadLetter.objects.create(source=f"worksafe/v1/{world.ent_xm.credit_code}/GW01/data", gateway=gw,
                                     enterprise=world.ent_xm, reason="invalid_json", payload=b'{"gateway": "GW01", ')
    client.force_login(world.ent_xm_head)
    response = client.get(reverse("monitoring:deadletter_list"))
    (row,) = response.context["page"].object_list
    from worksafe.monitoring.api_telemetry import REASONS

    assert row.reason_label == str(REASONS["invalid_json"])
    response = client.get(reverse("monitoring:deadletter_detail", args=[dead.pk]))
    assert '{&quot;gateway&quot;: &quot;GW01&quot;, ' in response.content.decode()
    assert response.context["payload_size"] == 20


def test_a_rejected_message_from_an_unknown_gateway_is_seen_by_nobody_in_a_place(client, world):
    DeadLetter.objects.create(source="worksafe/v1/913502000000000000/GW01/data", reason="unknown_gateway",
                              payload=b"{}")
    for user in (world.province_officer, world.xm_officer, world.ent_xm_head):
        client.force_login(user)
        assert client.get(reverse("monitoring:deadletter_list")).context["page"].paginator.count == 0


# --- monitoring status on the major hazard pages ---------------------------------------------------------------

def test_major_hazard_list_shows_points_online_points_and_active_alarms(client, world, site,
                                                                        django_assert_max_num_queries):
    gw, level, gas, silent = site
    _alarm(gas, "active_unack")
    _alarm(gas, "closed", condition="H", minutes_ago=60)  # not active: not counted
    MajorHazard.objects.create(enterprise=world.ent_xm, code="MH-02", name="甲醇罐区", unit_kind="storage")
    client.force_login(world.xm_officer)
    with django_assert_max_num_queries(30) as few:
        response = client.get(reverse("majorhazards:majorhazard_list"))
    rows = {h.code: (h.mon_points, h.mon_online, h.mon_alarms) for h in response.context["page"].object_list}
    assert rows == {"MH-01": (3, 2, 1), "MH-02": (0, 0, 0)}
    headers = [str(c.header) for c in response.context["columns"]]
    assert headers[-3:] == [str(header) for _path, header in MONITORING_COLUMNS]
    for i in range(5):
        MajorHazard.objects.create(enterprise=world.ent_xm, code=f"MH-1{i}", name="罐区", unit_kind="storage")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("majorhazards:majorhazard_list"))
    assert response.context["page"].paginator.count == 7


def test_major_hazard_page_shows_monitoring_and_warns_when_a_grade_1_source_has_none(client, world, site):
    gw, level, gas, silent = site
    _alarm(gas)
    client.force_login(world.ent_xm_staff)
    hazard = level.hazard
    response = client.get(reverse("majorhazards:majorhazard_detail", args=[hazard.pk]))
    assert response.context["monitoring"] == {"points": 3, "online": 2, "alarms": 1, "required": False}
    bare = MajorHazard.objects.create(enterprise=world.ent_xm, code="MH-02", name="液氯库", unit_kind="storage")
    MajorHazard.objects.filter(pk=bare.pk).update(grade=1)
    page = client.get(reverse("majorhazards:majorhazard_detail", args=[bare.pk])).content.decode()
    assert 'data-testid="mon-required"' in page
