"""Pure rules for risk grading (风险分级管控): four levels, LEC, the LS matrix, control tiers.

Source: /work/shared/rules/regulations.md §2 (cited below as "ref §2.x"). No Django imports.

Tags used in comments: [V2]/[V1]/[U] are the reference's confidence tags; [D] marks a platform
convention (our choice, not a rule); [M] marks an unverified rule exposed as a keyword argument with
a default so a deployment can change it.

Four levels (ref §2.2, 安委办〔2016〕11号) [V2]: red 重大风险, orange 较大风险, yellow 一般风险,
blue 低风险. The national guidance fixes no numeric cut-offs: each enterprise adopts a method and a
criterion (风险判定准则), so every assessment stores the method and the scheme id used [V1].

LEC (作业条件危险性评价法, ref §2.3): D = L × E × C with the standard tables below [V2].
Bands and colours (the "platform convention" of ref §2.3, which gives 320 and 160 to orange and 70
to yellow):

    D > 320          极其危险  → red
    160 ≤ D ≤ 320    高度危险  → orange
    70 ≤ D < 160     显著危险  → yellow
    20 ≤ D < 70      一般危险  → blue
    D < 20           稍有危险  → blue      (both lowest bands → blue: common practice [V1])

With standard table values D never equals 320 or 160; it can equal 70 (yellow) and 20 (blue).
Do not mix these with the original Kinney thresholds (400/200/70/20) [U].

LS matrix (ref §2.4): R = L × S, L and S integers 1..5. There are no national cut-offs; the
variants found are offered as named schemes (the id spells the minimum R of red/orange/yellow):

    id           ref variant  red     orange  yellow  blue   tag   source
    ls_20_15_9   A            20–25   15–16   9–12    1–8    [U]   Shandong-style guides (recalled)
    ls_20_9_4    B            20–25   9–16    4–8     1–3    [V1]  http://zgmkw.com/doc-30900.html
    ls_20_10_4   C            20–25   10–16   4–9     1–3    [V1]  https://mtoou.info/tubiao/54344.html
    ls_15_8_4    D            ≥ 15    8–12    4–6     < 4    [V1]  https://www.xiaomilidoc.com/p-10351738.html
                 (enterprise-level grading, hazardous chemicals)

The variants disagree at R = 4, 8, 9, 10 and 12. Scheme D also raises an enterprise's grade
(`ls_15_8_4_uplift_steps`, `raise_level`).

Control tiers (ref §2.2, common practice, not a national rule) [V1]: 重大 and 较大 → company level
plus workshop, team and post; 一般 → workshop, team and post; 低 → team and post.

Reassessment (复评) [M]: the reference fixes no interval; `reassessment_due` defaults to 12 months for
every level and takes the interval (or one per level) as a keyword argument.
"""

from __future__ import annotations

import calendar
import datetime
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Level = Literal["red", "orange", "yellow", "blue"]
ControlTier = Literal["company", "workshop", "team", "post"]
Number = int | float | Decimal

# ---------------------------------------------------------------------------------------------
# Four levels and colours (ref §2.2, 安委办〔2016〕11号) [V2]
# ---------------------------------------------------------------------------------------------

# Highest first; the index is the rank used by `raise_level`.
LEVELS: tuple[Level, ...] = ("red", "orange", "yellow", "blue")
LEVEL_LABELS: dict[str, str] = {
    "red": "重大风险",
    "orange": "较大风险",
    "yellow": "一般风险",
    "blue": "低风险",
}
# Colour names of the four-colour risk map (红橙黄蓝四色图) [V2].
LEVEL_COLOURS: dict[str, str] = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}
# [D] Screen colours for maps and badges: our choice, the reference fixes only the colour names.
LEVEL_HEX: dict[str, str] = {"red": "#d63939", "orange": "#f76707", "yellow": "#f59f00", "blue": "#206bc4"}


def _check_level(level: str) -> Level:
    if level not in LEVELS:
        raise ValueError(f"unknown risk level {level!r}; expected one of {LEVELS}")
    return level  # type: ignore[return-value]


def level_rank(level: str) -> int:
    """0 for red (the most severe) … 3 for blue; sorts levels from the highest down."""
    return LEVELS.index(_check_level(level))


def highest_level(levels: Iterable[str | None]) -> Level | None:
    """The most severe of `levels` (empty values skipped); None when none is given.

    An enterprise's level on the risk map is the highest level of its risk points [D].
    """
    found = [_check_level(level) for level in levels if level]
    return min(found, key=LEVELS.index) if found else None


def raise_level(level: str, steps: int) -> Level:
    """The level `steps` grades higher (blue → yellow → orange → red), capped at red.

    Used by the grade uplifts of LS scheme D (ref §2.4). `steps` must be ≥ 0.
    """
    _check_level(level)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError("steps must be an integer ≥ 0")
    return LEVELS[max(0, LEVELS.index(level) - steps)]


