"""Monitoring entries for the generic authorisation test (core/tests/test_scoping.py)."""

import datetime

from worksafe.core.tests.spec import ScopedSpec
from worksafe.monitoring.forms import POINT_FIELDS
from worksafe.monitoring.models import Alarm, DeadLetter, Gateway, Point, QualityEvent
from worksafe.monitoring.testing import hazard_of, make_point

RAISED = datetime.datetime(2026, 11, 2, 8, 30, tzinfo=datetime.UTC)


def gateway_of(ent) -> Gateway:
    """The enterprise's gateway; codes differ per enterprise so an export row names its gateway."""
    gw, _created = Gateway.objects.get_or_create(enterprise=ent, code=f"GW{ent.pk:02d}",
                                                 defaults={"name": f"{ent.name[:4]}数据采集网关"})
    return gw


def _gateway_data(world, gw):
    return {"enterprise": gw.enterprise_id, "code": gw.code, "name": gw.name, "active": "on" if gw.active else ""}


def _gateway_api(world, gw):
    return {"enterprise": gw.enterprise_id, "code": gw.code, "name": gw.name, "active": gw.active}


def point_of(ent) -> Point:
    return make_point(ent, f"LT-{ent.pk:02d}01", gateway=gateway_of(ent))


def _point_api(world, p):
    return {f: getattr(p, p._meta.get_field(f).attname) for f in POINT_FIELDS}


def _point_data(world, p):
    data = {k: "" if v is None else v for k, v in _point_api(world, p).items()}
    data["active"] = "on" if p.active else ""
    return data


def _point_move(world, p):
    return {"enterprise": world.ent_fz.pk, "hazard": hazard_of(world.ent_fz).pk,
            "gateway": gateway_of(world.ent_fz).pk}


def _alarm(world, ent):
    point = point_of(ent)
    return Alarm.objects.create(point=point, enterprise=ent, hazard=point.hazard, condition="HH", level=2,
                                threshold=point.high_high, raised_at=RAISED, raised_ms=int(RAISED.timestamp() * 1000),
                                raise_value=18.4, peak_value=19.1)


def _quality(world, ent):
    return QualityEvent.objects.create(enterprise=ent, gateway=gateway_of(ent), kind="interruption",
                                       started_at=RAISED, detail={"seconds": 600})


def _dead(world, ent):
    gw = gateway_of(ent)
    return DeadLetter.objects.create(source=f"worksafe/v1/{ent.credit_code}/{gw.code}/data", gateway=gw,
                                     enterprise=ent, reason="unknown_point", detail="#0: unknown_point XT-9",
                                     payload=b'{"gateway": "GW", "seq": 1, "readings": []}')


_READ_ONLY = dict(form_data=None, new_data=None, move=None, api_data=None, ui_names=["list", "detail"],
                  writable=False)

SPECS = [
    ScopedSpec(model=Gateway, make=lambda world, ent: gateway_of(ent), form_data=_gateway_data,
               new_data=lambda world, gw: {**_gateway_data(world, gw), "code": f"{gw.code}-B"},
               move=lambda world, gw: {"enterprise": world.ent_fz.pk}, api="monitoring/gateways",
               api_data=_gateway_api),
    ScopedSpec(model=Point, make=lambda world, ent: point_of(ent), form_data=_point_data,
               new_data=lambda world, p: {**_point_data(world, p), "code": f"{p.code}-B"},
               move=_point_move, api="monitoring/points", api_data=_point_api),
    ScopedSpec(model=Alarm, make=_alarm, api="monitoring/alarms", **_READ_ONLY),
    ScopedSpec(model=QualityEvent, make=_quality, api="monitoring/qualityevents", **_READ_ONLY),
    ScopedSpec(model=DeadLetter, make=_dead, api="monitoring/deadletters", **_READ_ONLY),
]

# Steps and pages scoped with get_visible_or_404 / visible_to like the rest, tested by hand.
COVERED_ELSEWHERE = {
    "monitoring:gateway_token": "test_views.py::test_issue_token_*",
    "monitoring:alarm_acknowledge": "test_alarms.py::test_*acknowledge*",
    "monitoring:alarm_assign": "test_alarms.py::test_assign_*",
    "monitoring:alarm_comment": "test_alarms.py::test_comment_*",
    "api-1:alarm-acknowledge": "test_alarms.py::test_api_*",
    # the live board (board.py): every row through visible_to, every event through the Viewer's scope
    "monitoring:board": "test_board.py::test_board_*",
    "monitoring:board_events": "test_board.py::test_*stream*",
    "monitoring:board_state": "test_board.py::test_state_json_*",
    "monitoring:board_map": "test_board.py::test_map_*",
    "monitoring:point_chart": "test_board.py::test_point_page_*",
    "monitoring:point_trend": "test_board.py::test_trend_*",
    # data quality, warning levels and the inbox (quality_views.py)
    "monitoring:quality": "test_quality_views.py::test_quality_*, test_regulator_sees_scores_*",
    "monitoring:warnings": "test_quality_views.py::test_warning_list_*",
    "monitoring:warning_detail": "test_quality_views.py::test_warning_detail_*",
    "monitoring:inbox": "test_quality_views.py::test_inbox_*, test_marking_read_*",
    # the gateways' own endpoint: a gateway token, not a user (test_api_telemetry.py)
    "api-1:post_telemetry": "test_api_telemetry.py",
}
