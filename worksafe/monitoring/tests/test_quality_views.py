"""Data-quality scores, warning levels and the inbox, as regulators and enterprise users see them."""

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from worksafe.core.models import AuditEntry
from worksafe.monitoring import warning_level
from worksafe.monitoring.choices import QualityKind
from worksafe.monitoring.models import Alarm, EnterpriseWarning, Gateway, Notification, QualityEvent
from worksafe.monitoring.quality_views import explain, quality_rows
from worksafe.monitoring.testing import hazard_of, make_gateway, make_point

pytestmark = pytest.mark.django_db


@pytest.fixture
def monitored(world):
    """ent_xm: 4 points on one gateway (one interruption of a whole day); ent_fz: 1 point, never connected."""
    now = timezone.now()
    gw = make_gateway(world.ent_xm)
    Gateway.objects.filter(pk=gw.pk).update(last_seen_at=now)
    points = [make_point(world.ent_xm, f"LT-10{k}", gateway=gw) for k in range(4)]
    fz_point = make_point(world.ent_fz, "PT-2001", name="反应釜压力", kind="pressure", unit="MPa", range_low=0,
                          range_high=4, low_low=None, low=None, high=2.5, high_high=3)
    QualityEvent.objects.create(enterprise=world.ent_xm, gateway=gw, kind=QualityKind.INTERRUPTION,
                                started_at=now - datetime.timedelta(days=3), ended_at=now - datetime.timedelta(days=2),
                                is_open=False)
    return world, gw, points, fz_point


def make_alarm(point, minutes_ago=5, acknowledged=False, **extra):
    raised = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    return Alarm.objects.create(point=point, enterprise=point.enterprise, hazard=point.hazard, condition="H", level=1,
                                threshold=15, raised_at=raised, raised_ms=int(raised.timestamp() * 1000) + point.pk,
                                raise_value=16, peak_value=16, acknowledged_at=raised if acknowledged else None,
                                status="active_ack" if acknowledged else "active_unack", **extra)


# --- the score ---------------------------------------------------------------------------------------------

def test_quality_rows_compute_uptime_interruptions_noise_and_handling(monitored):
    world, gw, points, fz_point = monitored
    end = timezone.now()
    start = end - datetime.timedelta(days=7)
    for k in range(14):
        make_alarm(points[k % 4], minutes_ago=k + 1, acknowledged=k < 7)
    rows = {r.enterprise.pk: r for r in quality_rows([world.ent_xm, world.ent_fz], start, end)}
    xm, fz = rows[world.ent_xm.pk], rows[world.ent_fz.pk]
    # a whole-gateway day out of 7 for 4 points: 6/7 online
    assert xm.points == 4 and xm.uptime == pytest.approx(6 / 7) and xm.online_rate == 85.7
    assert (xm.interruptions, xm.alarms, xm.acknowledged, xm.handling_rate) == (1, 14, 7, 50.0)
    assert xm.alarms_per_point_day == 0.5
    assert xm.score == round(100 * 6 / 7 - 2 * 1, 1)
    # never connected: offline all the time, scored 0, listed first
    assert (fz.points, fz.never_connected, fz.uptime, fz.score, fz.handling_rate) == (1, 1, 0.0, 0.0, None)
    assert [r.enterprise.pk for r in quality_rows([world.ent_xm, world.ent_fz], start, end)] == [
        world.ent_fz.pk, world.ent_xm.pk]


def test_a_point_interruption_counts_for_that_point_only(monitored):
    world, gw, points, _ = monitored
    QualityEvent.objects.all().delete()
    end = timezone.now()
    QualityEvent.objects.create(enterprise=world.ent_xm, gateway=gw, point=points[0], kind=QualityKind.INTERRUPTION,
                                started_at=end - datetime.timedelta(hours=12))  # still open
    row = quality_rows([world.ent_xm], end - datetime.timedelta(days=1), end)[0]
    assert row.uptime == pytest.approx(1 - 0.5 / 4) and row.open_interruptions == 1


