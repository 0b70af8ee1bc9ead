"""Demo monitoring: one gateway per enterprise with major hazard sources, 4–8 realistic points per unit, and a
little history (alarms in every state with their readings, data-quality events, rejected messages) so the
pages are not empty before `worksafe simulate` runs.

Deterministic given the seed and the current time (times are relative to now), and idempotent: nothing is
created when any gateway exists. Gas alarm set points follow GB/T 50493-2019 5.5.2 (combustible: level 1
25 %LEL, level 2 50 %LEL; toxic: about 100 % / 200 % of the occupational exposure limit).

The readings around the historical alarms are stored like gateway messages but under negative sequence
numbers, so they never collide with what a gateway or the simulator sends (numbers from 0 up); the
gateways' own sequence bookkeeping is left untouched.
"""

from __future__ import annotations

import datetime
import math
import random
from dataclasses import dataclass

import numpy as np
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from worksafe.core.models import TransitionLog, User
from worksafe.majorhazards.models import MajorHazard
from worksafe.monitoring import codec, rules, store
from worksafe.monitoring.choices import AlarmStatus, PointKind, QualityKind
from worksafe.monitoring.ingest import queue_alarm_notifications
from worksafe.monitoring.models import Alarm, DeadLetter, Gateway, Point, QualityEvent

CHEM_ENTERPRISE = "福建泉港恒信石化有限公司"  # the enterprise of the demo accounts chem_admin / chem_staff
CHEM_COUNTY = "350505"  # 泉港区: its bureau has the demo account county_admin
K = PointKind


@dataclass(frozen=True)
class Template:
    prefix: str  # tag prefix: LT level, PT pressure, TT temperature, FT flow, GT combustible, AT toxic, XV valve
    name: str
    kind: str
    unit: str
    range: tuple[float, float]
    thresholds: tuple  # (LL, L, H, HH), None where the point has no such set point
    normal: tuple[float, float]  # where the value usually sits
    deadband: float = 0.0
    sampling: int = 10
    min_duration: int = 0


def _tank(n, height, pressure=None, temp=(40, 45)):
    """A storage tank's level (and pressure) points; set points at ~85 % / 90 % of the height."""
    rows = [Template("LT", f"{n}#储罐液位", K.LEVEL, "m", (0, height),
                     (round(height * 0.07, 1), round(height * 0.12, 1), round(height * 0.85, 1),
                      round(height * 0.9, 1)), (height * 0.35, height * 0.7), deadband=0.05)]
    if pressure:
        rows.append(Template("PT", f"{n}#储罐压力", K.PRESSURE, "MPa", (0, pressure[2]), (None, None, *pressure[:2]),
                             (pressure[0] * 0.45, pressure[0] * 0.75), deadband=0.02))
    rows.append(Template("TT", f"{n}#储罐温度", K.TEMPERATURE, "°C", (-20, 80), (None, None, *temp), (18, 32),
                         deadband=0.5, sampling=30))
    return rows


def _gas(n, where, flammable=True, toxic=None):
    if flammable:
        return [Template("GT", f"{where}{n}#可燃气体检测器", K.FLAMMABLE_GAS, "%LEL", (0, 100), (None, None, 25, 50),
                         (0, 3), deadband=1, sampling=5, min_duration=5)]
    label, high, high_high, top = toxic
    return [Template("AT", f"{where}{n}#{label}检测器", K.TOXIC_GAS, "ppm", (0, top), (None, None, high, high_high),
                     (0, high * 0.15), deadband=high * 0.05, sampling=5, min_duration=5)]


VALVE = Template("XV", "紧急切断阀阀位", K.VALVE, "", (0, 1), (None, None, None, None), (1, 1), sampling=30)