# ---------------------------------------------------------------------------------------------
# Control tiers (ref §2.2) [V1]
# ---------------------------------------------------------------------------------------------

CONTROL_TIERS: tuple[ControlTier, ...] = ("company", "workshop", "team", "post")
CONTROL_TIER_LABELS: dict[str, str] = {
    "company": "公司级",
    "workshop": "车间级",
    "team": "班组级",
    "post": "岗位级",
}
# Ref §2.2 [V1], common practice rather than a national rule: the highest tier that owns the risk;
# every tier below it takes part as well (see `control_tiers_for`).
_TOP_TIER: dict[str, ControlTier] = {
    "red": "company",
    "orange": "company",
    "yellow": "workshop",
    "blue": "team",
}


def control_tier_for(level: str) -> ControlTier:
    """Default (highest) control tier for a risk level (ref §2.2, common practice [V1]).

    red and orange → company; yellow → workshop; blue → team. Enterprises may assign a higher tier.
    """
    return _TOP_TIER[_check_level(level)]


def control_tiers_for(level: str) -> tuple[ControlTier, ...]:
    """Every tier that controls a risk of this level, highest first (ref §2.2 [V1]).

    red/orange → company, workshop, team, post; yellow → workshop, team, post; blue → team, post.
    """
    top = control_tier_for(level)
    return CONTROL_TIERS[CONTROL_TIERS.index(top) :]


# ---------------------------------------------------------------------------------------------
# LEC, D = L × E × C (ref §2.3)
# ---------------------------------------------------------------------------------------------

# Identifiers to store with each LEC assessment (ref §2.3: "store the C table version").
LEC_METHOD_ID = "lec"
LEC_TABLE_VERSION = "classic"  # the casualty-based C table below, not a property-loss variant
LEC_CRITERION_ID = "lec_320_160_70_20"

# Standard score tables, highest value first (ref §2.3) [V2]. Chinese wording as printed in the
# source copies cited there (e.g. https://www.xiaomilidoc.com/p-9291236.html).
LEC_L_TABLE: tuple[tuple[Decimal, str], ...] = (
    (Decimal("10"), "完全可以预料"),
    (Decimal("6"), "相当可能"),
    (Decimal("3"), "可能，但不经常"),
    (Decimal("1"), "可能性小，完全意外"),
    (Decimal("0.5"), "很不可能，可以设想"),
    (Decimal("0.2"), "极不可能"),
    (Decimal("0.1"), "实际不可能"),
)
LEC_E_TABLE: tuple[tuple[Decimal, str], ...] = (
    (Decimal("10"), "连续暴露"),
    (Decimal("6"), "每天工作时间内暴露"),
    (Decimal("3"), "每周一次，或偶然暴露"),
    (Decimal("2"), "每月一次暴露"),
    (Decimal("1"), "每年几次暴露"),
    (Decimal("0.5"), "非常罕见地暴露"),
)
LEC_C_TABLE: tuple[tuple[Decimal, str], ...] = (
    (Decimal("100"), "大灾难，许多人死亡"),
    (Decimal("40"), "灾难，数人死亡"),
    (Decimal("15"), "非常严重，一人死亡"),
    (Decimal("7"), "严重，重伤"),
    (Decimal("3"), "重大，致残"),
    (Decimal("1"), "引人注目，需要救护"),
)
_L_VALUES = frozenset(v for v, _ in LEC_L_TABLE)
_E_VALUES = frozenset(v for v, _ in LEC_E_TABLE)
_C_VALUES = frozenset(v for v, _ in LEC_C_TABLE)


@dataclass(frozen=True)
class LecBand:
    """One of the five classic LEC bands (ref §2.3) [V2]; `bounds` is for display only."""

    key: str
    label: str
    action: str
    bounds: str
    level: Level


# Highest first. Boundaries: ref §2.3 platform convention (320 and 160 → orange, 70 → yellow).
LEC_BANDS: tuple[LecBand, ...] = (
    LecBand("extreme", "极其危险", "不能继续作业", "D > 320", "red"),
    LecBand("high", "高度危险", "需立即整改", "160 ≤ D ≤ 320", "orange"),
    LecBand("substantial", "显著危险", "需要整改", "70 ≤ D < 160", "yellow"),
    LecBand("possible", "一般危险", "需要注意", "20 ≤ D < 70", "blue"),
    LecBand("slight", "稍有危险", "可以接受", "D < 20", "blue"),
)
_BAND = {b.key: b for b in LEC_BANDS}


@dataclass(frozen=True)
class LecResult:
    """An LEC evaluation: the inputs, D = L × E × C (exact Decimal), its band and level."""

    L: Decimal
    E: Decimal
    C: Decimal
    score: Decimal
    band: LecBand
    level: Level
    standard: bool  # all three values come from the standard tables


