"""Pure rules of hazard checks: periods and due dates, task states, and each anti-formalism test at its
boundary (no database)."""

import datetime

import pytest

from worksafe.checks.rules import (
    copied_from,
    due_dates,
    duration_verdict,
    hamming,
    haversine_m,
    is_substantive,
    normalise,
    period_of,
    periods,
    record_text,
    repeated_notes,
    same_photo,
    similarity,
    task_state,
    too_far,
)

D = datetime.date
T0 = datetime.datetime(2026, 6, 3, 9, 0, tzinfo=datetime.UTC)


def after(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


# ---------------------------------------------------------------------------------------------
# Periods and due dates
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "frequency", "day", "start", "due"), [
    ("daily: the day itself", "daily", D(2026, 6, 3), D(2026, 6, 3), D(2026, 6, 3)),
    ("weekly: Wednesday → Monday–Sunday", "weekly", D(2026, 6, 3), D(2026, 6, 1), D(2026, 6, 7)),
    ("weekly: a Monday starts its week", "weekly", D(2026, 6, 1), D(2026, 6, 1), D(2026, 6, 7)),
    ("weekly: a Sunday ends its week", "weekly", D(2026, 6, 7), D(2026, 6, 1), D(2026, 6, 7)),
    ("weekly: across the new year", "weekly", D(2026, 1, 1), D(2025, 12, 29), D(2026, 1, 4)),
    ("monthly: 31-day month", "monthly", D(2026, 1, 15), D(2026, 1, 1), D(2026, 1, 31)),
    ("monthly: 30-day month", "monthly", D(2026, 4, 30), D(2026, 4, 1), D(2026, 4, 30)),
    ("monthly: February", "monthly", D(2026, 2, 1), D(2026, 2, 1), D(2026, 2, 28)),
    ("monthly: February of a leap year", "monthly", D(2028, 2, 10), D(2028, 2, 1), D(2028, 2, 29)),
    ("monthly: December", "monthly", D(2026, 12, 31), D(2026, 12, 1), D(2026, 12, 31)),
])
def test_period_of(_case, frequency, day, start, due):
    assert period_of(frequency, day) == (start, due)


def test_unknown_frequency_is_refused():
    with pytest.raises(ValueError):
        period_of("hourly", D(2026, 6, 3))


@pytest.mark.parametrize(("_case", "frequency", "start", "end", "expected"), [
    ("daily: three days", "daily", D(2026, 2, 27), D(2026, 3, 1), [D(2026, 2, 27), D(2026, 2, 28), D(2026, 3, 1)]),
    ("daily: one day", "daily", D(2026, 6, 3), D(2026, 6, 3), [D(2026, 6, 3)]),
    ("end before start: none", "daily", D(2026, 6, 3), D(2026, 6, 2), []),
    ("weekly: mid-week start owes that Sunday", "weekly", D(2026, 6, 3), D(2026, 6, 15),
     [D(2026, 6, 7), D(2026, 6, 14), D(2026, 6, 21)]),
    ("weekly: end on a Sunday includes that week only", "weekly", D(2026, 6, 1), D(2026, 6, 7), [D(2026, 6, 7)]),
    ("monthly: month ends through February of a leap year", "monthly", D(2028, 1, 31), D(2028, 4, 1),
     [D(2028, 1, 31), D(2028, 2, 29), D(2028, 3, 31), D(2028, 4, 30)]),
    ("monthly: year end", "monthly", D(2026, 11, 15), D(2027, 1, 1), [D(2026, 11, 30), D(2026, 12, 31), D(2027, 1, 31)]),
])
def test_due_dates(_case, frequency, start, end, expected):
    assert due_dates(frequency, start, end) == expected


def test_a_first_period_is_clipped_to_the_plan_start_and_the_rest_are_whole():
    assert periods("weekly", D(2026, 6, 3), D(2026, 6, 8)) == [(D(2026, 6, 3), D(2026, 6, 7)),
                                                               (D(2026, 6, 8), D(2026, 6, 14))]
    assert periods("monthly", D(2026, 1, 20), D(2026, 2, 2)) == [(D(2026, 1, 20), D(2026, 1, 31)),
                                                                 (D(2026, 2, 1), D(2026, 2, 28))]


