"""The monitoring rules at their boundaries (pure: no database)."""

import math

import pytest

from worksafe.monitoring import rules
from worksafe.monitoring.rules import PointState, WarningInputs

TH = {"LL": 1.0, "L": 2.0, "H": 15.0, "HH": 18.0}


def feed(values, thresholds=TH, deadband=0.0, min_duration_ms=0, state=None, step_ms=1000):
    """Feed values one second apart; return the state and [(kind, condition, ts, since)]."""
    state = state or PointState()
    out = []
    for k, v in enumerate(values):
        for ev in rules.step(state, k * step_ms, v, thresholds, deadband, min_duration_ms):
            out.append((ev.kind, ev.condition, ev.ts, ev.since))
    return state, out


# --- step: the alarm state machine -------------------------------------------------------------------------

@pytest.mark.parametrize(("_case", "value", "raised"), [
    ("just below the high set point stays normal", 14.999, []),
    ("exactly at the high set point raises H", 15.0, ["H"]),
    ("above H, below HH raises H only", 17.999, ["H"]),
    ("exactly at HH raises H then HH", 18.0, ["H", "HH"]),
    ("just above the low set point stays normal", 2.001, []),
    ("exactly at the low set point raises L", 2.0, ["L"]),
    ("exactly at LL raises L then LL", 1.0, ["L", "LL"]),
])
def test_a_set_point_reached_raises(_case, value, raised):
    state, events = feed([10.0, value])
    assert sorted((kind, cond) for kind, cond, *_ in events) == sorted(("raise", c) for c in raised)
    assert state.alarm_mask == sum(rules.MASK[c] for c in raised)


def test_a_jump_straight_past_high_high_raises_high_first_then_high_high():
    _state, events = feed([10.0, 25.0])
    assert events == [("raise", "H", 1000, 1000), ("raise", "HH", 1000, 1000)]


def test_a_jump_straight_past_low_low_raises_low_first_then_low_low():
    _state, events = feed([10.0, -5.0])
    assert events == [("raise", "L", 1000, 1000), ("raise", "LL", 1000, 1000)]


@pytest.mark.parametrize(("_case", "back_to", "clears"), [
    ("still inside the deadband holds", 14.51, False),
    ("exactly threshold − deadband clears", 14.5, True),
    ("below threshold − deadband clears", 10.0, True),
])
def test_high_alarm_clears_only_past_the_deadband(_case, back_to, clears):
    state, events = feed([16.0, back_to], deadband=0.5)
    assert events[0][:2] == ("raise", "H")
    assert (("clear", "H", 1000, 1000) in events) is clears
    assert bool(state.alarm_mask & rules.MASK["H"]) is not clears


@pytest.mark.parametrize(("_case", "back_to", "clears"), [
    ("still inside the deadband holds", 2.49, False),
    ("exactly threshold + deadband clears", 2.5, True),
    ("above threshold + deadband clears", 10.0, True),
])
def test_low_alarm_clears_only_past_the_deadband(_case, back_to, clears):
    state, events = feed([1.5, back_to], deadband=0.5)
    assert events[0][:2] == ("raise", "L")
    assert (("clear", "L", 1000, 1000) in events) is clears
    assert bool(state.alarm_mask & rules.MASK["L"]) is not clears


def test_a_noisy_signal_around_the_set_point_raises_one_alarm():
    _state, events = feed([10, 15.1, 14.9, 15.2, 14.85, 16, 14.7, 10], deadband=0.2)
    assert [(k, c) for k, c, *_ in events] == [("raise", "H"), ("clear", "H")]


def test_without_deadband_a_value_on_the_set_point_raises_once_and_holds():
    _state, events = feed([16.0, 15.0, 15.0, 15.0, 14.999])
    assert [(k, c, ts) for k, c, ts, _s in events] == [("raise", "H", 0), ("clear", "H", 4000)]


def test_without_deadband_the_alarm_clears_below_the_set_point():
    _state, events = feed([16.0, 14.999])
    assert [(k, c, ts) for k, c, ts, _s in events] == [("raise", "H", 0), ("clear", "H", 1000)]


