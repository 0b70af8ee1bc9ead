"""Pure rules of risk grading: LEC, LS schemes, levels and control tiers (regulations.md §2; no database)."""

import itertools
from decimal import Decimal

import pytest

from worksafe.risks.rules import (
    CONTROL_TIER_LABELS,
    CONTROL_TIERS,
    LEC_BANDS,
    LEC_C_TABLE,
    LEC_E_TABLE,
    LEC_L_TABLE,
    LEVEL_COLOURS,
    LEVEL_HEX,
    LEVEL_LABELS,
    LEVELS,
    LS_REACHABLE_SCORES,
    SCHEMES,
    control_tier_for,
    control_tiers_for,
    lec,
    lec_band,
    ls,
    ls_15_8_4_uplift_steps,
    ls_level,
    raise_level,
)

# ----------------------------------------------------------------------------------------------
# Levels
# ----------------------------------------------------------------------------------------------


def test_level_labels_and_colours_follow_the_reference():
    assert LEVELS == ("red", "orange", "yellow", "blue")
    assert LEVEL_LABELS == {"red": "重大风险", "orange": "较大风险", "yellow": "一般风险", "blue": "低风险"}
    assert LEVEL_COLOURS == {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}
    assert set(LEVEL_HEX) == set(LEVELS)


@pytest.mark.parametrize(("_case", "level", "steps", "expected"), [
    ("no uplift", "blue", 0, "blue"),
    ("blue up one", "blue", 1, "yellow"),
    ("blue up two", "blue", 2, "orange"),
    ("blue up three", "blue", 3, "red"),
    ("capped at red", "yellow", 5, "red"),
    ("red stays red", "red", 1, "red"),
    ("orange up one", "orange", 1, "red"),
])
def test_raise_level(_case, level, steps, expected):
    assert raise_level(level, steps) == expected


@pytest.mark.parametrize(("_case", "level", "steps"), [
    ("unknown level", "green", 1),
    ("chinese label is not a level", "重大风险", 1),
    ("negative steps", "blue", -1),
    ("bool steps", "blue", True),
    ("float steps", "blue", 1.0),
])
def test_raise_level_refuses_bad_input(_case, level, steps):
    with pytest.raises(ValueError):
        raise_level(level, steps)


# ----------------------------------------------------------------------------------------------
# Control tiers (regulations.md §2.2, common practice)
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "level", "top", "all_tiers"), [
    ("red: company level", "red", "company", ("company", "workshop", "team", "post")),
    ("orange: company level too", "orange", "company", ("company", "workshop", "team", "post")),
    ("yellow: workshop", "yellow", "workshop", ("workshop", "team", "post")),
    ("blue: team", "blue", "team", ("team", "post")),
])
def test_control_tiers(_case, level, top, all_tiers):
    assert control_tier_for(level) == top
    assert control_tiers_for(level) == all_tiers


def test_control_tier_refuses_unknown_level():
    with pytest.raises(ValueError):
        control_tier_for("purple")


def test_control_tier_labels_cover_every_tier():
    assert CONTROL_TIERS == ("company", "workshop", "team", "post")
    assert set(CONTROL_TIER_LABELS) == set(CONTROL_TIERS)


# ----------------------------------------------------------------------------------------------
# LEC tables and bands (regulations.md §2.3)
# ----------------------------------------------------------------------------------------------


def test_lec_standard_tables():
    assert [v for v, _ in LEC_L_TABLE] == [Decimal(x) for x in ("10", "6", "3", "1", "0.5", "0.2", "0.1")]
    assert [v for v, _ in LEC_E_TABLE] == [Decimal(x) for x in ("10", "6", "3", "2", "1", "0.5")]
    assert [v for v, _ in LEC_C_TABLE] == [Decimal(x) for x in ("100", "40", "15", "7", "3", "1")]
    assert all(label for table in (LEC_L_TABLE, LEC_E_TABLE, LEC_C_TABLE) for _, label in table)


def test_lec_bands_labels_and_levels():
    assert [(b.label, b.level) for b in LEC_BANDS] == [
        ("极其危险", "red"),
        ("高度危险", "orange"),
        ("显著危险", "yellow"),
        ("一般危险", "blue"),
        ("稍有危险", "blue"),
    ]