def _to_decimal(name: str, value: Number) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
        value = Decimal(repr(value))  # 0.1 → Decimal("0.1"), not the binary expansion
    result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"{name} must be finite, got {value!r}")
    return result


def lec_band(score: Number) -> LecBand:
    """The LEC band of a D value (ref §2.3): > 320, [160, 320], [70, 160), [20, 70), < 20."""
    d = _to_decimal("D", score)
    if d > 320:
        return _BAND["extreme"]
    if d >= 160:
        return _BAND["high"]
    if d >= 70:
        return _BAND["substantial"]
    if d >= 20:
        return _BAND["possible"]
    return _BAND["slight"]


def lec(L: Number, E: Number, C: Number, *, allow_nonstandard: bool = False) -> LecResult:
    """Evaluate D = L × E × C (作业条件危险性评价法, ref §2.3) and grade it.

    L, E and C must be values of the standard tables (`LEC_L_TABLE`, `LEC_E_TABLE`, `LEC_C_TABLE`)
    unless `allow_nonstandard` is set, in which case any positive finite number is accepted (some
    enterprises use alternative C tables, ref §2.3 [V1]; store the table version with the result).
    Arithmetic is exact (Decimal), so D = 0.1 × 2 × 100 is exactly 20 (blue, not yellow's edge).

    Raises ValueError for a non-standard value (unless allowed), a non-positive or non-numeric one.
    """
    values = {"L": _to_decimal("L", L), "E": _to_decimal("E", E), "C": _to_decimal("C", C)}
    tables = {"L": _L_VALUES, "E": _E_VALUES, "C": _C_VALUES}
    standard = True
    for name, value in values.items():
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value}")
        if value not in tables[name]:
            standard = False
            if not allow_nonstandard:
                allowed = ", ".join(str(v) for v in sorted(tables[name]))
                raise ValueError(f"{name}={value} is not in the standard LEC table ({allowed})")
    score = values["L"] * values["E"] * values["C"]
    # Tidy the exponent: Decimal("20.0") → Decimal("20"), Decimal("0.050") → Decimal("0.05").
    score = score.quantize(Decimal(1)) if score == score.to_integral_value() else score.normalize()
    band = lec_band(score)
    return LecResult(values["L"], values["E"], values["C"], score, band, band.level, standard)


# ---------------------------------------------------------------------------------------------
# LS matrix, R = L × S (ref §2.4)
# ---------------------------------------------------------------------------------------------

LS_METHOD_ID = "ls"
LS_RANGE = range(1, 6)
# Every value L × S can take (ref §2.4).
LS_REACHABLE_SCORES: tuple[int, ...] = tuple(sorted({lv * sv for lv in LS_RANGE for sv in LS_RANGE}))


@dataclass(frozen=True)
class LsBand:
    """R values from `low` to `high` (inclusive) get `level`."""

    level: Level
    low: int
    high: int


@dataclass(frozen=True)
class LsScheme:
    """A named LS cut-off scheme (风险判定准则) an enterprise can adopt (ref §2.4)."""

    id: str
    variant: str  # the reference's name for it (A/B/C/D)
    label: str
    source: str
    tag: str  # the reference's confidence tag
    bands: tuple[LsBand, ...]  # red first; lows strictly decreasing, together they cover 1..25


def _scheme(
    sid: str, variant: str, label: str, source: str, tag: str, red: int, orange: int, yellow: int
) -> LsScheme:
    bands = (
        LsBand("red", red, 25),
        LsBand("orange", orange, red - 1),
        LsBand("yellow", yellow, orange - 1),
        LsBand("blue", 1, yellow - 1),
    )
    return LsScheme(sid, variant, label, source, tag, bands)


# Bands are stored as contiguous ranges; the gaps between printed ranges (e.g. 13–14, 17–19 in A)
# are unreachable products, so contiguous ranges give the same result as the printed ones.
SCHEMES: dict[str, LsScheme] = {
    s.id: s
    for s in (
        _scheme(
            "ls_20_15_9",
            "A",
            "LS 变体A：红 20–25 / 橙 15–16 / 黄 9–12 / 蓝 1–8",
            "ref §2.4 variant A (Shandong-style guides, recalled; unverified)",
            "U",
            20,
            15,
            9,
        ),
        _scheme(
            "ls_20_9_4",
            "B",
            "LS 变体B：红 20–25 / 橙 9–16 / 黄 4–8 / 蓝 1–3",
            "ref §2.4 variant B, http://zgmkw.com/doc-30900.html",
            "V1",
            20,
            9,
            4,
        ),
        _scheme(
            "ls_20_10_4",
            "C",
            "LS 变体C：红 20–25 / 橙 10–16 / 黄 4–9 / 蓝 1–3",
            "ref §2.4 variant C, https://mtoou.info/tubiao/54344.html",
            "V1",
            20,
            10,
            4,
        ),
        _scheme(
            "ls_15_8_4",
            "D",
            "LS 变体D（危化企业分级）：红 ≥15 / 橙 8–12 / 黄 4–6 / 蓝 <4",
            "ref §2.4 variant D, https://www.xiaomilidoc.com/p-10351738.html",
            "V1",
            15,
            8,
            4,
        ),
    )
}


