"""The demo's gateways and points sit on the demo major hazard sources, with valid thresholds and some history."""

from collections import Counter

import pytest
from django.db.models import F

from worksafe.core.models import TransitionLog
from worksafe.enterprises.demo import build_demo as build_enterprises
from worksafe.majorhazards.demo import build_demo as build_majorhazards
from worksafe.majorhazards.models import MajorHazard
from worksafe.monitoring import views
from worksafe.monitoring.choices import AlarmStatus
from worksafe.monitoring.demo import CHEM_ENTERPRISE
from worksafe.monitoring.demo import build_demo as build_monitoring
from worksafe.monitoring.models import Alarm, DeadLetter, Gateway, Point, QualityEvent


@pytest.fixture
def demo_db(db):
    build_enterprises(enterprises=300)
    build_majorhazards(per_city=4)
    return build_monitoring()


def test_every_unit_gets_4_to_8_points_on_its_enterprises_one_gateway(demo_db):
    assert demo_db == Point.objects.count() > 0
    per_unit = Counter(Point.objects.values_list("hazard_id", flat=True))
    units = MajorHazard.objects.exclude(status="deregistered")
    assert set(per_unit) == set(units.values_list("pk", flat=True))
    assert min(per_unit.values()) >= 4 and max(per_unit.values()) <= 8
    assert Gateway.objects.count() == units.values("enterprise").distinct().count()
    assert not Point.objects.exclude(gateway__enterprise_id=F("enterprise_id")).exists()
    # thresholds rise inside the range, the hazard and gateway are the enterprise's own
    for point in Point.objects.select_related("hazard", "gateway"):
        point.full_clean(validate_unique=False)
    # GB/T 50493-2019 5.5.2: combustible gas level 1 at 25 %LEL, level 2 at 50 %LEL
    gas = Point.objects.filter(kind="flammable_gas")
    assert set(gas.values_list("unit", "high", "high_high")) == {("%LEL", 25.0, 50.0)}
    assert Point.objects.filter(kind="toxic_gas", unit="ppm").exists()
    # built once
    assert build_monitoring() == 0
    assert Point.objects.count() == demo_db


def test_history_has_alarms_in_every_state_with_their_readings_and_timeline(demo_db):
    statuses = set(Alarm.objects.values_list("status", flat=True))
    assert statuses == set(AlarmStatus.values)
    active = Alarm.objects.filter(status=AlarmStatus.ACTIVE_UNACK, enterprise__name=CHEM_ENTERPRISE).first()
    assert active is not None and active.point.alarm_mask  # the point is in alarm too
    # the readings around it cross the threshold at the raise
    readings = views.readings_around(active.point, active.raised_at)
    assert len(readings) > 10
    before = [v for t, v in readings if t < active.raised_ms - 5 * 60_000]
    assert before and max(before) < active.threshold <= active.peak_value
    # the acknowledged one has its steps (acknowledged, assigned, commented) by the demo accounts
    acked = Alarm.objects.get(status=AlarmStatus.ACTIVE_ACK)
    steps = TransitionLog.objects.filter(object_id=str(acked.pk), content_type__model="alarm")
    assert {s.action for s in steps} == {"acknowledge", "assign", "comment"}
    assert acked.acknowledged_by.username == "chem_staff" and acked.assignee.username == "chem_staff"
    assert QualityEvent.objects.filter(is_open=True).exists() and QualityEvent.objects.filter(is_open=False).exists()
    assert DeadLetter.objects.count() == 2