@pytest.mark.parametrize(("_case", "L", "E", "C", "score", "band", "level"), [
    # 20: the lowest real boundary (blue either side, but the band changes)
    ("D=18 just below 20", 6, 3, 1, 18, "稍有危险", "blue"),
    ("D=20 10x2x1", 10, 2, 1, 20, "一般危险", "blue"),
    ("D=20 1x0.5x40", 1, 0.5, 40, 20, "一般危险", "blue"),
    ("D=20 0.5x1x40", 0.5, 1, 40, 20, "一般危险", "blue"),
    ("D=20 0.2x1x100", 0.2, 1, 100, 20, "一般危险", "blue"),
    ("D=20 0.1x2x100 (float trap)", 0.1, 2, 100, 20, "一般危险", "blue"),
    ("D=21 just above 20", 3, 1, 7, 21, "一般危险", "blue"),
    # 70: yellow from 70 on
    ("D=63 just below 70", 3, 3, 7, 63, "一般危险", "blue"),
    ("D=70 10x1x7 is yellow", 10, 1, 7, 70, "显著危险", "yellow"),
    ("D=70 1x10x7 is yellow", 1, 10, 7, 70, "显著危险", "yellow"),
    ("D=75 just above 70", 10, 0.5, 15, 75, "显著危险", "yellow"),
    # 160: not reachable with table values; nearest on each side
    ("D=150 below 160", 10, 1, 15, 150, "显著危险", "yellow"),
    ("D=150 3x0.5x100", 3, 0.5, 100, 150, "显著危险", "yellow"),
    ("D=180 above 160", 10, 6, 3, 180, "高度危险", "orange"),
    # 320: not reachable; nearest on each side
    ("D=300 below 320", 10, 10, 3, 300, "高度危险", "orange"),
    ("D=300 10x2x15", 10, 2, 15, 300, "高度危险", "orange"),
    ("D=360 above 320", 3, 3, 40, 360, "极其危险", "red"),
    # extremes
    ("minimum D", 0.1, 0.5, 1, Decimal("0.05"), "稍有危险", "blue"),
    ("maximum D", 10, 10, 100, 10000, "极其危险", "red"),
    ("Decimal inputs", Decimal("0.5"), Decimal("6"), Decimal("7"), 21, "一般危险", "blue"),
    ("string-free Decimal 0.50", Decimal("0.50"), 6, 7, 21, "一般危险", "blue"),
])
def test_lec_standard_values(_case, L, E, C, score, band, level):
    result = lec(L, E, C)
    assert result.score == score
    assert isinstance(result.score, Decimal)
    assert result.band.label == band
    assert result.level == level
    assert result.standard is True


def test_lec_integral_score_has_no_trailing_fraction():
    assert str(lec(0.1, 2, 100).score) == "20"
    assert str(lec(0.1, 0.5, 1).score) == "0.05"
    assert str(lec(10, 10, 100).score) == "10000"


@pytest.mark.parametrize(("_case", "score", "key", "level"), [
    ("19.99 below 20", Decimal("19.99"), "slight", "blue"),
    ("20 exactly", 20, "possible", "blue"),
    ("69.99 below 70", Decimal("69.99"), "possible", "blue"),
    ("70 exactly", 70, "substantial", "yellow"),
    ("159.99 below 160", Decimal("159.99"), "substantial", "yellow"),
    ("160 exactly is orange", 160, "high", "orange"),
    ("320 exactly is orange", 320, "high", "orange"),
    ("320.01 above 320", Decimal("320.01"), "extreme", "red"),
    ("float 320.0", 320.0, "high", "orange"),
    ("zero", 0, "slight", "blue"),
])
def test_lec_band_edges_from_both_sides(_case, score, key, level):
    band = lec_band(score)
    assert band.key == key
    assert band.level == level


@pytest.mark.parametrize(("_case", "L", "E", "C", "score", "level"), [
    ("exactly 160 with non-standard values", 4, 4, 10, 160, "orange"),
    ("exactly 320 with non-standard values", 8, 4, 10, 320, "orange"),
    ("just above 320", Decimal("8.01"), 4, 10, Decimal("320.40"), "red"),
    ("alternative C value 50", 1, 1, 50, 50, "blue"),
    ("fractional everywhere", 2.5, 1.5, 20, 75, "yellow"),
])
def test_lec_allow_nonstandard_accepts_any_positive_number(_case, L, E, C, score, level):
    result = lec(L, E, C, allow_nonstandard=True)
    assert result.score == score
    assert result.level == level
    assert result.standard is False


def test_lec_allow_nonstandard_with_standard_values_is_marked_standard():
    assert lec(10, 1, 7, allow_nonstandard=True).standard is True


