"""The ingest pipeline: storage, dedupe, dead letters and alarms (on the suite's database)."""

import json
import time

import pytest

from worksafe.monitoring import codec, store
from worksafe.monitoring.choices import AlarmStatus
from worksafe.monitoring.ingest import Ingestor, Message
from worksafe.monitoring.models import Alarm, DeadLetter, Gateway, Notification, Point, ReadingBatch
from worksafe.monitoring.testing import make_gateway, make_point, payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(world):
    gw = make_gateway(world.ent_xm)
    level = make_point(world.ent_xm, "LT-1001", gateway=gw)
    gas = make_point(world.ent_xm, "GT-2001", gateway=gw, name="可燃气体", kind="flammable_gas", unit="%LEL",
                     range_low=0, range_high=100, low_low=None, low=None, high=25, high_high=50, deadband=1)
    return world, gw, level, gas


def now_ms():
    return int(time.time() * 1000) - 60_000


def msg(world, seq, readings, gateway="GW01"):
    return Message(payload(gateway, seq, readings), source="test", credit_code=world.ent_xm.credit_code,
                   gateway_code=gateway)


def stored_readings():
    out = []
    for *_key, rec in store.stored_messages():
        out += rec.tolist()
    return sorted(out)


def test_stores_readings_and_skips_redelivery(site):
    world, gw, level, gas = site
    t = now_ms()
    ing = Ingestor()
    m = msg(world, 1, [("LT-1001", t, 5.0), ("GT-2001", t, 3.0)])
    assert [o.status for o in ing.process([m])] == ["stored"]
    assert [o.status for o in ing.process([m, m])] == ["duplicate", "duplicate"]
    assert len(stored_readings()) == 2
    gw.refresh_from_db()
    assert (gw.first_seq, gw.max_seq, gw.received) == (1, 1, 1)


def test_altered_resend_is_a_conflict(site):
    world, *_ = site
    t = now_ms()
    ing = Ingestor()
    ing.process([msg(world, 7, [("LT-1001", t, 5.0)])])
    out = ing.process([msg(world, 7, [("LT-1001", t, 6.0)])])
    assert out[0].status == "conflict"
    assert DeadLetter.objects.filter(reason="altered_resend").exists()
    assert [r[2] for r in stored_readings()] == [5.0]


def test_bad_readings_go_to_dead_letters_good_ones_stay(site):
    world, *_ = site
    t = now_ms()
    out = Ingestor().process([msg(world, 1, [("LT-1001", t, 5.0), ("NOPE", t, 1.0), ("GT-2001", "yesterday", 1)])])
    assert out[0].status == "partial" and out[0].stored == 1 and out[0].rejected == 2
    dead = DeadLetter.objects.get()
    assert "unknown_point" in dead.detail and "invalid_reading" in dead.detail
    assert len(stored_readings()) == 1


def test_garbage_and_unknown_gateway_are_rejected(site):
    world, *_ = site
    ing = Ingestor()
    out = ing.process([Message(b"{not json", source="t", credit_code=world.ent_xm.credit_code, gateway_code="GW01"),
                       msg(world, 1, [("LT-1001", now_ms(), 1.0)], gateway="GW99")])
    assert [o.reason for o in out] == ["invalid_json", "unknown_gateway"]
    assert DeadLetter.objects.count() == 2 and len(store.stored_messages()) == 0


def test_one_alarm_per_crossing_with_deadband(site):
    world, gw, level, gas = site
    t = now_ms()
    ing = Ingestor()
    values = [10, 15.1, 14.9, 15.2, 14.85, 16, 14.7, 10]  # noisy around H=15 with deadband 0.2
    for k, v in enumerate(values):
        ing.process([msg(world, k + 1, [("LT-1001", t + k * 1000, v)])])
    alarms = list(Alarm.objects.filter(point=level))
    assert len(alarms) == 1
    a = alarms[0]
    assert (a.condition, a.level, a.raise_value, a.peak_value) == ("H", 1, pytest.approx(15.1), 16)
    assert a.status == AlarmStatus.CLEARED_UNACK  # back below 14.8 before anyone acknowledged it
    assert Notification.objects.filter(alarm=a).count() == 2  # ent_xm_staff and ent_xm_head, in-app