@pytest.mark.parametrize(("_case", "done", "due", "today", "state"), [
    ("done stays done, even past due", True, D(2026, 6, 1), D(2026, 6, 9), "done"),
    ("open on its due date", False, D(2026, 6, 3), D(2026, 6, 3), "open"),
    ("open before its due date", False, D(2026, 6, 7), D(2026, 6, 3), "open"),
    ("missed the day after", False, D(2026, 6, 2), D(2026, 6, 3), "missed"),
])
def test_task_state(_case, done, due, today, state):
    assert task_state(done, due, today) == state


# ---------------------------------------------------------------------------------------------
# (1) Duration
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "seconds", "items", "minimum", "verdict"), [
    ("20 items in 30 s: too fast", 30, 20, 5, "too_fast"),
    ("just under 5 s per item", 99, 20, 5, "too_fast"),
    ("exactly 5 s per item is possible", 100, 20, 5, None),
    ("just over", 101, 20, 5, None),
    ("finished before started", -1, 20, 5, "reversed"),
    ("finished the same second it started, with items", 0, 1, 5, "too_fast"),
    ("no items: any duration", 0, 0, 5, None),
    ("minimum 0 disables the speed test", 1, 20, 0, None),
])
def test_duration_verdict(_case, seconds, items, minimum, verdict):
    assert duration_verdict(T0, after(seconds), items, minimum) == verdict


# ---------------------------------------------------------------------------------------------
# (2) Photos
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "a", "b", "distance"), [
    ("identical", "ffff0000ffff0000", "ffff0000ffff0000", 0),
    ("one bit", "ffff0000ffff0000", "ffff0000ffff0001", 1),
    ("four bits", "ffff0000ffff0000", "ffff0000ffff000f", 4),
    ("five bits", "ffff0000ffff0000", "ffff0000ffff001f", 5),
    ("all 64 bits", "0000000000000000", "ffffffffffffffff", 64),
])
def test_hamming(_case, a, b, distance):
    assert hamming(a, b) == distance


@pytest.mark.parametrize(("_case", "sha_a", "ph_a", "sha_b", "ph_b", "max_distance", "same"), [
    ("same file", "s1", "", "s1", "", 4, True),
    ("same file, different hashes recorded", "s1", "ffff0000ffff0000", "s1", "0000ffff0000ffff", 0, True),
    ("re-encoded: 4 bits apart at max 4", "s1", "ffff0000ffff0000", "s2", "ffff0000ffff000f", 4, True),
    ("5 bits apart at max 4", "s1", "ffff0000ffff0000", "s2", "ffff0000ffff001f", 4, False),
    ("identical hash at max 0", "s1", "ffff0000ffff0000", "s2", "ffff0000ffff0000", 0, True),
    ("1 bit at max 0", "s1", "ffff0000ffff0000", "s2", "ffff0000ffff0001", 0, False),
    ("not an image (no hash) never matches by hash", "s1", "", "s2", "", 64, False),
    ("one side without a hash", "s1", "ffff0000ffff0000", "s2", "", 64, False),
])
def test_same_photo(_case, sha_a, ph_a, sha_b, ph_b, max_distance, same):
    assert same_photo(sha_a, ph_a, sha_b, ph_b, max_distance) is same


# ---------------------------------------------------------------------------------------------
# (3) Text
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "text", "normal"), [
    ("spaces and punctuation go", "罐区 压力、温度正常。", "罐区压力温度正常"),
    ("full-width folded, lower case", "ＰＨ值 ＯＫ！", "ph值ok"),
    ("empty", "", ""),
    ("None", None, ""),
])
def test_normalise(_case, text, normal):
    assert normalise(text) == normal


@pytest.mark.parametrize(("_case", "text", "substantive"), [
    ("routine word", "正常", False),
    ("seven characters", "压力温度均正常", False),
    ("eight characters", "压力温度液位正常", True),
    ("punctuation does not count", "正常。。。。。。。", False),
])
def test_is_substantive(_case, text, substantive):
    assert is_substantive(text) is substantive


