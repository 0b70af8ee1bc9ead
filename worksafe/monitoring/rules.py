"""Monitoring rules as pure functions: thresholds and the alarm state machine, offline detection,
escalation, the data-quality score and the enterprise warning level.

Sources: ../shared/rules/major_hazards.md §2. The alarm levels follow GB/T 50493-2019 5.5.2 (a first
and a second alarm set point: H/L → 一级, HH/LL → 二级). The offline rule, escalation minutes, warning
colours and quality score are our proposal [D] (§2.3 "not verified"): every number is a setting
(MONITORING_* in settings.py, documented in docs/rules.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

H, HH, L, LL = "H", "HH", "L", "LL"
CONDITIONS = (H, HH, L, LL)  # raise order: a jump straight past HH raises H first, then HH
CLEAR_ORDER = (HH, H, LL, L)  # on the way back HH clears before H
MASK = {H: 1, HH: 2, L: 4, LL: 8}
LEVEL = {H: 1, L: 1, HH: 2, LL: 2}  # GB/T 50493-2019 5.5.2: first / second alarm set point
HIGH_SIDE = {H: True, HH: True, L: False, LL: False}


def threshold_errors(range_low, low_low, low, high, high_high, range_high) -> dict[str, str]:
    """Thresholds must rise strictly: range low ≤ LL < L < H < HH ≤ range high (blanks are skipped)."""
    from django.utils.translation import gettext as _

    named = [("range_low", range_low), ("low_low", low_low), ("low", low), ("high", high),
             ("high_high", high_high), ("range_high", range_high)]
    present = [(n, v) for n, v in named if v is not None]
    errors = {}
    for (n1, v1), (n2, v2) in zip(present, present[1:], strict=False):
        ranged = n1 == "range_low" or n2 == "range_high"
        if v2 < v1 or (v2 == v1 and not ranged):
            errors[n2] = _("Must be above %(value)s (thresholds rise from low-low to high-high within the range).") % {
                "value": f"{v1:g}"}
    return errors


def enters(cond: str, value: float, threshold: float) -> bool:
    """The value has reached the set point (≥ for high, ≤ for low)."""
    return value >= threshold if HIGH_SIDE[cond] else value <= threshold


def holds(cond: str, value: float, threshold: float, deadband: float) -> bool:
    """An active condition stays active until the value is back past the threshold by the deadband.

    Without a deadband it holds exactly while the set point is reached, so a value sitting on the set
    point does not clear and re-raise on every reading.
    """
    if deadband <= 0:
        return enters(cond, value, threshold)
    return value > threshold - deadband if HIGH_SIDE[cond] else value < threshold + deadband


@dataclass
class PointState:
    alarm_mask: int = 0
    pending: dict[str, int] = field(default_factory=dict)  # condition -> epoch ms the crossing began

    @property
    def pending_mask(self) -> int:
        return sum(MASK[c] for c in self.pending)


@dataclass(frozen=True)
class Event:
    kind: str  # "raise" or "clear"
    condition: str
    ts: int  # epoch ms of the reading that raised / cleared
    value: float
    since: int  # raise: epoch ms of the crossing (the alarm's identity); clear: same as ts


def step(state: PointState, ts: int, value: float, thresholds: dict[str, float | None], deadband: float = 0.0,
         min_duration_ms: int = 0) -> list[Event]:
    """Feed one reading (in time order) to a point's alarm state; mutate `state`, return what happened.

    One alarm per crossing: a condition raises once when its set point is reached (and stays reached for
    `min_duration_ms`), and clears once when the value is back past the set point by `deadband` — so a
    noisy signal around the set point cannot raise a storm.
    """
    events: list[Event] = []
    for cond in CLEAR_ORDER:
        limit = thresholds.get(cond)
        if limit is not None and state.alarm_mask & MASK[cond] and not holds(cond, value, limit, deadband):
            state.alarm_mask &= ~MASK[cond]
            events.append(Event("clear", cond, ts, value, ts))
    for cond in CONDITIONS:
        limit = thresholds.get(cond)
        if limit is None or state.alarm_mask & MASK[cond]:
            continue
        if enters(cond, value, limit):
            since = state.pending.get(cond, ts)
            if ts - since >= min_duration_ms:
                state.pending.pop(cond, None)
                state.alarm_mask |= MASK[cond]
                events.append(Event("raise", cond, ts, value, since))
            else:
                state.pending[cond] = since
        else:
            state.pending.pop(cond, None)
    return events


def watch_band(thresholds: dict[str, float | None], deadband: float) -> tuple[float, float]:
    """(low, high): a reading strictly between them cannot start any condition on a normal point.

    The ingest path compares whole batches against these bounds (vectorised) and runs `step` only for
    points with a reading outside them or already in a non-normal state.
    """
    highs = [v for c, v in thresholds.items() if v is not None and HIGH_SIDE[c]]
    lows = [v for c, v in thresholds.items() if v is not None and not HIGH_SIDE[c]]
    return (max(lows) if lows else -math.inf, min(highs) if highs else math.inf)


# --- data quality ----------------------------------------------------------------------------------

def offline_after(sampling_period_s: int, periods: int = 3, floor_s: int = 300) -> int:
    """Seconds without data after which a point is offline (数据中断): N missed periods or the floor,
    whichever is longer (major_hazards.md §2.3 proposal [D])."""
    return max(periods * sampling_period_s, floor_s)


def is_flatline(vmin: float, vmax: float, samples: int, min_samples: int) -> bool:
    """Every reading in the window had the same value, and there were enough of them to tell."""
    return samples >= min_samples and vmin == vmax


def clock_drift_ms(latest_ts: int, received_ms: int) -> int:
    """How far the gateway's newest reading is ahead of our clock (positive = gateway clock ahead)."""
    return latest_ts - received_ms