# Points per demo unit (majorhazards/demo.py UNITS), most important first; a unit gets the first 4–8.
POINTS = {
    "液氨储罐区": [*_tank(1, 12, (1.6, 1.8, 2.5)), *_gas(1, "罐区", False, ("氨气", 25, 50, 100)), VALVE,
               *_gas(2, "罐区", False, ("氨气", 25, 50, 100)), *_tank(2, 12, (1.6, 1.8, 2.5))],
    "液氯库": [*_gas(1, "库房", False, ("氯气", 0.3, 0.6, 10)), *_gas(2, "库房", False, ("氯气", 0.3, 0.6, 10)),
            Template("TT", "库房温度", K.TEMPERATURE, "°C", (-20, 60), (None, None, 35, 40), (18, 30), deadband=0.5,
                     sampling=30),
            Template("WT", "在用液氯钢瓶称重", K.OTHER, "t", (0, 1.2), (0.05, 0.1, None, None), (0.3, 0.9), sampling=30),
            Template("XV", "碱液吸收装置风机", K.VALVE, "", (0, 1), (None, None, None, None), (1, 1), sampling=30)],
    "液化烃罐区": [*_tank(1, 12.3, (1.4, 1.6, 2.5)), *_gas(1, "球罐区"), *_gas(2, "球罐区"), VALVE,
              *_tank(2, 12.3, (1.4, 1.6, 2.5))],
    "汽油罐区": [*_tank(1, 18), *_gas(1, "罐区"), *_tank(2, 18), *_gas(2, "罐区"), VALVE],
    "甲醇罐区": [*_tank(1, 16), *_gas(1, "罐区"), *_tank(2, 16), *_gas(2, "罐区"), VALVE],
    "苯储罐区": [*_tank(1, 14), *_gas(1, "罐区"), *_gas(1, "罐区", False, ("苯", 1.8, 3.6, 20)), *_tank(2, 14), VALVE],
    "环氧乙烷装置": [
        Template("TT", "反应器出口温度", K.TEMPERATURE, "°C", (0, 350), (None, None, 260, 275), (225, 245), deadband=1),
        Template("PT", "反应器压力", K.PRESSURE, "MPa", (0, 3), (None, None, 2.2, 2.4), (1.8, 2.0), deadband=0.02),
        Template("FT", "循环冷却水流量", K.FLOW, "m³/h", (0, 200), (40, 60, None, None), (110, 140), deadband=2),
        *_gas(1, "装置区"), *_gas(1, "装置区", False, ("环氧乙烷", 1, 2, 10)), VALVE, *_gas(2, "装置区")],
    "合成氨装置": [
        Template("TT", "合成塔热点温度", K.TEMPERATURE, "°C", (0, 600), (None, None, 500, 520), (460, 480), deadband=1),
        Template("PT", "合成塔压力", K.PRESSURE, "MPa", (0, 32), (None, None, 28, 30), (24, 26), deadband=0.1),
        *_gas(1, "压缩机房"), *_gas(1, "氨冷器", False, ("氨气", 25, 50, 100)),
        Template("FT", "循环气流量", K.FLOW, "km³/h", (0, 400), (150, 200, None, None), (260, 300), deadband=3),
        VALVE, *_gas(2, "装置区")],
    "硫磺回收装置": [
        Template("TT", "反应炉炉膛温度", K.TEMPERATURE, "°C", (0, 1600), (None, None, 1350, 1400), (1150, 1250),
                 deadband=5),
        Template("PT", "反应炉压力", K.PRESSURE, "kPa", (0, 100), (None, None, 60, 80), (30, 45), deadband=1),
        *_gas(1, "装置区", False, ("硫化氢", 6, 12, 100)), *_gas(2, "装置区", False, ("硫化氢", 6, 12, 100)),
        *_gas(1, "装置区"), VALVE],
}
FALLBACK = POINTS["汽油罐区"]


def _code(template: Template, unit_no: int, serial: int) -> str:
    return f"{template.prefix}-{unit_no}{serial:03d}"


def _round(value: float) -> float:
    return float(f"{value:.4g}")