def test_high_high_raises_its_own_alarm_once(site):
    world, gw, level, gas = site
    t = now_ms()
    ing = Ingestor()
    ing.process([msg(world, 1, [("GT-2001", t, 10), ("GT-2001", t + 1000, 60), ("GT-2001", t + 2000, 55)])])
    got = sorted((a.condition, a.level, a.status) for a in Alarm.objects.filter(point=gas))
    assert got == [("H", 1, "active_unack"), ("HH", 2, "active_unack")]
    gas.refresh_from_db()
    assert gas.alarm_mask == 3


def test_batched_micro_batch_out_of_order_is_evaluated_in_time_order(site):
    world, gw, level, gas = site
    t = now_ms()
    ing = Ingestor()
    ing.process([msg(world, 2, [("LT-1001", t + 2000, 10)]), msg(world, 1, [("LT-1001", t + 1000, 16)])])
    a = Alarm.objects.get(point=level)
    assert a.status == AlarmStatus.CLEARED_UNACK and a.raise_value == 16


def test_late_excursion_gets_a_late_alarm(site):
    world, gw, level, gas = site
    t = now_ms()
    ing = Ingestor()
    ing.process([msg(world, 2, [("LT-1001", t + 5000, 10)])])
    ing.process([msg(world, 1, [("LT-1001", t + 1000, 16), ("LT-1001", t + 2000, 17)])])  # backfill
    a = Alarm.objects.get(point=level)
    assert a.late and a.status == AlarmStatus.CLEARED_UNACK and a.peak_value == 17
    ing.process([msg(world, 1, [("LT-1001", t + 1000, 16), ("LT-1001", t + 2000, 17)])])
    assert Alarm.objects.count() == 1


def test_min_duration_waits_before_raising(site):
    world, gw, level, gas = site
    Point.objects.filter(pk=level.pk).update(min_duration=5)
    t = now_ms()
    ing = Ingestor()
    ing.process([msg(world, 1, [("LT-1001", t, 16), ("LT-1001", t + 3000, 16), ("LT-1001", t + 4000, 10)])])
    assert not Alarm.objects.exists()
    ing.process([msg(world, 2, [("LT-1001", t + 10_000, 16), ("LT-1001", t + 15_000, 16.5)])])
    a = Alarm.objects.get()
    assert a.raised_ms == t + 10_000 and a.raised_at == codec.ms_to_datetime(t + 15_000)


def test_last_values_flush(site):
    world, gw, level, gas = site
    t = now_ms()
    ing = Ingestor()
    ing.process([msg(world, 1, [("LT-1001", t, 5.0), ("LT-1001", t + 1000, 6.0)])])
    ing.flush_last_values(force=True)
    level.refresh_from_db()
    assert level.last_value == 6.0 and level.last_ts == codec.ms_to_datetime(t + 1000)


def test_heartbeat_counts_sequence(site):
    world, *_ = site
    Ingestor().process([msg(world, 5, [])])
    gw = Gateway.objects.get()
    assert (gw.max_seq, gw.received) == (5, 1)


# --- late readings: the alarms end up as rules.step over all readings in time order would raise them -------

def replayed_alarms(level):
    """(condition, crossing ms, clear ms or None) per alarm of the point, from the database."""
    return sorted((a.condition, a.raised_ms, int(a.cleared_at.timestamp() * 1000) if a.cleared_at else None)
                  for a in Alarm.objects.filter(point=level))


def test_late_start_of_an_excursion_moves_the_alarm_back(site):
    world, gw, level, gas = site
    t = now_ms()
    ing = Ingestor()
    ing.process([msg(world, 1, [("LT-1001", t + 1000, 10.0)]), msg(world, 3, [("LT-1001", t + 3000, 16.5)])])
    ing.process([msg(world, 2, [("LT-1001", t + 2000, 16.0)])])  # the same excursion began earlier
    ing.process([msg(world, 4, [("LT-1001", t + 4000, 10.0)])])
    assert replayed_alarms(level) == [("H", t + 2000, t + 4000)]


def test_late_pieces_of_one_excursion_make_one_alarm(site):
    world, gw, level, gas = site
    t = now_ms()
    ing = Ingestor()
    ing.process([msg(world, 5, [("LT-1001", t + 5000, 10.0)])])
    for seq, k in ((2, 2), (3, 3), (4, 4)):  # an excursion arriving piece by piece after newer data
        ing.process([msg(world, seq, [("LT-1001", t + k * 1000, 16.0 + k / 10)])])
    assert replayed_alarms(level) == [("H", t + 2000, t + 5000)]
    assert Alarm.objects.get(point=level).peak_value == pytest.approx(16.4)


