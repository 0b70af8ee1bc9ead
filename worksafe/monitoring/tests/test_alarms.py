"""The alarm lifecycle on the pages and the API: acknowledge (active → acknowledged; cleared → closed), assign,
comment, the readings around an alarm, and the list's order and filters."""

import datetime
import io
import json
import time

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override
from openpyxl import load_workbook

from worksafe.core.models import AuditEntry, TransitionLog
from worksafe.monitoring import ingest, live, views
from worksafe.monitoring.choices import AlarmStatus
from worksafe.monitoring.ingest import Ingestor, Message
from worksafe.monitoring.models import Alarm, Notification
from worksafe.monitoring.testing import make_gateway, make_point, payload

pytestmark = pytest.mark.django_db


def make_alarm(point, status=AlarmStatus.ACTIVE_UNACK, condition="HH", minutes_ago=5, **extra):
    raised = timezone.now().replace(microsecond=0) - datetime.timedelta(minutes=minutes_ago)
    return Alarm.objects.create(point=point, enterprise_id=point.enterprise_id, hazard_id=point.hazard_id,
                                condition=condition, level=2 if condition in ("HH", "LL") else 1, status=status,
                                threshold=point.thresholds()[condition], raised_at=raised,
                                raised_ms=int(raised.timestamp() * 1000), raise_value=18.2, peak_value=18.9, **extra)


def steps(alarm):
    return list(TransitionLog.objects.filter(content_type=ContentType.objects.get_for_model(Alarm),
                                             object_id=str(alarm.pk)))


@pytest.fixture
def published(monkeypatch):
    """The live events the steps publish (whatever the database: captured at live.publish)."""
    events = []
    monkeypatch.setattr(live, "publish", lambda event, using="default": events.append(event))
    return events


@pytest.fixture
def alarm(world):
    return make_alarm(make_point(world.ent_xm))


def ack(client, alarm, comment=""):
    return client.post(reverse("monitoring:alarm_acknowledge", args=[alarm.pk]), {"comment": comment})


def test_enterprise_staff_acknowledge_an_active_alarm_and_live_boards_are_told(client, world, alarm, published):
    # given an active, unacknowledged alarm at 厦门鹭江化工
    client.force_login(world.ent_xm_staff)
    # when its staff acknowledge it with a note
    response = ack(client, alarm, "现场确认，已降低进料")
    # then it is active-acknowledged, by them, with one timeline row, one audit entry and one live event
    assert response.status_code == 302
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.ACTIVE_ACK
    assert alarm.acknowledged_by == world.ent_xm_staff and alarm.acknowledged_at is not None
    (log,) = steps(alarm)
    assert (log.action, log.from_state, log.to_state, log.comment) == ("acknowledge", "active_unack", "active_ack",
                                                                      "现场确认，已降低进料")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.TRANSITION, object_type="monitoring.alarm")
    assert (entry.before["status"], entry.after["status"]) == ("active_unack", "active_ack")
    assert published == [{**published[0], "type": "alarm", "change": "acknowledged", "id": alarm.pk,
                          "status": "active_ack", "enterprise_id": world.ent_xm.pk, "county": "350203"}]
    page = client.get(reverse("monitoring:alarm_detail", args=[alarm.pk]))
    assert [s["action"] for s in page.context["timeline"]] == ["raise", "acknowledge"]
    assert not page.context["can_acknowledge"]


def test_acknowledging_a_cleared_alarm_closes_it(client, world, published):
    alarm = make_alarm(make_point(world.ent_xm), AlarmStatus.CLEARED_UNACK,
                       cleared_at=timezone.now() - datetime.timedelta(minutes=1))
    client.force_login(world.ent_xm_staff)
    page = client.get(reverse("monitoring:alarm_detail", args=[alarm.pk]))
    assert page.context["can"] == {"acknowledge_cleared"}
    ack(client, alarm)
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.CLOSED
    assert [(s.action, s.to_state) for s in steps(alarm)] == [("acknowledge_cleared", "closed")]
    assert published[0]["status"] == "closed"


def test_an_alarm_that_cleared_meanwhile_is_acknowledged_as_cleared(world, alarm, published):
    # the page showed it active; ingest cleared it before the click
    Alarm.objects.filter(pk=alarm.pk).update(status=AlarmStatus.CLEARED_UNACK, cleared_at=timezone.now())
    views.acknowledge(alarm, by=world.ent_xm_staff)
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.CLOSED
    assert [s.action for s in steps(alarm)] == ["acknowledge_cleared"]