def build_demo(stdout=None, seed: int = 2017) -> int:
    """Create the demo gateways, points and history; returns how many points were created (0 when present)."""
    if Gateway.objects.exists():
        return 0
    hazards = list(MajorHazard.objects.exclude(status="deregistered").select_related("enterprise")
                   .order_by("enterprise_id", "code"))
    if not hazards:
        return 0
    rng = random.Random(f"{seed}/monitoring")
    now = timezone.now()
    with transaction.atomic():
        gateways = {}
        for hazard in hazards:
            if hazard.enterprise_id not in gateways:
                gateways[hazard.enterprise_id] = Gateway(enterprise=hazard.enterprise, code="GW01",
                                                         name="DCS数据采集网关", created_at=now)
        Gateway.objects.bulk_create(gateways.values())
        gateways = {g.enterprise_id: g for g in Gateway.objects.all()}
        points, units = [], {}
        for hazard in hazards:
            unit_no = units[hazard.enterprise_id] = units.get(hazard.enterprise_id, 0) + 1
            templates = POINTS.get(hazard.name, FALLBACK)
            for serial, t in enumerate(templates[:rng.randint(4, min(8, len(templates)))], start=1):
                lo, hi = t.normal
                ll, low, high, hh = t.thresholds
                points.append(Point(
                    enterprise_id=hazard.enterprise_id, hazard=hazard, gateway=gateways[hazard.enterprise_id],
                    code=_code(t, unit_no, serial), name=t.name, kind=t.kind, unit=t.unit, range_low=t.range[0],
                    range_high=t.range[1], low_low=ll, low=low, high=high, high_high=hh, deadband=t.deadband,
                    min_duration=t.min_duration, sampling_period=t.sampling,
                    last_value=_round(rng.uniform(lo, hi)),
                    last_ts=now - datetime.timedelta(seconds=rng.randint(1, t.sampling)), created_at=now))
        Point.objects.bulk_create(points, batch_size=1000)
        points = list(Point.objects.select_related("enterprise").order_by("enterprise_id", "code"))
        history = _History(rng, now, points)
        history.alarms()
        history.quality(gateways)
        history.rejected(gateways)
    if stdout is not None:
        stdout.write(f"Created {len(gateways)} monitoring gateways, {len(points)} points and "
                     f"{history.alarm_count} alarms.\n")
    return len(points)


# (status, minutes ago, minutes until cleared or None, condition, where, escalation level, extras)
# where: "chem" (the demo accounts' enterprise), "county" (another in 泉港), "zhangzhou", "fuzhou", "any"
PLAN = [
    (AlarmStatus.ACTIVE_UNACK, 3, None, "HH", "chem", 0, ()),
    (AlarmStatus.ACTIVE_UNACK, 45, None, "H", "county", 2, ()),
    (AlarmStatus.ACTIVE_UNACK, 8, None, "H", "zhangzhou", 0, ()),
    (AlarmStatus.ACTIVE_ACK, 25, None, "H", "chem", 0, ("ack", "assign", "comment")),
    (AlarmStatus.CLEARED_UNACK, 130, 6, "H", "zhangzhou", 2, ()),
    (AlarmStatus.CLEARED_UNACK, 300, 14, "L", "fuzhou", 3, ()),
    (AlarmStatus.CLEARED_UNACK, 50, 3, "H", "chem", 1, ()),
    (AlarmStatus.CLOSED, 26 * 60, 9, "HH", "chem", 0, ("ack", "comment")),
    (AlarmStatus.CLOSED, 2 * 24 * 60 + 200, 4, "H", "chem", 0, ("ack_cleared",)),
    (AlarmStatus.CLOSED, 3 * 24 * 60 + 75, 22, "H", "county", 1, ("ack_regulator", "comment_regulator")),
    (AlarmStatus.CLOSED, 5 * 24 * 60 + 40, 11, "LL", "any", 3, ("ack_province",)),
]