@pytest.mark.parametrize(("_case", "notes", "min_repeats", "expected"), [
    ("the same note on three items", ["阀门外观完好无泄漏"] * 3 + ["压力表指示在绿区内正常"], 3, [("阀门外观完好无泄漏", 3)]),
    ("twice is not many", ["阀门外观完好无泄漏"] * 2, 3, []),
    ("punctuation and spaces do not hide a copy", ["阀门外观完好，无泄漏。", "阀门外观 完好无泄漏", "阀门外观完好无泄漏！"], 3,
     [("阀门外观完好无泄漏", 3)]),
    ("routine words repeat freely", ["正常"] * 20, 3, []),
    ("empty notes repeat freely", [""] * 20, 3, []),
])
def test_repeated_notes(_case, notes, min_repeats, expected):
    assert repeated_notes(notes, min_repeats) == expected


def test_record_text_keeps_substantive_notes_in_order():
    assert record_text(["正常", "罐区压力温度正常", "", "消防通道畅通无占用"]) == "罐区压力温度正常|消防通道畅通无占用"


def test_similarity_of_identical_and_unrelated_texts():
    assert similarity("罐区压力温度正常", "罐区压力温度正常") == 1.0
    assert similarity("罐区压力温度正常", "消防通道堆放杂物") < 0.2
    assert similarity("", "") == 1.0


TODAY = record_text(["一号罐区压力温度液位均在正常范围内", "消防器材齐全有效，通道畅通无占用", "二号泵房无跑冒滴漏现象"])


@pytest.mark.parametrize(("_case", "earlier", "threshold", "found"), [
    ("an identical earlier record", [("r1", TODAY)], 0.95, ("r1", 1.0)),
    ("the newest match wins", [("r2", TODAY), ("r1", TODAY)], 0.95, ("r2", 1.0)),
    ("one character changed: still a copy",
     [("r1", TODAY.replace("二号", "三号"))], 0.95, ("r1", pytest.approx(0.98, abs=0.01))),
    ("a real new text", [("r1", record_text(["发现三号罐区呼吸阀锈蚀需要更换", "消防器材齐全有效，通道畅通无占用"]))], 0.95, None),
    ("an empty earlier text", [("r1", "")], 0.95, None),
])
def test_copied_from(_case, earlier, threshold, found):
    assert copied_from(TODAY, earlier, threshold) == found


def test_copied_from_at_the_threshold_boundary():
    a, b = "abcdefghijklmnopqrst" * 2, "abcdefghijklmnopqrst" + "abcdefghijklmnopqrXY"  # 38 of 40 match: 0.95
    assert similarity(a, b) == pytest.approx(0.95)
    assert copied_from(a, [("r", b)], 0.95) == ("r", pytest.approx(0.95))
    assert copied_from(a, [("r", b)], 0.951) is None


@pytest.mark.parametrize(("_case", "length", "copied"), [
    ("29 characters: one short finding noted again, not a copied record", 29, False),
    ("30 characters: long enough to call it copied", 30, True),
])
def test_copied_from_needs_enough_text(_case, length, copied):
    text = ("东侧消防通道畅通灭火器压力正常防火堤排水阀关闭堤内无积液罐区无异味" * 2)[:length]
    assert (copied_from(text, [("r", text)], 0.95, min_chars=30) is not None) is copied


def test_an_empty_text_is_never_a_copy():
    assert copied_from("", [("r1", "")], 0.95, min_chars=0) is None


# ---------------------------------------------------------------------------------------------
# (4) Distance
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "a", "b", "metres"), [
    ("same point", (118.1, 24.5), (118.1, 24.5), 0),
    ("0.01° of latitude ≈ 1112 m", (118.1, 24.5), (118.1, 24.51), 1112),
    ("0.01° of longitude at 24.5° N ≈ 1012 m", (118.1, 24.5), (118.11, 24.5), 1012),
    ("厦门 to 福州 ≈ 215 km (equirectangular check: 177.3 km N, 121.5 km E)", (118.0894, 24.4798), (119.2965, 26.0745), 214_900),
])
def test_haversine_m(_case, a, b, metres):
    assert haversine_m(*a, *b) == pytest.approx(metres, rel=0.02, abs=1)


@pytest.mark.parametrize(("_case", "distance", "maximum", "far"), [
    ("on site", 50, 1000, False),
    ("exactly the maximum is on site", 1000, 1000, False),
    ("one metre more", 1001, 1000, True),
    ("kilometres away", 20_000, 1000, True),
])
def test_too_far(_case, distance, maximum, far):
    assert too_far(distance, maximum) is far