def test_high_high_clears_before_high():
    _state, events = feed([19.0, 17.0, 14.0], deadband=0.5)
    assert sorted(events[:2]) == [("raise", "H", 0, 0), ("raise", "HH", 0, 0)]
    assert events[2:] == [("clear", "HH", 1000, 1000), ("clear", "H", 2000, 2000)]


@pytest.mark.parametrize(("_case", "values", "raised_at"), [
    ("one second short of the minimum duration does not raise", [16, 16, 16, 16], None),
    ("exactly the minimum duration raises, dated from the crossing", [16, 16, 16, 16, 16], (4000, 0)),
    ("a dip below the set point restarts the clock", [16, 16, 10, 16, 16, 16, 16, 16], (7000, 3000)),
])
def test_min_duration(_case, values, raised_at):
    state, events = feed([*values], min_duration_ms=4000)
    raises = [(ts, since) for kind, cond, ts, since in events if kind == "raise" and cond == "H"]
    assert raises == ([raised_at] if raised_at else [])
    if raised_at is None:
        assert state.pending == {"H": 0} and state.pending_mask == rules.MASK["H"]
    else:
        assert "H" not in state.pending


def test_none_thresholds_are_skipped():
    thresholds = {"LL": None, "L": None, "H": 15.0, "HH": None}
    state, events = feed([10, 100, -100], thresholds=thresholds)
    assert [(k, c) for k, c, *_ in events] == [("raise", "H"), ("clear", "H")]
    assert state.alarm_mask == 0
    _state, nothing = feed([10, 1e9, -1e9], thresholds={"LL": None, "L": None, "H": None, "HH": None})
    assert nothing == []


def test_an_active_alarm_does_not_raise_again():
    _state, events = feed([16, 17, 16.5, 17.9])
    assert [(k, c) for k, c, *_ in events] == [("raise", "H")]


# --- threshold_errors -------------------------------------------------------------------------------

@pytest.mark.parametrize(("_case", "args", "errors"), [
    ("strictly rising thresholds in range", (0, 1, 2, 15, 18, 20), set()),
    ("all blank", (None, None, None, None, None, None), set()),
    ("thresholds may sit on the range ends", (0, 0, 2, 15, 20, 20), set()),
    ("L equal to LL", (0, 2, 2, 15, 18, 20), {"low"}),
    ("H below L", (0, 1, 5, 4, 18, 20), {"high"}),
    ("HH equal to H", (0, 1, 2, 15, 15, 20), {"high_high"}),
    ("HH above the range", (0, 1, 2, 15, 21, 20), {"range_high"}),
    ("LL below the range", (0, -1, 2, 15, 18, 20), {"low_low"}),
    ("blanks are skipped: H compared with LL", (None, 5, None, 5, None, None), {"high"}),
    ("blanks are skipped: rising over gaps", (None, 1, None, 15, None, 20), set()),
])
def test_threshold_errors(_case, args, errors):
    assert set(rules.threshold_errors(*args)) == errors


def test_threshold_error_names_the_value_it_must_exceed():
    errors = rules.threshold_errors(0, 1, 2, 1.5, 18, 20)
    assert list(errors) == ["high"] and "2" in errors["high"]


# --- watch_band --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("_case", "thresholds", "band"), [
    ("all four: highest low, lowest high", TH, (2.0, 15.0)),
    ("high side only", {"LL": None, "L": None, "H": 25.0, "HH": 50.0}, (-math.inf, 25.0)),
    ("low side only", {"LL": 19.5, "L": None, "H": None, "HH": None}, (19.5, math.inf)),
    ("none", {"LL": None, "L": None, "H": None, "HH": None}, (-math.inf, math.inf)),
    ("HH without H", {"LL": None, "L": None, "H": None, "HH": 50.0}, (-math.inf, 50.0)),
])
def test_watch_band(_case, thresholds, band):
    assert rules.watch_band(thresholds, 0.5) == band