class _History:
    def __init__(self, rng: random.Random, now: datetime.datetime, points: list[Point]):
        self.rng, self.now, self.points = rng, now, points
        self.alarm_count = 0
        self.used: set[int] = set()
        self.seq = 0
        self.messages: list[tuple[int, int, int, bytes]] = []  # (gateway id, seq, t0 ms, packed readings)
        users = {u.username: u for u in User.objects.filter(
            username__in=["chem_admin", "chem_staff", "county_admin", "province_admin"])}
        self.users = users
        self.ct = ContentType.objects.get_for_model(Alarm)

    def _pool(self, where: str) -> list[Point]:
        if where == "chem":
            return [p for p in self.points if p.enterprise.name == CHEM_ENTERPRISE]
        if where == "county":
            return [p for p in self.points if p.enterprise.county_id == CHEM_COUNTY
                    and p.enterprise.name != CHEM_ENTERPRISE]
        if where == "zhangzhou":
            return [p for p in self.points if p.enterprise.county_id.startswith("3506")]
        if where == "fuzhou":
            return [p for p in self.points if p.enterprise.county_id.startswith("3501")]
        return list(self.points)

    def _pick(self, where: str, condition: str) -> Point | None:
        field = {"H": "high", "HH": "high_high", "L": "low", "LL": "low_low"}[condition]
        for pool in (self._pool(where), self.points):
            fitting = [p for p in pool if getattr(p, field) is not None and p.pk not in self.used]
            if fitting:
                point = self.rng.choice(fitting)
                self.used.add(point.pk)
                return point
        return None

    def alarms(self) -> None:
        for status, minutes_ago, cleared_after, condition, where, escalation, extras in PLAN:
            point = self._pick(where, condition)
            if point is None:
                continue
            self._alarm(point, status, minutes_ago, cleared_after, condition, escalation, extras)
        store.ensure_partitions({codec.utc_day(m[2]) for m in self.messages})
        store.write_entries(self.messages, self.now)

    def _alarm(self, point, status, minutes_ago, cleared_after, condition, escalation, extras) -> None:
        rng, th = self.rng, point.thresholds()
        threshold = th[condition]
        high = rules.HIGH_SIDE[condition]
        span = (point.range_high or threshold * 2) - (point.range_low or 0)
        sign = 1 if high else -1
        raised = (self.now - datetime.timedelta(minutes=minutes_ago)).replace(microsecond=0)
        cleared = raised + datetime.timedelta(minutes=cleared_after) if cleared_after else None
        peak = threshold + sign * span * rng.uniform(0.01, 0.04)
        beyond = th.get({"H": "HH", "L": "LL"}.get(condition, ""))
        if beyond is not None:  # a level-1 alarm's peak stays short of the level-2 set point
            peak = threshold + (min if high else max)(peak - threshold, (beyond - threshold) * 0.8)
        peak = _round(peak)
        raise_value = _round(threshold + sign * span * 0.002)
        alarm = Alarm.objects.create(
            point=point, enterprise_id=point.enterprise_id, hazard_id=point.hazard_id, condition=condition,
            level=rules.LEVEL[condition], status=status, threshold=threshold, raised_at=raised,
            raised_ms=int(raised.timestamp() * 1000), raise_value=raise_value, peak_value=peak, cleared_at=cleared,
            escalation=escalation, created_at=raised,
            escalated_at=raised + datetime.timedelta(minutes=[0, 10, 30, 60][escalation]) if escalation else None)
        self.alarm_count += 1
        self._readings(point, alarm, peak)
        if cleared is None:  # still active: the point is in alarm now, and its people have a notice
            Point.objects.filter(pk=point.pk).update(alarm_mask=rules.MASK[condition], last_value=peak,
                                                     last_ts=self.now, state_ts=int(self.now.timestamp() * 1000))
        if status != AlarmStatus.CLOSED:
            queue_alarm_notifications(alarm, point, kind="raised")
        self._steps(alarm, status, raised, cleared, extras)

    def _steps(self, alarm, status, raised, cleared, extras) -> None:
        """The people's steps: the demo accounts of the enterprise when it is theirs, else the regulator
        (泉港's county bureau for its enterprises, the province elsewhere)."""
        u = self.users
        own = alarm.enterprise.name == CHEM_ENTERPRISE
        staff = u.get("chem_staff") if own else None
        head = u.get("chem_admin") if own else None
        regulator = u.get("county_admin") if alarm.enterprise.county_id == CHEM_COUNTY else u.get("province_admin")
        logs = []

        def log(action, by, at, comment="", data=None, frm=status, to=status):
            logs.append(TransitionLog(content_type=self.ct, object_id=str(alarm.pk), action=action, from_state=frm,
                                      to_state=to, by=by, at=at, comment=comment, data=data or {}))

        ack = None
        if "ack" in extras:
            ack = (raised + datetime.timedelta(minutes=4), staff or regulator, "acknowledge", "现场确认，已通知班长处置。")
        elif "ack_cleared" in extras:
            ack = (cleared + datetime.timedelta(minutes=20), head or regulator, "acknowledge_cleared",
                   "已恢复正常，原因为进料波动。")
        elif "ack_regulator" in extras:
            ack = (raised + datetime.timedelta(minutes=12), regulator, "acknowledge", "已电话督促企业处置。")
        elif "ack_province" in extras:
            ack = ((cleared or raised) + datetime.timedelta(minutes=30), u.get("province_admin"),
                   "acknowledge_cleared", "")
        if ack and ack[1] is not None:
            at, by, action, text = ack
            if action == "acknowledge":
                log(action, by, at, text, frm=AlarmStatus.ACTIVE_UNACK, to=AlarmStatus.ACTIVE_ACK)
            else:
                log(action, by, at, text, frm=AlarmStatus.CLEARED_UNACK, to=AlarmStatus.CLOSED)
            Alarm.objects.filter(pk=alarm.pk).update(acknowledged_at=at, acknowledged_by=by)
        elif status == AlarmStatus.CLOSED:  # no account to name (the demo has few): closed when it cleared
            Alarm.objects.filter(pk=alarm.pk).update(acknowledged_at=cleared)
        if "assign" in extras and head and staff:
            log("assign", head, raised + datetime.timedelta(minutes=6), "请立即到现场核实液位并降低进料。",
                {"assignee_id": staff.pk, "assignee": str(staff)})
            Alarm.objects.filter(pk=alarm.pk).update(assignee=staff)
        if "comment" in extras and (staff or regulator):
            log("comment", staff or regulator, raised + datetime.timedelta(minutes=9),
                "已关小进料阀，液位回落中。" if staff else "已要求企业报告处置情况。")
        if "comment_regulator" in extras and regulator:
            log("comment", regulator, raised + datetime.timedelta(minutes=40), "企业已反馈处置情况，持续关注。")
        TransitionLog.objects.bulk_create(logs)

    def _readings(self, point: Point, alarm: Alarm, peak: float) -> None:
        """Readings every sampling period from 15 minutes before the alarm to 15 minutes after (or now): the
        normal band, a rise through the threshold at the raise, the peak, back down when it cleared."""
        rng = self.rng
        raised_ms = alarm.raised_ms
        cleared_ms = int(alarm.cleared_at.timestamp() * 1000) if alarm.cleared_at else None
        now_ms = int(self.now.timestamp() * 1000)
        start, end = raised_ms - 15 * 60_000, min(now_ms, raised_ms + 15 * 60_000)
        step = point.sampling_period * 1000
        ts = np.arange(start, end, step, dtype=np.int64)
        base = point.last_value if point.last_value is not None else alarm.threshold * 0.8
        sign = 1 if rules.HIGH_SIDE[alarm.condition] else -1
        back = alarm.threshold - sign * (point.deadband * 1.5 + abs(peak - alarm.threshold) * 0.3)
        noise = max(abs(alarm.threshold - base), 1e-3) * 0.004
        rise = 4 * 60_000  # the value climbs towards the threshold over the 4 minutes before the raise
        values = []
        for t in ts.tolist():
            if t < raised_ms - rise:
                v = base
            elif t < raised_ms:
                v = base + (alarm.threshold - base) * (1 - (raised_ms - t) / rise) * 0.98
            elif cleared_ms is None or t < cleared_ms:
                frac = min(1.0, (t - raised_ms) / 120_000)
                v = alarm.raise_value + (peak - alarm.raise_value) * math.sin(frac * math.pi / 2)
            else:  # back past the threshold by more than the deadband, then settling towards normal
                v = back + (base - back) * min(1.0, (t - cleared_ms) / 300_000)
            values.append(v + rng.gauss(0, noise))
        if not len(ts):
            return
        values = np.array(values, dtype=np.float64)
        for chunk in range(0, len(ts), 6):  # one message per 6 readings, as a gateway scan would send
            part = slice(chunk, chunk + 6)
            ids = np.full(len(ts[part]), point.pk, dtype=np.int32)
            t0, data = codec.pack(ids, ts[part], values[part], np.zeros(len(ts[part]), dtype=np.uint8))
            self.seq -= 1
            self.messages.append((point.gateway_id, self.seq, t0, data))

    def quality(self, gateways: dict) -> None:
        now, rng = self.now, self.rng
        chem = next((g for g in gateways.values() if g.enterprise.name == CHEM_ENTERPRISE), None)
        others = [g for g in gateways.values() if g is not chem]
        events = []
        if others:
            gw = rng.choice(others)
            events.append(QualityEvent(enterprise_id=gw.enterprise_id, gateway=gw, kind=QualityKind.INTERRUPTION,
                                       started_at=now - datetime.timedelta(minutes=40), last_seen_at=now,
                                       detail={"reason": "no data"}))
        gw = chem or (others[0] if others else None)
        if gw is None:
            return
        day = timezone.localtime(now) - datetime.timedelta(days=1)
        points = [p for p in self.points if p.gateway_id == gw.pk]
        events += [
            QualityEvent(enterprise_id=gw.enterprise_id, gateway=gw, kind=QualityKind.INTERRUPTION,
                         started_at=day.replace(hour=2, minute=10), ended_at=day.replace(hour=2, minute=35),
                         is_open=False, backfilled=12, detail={"reason": "gateway restart"}),
            QualityEvent(enterprise_id=gw.enterprise_id, gateway=gw, kind=QualityKind.SEQUENCE_GAP,
                         started_at=day.replace(hour=9, minute=3), ended_at=day.replace(hour=9, minute=3),
                         is_open=False, count=3, detail={"missing": 3}),
            QualityEvent(enterprise_id=gw.enterprise_id, gateway=gw, kind=QualityKind.CLOCK_DRIFT,
                         started_at=now - datetime.timedelta(days=3), ended_at=now - datetime.timedelta(days=3, hours=-2),
                         is_open=False, detail={"ahead_ms": 45_000}),
        ]
        if points:
            flat, wild = points[0], points[-1]
            events += [
                QualityEvent(enterprise_id=gw.enterprise_id, gateway=gw, point=flat, kind=QualityKind.FLATLINE,
                             started_at=now - datetime.timedelta(days=2, hours=5),
                             ended_at=now - datetime.timedelta(days=2, hours=3), is_open=False, count=720),
                QualityEvent(enterprise_id=gw.enterprise_id, gateway=gw, point=wild, kind=QualityKind.OUT_OF_RANGE,
                             started_at=now - datetime.timedelta(days=4), ended_at=now - datetime.timedelta(days=4),
                             is_open=False, count=4),
            ]
        QualityEvent.objects.bulk_create(events)

    def rejected(self, gateways: dict) -> None:
        gw = next((g for g in gateways.values() if g.enterprise.name == CHEM_ENTERPRISE), None) or next(
            iter(gateways.values()))
        topic = f"worksafe/v1/{gw.enterprise.credit_code}/{gw.code}/data"
        at = self.now - datetime.timedelta(hours=3)
        DeadLetter.objects.bulk_create([
            DeadLetter(received_at=at, source=topic, gateway=gw, enterprise_id=gw.enterprise_id, reason="invalid_json",
                       detail="truncated message", payload=b'{"gateway": "GW01", "seq": 1042, "readings": [{"point": '),
            DeadLetter(received_at=at + datetime.timedelta(minutes=7), source=topic, gateway=gw,
                       enterprise_id=gw.enterprise_id, reason="unknown_point", detail="#1: unknown_point LT-9001",
                       payload=b'{"gateway": "GW01", "seq": 1049, "readings": [{"point": "LT-1001", "ts": 0, '
                               b'"value": 6.1}, {"point": "LT-9001", "ts": 0, "value": 3.2}]}'),
        ])
