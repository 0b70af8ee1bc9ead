"""`worksafe tick`: rollups, data-quality detection, escalation, warning levels and retention, one step at a time."""

import datetime
import time

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection

from worksafe.core import roles as R
from worksafe.core.choices import OrganisationKind
from worksafe.core.testing import make_org, make_user
from worksafe.majorhazards.models import MajorHazard
from worksafe.monitoring import codec, rollup, store, tick, warning_level
from worksafe.monitoring.choices import AlarmStatus, QualityKind
from worksafe.monitoring.ingest import Ingestor, Message
from worksafe.monitoring.models import (
    Alarm,
    EnterpriseWarning,
    Gateway,
    Notification,
    Point,
    QualityEvent,
    Rollup,
    Watermark,
)
from worksafe.monitoring.testing import hazard_of, make_gateway, make_point, payload

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
MIN = 60_000


@pytest.fixture
def site(world):
    gw = make_gateway(world.ent_xm)
    level = make_point(world.ent_xm, "LT-1001", gateway=gw)
    temp = make_point(world.ent_xm, "TT-1002", gateway=gw, name="1#储罐温度", kind="temperature", unit="℃",
                      range_low=-20, range_high=80, low_low=None, low=None, high=40, high_high=50)
    return world, gw, level, temp


@pytest.fixture
def published(monkeypatch):
    """Live events published by the tick steps (whatever the database)."""
    events = []
    monkeypatch.setattr("worksafe.monitoring.live.publish", lambda event, using="default": events.append(event))
    return events


def real_ms() -> int:
    return int(time.time() * 1000)


def at(ms: int) -> datetime.datetime:
    return codec.ms_to_datetime(ms)


def send(world, ing, seq, readings, gateway="GW01"):
    out = ing.process([Message(payload(gateway, seq, readings), source="test",
                               credit_code=world.ent_xm.credit_code, gateway_code=gateway)])
    ing.flush_last_values(force=True)
    return out


# --- interruptions (数据中断) ------------------------------------------------------------------------------

def test_silent_gateway_opens_one_interruption_that_returning_data_closes_with_backfill(site, published, settings):
    world, gw, level, temp = site
    settings.MONITORING_CLOCK_DRIFT_S = 600  # the test's readings run minutes ahead to stand for time passing
    ing = Ingestor()
    t = real_ms() - 1000
    send(world, ing, 1, [("LT-1001", t, 5.0), ("TT-1002", t, 20.0)])
    now = datetime.datetime.now(UTC)

    # within the limit (5 minutes for 10 s points): nothing
    assert tick.detect_interruptions(now + datetime.timedelta(minutes=4)) == {"opened": 0, "closed": 0}
    # past it: one gateway-wide event from the last reading, not one per point
    assert tick.detect_interruptions(now + datetime.timedelta(minutes=6))["opened"] == 1
    assert tick.detect_interruptions(now + datetime.timedelta(minutes=7))["opened"] == 0  # idempotent
    event = QualityEvent.objects.get()
    assert (event.kind, event.gateway_id, event.point_id, event.is_open) == ("interruption", gw.pk, None, True)
    assert event.started_at == at(t)
    assert [e["change"] for e in published] == ["opened"] and published[0]["county"] == "350203"

    # the gateway comes back: the first new reading ends the gap, the buffered one inside it is backfill
    send(world, ing, 3, [("LT-1001", t + 3 * MIN, 5.1)])
    event.refresh_from_db()
    assert not event.is_open and event.ended_at == at(t + 3 * MIN) and event.backfilled == 0
    send(world, ing, 2, [("LT-1001", t + 2 * MIN, 5.05), ("TT-1002", t + 2 * MIN, 20.5)])
    event.refresh_from_db()
    assert event.backfilled == 2  # readings that arrived inside the gap
    # backfill and new data in one micro-batch: the backfill is counted, the new reading closes nothing new
    send(world, ing, 4, [("LT-1001", t + 2 * MIN + 500, 5.06), ("LT-1001", t + 4 * MIN, 5.2)])
    event.refresh_from_db()
    assert event.backfilled == 3 and event.ended_at == at(t + 3 * MIN)
    assert QualityEvent.objects.count() == 1