def test_late_normal_reading_splits_an_alarm(site):
    world, gw, level, gas = site
    t = now_ms()
    ing = Ingestor()
    ing.process([msg(world, 1, [("LT-1001", t, 16.0)])])
    ing.process([msg(world, 9, [("LT-1001", t + 9000, 10.0)])])  # lost in between, alarm cleared at t+9s
    ing.process([msg(world, k, [("LT-1001", t + k * 1000, v)])
                 for k, v in ((2, 10.0), (5, 17.0), (6, 10.0))])  # backfill: it ended at 2 s, then again at 5 s
    assert replayed_alarms(level) == [("H", t, t + 2000), ("H", t + 5000, t + 6000)]


def test_backfilled_normal_readings_outside_any_alarm_are_not_replayed(site, monkeypatch):
    from worksafe.monitoring import reevaluate

    world, gw, level, gas = site
    t = now_ms() - 3_600_000
    ing = Ingestor()
    ing.process([msg(world, 100, [("LT-1001", t + 100_000, 16.0)])])  # an alarm, later than the backfill …
    ing.process([msg(world, 101, [("LT-1001", t + 101_000, 10.0)])])  # … cleared
    replays = []
    real = reevaluate.reevaluate_point
    monkeypatch.setattr(reevaluate, "reevaluate_point", lambda *a, **k: replays.append(a[3]) or real(*a, **k))
    # an hour-old gap backfilled with normal readings: nothing to replay, nothing changes
    ing.process([msg(world, k, [("LT-1001", t + k * 1000, 9.0)]) for k in range(1, 60)])
    assert replays == [] and replayed_alarms(level) == [("H", t + 100_000, t + 101_000)]
    # a late normal reading inside the alarm ends it earlier: that one is replayed
    ing.process([msg(world, 99, [])])
    ing.process([msg(world, 80, [("LT-1001", t + 100_500, 10.0)])])
    assert replays == [t + 100_500] and replayed_alarms(level) == [("H", t + 100_000, t + 100_500)]
    # a late excursion is always replayed: nothing below the set point came until 100.5 s, so it is the same alarm
    ing.process([msg(world, 70, [("LT-1001", t + 70_000, 17.0)])])
    assert replays == [t + 100_500, t + 70_000] and replayed_alarms(level) == [("H", t + 70_000, t + 100_500)]


def test_alarm_order_does_not_depend_on_arrival_order(site):
    world, gw, level, gas = site
    t = now_ms()
    values = [10, 16, 16.5, 14.9, 14.5, 10, 17, 19, 17, 10, 16, 10]
    messages = [msg(world, k + 1, [("LT-1001", t + k * 1000, v)]) for k, v in enumerate(values)]
    import random

    random.Random(7).shuffle(messages)
    ing = Ingestor()
    for k in range(0, len(messages), 3):
        ing.process(messages[k:k + 3])
    # in time order: H 1→4 (back below 15−0.2 at 4), H 6→9, HH 7→8 (19 ≥ 18, back to 17 ≤ 17.8), H 10→11
    assert replayed_alarms(level) == [("H", t + 1000, t + 4000), ("H", t + 6000, t + 9000),
                                      ("H", t + 10_000, t + 11_000), ("HH", t + 7000, t + 8000)]


def test_gateway_clock_ahead_opens_a_drift_event_and_far_ahead_is_refused(site, settings):
    from worksafe.monitoring.models import QualityEvent

    world, gw, level, gas = site
    t = int(time.time() * 1000)
    ing = Ingestor()
    out = ing.process([msg(world, 1, [("LT-1001", t + 60_000, 5.0)])])  # 60 s ahead: stored, drift noted
    assert out[0].status == "stored"
    event = QualityEvent.objects.get(kind="clock_drift", gateway=gw)
    assert event.detail["ahead_ms"] >= 55_000
    out = ing.process([msg(world, 2, [("LT-1001", t + (settings.MONITORING_MAX_CLOCK_AHEAD_S + 60) * 1000, 5.0)])])
    assert out[0].status == "rejected" and out[0].reason == "future_timestamp"
    assert QualityEvent.objects.filter(kind="clock_drift").count() == 1  # the same open event, counted again
    assert QualityEvent.objects.get(kind="clock_drift").count == 2


# --- redelivery by sequence number (several messages share a row) -------------------------------------------------