def test_regulator_sees_scores_in_scope_worst_first(client, monitored):
    world, *_ = monitored
    client.force_login(world.province_officer)
    resp = client.get(reverse("monitoring:quality"))
    assert resp.status_code == 200
    names = [r.enterprise.name for r in resp.context["rows"]]
    assert names == [world.ent_fz.name, world.ent_xm.name]
    assert resp.context["headline"]["online_rate"] == round(100 * (4 * 6 / 7) / 5, 1)
    body = resp.content.decode()
    assert "在线率" in body and "报警信息处置率" in body

    client.force_login(world.xm_officer)
    resp = client.get(reverse("monitoring:quality"))
    assert [r.enterprise.pk for r in resp.context["rows"]] == [world.ent_xm.pk]


def test_quality_filters_and_window(client, monitored):
    world, *_ = monitored
    client.force_login(world.province_officer)
    resp = client.get(reverse("monitoring:quality"), {"jurisdiction": "3501"})
    assert [r.enterprise.pk for r in resp.context["rows"]] == [world.ent_fz.pk]
    resp = client.get(reverse("monitoring:quality"), {"q": "鹭江", "days": "1"})
    rows = resp.context["rows"]
    assert [r.enterprise.pk for r in rows] == [world.ent_xm.pk]
    assert rows[0].interruptions == 0 and resp.context["days"] == 1  # the day-long gap was 2 days ago