def test_silent_point_of_a_talking_gateway_gets_its_own_interruption(site, published):
    world, gw, level, temp = site
    ing = Ingestor()
    t = real_ms()
    send(world, ing, 1, [("LT-1001", t - 20 * MIN, 5.0), ("TT-1002", t - MIN, 20.0)])
    now = datetime.datetime.now(UTC)

    assert tick.detect_interruptions(now)["opened"] == 1
    event = QualityEvent.objects.get()
    assert (event.point_id, event.gateway_id, event.started_at) == (level.pk, gw.pk, at(t - 20 * MIN))

    send(world, ing, 2, [("TT-1002", t, 20.1)])  # other points' data does not close it
    event.refresh_from_db()
    assert event.is_open
    send(world, ing, 3, [("LT-1001", t, 5.2)])
    event.refresh_from_db()
    assert not event.is_open and event.ended_at == at(t)


def test_slow_points_wait_for_three_sampling_periods(site):
    world, gw, level, temp = site
    Point.objects.filter(pk=level.pk).update(sampling_period=600)  # 10 min → offline after 30 min
    Point.objects.filter(pk=temp.pk).update(sampling_period=300)  # 5 min → offline after 15 min
    ing = Ingestor()
    t = real_ms()
    send(world, ing, 1, [("LT-1001", t - 25 * MIN, 5.0), ("TT-1002", t - MIN, 20.0)])
    now = datetime.datetime.now(UTC)
    assert tick.detect_interruptions(now)["opened"] == 0
    Gateway.objects.filter(pk=gw.pk).update(last_seen_at=now + datetime.timedelta(minutes=6))
    assert tick.detect_interruptions(now + datetime.timedelta(minutes=6))["opened"] == 1
    assert QualityEvent.objects.get().point_id == level.pk


def test_a_gateway_that_never_sent_is_not_an_interruption(site):
    _world, gw, *_ = site
    later = datetime.datetime.now(UTC) + datetime.timedelta(days=1)
    assert tick.detect_interruptions(later)["opened"] == 0


def test_a_point_that_never_reported_while_its_gateway_talks_is_interrupted(site):
    world, gw, level, temp = site
    Point.objects.filter(pk=level.pk).update(created_at=datetime.datetime.now(UTC) - datetime.timedelta(hours=1))
    send(world, Ingestor(), 1, [("TT-1002", real_ms() - MIN, 20.0)])
    assert tick.detect_interruptions(datetime.datetime.now(UTC))["opened"] == 1
    event = QualityEvent.objects.get()
    assert event.point_id == level.pk and event.detail["never_reported"] is True


def test_deactivating_a_point_ends_its_interruption(site):
    world, gw, level, temp = site
    send(world, Ingestor(), 1, [("LT-1001", real_ms() - 20 * MIN, 5.0), ("TT-1002", real_ms(), 20.0)])
    now = datetime.datetime.now(UTC)
    tick.detect_interruptions(now)
    Point.objects.filter(pk=level.pk).update(active=False)
    assert tick.detect_interruptions(now + datetime.timedelta(seconds=10)) == {"opened": 0, "closed": 1}
    event = QualityEvent.objects.get()
    assert not event.is_open and event.detail["deactivated"] is True


def test_a_point_moved_to_another_gateway_ends_its_old_interruption(site):
    world, gw, level, temp = site
    send(world, Ingestor(), 1, [("LT-1001", real_ms() - 20 * MIN, 5.0), ("TT-1002", real_ms(), 20.0)])
    now = datetime.datetime.now(UTC)
    tick.detect_interruptions(now)
    Point.objects.filter(pk=level.pk).update(gateway=make_gateway(world.ent_xm, "GW02"))
    assert tick.detect_interruptions(now + datetime.timedelta(seconds=10))["closed"] == 1
    assert not QualityEvent.objects.get().is_open