@pytest.mark.parametrize(("_case", "L", "E", "C"), [
    ("L=2 not in table", 2, 1, 1),
    ("L=5 not in table", 5, 1, 1),
    ("E=0.2 is an L value, not E", 1, 0.2, 1),
    ("E=0.1 not in table", 1, 0.1, 1),
    ("C=10 not in table", 1, 1, 10),
    ("C=50 not in table", 1, 1, 50),
    ("C=6 is an E value, not C", 1, 1, 6),
    ("L=0.3 not in table", 0.3, 1, 1),
])
def test_lec_refuses_nonstandard_values(_case, L, E, C):
    with pytest.raises(ValueError):
        lec(L, E, C)


@pytest.mark.parametrize(("_case", "L", "E", "C"), [
    ("zero L", 0, 1, 1),
    ("negative E", 1, -1, 1),
    ("zero C", 1, 1, 0),
    ("NaN", float("nan"), 1, 1),
    ("infinity", 1, float("inf"), 1),
    ("Decimal NaN", Decimal("NaN"), 1, 1),
    ("bool", True, 1, 1),
    ("string", "10", 1, 1),
    ("None", None, 1, 1),
])
@pytest.mark.parametrize("allow_nonstandard", [False, True])
def test_lec_refuses_non_positive_or_non_numeric_even_when_nonstandard_allowed(_case, L, E, C, allow_nonstandard):
    with pytest.raises(ValueError):
        lec(L, E, C, allow_nonstandard=allow_nonstandard)


def test_lec_every_standard_combination_agrees_with_the_band_table():
    for (lv, _), (ev, _), (cv, _) in itertools.product(LEC_L_TABLE, LEC_E_TABLE, LEC_C_TABLE):
        result = lec(lv, ev, cv)
        d = lv * ev * cv
        assert result.score == d
        assert d not in (160, 320)  # ref §2.3: these edges are unreachable with table values
        expected = "red" if d > 320 else "orange" if d >= 160 else "yellow" if d >= 70 else "blue"
        assert result.level == expected


def test_lec_result_is_frozen():
    result = lec(10, 1, 7)
    with pytest.raises(AttributeError):
        result.score = Decimal(1)


# ----------------------------------------------------------------------------------------------
# LS matrix (regulations.md §2.4)
# ----------------------------------------------------------------------------------------------


def test_ls_reachable_scores():
    assert LS_REACHABLE_SCORES == (1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 20, 25)


def test_schemes_are_the_four_reference_variants():
    assert {sid: s.variant for sid, s in SCHEMES.items()} == {
        "ls_20_15_9": "A",
        "ls_20_9_4": "B",
        "ls_20_10_4": "C",
        "ls_15_8_4": "D",
    }
    for sid, scheme in SCHEMES.items():
        assert scheme.id == sid
        assert scheme.label and scheme.source and scheme.tag in ("U", "V1", "V2")
        assert [b.level for b in scheme.bands] == list(LEVELS)
        # contiguous, covering 1..25 exactly once
        covered = [r for b in scheme.bands for r in range(b.low, b.high + 1)]
        assert sorted(covered) == list(range(1, 26))


# Levels of every reachable R, per scheme: (1,2,3,4,5,6,8,9,10,12,15,16,20,25).
EXPECTED_LS = {
    "ls_20_15_9": "b b b b b b b y y y o o r r",
    "ls_20_9_4": "b b b y y y y o o o o o r r",
    "ls_20_10_4": "b b b y y y y y o o o o r r",
    "ls_15_8_4": "b b b y y y o o o o r r r r",
}
_ABBR = {"r": "red", "o": "orange", "y": "yellow", "b": "blue"}


@pytest.mark.parametrize("scheme", sorted(EXPECTED_LS))
def test_ls_every_reachable_score(scheme):
    expected = [_ABBR[x] for x in EXPECTED_LS[scheme].split()]
    assert [ls_level(r, scheme=scheme) for r in LS_REACHABLE_SCORES] == expected