def test_a_reading_inside_the_watch_band_starts_nothing():
    lo, hi = rules.watch_band(TH, 0.0)
    for v in (math.nextafter(lo, math.inf), math.nextafter(hi, -math.inf)):
        assert rules.step(PointState(), 0, v, TH) == []
    assert rules.step(PointState(), 0, hi, TH) != []
    assert rules.step(PointState(), 0, lo, TH) != []


# --- offline_after, is_flatline, clock_drift_ms ---------------------------------------------------------

@pytest.mark.parametrize(("_case", "period", "periods", "floor", "expected"), [
    ("fast point: the floor applies", 10, 3, 300, 300),
    ("exactly at the floor", 100, 3, 300, 300),
    ("slow point: N periods", 101, 3, 300, 303),
    ("hourly point", 3600, 3, 300, 10800),
    ("no floor", 10, 3, 0, 30),
])
def test_offline_after(_case, period, periods, floor, expected):
    assert rules.offline_after(period, periods, floor) == expected


def test_offline_after_defaults_are_three_periods_or_five_minutes():
    assert rules.offline_after(10) == 300 and rules.offline_after(120) == 360


@pytest.mark.parametrize(("_case", "vmin", "vmax", "n", "min_n", "flat"), [
    ("constant with enough samples", 5.0, 5.0, 10, 10, True),
    ("one sample short", 5.0, 5.0, 9, 10, False),
    ("changing", 5.0, 5.0001, 100, 10, False),
])
def test_is_flatline(_case, vmin, vmax, n, min_n, flat):
    assert rules.is_flatline(vmin, vmax, n, min_n) is flat


def test_clock_drift_is_positive_when_the_gateway_is_ahead():
    assert rules.clock_drift_ms(10_000, 4_000) == 6_000
    assert rules.clock_drift_ms(4_000, 10_000) == -6_000


# --- escalation_target ----------------------------------------------------------------------------------

STEPS = [10, 30, 60]


@pytest.mark.parametrize(("_case", "minutes", "current", "expected"), [
    ("fresh alarm stays with the enterprise", 0, 0, 0),
    ("just short of the county step", 9.99, 0, 0),
    ("exactly the county step", 10, 0, 1),
    ("exactly the city step", 30, 0, 2),
    ("exactly the province step", 60, 0, 3),
    ("a missed tick jumps straight to the province", 500, 0, 3),
    ("never goes down", 5, 2, 2),
    ("never beyond the province", 10_000, 3, 3),
])
def test_escalation_target(_case, minutes, current, expected):
    assert rules.escalation_target(minutes, current, STEPS) == expected


def test_escalation_caps_at_the_province_with_more_steps_configured():
    assert rules.escalation_target(100, 0, [1, 2, 3, 4, 5]) == 3


def test_escalation_never_goes_down_over_time():
    level = 0
    seen = []
    for minutes in range(0, 120, 5):
        level = rules.escalation_target(minutes, level, STEPS)
        seen.append(level)
    assert seen == sorted(seen) and seen[0] == 0 and seen[-1] == 3


# --- quality_score ----------------------------------------------------------------------------------------

W = {"interruption": 2.0, "noise": 1.0, "noise_free": 5.0}


@pytest.mark.parametrize(("_case", "uptime", "interruptions", "apd", "score"), [
    ("perfect", 1.0, 0, 0.0, 100.0),
    ("noise up to the free allowance costs nothing", 1.0, 0, 5.0, 100.0),
    ("noise above the allowance costs per alarm", 1.0, 0, 7.5, 97.5),
    ("interruptions cost each", 0.95, 3, 0.0, 89.0),
    ("floored at zero", 0.1, 50, 100.0, 0.0),
    ("no data at all", 0.0, 0, 0.0, 0.0),
    ("rounded to one decimal", 0.98765, 0, 0.0, 98.8),
])
def test_quality_score(_case, uptime, interruptions, apd, score):
    assert rules.quality_score(uptime, interruptions, apd, weights=W) == score


# --- default_warning_level --------------------------------------------------------------------------------