@dataclass(frozen=True)
class LsResult:
    """An LS evaluation: the inputs, R = L × S, the level and the scheme id used."""

    L: int
    S: int
    score: int
    level: Level
    scheme: str


def _check_ls_value(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in LS_RANGE:
        raise ValueError(f"{name} must be an integer 1..5, got {value!r}")
    return value


def ls_level(score: int, *, scheme: str) -> Level:
    """The level of an R value under a scheme (ref §2.4). Unknown scheme or R outside 1..25 → ValueError."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown LS scheme {scheme!r}; expected one of {sorted(SCHEMES)}")
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 25:
        raise ValueError(f"R must be an integer 1..25, got {score!r}")
    for band in SCHEMES[scheme].bands:
        if band.low <= score <= band.high:
            return band.level
    raise AssertionError("scheme bands do not cover 1..25")  # pragma: no cover


def ls(L: int, S: int, *, scheme: str) -> LsResult:
    """Evaluate R = L × S on the 5 × 5 matrix (ref §2.4) and grade it under `scheme` (see `SCHEMES`).

    L and S must be integers 1..5 (ValueError otherwise); an unknown scheme id is a ValueError.
    There is deliberately no default scheme: no national cut-off exists, the enterprise picks one.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown LS scheme {scheme!r}; expected one of {sorted(SCHEMES)}")
    score = _check_ls_value("L", L) * _check_ls_value("S", S)
    return LsResult(L, S, score, ls_level(score, scheme=scheme), scheme)


def ls_15_8_4_uplift_steps(
    *,
    open_supervision: Literal["provincial", "city"] | None = None,
    penalised_in_past_year: bool = False,
    illegal_operation: bool = False,
    combine: Literal["max", "sum"] = "max",
) -> int:
    """Grades to raise an enterprise graded under scheme D / `ls_15_8_4` (ref §2.4) [V1].

    - unfinished 挂牌督办 at provincial level or above: 2 grades; at city level: 1 grade;
    - any administrative penalty in the past year: at least 1 grade;
    - illegal production, operation or construction: 2 grades.

    [M] How several triggers combine is not stated: `combine="max"` (default) takes the largest
    single uplift, `"sum"` adds them. Apply the result with `raise_level` (capped at red).
    """
    if open_supervision not in (None, "provincial", "city"):
        raise ValueError(f"open_supervision must be None, 'provincial' or 'city', got {open_supervision!r}")
    if combine not in ("max", "sum"):
        raise ValueError(f"combine must be 'max' or 'sum', got {combine!r}")
    steps = []
    if open_supervision == "provincial":
        steps.append(2)
    elif open_supervision == "city":
        steps.append(1)
    if penalised_in_past_year:
        steps.append(1)
    if illegal_operation:
        steps.append(2)
    if not steps:
        return 0
    return max(steps) if combine == "max" else sum(steps)


# ---------------------------------------------------------------------------------------------
# Reassessment (复评) [M]
# ---------------------------------------------------------------------------------------------

# [M] The reference (ref §2) gives no reassessment interval for risk points. The platform default is
# 12 months for every level; a deployment sets another number (or one per level) through the
# RISK_REASSESSMENT_MONTHS setting, passed here as `months`.
REASSESSMENT_MONTHS = 12


def add_months(start: datetime.date, months: int) -> datetime.date:
    """`start` plus whole months (ref §0): the corresponding day of the final month, or that month's last
    day when the day does not exist (2024-02-29 + 12 months → 2025-02-28)."""
    if isinstance(months, bool) or not isinstance(months, int) or months < 0:
        raise ValueError(f"months must be an integer ≥ 0, got {months!r}")
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return datetime.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def reassessment_due(
    assessed_on: datetime.date, level: str, *, months: int | Mapping[str, int] = REASSESSMENT_MONTHS
) -> datetime.date:
    """When a risk point assessed on `assessed_on` at `level` is due to be assessed again [M].

    `months` is one interval for every level or a mapping level → months (levels missing from the
    mapping get `REASSESSMENT_MONTHS`). Month arithmetic follows ref §0 (`add_months`).
    """
    _check_level(level)
    interval = months.get(level, REASSESSMENT_MONTHS) if isinstance(months, Mapping) else months
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise ValueError(f"the reassessment interval must be a whole number of months ≥ 1, got {interval!r}")
    return add_months(assessed_on, interval)