def test_quality_export_has_the_same_rows_and_is_audited(client, monitored):
    world, *_ = monitored
    client.force_login(world.province_officer)
    resp = client.get(reverse("monitoring:quality"), {"export": "xlsx"})
    assert resp.status_code == 200
    sheet = load_workbook(io.BytesIO(resp.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "企业" and len(rows) == 3
    assert [r[0] for r in rows[1:]] == [world.ent_fz.name, world.ent_xm.name]
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT, object_type="monitoring.quality").count() == 1


def test_enterprise_user_sees_only_its_own_score_and_no_role_is_refused(client, monitored):
    world, *_ = monitored
    client.force_login(world.ent_fz_staff)
    resp = client.get(reverse("monitoring:quality"))
    assert [r.enterprise.pk for r in resp.context["rows"]] == [world.ent_fz.pk]
    client.force_login(world.no_role)
    assert client.get(reverse("monitoring:quality")).status_code == 403
    client.logout()
    assert client.get(reverse("monitoring:quality")).status_code == 302


# --- warning levels ---------------------------------------------------------------------------------------

@pytest.fixture
def warnings(monitored):
    world, gw, points, fz_point = monitored
    from worksafe.majorhazards.models import MajorHazard

    MajorHazard.objects.filter(pk=hazard_of(world.ent_xm).pk).update(status="registered", grade=1)
    make_alarm(points[0])
    Alarm.objects.create(point=points[1], enterprise=world.ent_xm, hazard=points[1].hazard, condition="HH", level=2,
                         threshold=18, raised_at=timezone.now(), raised_ms=1, raise_value=19, peak_value=19)
    QualityEvent.objects.create(enterprise=world.ent_xm, gateway=gw, point=points[2], kind=QualityKind.INTERRUPTION,
                                started_at=timezone.now())
    warning_level.update_all()
    return world


def test_warning_list_shows_colour_and_every_reason_in_chinese(client, warnings):
    world = warnings
    client.force_login(world.xm_officer)
    resp = client.get(reverse("monitoring:warnings"))
    assert resp.status_code == 200
    rows = resp.context["rows"]
    assert [(w.enterprise.pk, w.colour) for w in rows] == [(world.ent_xm.pk, "orange")]
    body = resp.content.decode()
    assert "橙色" in body
    assert rows[0].explained == [
        "1 个一级（H/L）报警未消除：至少为蓝色",
        "1 个二级（HH/LL）报警未消除：至少为橙色",
        "1 个数据中断未恢复 × 权重 1 = 1 分",
        "一级重大危险源：2 分",
    ]
    assert "尚无事故模块" in body


def test_warning_list_is_scoped_and_filtered(client, warnings):
    world = warnings
    client.force_login(world.province_officer)
    resp = client.get(reverse("monitoring:warnings"))
    assert [w.enterprise.pk for w in resp.context["rows"]] == [world.ent_xm.pk, world.ent_fz.pk]  # by score
    assert [(str(label), n) for _css, label, n in resp.context["counts"]] == [
        ("红色", 0), ("橙色", 1), ("黄色", 0), ("蓝色", 0), ("无预警", 1)]
    resp = client.get(reverse("monitoring:warnings"), {"colour": "none"})
    assert [w.enterprise.pk for w in resp.context["rows"]] == [world.ent_fz.pk]
    client.force_login(world.fz_officer)
    resp = client.get(reverse("monitoring:warnings"))
    assert [w.enterprise.pk for w in resp.context["rows"]] == [world.ent_fz.pk]


def test_warning_detail_shows_inputs_weights_and_rule(client, warnings):
    world = warnings
    w = EnterpriseWarning.objects.get(enterprise=world.ent_xm)
    client.force_login(world.ent_xm_staff)
    resp = client.get(reverse("monitoring:warning_detail", args=[w.pk]))
    assert resp.status_code == 200
    inputs = {str(label): (value, weight) for label, value, weight in resp.context["inputs"]}
    assert inputs["未恢复的数据中断"] == (1, 1) and inputs["未消除的二级（HH/LL）报警"] == (1, None)
    body = resp.content.decode()
    assert "持续超过 30 分钟" in body and "事故" in body
    client.force_login(world.fz_officer)
    assert client.get(reverse("monitoring:warning_detail", args=[w.pk])).status_code == 404
    client.force_login(world.no_role)  # in the place, without the permission
    assert client.get(reverse("monitoring:warning_detail", args=[w.pk])).status_code == 403


def test_a_replacement_rules_own_factors_are_shown_as_they_are():
    assert explain({"factor": "custom", "value": 3, "effect": "red"}, {}) == "custom: 3 → 红色"


# --- inbox ------------------------------------------------------------------------------------------------

def notify(user, key="alarm:1:raised", url="/monitoring/alarms/1/", **extra):
    return Notification.objects.create(recipient=user, key=key, title="高报 LT-1001 1#储罐液位", body="16 m", url=url,
                                       **extra)


def test_inbox_lists_my_notifications_only_with_a_badge(client, world):
    mine = [notify(world.xm_officer), notify(world.xm_officer, key="alarm:1:escalate:2")]
    notify(world.fz_officer)
    notify(world.xm_officer, key="alarm:9:raised", channel="email")  # e-mail rows are not the inbox
    client.force_login(world.xm_officer)
    resp = client.get(reverse("monitoring:inbox"))
    assert [n.pk for n in resp.context["rows"]] == [mine[1].pk, mine[0].pk]
    assert [n.kind for n in resp.context["rows"]] == ["未确认报警已升级至市级", "报警产生"]
    badge = client.get(reverse("monitoring:inbox"), {"part": "badge"}).content.decode()
    assert ">2<" in badge


def test_marking_read_one_all_and_opening(client, world):
    a, b, c = (notify(world.xm_officer, key=f"alarm:{k}:raised") for k in range(3))
    other = notify(world.fz_officer)
    client.force_login(world.xm_officer)
    assert client.post(reverse("monitoring:inbox"), {"read": a.pk}).status_code == 302
    a.refresh_from_db()
    assert a.read_at is not None
    client.post(reverse("monitoring:inbox"), {"read": other.pk})  # someone else's: untouched
    other.refresh_from_db()
    assert other.read_at is None
    resp = client.post(reverse("monitoring:inbox"), {"open": b.pk})
    assert resp.status_code == 302 and resp["Location"] == "/monitoring/alarms/1/"
    resp = client.get(reverse("monitoring:inbox"), {"unread": "1"})
    assert [n.pk for n in resp.context["rows"]] == [c.pk]
    client.post(reverse("monitoring:inbox"), {"all": "1"})
    assert client.get(reverse("monitoring:inbox"), {"part": "badge"}).content == b""


def test_opening_never_redirects_off_site(client, world):
    n = notify(world.xm_officer, url="https://evil.example.com/")
    client.force_login(world.xm_officer)
    resp = client.post(reverse("monitoring:inbox"), {"open": n.pk})
    assert resp["Location"] == reverse("monitoring:inbox")


def test_navbar_links_the_inbox(client, world):
    client.force_login(world.xm_officer)
    body = client.get(reverse("monitoring:inbox")).content.decode()
    assert 'data-testid="inbox-link"' in body and "?part=badge" in body