@pytest.mark.parametrize(("_case", "inputs", "colour"), [
    ("nothing active", WarningInputs(), "none"),
    ("one H/L alarm: blue", WarningInputs(level1_active=1), "blue"),
    ("a persisting H/L alarm: yellow", WarningInputs(level1_active=1, long_level1=1), "yellow"),
    ("two H/L alarms in one unit: yellow", WarningInputs(level1_active=2, worst_unit_level1=2), "yellow"),
    ("two H/L alarms in different units: blue", WarningInputs(level1_active=2, worst_unit_level1=1), "blue"),
    ("one HH/LL alarm: orange", WarningInputs(level2_active=1, worst_unit_level2=1), "orange"),
    ("a persisting HH/LL alarm: red", WarningInputs(level2_active=1, long_level2=1), "red"),
    ("two HH/LL alarms in one unit: red", WarningInputs(level2_active=2, worst_unit_level2=2), "red"),
])
def test_warning_colour_from_alarms(_case, inputs, colour):
    assert rules.default_warning_level(inputs)[0] == colour


@pytest.mark.parametrize(("_case", "inputs", "colour"), [
    ("3 points: no step", WarningInputs(interruptions=3), "none"),
    ("4 points lift none one step to blue", WarningInputs(interruptions=4), "blue"),
    ("8 points lift none to yellow", WarningInputs(interruptions=8), "yellow"),
    ("factors alone never pass yellow", WarningInputs(interruptions=40, recent_accidents=5), "yellow"),
    ("blue + 4 points: yellow", WarningInputs(level1_active=1, open_major_hazards=2), "yellow"),
    ("yellow + 8 points stays yellow without HH/LL", WarningInputs(level1_active=1, long_level1=1,
                                                                  open_major_hazards=4), "yellow"),
    ("orange + 4 points: red", WarningInputs(level2_active=1, recent_accidents=1), "red"),
    ("orange + 3 points stays orange", WarningInputs(level2_active=1, hazard_grade=1, interruptions=1), "orange"),
    ("red stays red", WarningInputs(level2_active=1, long_level2=1, recent_accidents=3), "red"),
    ("grade 1 + grade weight: 2 points", WarningInputs(hazard_grade=1, open_major_hazards=1), "blue"),
    ("grade 2 adds 1 point", WarningInputs(hazard_grade=2, interruptions=2), "none"),
    ("grade 3 adds nothing", WarningInputs(hazard_grade=3, interruptions=3), "none"),
])
def test_aggravating_points_raise_the_colour_in_steps(_case, inputs, colour):
    assert rules.default_warning_level(inputs)[0] == colour


def test_warning_reasons_show_every_factor_with_its_value_and_effect():
    colour, score, reasons = rules.default_warning_level(
        WarningInputs(level1_active=1, interruptions=1, open_major_hazards=1, hazard_grade=1))
    assert colour == "yellow" and score == 2 * 10 + 5
    assert reasons == [
        {"factor": "level1_active", "value": 1, "effect": "blue"},
        {"factor": "interruptions", "value": 1, "effect": "+1"},
        {"factor": "open_major_hazards", "value": 1, "effect": "+2"},
        {"factor": "hazard_grade", "value": 1, "effect": "+2"},
        {"factor": "aggravating_points", "value": 5.0, "effect": "yellow"},
    ]


def test_warning_weights_are_configurable():
    inputs = WarningInputs(interruptions=1)
    assert rules.default_warning_level(inputs)[0] == "none"
    assert rules.default_warning_level(inputs, {"interruption": 4})[0] == "blue"
    assert rules.default_warning_level(WarningInputs(interruptions=100), {"step_points": 0})[0] == "none"


def test_warning_score_orders_colours():
    scores = [rules.default_warning_level(i)[1] for i in (
        WarningInputs(), WarningInputs(level1_active=1), WarningInputs(level1_active=1, long_level1=1),
        WarningInputs(level2_active=1), WarningInputs(level2_active=1, long_level2=1))]
    assert scores == sorted(scores) and len(set(scores)) == 5