def quality_score(uptime: float, interruptions: int, alarms_per_point_day: float, *, weights: dict) -> float:
    """0–100 data-quality score for one enterprise over a window.

    uptime (0–1) × weights["uptime"] points, minus weights["interruption"] per interruption and
    weights["noise"] per alarm per point per day above weights["noise_free"]; floored at 0.
    """
    score = 100.0 * uptime
    score -= weights["interruption"] * interruptions
    score -= weights["noise"] * max(0.0, alarms_per_point_day - weights["noise_free"])
    return round(max(0.0, min(100.0, score)), 1)


# --- escalation --------------------------------------------------------------------------------------

def escalation_target(minutes_unacknowledged: float, current: int, step_minutes: list[int]) -> int:
    """Level an unacknowledged alarm should have reached (0 enterprise, 1 county, 2 city, 3 province).

    step_minutes[i] is the total minutes without acknowledgement after which level i+1 is told.
    Never goes down.
    """
    reached = sum(1 for m in step_minutes if minutes_unacknowledged >= m)
    return max(current, min(reached, 3))


# --- enterprise warning level ----------------------------------------------------------------------------

COLOURS = ("none", "blue", "yellow", "orange", "red")


@dataclass(frozen=True)
class WarningInputs:
    level1_active: int = 0  # active H/L alarms
    level2_active: int = 0  # active HH/LL alarms
    long_level1: int = 0  # active H/L alarms older than the persistence limit
    long_level2: int = 0  # active HH/LL alarms older than the persistence limit
    worst_unit_level2: int = 0  # most HH/LL alarms active in one major hazard unit
    worst_unit_level1: int = 0  # most H/L alarms active in one major hazard unit
    interruptions: int = 0  # open data interruptions
    hazard_grade: int | None = None  # best (lowest number) GB 18218 grade among its units; 1 is worst
    open_major_hazards: int = 0  # 重大事故隐患 not yet closed
    recent_accidents: int = 0  # accidents in the look-back window (none recorded yet: accident module to come)


DEFAULT_WARNING_WEIGHTS = {
    # Base colour from alarms, per major_hazards.md §2.3 proposal [D].
    # Then points: the colour moves up one step per `step_points` of aggravating factors.
    "interruption": 1, "open_major_hazard": 2, "recent_accident": 4, "grade_1": 2, "grade_2": 1,
    "step_points": 4,
}


def default_warning_level(i: WarningInputs, weights: dict | None = None) -> tuple[str, float, list[dict]]:
    """Our transparent enterprise warning rule. Returns (colour, score, reasons).

    1. From alarms (major_hazards.md §2.3 [D]): blue if any H/L alarm is active; yellow if an H/L alarm
       persists past the limit or a unit has ≥ 2 H/L alarms; orange if any HH/LL alarm is active; red if
       an HH/LL alarm persists past the limit or a unit has ≥ 2 HH/LL alarms.
    2. Aggravating factors add points (weights): open data interruptions, open major hidden hazards,
       recent accidents, a grade 1 or 2 major hazard source. Every `step_points` points raise the colour
       one step. Without an HH/LL alarm, factors never go past yellow; with one they can turn orange red.
    Each reason is {"factor", "value", "effect"} so the page can show how the colour came about.
    """
    w = {**DEFAULT_WARNING_WEIGHTS, **(weights or {})}
    reasons: list[dict] = []
    base = 0
    if i.level1_active:
        base = 1
        reasons.append({"factor": "level1_active", "value": i.level1_active, "effect": "blue"})
    if i.long_level1 or i.worst_unit_level1 >= 2:
        base = 2
        reasons.append({"factor": "level1_persisting_or_multiple",
                        "value": max(i.long_level1, i.worst_unit_level1), "effect": "yellow"})
    if i.level2_active:
        base = 3
        reasons.append({"factor": "level2_active", "value": i.level2_active, "effect": "orange"})
    if i.long_level2 or i.worst_unit_level2 >= 2:
        base = 4
        reasons.append({"factor": "level2_persisting_or_multiple",
                        "value": max(i.long_level2, i.worst_unit_level2), "effect": "red"})
    points = 0.0
    for factor, value, weight in (("interruptions", i.interruptions, w["interruption"]),
                                  ("open_major_hazards", i.open_major_hazards, w["open_major_hazard"]),
                                  ("recent_accidents", i.recent_accidents, w["recent_accident"])):
        if value:
            points += value * weight
            reasons.append({"factor": factor, "value": value, "effect": f"+{value * weight:g}"})
    if i.hazard_grade in (1, 2):
        add = w["grade_1"] if i.hazard_grade == 1 else w["grade_2"]
        points += add
        reasons.append({"factor": "hazard_grade", "value": i.hazard_grade, "effect": f"+{add:g}"})
    steps = int(points // w["step_points"]) if w["step_points"] else 0
    if steps:
        raised = max(base, min(base + steps, 2)) if base < 3 else min(base + steps, 4)
        if raised > base:
            reasons.append({"factor": "aggravating_points", "value": points, "effect": COLOURS[raised]})
        base = raised
    score = base * 10 + points
    return COLOURS[base], score, reasons