@pytest.mark.parametrize(("_case", "L", "S", "scheme", "score", "level"), [
    # A: 20 / 15 / 9
    ("A: 8 top of blue", 2, 4, "ls_20_15_9", 8, "blue"),
    ("A: 9 bottom of yellow", 3, 3, "ls_20_15_9", 9, "yellow"),
    ("A: 12 top of yellow", 3, 4, "ls_20_15_9", 12, "yellow"),
    ("A: 15 bottom of orange", 3, 5, "ls_20_15_9", 15, "orange"),
    ("A: 16 top of orange", 4, 4, "ls_20_15_9", 16, "orange"),
    ("A: 20 bottom of red", 4, 5, "ls_20_15_9", 20, "red"),
    ("A: 1 minimum", 1, 1, "ls_20_15_9", 1, "blue"),
    ("A: 25 maximum", 5, 5, "ls_20_15_9", 25, "red"),
    # B: 20 / 9 / 4
    ("B: 3 top of blue", 1, 3, "ls_20_9_4", 3, "blue"),
    ("B: 4 bottom of yellow", 2, 2, "ls_20_9_4", 4, "yellow"),
    ("B: 8 top of yellow", 4, 2, "ls_20_9_4", 8, "yellow"),
    ("B: 9 bottom of orange", 3, 3, "ls_20_9_4", 9, "orange"),
    ("B: 16 top of orange", 4, 4, "ls_20_9_4", 16, "orange"),
    ("B: 20 bottom of red", 5, 4, "ls_20_9_4", 20, "red"),
    # C: 20 / 10 / 4
    ("C: 3 top of blue", 3, 1, "ls_20_10_4", 3, "blue"),
    ("C: 4 bottom of yellow", 4, 1, "ls_20_10_4", 4, "yellow"),
    ("C: 9 top of yellow", 3, 3, "ls_20_10_4", 9, "yellow"),
    ("C: 10 bottom of orange", 2, 5, "ls_20_10_4", 10, "orange"),
    ("C: 16 top of orange", 4, 4, "ls_20_10_4", 16, "orange"),
    ("C: 20 bottom of red", 4, 5, "ls_20_10_4", 20, "red"),
    # D: 15 / 8 / 4
    ("D: 3 top of blue", 1, 3, "ls_15_8_4", 3, "blue"),
    ("D: 4 bottom of yellow", 1, 4, "ls_15_8_4", 4, "yellow"),
    ("D: 6 top of yellow", 2, 3, "ls_15_8_4", 6, "yellow"),
    ("D: 8 bottom of orange", 2, 4, "ls_15_8_4", 8, "orange"),
    ("D: 12 top of orange", 4, 3, "ls_15_8_4", 12, "orange"),
    ("D: 15 bottom of red", 5, 3, "ls_15_8_4", 15, "red"),
])
def test_ls_band_edges(_case, L, S, scheme, score, level):
    result = ls(L, S, scheme=scheme)
    assert result.score == score
    assert result.level == level
    assert result.scheme == scheme
    assert (result.L, result.S) == (L, S)


@pytest.mark.parametrize(("_case", "L", "S"), [
    ("L zero", 0, 3),
    ("L six", 6, 3),
    ("S zero", 3, 0),
    ("S six", 3, 6),
    ("negative", -1, 3),
    ("float L", 3.0, 3),
    ("Decimal S", 3, Decimal(3)),
    ("string L", "3", 3),
    ("bool S", 3, True),
    ("None", None, 3),
])
def test_ls_refuses_invalid_l_or_s(_case, L, S):
    with pytest.raises(ValueError):
        ls(L, S, scheme="ls_20_9_4")


@pytest.mark.parametrize(("_case", "scheme"), [
    ("unknown id", "ls_99"),
    ("reference letter is not an id", "A"),
    ("empty", ""),
    ("None", None),
])
def test_ls_refuses_unknown_scheme(_case, scheme):
    with pytest.raises(ValueError):
        ls(3, 3, scheme=scheme)


def test_ls_has_no_default_scheme():
    with pytest.raises(TypeError):
        ls(3, 3)  # type: ignore[call-arg]


@pytest.mark.parametrize(("_case", "score"), [("zero", 0), ("26", 26), ("float", 4.0)])
def test_ls_level_refuses_out_of_range_scores(_case, score):
    with pytest.raises(ValueError):
        ls_level(score, scheme="ls_20_9_4")