def test_one_reading_messages_share_a_row_and_redelivery_is_still_recognised(site):
    world, gw, *_ = site
    t = now_ms()
    ing = Ingestor()
    batch = [msg(world, s, [("LT-1001", t + s, 5.0 + s)]) for s in range(1, 6)]
    assert [o.status for o in ing.process(batch)] == ["stored"] * 5
    assert ReadingBatch.objects.filter(gateway_id=gw.pk).count() == 1  # one row for the five messages
    assert [m[1] for m in store.stored_messages(gw.pk)] == [1, 2, 3, 4, 5]
    again = [batch[2], msg(world, 4, [("LT-1001", t + 4, 99.0)]), msg(world, 6, [("LT-1001", t + 6, 11.0)])]
    assert [o.status for o in ing.process(again)] == ["duplicate", "conflict", "stored"]
    assert [r[2] for r in stored_readings()] == [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]
    gw.refresh_from_db()
    assert (gw.first_seq, gw.max_seq, gw.received, gw.holes) == (1, 6, 6, [])


def test_a_late_message_fills_its_hole_and_a_second_copy_is_a_duplicate(site):
    world, gw, *_ = site
    t = now_ms()
    ing = Ingestor()
    ing.process([msg(world, s, [("LT-1001", t + s, 5.0)]) for s in (1, 2, 5)])
    gw.refresh_from_db()
    assert [h[:2] for h in gw.holes] == [[3, 4]] and gw.missing == 2
    late = msg(world, 3, [("LT-1001", t + 3, 6.0)])
    assert [o.status for o in ing.process([late])] == ["stored"]
    assert [o.status for o in ing.process([late])] == ["duplicate"]
    gw.refresh_from_db()
    assert [h[:2] for h in gw.holes] == [[4, 4]] and gw.missing == 1


def test_a_forgotten_hole_is_looked_up_and_its_message_stored(site):
    world, gw, *_ = site
    t = now_ms()
    ing = Ingestor()
    ing.process([msg(world, s, [("LT-1001", t + s, 5.0)]) for s in (1, 9)])
    # as if more than MAX_HOLES had been open and 2–5 forgotten
    Gateway.objects.filter(pk=gw.pk).update(holes=[[6, 8, 0]], seq_forgotten=5)
    assert [o.status for o in ing.process([msg(world, 4, [("LT-1001", t + 4, 6.0)])])] == ["stored"]
    assert [m[1] for m in store.stored_messages(gw.pk)] == [1, 4, 9]
    # a number the bookkeeping is sure of, not found under the message's time: an altered re-send
    assert [o.status for o in ing.process([msg(world, 9, [("LT-1001", t - 3_600_000, 6.0)])])] == ["conflict"]


def test_an_altered_resend_on_another_day_is_a_conflict(site):
    world, *_ = site
    t = now_ms()
    ing = Ingestor()
    ing.process([msg(world, 7, [("LT-1001", t, 5.0)])])
    out = ing.process([msg(world, 7, [("LT-1001", t - 86_400_000, 6.0)])])  # same seq, readings a day earlier
    assert out[0].status == "conflict" and [r[2] for r in stored_readings()] == [5.0]
    dead = DeadLetter.objects.get(reason="altered_resend")
    assert json.loads(bytes(dead.payload))["readings"][0]["value"] == 6.0  # the altered content is kept
    assert dead.detail == "序号 7 已收到过内容不同的消息；保留首次收到的版本。"


def test_a_repeated_heartbeat_is_a_duplicate(site):
    world, gw, *_ = site
    ing = Ingestor()
    assert [o.status for o in ing.process([msg(world, 3, [])])] == ["stored"]
    assert [o.status for o in ing.process([msg(world, 3, [])])] == ["duplicate"]
    gw.refresh_from_db()
    assert gw.received == 1


def test_a_renamed_gateway_is_known_by_its_new_code_at_once(site):
    world, gw, *_ = site
    ing = Ingestor()
    t = now_ms()
    assert [o.status for o in ing.process([msg(world, 1, [("LT-1001", t, 5.0)])])] == ["stored"]
    gw.code = "GW-NEW"
    gw.save()
    out = ing.process([msg(world, 2, [("LT-1001", t + 1, 5.5)], gateway="GW-NEW")])
    assert [o.status for o in out] == ["stored"]  # not refused for up to Directory.REFRESH_S
    out = ing.process([msg(world, 3, [("LT-1001", t + 2, 6.0)], gateway="GW01")])
    assert [o.status for o in out] == ["rejected"] and out[0].reason == "unknown_gateway"
