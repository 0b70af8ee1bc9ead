"""Builders for monitoring tests, the simulator and the demo: a gateway and points on a major hazard."""

from __future__ import annotations

import json

from worksafe.majorhazards.models import MajorHazard
from worksafe.monitoring.models import Gateway, Point


def hazard_of(ent) -> MajorHazard:
    hazard, _created = MajorHazard.objects.get_or_create(
        enterprise=ent, code="MH-01",
        defaults={"name": f"{ent.name}液氨储罐区", "unit_kind": "storage", "people_within_500m": 40})
    return hazard


def make_gateway(ent, code: str = "GW01") -> Gateway:
    gw, _created = Gateway.objects.get_or_create(enterprise=ent, code=code, defaults={"name": f"{code} 网关"})
    return gw


def make_point(ent, code: str = "LT-1001", *, gateway: Gateway | None = None, hazard: MajorHazard | None = None,
               **fields) -> Point:
    defaults = dict(name="1#储罐液位", kind="level", unit="m", range_low=0, range_high=20, low_low=1, low=2, high=15,
                    high_high=18, deadband=0.2, sampling_period=10)
    defaults.update(fields)
    point, _created = Point.objects.update_or_create(
        enterprise=ent, code=code,
        defaults=dict(hazard=hazard or hazard_of(ent), gateway=gateway or make_gateway(ent), **defaults))
    return point


def payload(gateway: str, seq: int, readings: list[tuple]) -> bytes:
    """readings: (point code, ts epoch ms or RFC 3339 text, value[, quality])."""
    return json.dumps({"gateway": gateway, "seq": seq, "readings": [
        {"point": r[0], "ts": r[1], "value": r[2], **({"quality": r[3]} if len(r) > 3 else {})} for r in readings]}
    ).encode()