def test_acknowledging_twice_is_refused_with_a_clear_chinese_message(client, world, alarm, published):
    client.force_login(world.ent_xm_staff)
    ack(client, alarm)
    response = ack(client, alarm)
    page = client.get(response["Location"])
    texts = [str(m) for m in page.context["messages"]]
    with override("zh-hans"):
        expected = views.cannot_acknowledge_message(Alarm.objects.get(pk=alarm.pk))
    assert expected in texts
    assert expected == "该报警当前状态为“报警中（已确认）”，不能再确认。"
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.ACTIVE_ACK and len(steps(alarm)) == 1


def test_a_regulator_of_another_county_gets_404_and_changes_nothing(client, world, alarm, published):
    client.force_login(world.fz_officer)
    assert ack(client, alarm).status_code == 404
    assert client.get(reverse("monitoring:alarm_detail", args=[alarm.pk])).status_code == 404
    response = client.post(f"/api/v1/monitoring/alarms/{alarm.pk}/acknowledge", "{}", content_type="application/json")
    assert response.status_code == 404
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.ACTIVE_UNACK and steps(alarm) == [] and published == []


def test_the_county_regulator_may_acknowledge_an_escalated_alarm(client, world, alarm, published):
    Alarm.objects.filter(pk=alarm.pk).update(escalation=1, escalated_at=timezone.now())
    client.force_login(world.xm_officer)
    page = client.get(reverse("monitoring:alarm_detail", args=[alarm.pk]))
    assert 'data-testid="escalation"' in page.content.decode()
    ack(client, alarm, "已电话督促企业处置")
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.ACTIVE_ACK and alarm.acknowledged_by == world.xm_officer


def test_a_user_in_place_without_the_permission_gets_403(client, world, published):
    # the housing department sees the construction company's alarms but does not acknowledge them
    alarm = make_alarm(make_point(world.ent_xm_construction))
    client.force_login(world.xm_housing_staff)
    assert client.get(reverse("monitoring:alarm_detail", args=[alarm.pk])).status_code == 200
    assert ack(client, alarm).status_code == 403
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.ACTIVE_UNACK and steps(alarm) == []


def test_assign_names_one_of_the_enterprises_people_who_is_notified(client, world, alarm, published):
    client.force_login(world.ent_xm_head)
    page = client.get(reverse("monitoring:alarm_detail", args=[alarm.pk]))
    assert set(page.context["assign_form"].fields["assignee"].queryset) == {world.ent_xm_staff, world.ent_xm_head}
    response = client.post(reverse("monitoring:alarm_assign", args=[alarm.pk]),
                           {"assignee": world.ent_xm_staff.pk, "comment": "请到罐区核实液位"})
    assert response.status_code == 302
    alarm.refresh_from_db()
    assert alarm.assignee == world.ent_xm_staff and alarm.status == AlarmStatus.ACTIVE_UNACK
    (log,) = steps(alarm)
    assert (log.action, log.comment, log.data["assignee_id"]) == ("assign", "请到罐区核实液位", world.ent_xm_staff.pk)
    entry = AuditEntry.objects.get(object_type="monitoring.alarm", detail="assign")
    assert (entry.before["assignee_id"], entry.after["assignee_id"]) == (None, world.ent_xm_staff.pk)
    assert Notification.objects.filter(recipient=world.ent_xm_staff, alarm=alarm).count() == 1


def test_assign_refuses_outsiders_and_users_without_the_permission(client, world, alarm, published):
    client.force_login(world.ent_xm_head)
    response = client.post(reverse("monitoring:alarm_assign", args=[alarm.pk]), {"assignee": world.ent_fz_staff.pk})
    assert response.status_code == 302
    client.force_login(world.ent_xm_staff)
    response = client.post(reverse("monitoring:alarm_assign", args=[alarm.pk]), {"assignee": world.ent_xm_staff.pk})
    assert response.status_code == 403
    client.force_login(world.fz_officer)
    response = client.post(reverse("monitoring:alarm_assign", args=[alarm.pk]), {"assignee": world.ent_xm_staff.pk})
    assert response.status_code == 404
    alarm.refresh_from_db()
    assert alarm.assignee is None and steps(alarm) == []


def test_comment_appears_on_the_timeline(client, world, alarm, published):
    client.force_login(world.ent_xm_staff)
    response = client.post(reverse("monitoring:alarm_comment", args=[alarm.pk]), {"comment": "已关小进料阀"})
    assert response.status_code == 302
    page = client.get(reverse("monitoring:alarm_detail", args=[alarm.pk]))
    comment = page.context["timeline"][-1]
    assert (comment["action"], comment["comment"], comment["by"]) == ("comment", "已关小进料阀", world.ent_xm_staff)
    assert "已关小进料阀" in page.content.decode()
    # an empty comment adds nothing
    client.post(reverse("monitoring:alarm_comment", args=[alarm.pk]), {"comment": "  "})
    assert len(steps(alarm)) == 1
    client.force_login(world.xm_housing_staff)
    assert client.post(reverse("monitoring:alarm_comment", args=[alarm.pk]), {"comment": "x"}).status_code == 404