# --- sequence gaps ------------------------------------------------------------------------------------------

def test_missing_sequence_numbers_open_a_gap_event_that_backfill_closes(site):
    world, gw, *_ = site
    ing = Ingestor()
    t = real_ms() - 10 * MIN
    for seq in (1, 2, 5, 6, 9):
        send(world, ing, seq, [("LT-1001", t + seq * 1000, 5.0)])
    now = datetime.datetime.now(UTC)
    assert tick.detect_sequence_gaps(now)["opened"] == 0  # still inside the grace period (reordering)
    assert tick.detect_sequence_gaps(now + datetime.timedelta(minutes=6))["opened"] == 1
    event = QualityEvent.objects.get(kind=QualityKind.SEQUENCE_GAP)
    assert event.detail["ranges"] == [[3, 4], [7, 8]] and event.count == 4 and event.detail["older"] == 0

    for seq in (3, 4):
        send(world, ing, seq, [("LT-1001", t + seq * 1000, 5.0)])
    assert tick.detect_sequence_gaps(now + datetime.timedelta(minutes=7)) == {"opened": 0, "updated": 1,
                                                                              "closed": 0}
    event.refresh_from_db()
    assert event.detail["ranges"] == [[7, 8]] and event.count == 2 and event.backfilled == 2

    for seq in (8, 7):
        send(world, ing, seq, [("LT-1001", t + seq * 1000, 5.0)])
    assert tick.detect_sequence_gaps(now + datetime.timedelta(minutes=8))["closed"] == 1
    event.refresh_from_db()
    assert not event.is_open and event.backfilled == 4 and event.detail["recovered"] is True


def test_missing_ranges_come_from_the_gateways_holes(site):
    world, gw, *_ = site
    ing = Ingestor()
    before = datetime.datetime.now(UTC).replace(microsecond=0)
    for seq in (10, 11, 15, 20):
        send(world, ing, seq, [])
    gw.refresh_from_db()
    after = datetime.datetime.now(UTC) + datetime.timedelta(seconds=1)
    assert [h[:2] for h in gw.holes] == [[12, 14], [16, 19]] and gw.missing == 7
    assert tick.missing_ranges(gw.holes, before, after) == [(12, 14), (16, 19)]
    assert tick.missing_ranges(gw.holes, before, after, limit=1) == [(12, 14)]
    assert tick.missing_ranges(gw.holes, after, after + datetime.timedelta(hours=1)) == []  # older than the look-back
    assert tick.missing_ranges(gw.holes, before - datetime.timedelta(hours=1), before - datetime.timedelta(seconds=1)) == []


# --- rollups ------------------------------------------------------------------------------------------------

def rollups(width):
    return {(r.point_id, r.bucket): (r.n, r.vmin, r.vmax, round(r.vsum, 3))
            for r in Rollup.objects.filter(width=width)}


def test_rollups_wait_for_the_safety_lag(site):
    world, *_ = site
    send(world, Ingestor(), 1, [("LT-1001", real_ms() - MIN, 5.0)])
    now = datetime.datetime.now(UTC)
    assert rollup.run(now) == 0  # inside the lag: an ingest transaction that took `now` before us may be open
    assert rollup.run(now + datetime.timedelta(seconds=61)) == 1