@pytest.mark.parametrize(("_case", "kwargs", "steps"), [
    ("nothing", {}, 0),
    ("provincial supervision", {"open_supervision": "provincial"}, 2),
    ("city supervision", {"open_supervision": "city"}, 1),
    ("penalty in past year", {"penalised_in_past_year": True}, 1),
    ("illegal operation", {"illegal_operation": True}, 2),
    ("city + penalty, max", {"open_supervision": "city", "penalised_in_past_year": True}, 1),
    ("city + penalty, sum", {"open_supervision": "city", "penalised_in_past_year": True, "combine": "sum"}, 2),
    ("all, max", {"open_supervision": "provincial", "penalised_in_past_year": True, "illegal_operation": True}, 2),
    ("all, sum", {"open_supervision": "provincial", "penalised_in_past_year": True, "illegal_operation": True,
                  "combine": "sum"}, 5),
])
def test_ls_15_8_4_uplift_steps(_case, kwargs, steps):
    assert ls_15_8_4_uplift_steps(**kwargs) == steps


@pytest.mark.parametrize(("_case", "kwargs"), [
    ("unknown supervision level", {"open_supervision": "county"}),
    ("unknown combine", {"combine": "min"}),
])
def test_ls_15_8_4_uplift_refuses_bad_input(_case, kwargs):
    with pytest.raises(ValueError):
        ls_15_8_4_uplift_steps(**kwargs)


def test_uplift_applied_with_raise_level():
    base = ls(2, 3, scheme="ls_15_8_4").level  # R = 6, yellow
    assert raise_level(base, ls_15_8_4_uplift_steps(open_supervision="provincial")) == "red"


# ----------------------------------------------------------------------------------------------
# Level order, highest level of an enterprise, reassessment due dates
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "levels", "expected"), [
    ("nothing", [], None),
    ("only empty values", [None, ""], None),
    ("one", ["yellow"], "yellow"),
    ("red wins", ["blue", "red", "yellow"], "red"),
    ("orange over yellow and blue", ["yellow", "blue", "orange", None], "orange"),
    ("blue only", ["blue", "blue"], "blue"),
])
def test_highest_level(_case, levels, expected):
    from worksafe.risks.rules import highest_level

    assert highest_level(levels) == expected


def test_level_rank_and_unknown_levels():
    from worksafe.risks.rules import highest_level, level_rank

    assert [level_rank(v) for v in LEVELS] == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        highest_level(["red", "green"])


@pytest.mark.parametrize(("_case", "start", "months", "expected"), [
    ("same day next year", "2025-03-15", 12, "2026-03-15"),
    ("31st into a 30-day month", "2025-01-31", 3, "2025-04-30"),
    ("leap day to 28 Feb", "2024-02-29", 12, "2025-02-28"),
    ("into a leap February", "2023-02-28", 12, "2024-02-28"),
    ("31 Jan + 1 month in a leap year", "2024-01-31", 1, "2024-02-29"),
    ("over a year end", "2025-11-30", 3, "2026-02-28"),
    ("zero months", "2025-06-01", 0, "2025-06-01"),
])
def test_add_months(_case, start, months, expected):
    import datetime

    from worksafe.risks.rules import add_months

    assert add_months(datetime.date.fromisoformat(start), months) == datetime.date.fromisoformat(expected)


@pytest.mark.parametrize(("_case", "level", "months", "expected"), [
    ("default 12 months", "red", 12, "2026-05-20"),
    ("default for blue too", "blue", 12, "2026-05-20"),
    ("deployment sets 6", "yellow", 6, "2025-11-20"),
    ("per level: red 6", "red", {"red": 6, "orange": 6}, "2025-11-20"),
    ("per level: missing level gets 12", "blue", {"red": 6}, "2026-05-20"),
])
def test_reassessment_due(_case, level, months, expected):
    import datetime

    from worksafe.risks.rules import reassessment_due

    assert reassessment_due(datetime.date(2025, 5, 20), level, months=months) == datetime.date.fromisoformat(expected)


@pytest.mark.parametrize(("_case", "level", "months"), [
    ("unknown level", "green", 12),
    ("zero interval", "red", 0),
    ("negative interval", "red", -3),
    ("fractional interval", "red", 1.5),
    ("bool interval", "red", True),
    ("zero in the mapping", "red", {"red": 0}),
])
def test_reassessment_due_refuses_bad_input(_case, level, months):
    import datetime

    from worksafe.risks.rules import reassessment_due

    with pytest.raises(ValueError):
        reassessment_due(datetime.date(2025, 5, 20), level, months=months)


def test_reassessment_default_is_twelve_months():
    import datetime

    from worksafe.risks.rules import REASSESSMENT_MONTHS, reassessment_due

    assert REASSESSMENT_MONTHS == 12
    assert reassessment_due(datetime.date(2025, 5, 20), "orange") == datetime.date(2026, 5, 20)