def test_the_alarm_page_shows_the_points_readings_around_it_with_the_threshold(client, world, published):
    # given readings of two points in the same gateway messages, the level point crossing HH (18 m)
    ingest.reset_shared()
    gw = make_gateway(world.ent_xm)
    level = make_point(world.ent_xm, "LT-1001", gateway=gw)
    make_point(world.ent_xm, "TT-1002", gateway=gw, name="温度", kind="temperature", unit="°C", range_low=-20,
               range_high=80, low_low=None, low=None, high=40, high_high=45)
    t0 = int(time.time() * 1000) - 40 * 60_000
    values = [12 + i * 0.25 for i in range(30)]  # 12 → 19.25 m over 30 minutes, one reading a minute
    ing = Ingestor()
    for i, v in enumerate(values):
        ts = t0 + i * 60_000
        ing.process([Message(payload("GW01", i + 1, [("LT-1001", ts, v), ("TT-1002", ts, 25.0)]), source="test",
                             credit_code=world.ent_xm.credit_code, gateway_code="GW01")])
    alarm = Alarm.objects.get(point=level, condition="HH")
    # when the staff open it
    client.force_login(world.ent_xm_staff)
    response = client.get(reverse("monitoring:alarm_detail", args=[alarm.pk]))
    # then the chart data holds the level readings within ±10 minutes of the raise, and the threshold
    chart = response.context["chart"]
    raised = alarm.raised_ms
    assert [t for t, _v in chart["readings"]] == [t0 + i * 60_000 for i in range(30)
                                                   if abs(t0 + i * 60_000 - raised) <= 10 * 60_000]
    assert all(v != 25.0 for _t, v in chart["readings"])  # not the temperature point's
    assert chart["threshold"] == 18 and chart["thresholds"] == {"LL": 1, "L": 2, "H": 15, "HH": 18}
    assert 'id="alarm-chart-data"' in response.content.decode()
    ingest.reset_shared()


def test_the_alarm_list_puts_open_alarms_first_filters_and_exports(client, world, published):
    point = make_point(world.ent_xm)
    older_active = make_alarm(point, AlarmStatus.ACTIVE_UNACK, "H", minutes_ago=300)
    newer_closed = make_alarm(point, AlarmStatus.CLOSED, "HH", minutes_ago=10)
    cleared = make_alarm(point, AlarmStatus.CLEARED_UNACK, "L", minutes_ago=60)
    make_alarm(make_point(world.ent_fz), AlarmStatus.ACTIVE_UNACK)  # another city
    client.force_login(world.xm_officer)
    url = reverse("monitoring:alarm_list")
    assert list(client.get(url).context["page"].object_list) == [older_active, cleared, newer_closed]
    assert list(client.get(url, {"status": "open"}).context["page"].object_list) == [older_active, cleared]
    assert list(client.get(url, {"level": "2"}).context["page"].object_list) == [newer_closed]
    day = timezone.localtime(newer_closed.raised_at).date()
    same_day = [a for a in (older_active, cleared, newer_closed) if timezone.localtime(a.raised_at).date() == day]
    listed = client.get(url, {"raised_after": day.isoformat(), "raised_before": day.isoformat()})
    assert list(listed.context["page"].object_list) == same_day
    tomorrow = (day + datetime.timedelta(days=1)).isoformat()
    assert list(client.get(url, {"raised_after": tomorrow}).context["page"].object_list) == []
    response = client.get(url, {"export": "xlsx", "status": "open"})
    ws = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    assert len(list(ws.iter_rows(min_row=2, values_only=True))) == 2
    # enterprise staff list their own but may not export
    client.force_login(world.ent_xm_staff)
    assert client.get(url).context["page"].paginator.count == 3
    assert client.get(url, {"export": "xlsx"}).status_code == 403


def test_api_acknowledge_then_409_with_the_reason(client, world, alarm, published):
    client.force_login(world.ent_xm_staff)
    url = f"/api/v1/monitoring/alarms/{alarm.pk}/acknowledge"
    response = client.post(url, json.dumps({"comment": "已确认"}), content_type="application/json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["acknowledged_by_id"]) == ("active_ack", world.ent_xm_staff.pk)
    response = client.post(url, "{}", content_type="application/json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "invalid_transition" and body["message"] == "该报警当前状态为“报警中（已确认）”，不能再确认。"
    assert [s.action for s in steps(alarm)] == ["acknowledge"]
    response = client.get("/api/v1/monitoring/alarms/?status=open&condition=HH")
    assert [a["point_code"] for a in response.json()["results"]] == ["LT-1001"]