def test_rollups_merge_readings_once_per_minute_and_hour_with_backfill(site, settings):
    settings.MONITORING_ROLLUP_LAG_S = 0
    world, gw, level, temp = site
    ing = Ingestor()
    hour = (real_ms() // 3_600_000 - 1) * 3_600_000  # the previous whole hour
    send(world, ing, 1, [("LT-1001", hour + 5_000, 5.0), ("LT-1001", hour + 30_000, 7.0),
                         ("LT-1001", hour + 61_000, 6.0), ("TT-1002", hour + 1_000, 20.0)])
    send(world, ing, 2, [("LT-1001", hour + 50_000, 3.0, 2)])  # bad quality: not rolled up

    assert rollup.run() == 4
    assert rollups(60) == {(level.pk, at(hour)): (2, 5.0, 7.0, 12.0), (level.pk, at(hour + MIN)): (1, 6.0, 6.0, 6.0),
                           (temp.pk, at(hour)): (1, 20.0, 20.0, 20.0)}
    assert rollups(3600) == {(level.pk, at(hour)): (3, 5.0, 7.0, 18.0), (temp.pk, at(hour)): (1, 20.0, 20.0, 20.0)}
    assert rollup.run() == 0  # nothing new: nothing counted twice

    send(world, ing, 3, [("LT-1001", hour + 10_000, 9.5)])  # backfill into a rolled-up minute
    assert rollup.run() == 1
    assert rollups(60)[(level.pk, at(hour))] == (3, 5.0, 9.5, 21.5)
    assert rollups(3600)[(level.pk, at(hour))] == (4, 5.0, 9.5, 27.5)


def test_rollup_aggregate_matches_a_plain_computation():
    rng = np.random.default_rng(7)
    n = 5000
    rec = np.empty(n, dtype=[("point", "<i4"), ("ts", "<i8"), ("value", "<f4"), ("quality", "u1")])
    rec["point"] = rng.integers(1, 6, n)
    rec["ts"] = 1_700_000_000_000 + rng.integers(0, 3 * 3_600_000, n)
    rec["value"] = rng.normal(10, 3, n)
    rec["quality"] = rng.integers(0, 3, n)
    point, bucket, cnt, vmin, vmax, vsum = rollup.aggregate(rec, 60)
    good = rec[rec["quality"] < 2]
    for p, b, c, lo, hi, s in zip(point, bucket, cnt, vmin, vmax, vsum, strict=True):
        sel = good[(good["point"] == p) & (good["ts"] // 60_000 * 60 == b)]
        assert c == len(sel) and lo == sel["value"].min() and hi == sel["value"].max()
        assert s == pytest.approx(sel["value"].astype(np.float64).sum())
    assert cnt.sum() == len(good)


def test_retention_drops_old_rollups_at_most_hourly(site):
    _world, _gw, level, _temp = site
    now = datetime.datetime.now(UTC)
    old_minute = now - datetime.timedelta(days=40)
    old_hour = now - datetime.timedelta(days=4 * 365)
    Rollup.objects.bulk_create([
        Rollup(point=level, width=60, bucket=old_minute, n=1, vmin=1, vmax=1, vsum=1),
        Rollup(point=level, width=3600, bucket=old_minute, n=1, vmin=1, vmax=1, vsum=1),
        Rollup(point=level, width=3600, bucket=old_hour, n=1, vmin=1, vmax=1, vsum=1),
        Rollup(point=level, width=60, bucket=now, n=1, vmin=1, vmax=1, vsum=1)])
    result = rollup.retention(now)
    assert result["minute_rollups"] == 1 and result["hour_rollups"] == 1
    assert sorted((r.width, r.bucket) for r in Rollup.objects.all()) == [(60, now), (3600, old_minute)]
    assert rollup.retention(now + datetime.timedelta(minutes=30)) is None
    assert rollup.retention(now + datetime.timedelta(minutes=61)) is not None


def test_retention_drops_expired_raw_readings(site, settings):
    world, *_ = site
    send(world, Ingestor(), 1, [("LT-1001", real_ms() - MIN, 5.0)])
    later = datetime.datetime.now(UTC) + datetime.timedelta(days=settings.MONITORING_RAW_RETENTION_DAYS + 2)
    assert len(store.stored_messages()) == 1
    rollup.retention(later)
    assert len(store.stored_messages()) == 0


# --- flatline and quiet events -------------------------------------------------------------------------------

def test_flatline_opens_on_a_frozen_value_and_closes_when_it_moves(site, settings):
    settings.MONITORING_FLATLINE_MINUTES = 10
    settings.MONITORING_ROLLUP_LAG_S = 0
    world, gw, level, temp = site
    valve = make_point(world.ent_xm, "XV-1003", gateway=gw, name="紧急切断阀", kind="valve", unit="",
                       range_low=0, range_high=1, low_low=None, low=None, high=None, high_high=None)
    ing = Ingestor()
    start = (real_ms() // MIN - 16) * MIN
    readings = [(code, start + k * 10_000, v) for k in range(13 * 6) for code, v in
                (("LT-1001", 5.0), ("XV-1003", 1.0), ("TT-1002", 20.0 + (k % 3) * 0.1))]
    send(world, ing, 1, readings)
    rollup.run()
    now = at(start + 13 * MIN)

    assert tick.detect_flatlines(now) == {"opened": 1, "closed": 0}
    event = QualityEvent.objects.get(kind=QualityKind.FLATLINE)
    assert event.point_id == level.pk and event.detail["value"] == 5.0 and valve.pk != event.point_id
    assert tick.detect_flatlines(now + datetime.timedelta(seconds=30))["opened"] == 0

    send(world, ing, 2, [("LT-1001", start + 14 * MIN + k * 10_000, 5.0 + k) for k in range(6)])
    rollup.run()
    assert tick.detect_flatlines(at(start + 16 * MIN))["closed"] == 1
    event.refresh_from_db()
    assert not event.is_open and event.ended_at == at(start + 14 * MIN)


def test_too_few_readings_are_not_a_flatline(site, settings):
    settings.MONITORING_FLATLINE_MINUTES = 10
    settings.MONITORING_ROLLUP_LAG_S = 0
    world, *_ = site
    start = (real_ms() // MIN - 16) * MIN
    send(world, Ingestor(), 1, [("LT-1001", start + k * MIN, 5.0) for k in range(12)])  # 1 a minute, 10 s expected
    rollup.run()
    assert tick.detect_flatlines(at(start + 13 * MIN))["opened"] == 0


def test_quiet_quality_events_close_at_their_last_occurrence(site):
    world, gw, level, _temp = site
    now = datetime.datetime.now(UTC)
    old = now - datetime.timedelta(minutes=31)
    for kind, seen in ((QualityKind.OUT_OF_RANGE, old), (QualityKind.CLOCK_DRIFT, now),
                       (QualityKind.INTERRUPTION, old)):
        QualityEvent.objects.create(enterprise=world.ent_xm, gateway=gw, point=level, kind=kind,
                                    started_at=old, last_seen_at=seen)
    assert tick.close_quiet_events(now) == 1
    closed = QualityEvent.objects.get(is_open=False)
    assert closed.kind == QualityKind.OUT_OF_RANGE and closed.ended_at == old


# --- escalation ----------------------------------------------------------------------------------------------

@pytest.fixture
def county_officer(world):
    org = make_org("厦门市思明区应急管理局", OrganisationKind.EMERGENCY, "350203")
    return make_user("siming_officer", org, [R.REGULATOR_STAFF])


def raise_alarm(world, value=16.0, seq=1):
    send(world, Ingestor(), seq, [("LT-1001", real_ms() - 1000, value)])
    return Alarm.objects.order_by("-pk").first()


def recipients(alarm, kind):
    return sorted(Notification.objects.filter(alarm=alarm, key=f"alarm:{alarm.pk}:{kind}").values_list(
        "recipient__username", flat=True))


def test_unacknowledged_alarm_escalates_county_city_province(site, county_officer, published):
    world, *_ = site
    alarm = raise_alarm(world)
    t0 = alarm.created_at

    assert tick.escalate(t0 + datetime.timedelta(minutes=9)) == 0
    assert tick.escalate(t0 + datetime.timedelta(minutes=10)) == 1
    alarm.refresh_from_db()
    assert alarm.escalation == 1 and alarm.escalated_at == t0 + datetime.timedelta(minutes=10)
    assert recipients(alarm, "escalate:1") == ["siming_officer"]
    told = Notification.objects.filter(key=f"alarm:{alarm.pk}:escalate:1").first()
    assert told.title == f"未确认报警已升级至县级 · {world.ent_xm.name} · 高报 LT-1001 1#储罐液位"
    assert tick.escalate(t0 + datetime.timedelta(minutes=11)) == 0  # idempotent
    assert tick.escalate(t0 + datetime.timedelta(minutes=30)) == 1
    assert recipients(alarm, "escalate:2") == ["xm_officer"]
    assert tick.escalate(t0 + datetime.timedelta(minutes=60)) == 1
    assert recipients(alarm, "escalate:3") == ["province_officer"]
    assert tick.escalate(t0 + datetime.timedelta(minutes=600)) == 0
    alarm.refresh_from_db()
    assert alarm.escalation == 3
    assert not Notification.objects.filter(recipient=world.fz_officer).exists()
    escalated = [e for e in published if e["change"] == "escalated"]
    assert [e["escalation"] for e in escalated] == [1, 2, 3] and escalated[0]["county"] == "350203"
    assert escalated[0]["id"] == alarm.pk and escalated[0]["previous"] == 0


def test_a_late_tick_escalates_through_every_level_at_once(site, county_officer):
    world, *_ = site
    alarm = raise_alarm(world)
    assert tick.escalate(alarm.created_at + datetime.timedelta(hours=2)) == 1
    assert [recipients(alarm, f"escalate:{k}") for k in (1, 2, 3)] == [
        ["siming_officer"], ["xm_officer"], ["province_officer"]]


def test_acknowledged_and_cleared_alarms_do_not_escalate(site, county_officer):
    world, *_ = site
    alarm = raise_alarm(world)
    Alarm.objects.filter(pk=alarm.pk).update(status=AlarmStatus.ACTIVE_ACK)
    assert tick.escalate(alarm.created_at + datetime.timedelta(hours=2)) == 0
    Alarm.objects.filter(pk=alarm.pk).update(status=AlarmStatus.CLEARED_UNACK)
    assert tick.escalate(alarm.created_at + datetime.timedelta(hours=2)) == 0
    assert Alarm.objects.get(pk=alarm.pk).escalation == 0


# --- warning levels ---------------------------------------------------------------------------------------

def test_warning_level_follows_alarms_and_keeps_since_until_the_colour_changes(site, published):
    world, gw, level, temp = site
    now = datetime.datetime.now(UTC)
    assert warning_level.update_all(now) == {"computed": 1, "changed": 0}
    w = EnterpriseWarning.objects.get(enterprise=world.ent_xm)
    assert w.colour == "none" and w.reasons == []

    send(world, Ingestor(), 1, [("LT-1001", real_ms() - 1000, 19.0)])  # H and HH
    assert warning_level.update_all(now + datetime.timedelta(minutes=1))["changed"] == 1
    w.refresh_from_db()
    assert w.colour == "orange" and w.since == now + datetime.timedelta(minutes=1)
    assert w.inputs["values"]["level2_active"] == 1 and w.inputs["values"]["level1_active"] == 1
    assert w.inputs["weights"]["step_points"] == 4
    assert published[-1] == {"type": "warning", "enterprise_id": world.ent_xm.pk, "county": "350203",
                             "colour": "orange", "previous": "none", "score": 30.0,
                             "since": w.since.isoformat()}

    assert warning_level.update_all(now + datetime.timedelta(minutes=2))["changed"] == 0
    w.refresh_from_db()
    assert w.since == now + datetime.timedelta(minutes=1) and w.computed_at == now + datetime.timedelta(minutes=2)

    # the HH alarm persists past MONITORING_ALARM_PERSIST_MINUTES: red
    assert warning_level.update_all(now + datetime.timedelta(minutes=31))["changed"] == 1
    w.refresh_from_db()
    assert w.colour == "red" and w.since == now + datetime.timedelta(minutes=31)
    assert {r["factor"] for r in w.reasons} >= {"level2_active", "level2_persisting_or_multiple"}


def test_warning_inputs_count_interruptions_grade_and_major_hazards(site):
    from worksafe.hazards.models import Hazard

    world, gw, level, temp = site
    MajorHazard.objects.filter(pk=hazard_of(world.ent_xm).pk).update(status="registered", grade=1)
    Hazard.objects.create(enterprise=world.ent_xm, title="储罐区可燃气体探测器失效", level="major",
                          reported_by=world.ent_xm_head)
    Hazard.objects.create(enterprise=world.ent_xm, title="已整改", level="major", status="closed",
                          reported_by=world.ent_xm_head)
    QualityEvent.objects.create(enterprise=world.ent_xm, gateway=gw, kind=QualityKind.INTERRUPTION,
                                started_at=datetime.datetime.now(UTC))
    inputs = warning_level.gather([world.ent_xm.pk], datetime.datetime.now(UTC))[world.ent_xm.pk]
    assert (inputs.interruptions, inputs.hazard_grade, inputs.open_major_hazards, inputs.recent_accidents) == (
        1, 1, 1, 0)
    warning_level.update_all()
    w = EnterpriseWarning.objects.get()
    assert w.colour == "blue"  # 1 + 2 + 2 = 5 aggravating points: one step
    assert [r["factor"] for r in w.reasons] == ["interruptions", "open_major_hazards", "hazard_grade",
                                                "aggravating_points"]


def always_red(inputs, weights):
    return "red", 99.0, [{"factor": "custom", "value": weights.get("custom", 0), "effect": "red"}]


def test_the_warning_rule_is_replaceable(site, settings):
    settings.MONITORING_WARNING_RULE = "worksafe.monitoring.tests.test_tick.always_red"
    settings.MONITORING_WARNING_WEIGHTS = {"custom": 7}
    warning_level.update_all()
    w = EnterpriseWarning.objects.get()
    assert (w.colour, w.score, w.reasons[0]["value"]) == ("red", 99.0, 7)
    assert w.inputs["rule"] == "worksafe.monitoring.tests.test_tick.always_red"


def test_an_enterprise_without_points_drops_to_no_warning(site):
    world, gw, level, temp = site
    EnterpriseWarning.objects.create(enterprise=world.ent_xm, colour="red", score=40)
    Point.objects.update(active=False)
    assert warning_level.update_all()["changed"] == 1
    assert EnterpriseWarning.objects.get().colour == "none"


# --- the whole tick ----------------------------------------------------------------------------------------

def test_run_once_runs_every_step_without_error(site):
    world, *_ = site
    send(world, Ingestor(), 1, [("LT-1001", real_ms() - 1000, 16.0)])
    results = tick.run_once(datetime.datetime.now(UTC) + datetime.timedelta(minutes=15))
    assert [r.name for r in results] == ["rollup", "compaction", "interruptions", "sequence_gaps", "flatlines", "quiet_events",
                                         "escalation", "warnings", "outbox", "retention"]
    assert [r.error for r in results if r.error] == []
    assert Alarm.objects.get().escalation == 1
    assert Watermark.objects.filter(pk="rollup").exists()
    assert EnterpriseWarning.objects.get().colour == "blue"
    assert Notification.objects.filter(sent_at__isnull=True).count() == 0


def test_tick_command_prints_each_step(site, capsys):
    call_command("tick", "--only", "interruptions", "warnings")
    out = capsys.readouterr().out
    assert "interruptions" in out and "warnings" in out and "rollup" not in out


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
def test_a_second_tick_process_skips_the_locked_steps(site):
    import psycopg

    settings_dict = connection.settings_dict
    other = psycopg.connect(host=settings_dict["HOST"], port=settings_dict["PORT"] or 5432,
                            user=settings_dict["USER"], dbname=settings_dict["NAME"], autocommit=True)
    try:
        other.execute("SELECT pg_advisory_lock(hashtext(%s))", [tick.LOCK_NAME])
        results = {r.name: r for r in tick.run_once()}
        assert results["escalation"].error.startswith("skipped")
        assert results["outbox"].error == ""  # SKIP LOCKED makes it safe to run in both
        other.execute("SELECT pg_advisory_unlock(hashtext(%s))", [tick.LOCK_NAME])
    finally:
        other.close()
    assert all(not r.error for r in tick.run_once())
