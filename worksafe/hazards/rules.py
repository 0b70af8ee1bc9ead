"""Pure rules for hidden-hazard investigation and treatment (事故隐患排查治理).

Source: /work/shared/rules/regulations.md §0 and §3 (cited as "ref §x"), which in turn cites
《安全生产事故隐患排查治理暂行规定》(原安监总局令第16号, "16号令"), the Work Safety Law 2021 and
《化工和危险化学品生产经营单位重大生产安全事故隐患判定标准（试行）》(安监总管三〔2017〕121号).
No Django imports.

Tags: [V2]/[V1]/[U] are the reference's; [D] marks a platform convention (our choice); [M] marks an
unverified rule exposed as a keyword argument with a default, so a deployment can change it.

Dates are local (Asia/Shanghai) calendar dates. A deadline day runs to 24:00, so anything done on the
deadline day is on time (ref §0, Civil Code Art. 203) [V2].
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

DeadlineState = Literal["overdue", "due_soon", "on_track"]
HazardGrade = Literal["general", "major"]
HolidayTest = Callable[[datetime.date], bool]

CHINA_TZ = datetime.timezone(datetime.timedelta(hours=8))  # ref §0: timestamps at +08:00


def _local_date(value: datetime.date) -> datetime.date:
    """A date as is; an aware datetime as its +08:00 calendar date; a naive datetime as its date."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            value = value.astimezone(CHINA_TZ)
        return value.date()
    if isinstance(value, datetime.date):
        return value
    raise ValueError(f"expected a date, got {value!r}")


def roll_past_holidays(day: datetime.date, is_holiday: HolidayTest | None) -> datetime.date:
    """The first day from `day` on that is not a holiday (Civil Code Art. 203, ref §0) [V2].

    `is_holiday` answers for one date (it should treat weekends as rest days and honour 调休 make-up
    workdays). None means no roll-over.
    """
    if is_holiday is None:
        return day
    for _ in range(60):  # no holiday run is anywhere near this long; guards a broken callback
        if not is_holiday(day):
            return day
        day += datetime.timedelta(days=1)
    raise ValueError("is_holiday reports more than 60 consecutive holidays")


def _add_years(day: datetime.date, years: int) -> datetime.date:
    """Same month and day `years` later; 29 Feb → 28 Feb (ref §0, Civil Code Art. 202) [V2]."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# ---------------------------------------------------------------------------------------------
# Statistics reports of the unit (16号令, ref §3.2) [V2]
# ---------------------------------------------------------------------------------------------

QUARTERS = (1, 2, 3, 4)


def quarter_of(day: datetime.date) -> tuple[int, int]:
    """(year, quarter) containing `day`."""
    return day.year, (day.month - 1) // 3 + 1


def quarterly_report_due(year: int, quarter: int, *, is_holiday: HolidayTest | None = None) -> datetime.date:
    """Due date of the quarterly hazard analysis for (year, quarter) (16号令, ref §3.2) [V2].

    The 15th of the first month of the next quarter: Q1 → 15 Apr, Q2 → 15 Jul, Q3 → 15 Oct,
    Q4 → 15 Jan of year + 1.

    [M] `is_holiday`: whether the Civil Code holiday roll-over applies to these filings is not
    confirmed (ref §0, §10 item 7). Default None: no roll-over. Pass a holiday test to enable it.
    """
    if isinstance(quarter, bool) or not isinstance(quarter, int) or quarter not in QUARTERS:
        raise ValueError(f"quarter must be 1..4, got {quarter!r}")
    if quarter == 4:
        due = datetime.date(year + 1, 1, 15)
    else:
        due = datetime.date(year, 3 * quarter + 1, 15)
    return roll_past_holidays(due, is_holiday)


def annual_report_due(year: int, *, is_holiday: HolidayTest | None = None) -> datetime.date:
    """Due date of the annual hazard analysis for `year`: 31 January of year + 1 (ref §3.2) [V2].

    [M] `is_holiday`: as for `quarterly_report_due`; default None (no roll-over).
    """
    return roll_past_holidays(datetime.date(year + 1, 1, 31), is_holiday)


def is_late(submitted_on: datetime.date, due: datetime.date) -> bool:
    """Whether a submission on `submitted_on` misses `due` (ref §0: the deadline is 24:00 of the due day).

    On the due date → not late; the day after → late. Datetimes are reduced to their +08:00 date.
    """
    return _local_date(submitted_on) > _local_date(due)


DEADLINE_STATES: tuple[DeadlineState, ...] = ("overdue", "due_soon", "on_track")


def deadline_state(deadline: datetime.date, today: datetime.date, due_soon_days: int) -> DeadlineState:
    """'overdue', 'due_soon' or 'on_track' for an open item with `deadline`, seen on `today`.

    - overdue: today > deadline (the deadline day itself is still on time, ref §0) [V2 for civil law];
    - due_soon: 0 ≤ days left ≤ due_soon_days, both ends inclusive [D]; with due_soon_days = 0 only
      the deadline day is due soon;
    - on_track: otherwise.
    The due-soon window length is the caller's setting [D]; it must be ≥ 0.
    """
    if isinstance(due_soon_days, bool) or not isinstance(due_soon_days, int) or due_soon_days < 0:
        raise ValueError(f"due_soon_days must be an integer ≥ 0, got {due_soon_days!r}")
    days_left = (_local_date(deadline) - _local_date(today)).days
    if days_left < 0:
        return "overdue"
    if days_left <= due_soon_days:
        return "due_soon"
    return "on_track"


# ---------------------------------------------------------------------------------------------
# Escalation up the GB/T 2260 jurisdiction tree (DESIGN "Jurisdiction scoping"; STYLE §4)
# ---------------------------------------------------------------------------------------------

# Prefix width per level (same as worksafe.core.choices.LEVEL_WIDTH, repeated to stay Django-free).
# Cut a code by width, never by stripping zeros: 330110 is a district, not a city.
JURISDICTION_WIDTHS: dict[str, int] = {"province": 2, "city": 4, "county": 6, "township": 9}
_LEVEL_BY_WIDTH = {w: level for level, w in JURISDICTION_WIDTHS.items()}
_WIDTHS = sorted(JURISDICTION_WIDTHS.values())


def jurisdiction_level(code: str) -> str:
    """'province', 'city', 'county' or 'township' from the width of a GB/T 2260 prefix code."""
    if (
        not isinstance(code, str)
        or not code.isascii()
        or not code.isdigit()
        or len(code) not in _LEVEL_BY_WIDTH
    ):
        raise ValueError(f"not a GB/T 2260 prefix code of width 2/4/6/9: {code!r}")
    return _LEVEL_BY_WIDTH[len(code)]


def escalation_target_code(code: str) -> str | None:
    """The jurisdiction code one level up: township → county → city → province → None.

    350203001 → 350203, 350203 → 3502, 3502 → 35, 35 → None. Cut by width, never by stripping
    zeros (330110 → 3301). ValueError for anything that is not a 2/4/6/9-digit code.
    """
    jurisdiction_level(code)
    index = _WIDTHS.index(len(code))
    return None if index == 0 else code[: _WIDTHS[index - 1]]


def escalation_chain(code: str) -> tuple[str, ...]:
    """Every code above `code`, nearest first (350203 → ("3502", "35"))."""
    chain = []
    current = escalation_target_code(code)
    while current is not None:
        chain.append(current)
        current = escalation_target_code(current)
    return tuple(chain)


# ---------------------------------------------------------------------------------------------
# Grading a hazard (16号令 definitions, ref §3.1) [V2]
# ---------------------------------------------------------------------------------------------

HAZARD_GRADES: tuple[HazardGrade, ...] = ("general", "major")
HAZARD_GRADE_LABELS: dict[str, str] = {"general": "一般事故隐患", "major": "重大事故隐患"}


def hazard_grade(
    *,
    needs_shutdown_to_fix: bool,
    unit_cannot_fix_external: bool,
    meets_major_criterion: bool = False,
) -> HazardGrade:
    """'major' or 'general' (16号令 definitions, ref §3.1 [V2]; sector standards, ref §3.5–3.6).

    Major when any holds:
    - high harm or hard to fix, needing a full or partial stop and a period of treatment;
    - the unit cannot remove it itself because of external factors;
    - it matches an item of a sector 重大事故隐患判定标准 (e.g. `MAJOR_HAZARD_CRITERIA_HAZCHEM`).
    Otherwise general (low harm, easy to fix, removable at once on discovery).
    """
    if needs_shutdown_to_fix or unit_cannot_fix_external or meets_major_criterion:
        return "major"
    return "general"


# ---------------------------------------------------------------------------------------------
# Major hazard report and treatment plan (16号令, ref §3.2) [V2]
# ---------------------------------------------------------------------------------------------

# The report on a 重大隐患 to the regulator must contain these three parts, in this order.
MAJOR_HAZARD_REQUIRED_PARTS: tuple[tuple[str, str], ...] = (
    ("current_state_and_causes", "现状及其产生原因"),
    ("harm_and_difficulty", "危害程度和整改难易程度分析"),
    ("treatment_plan", "治理方案"),
)
# The treatment plan drawn up under the main responsible person must cover these six items.
MAJOR_HAZARD_TREATMENT_PLAN_PARTS: tuple[tuple[str, str], ...] = (
    ("goals_and_tasks", "治理的目标和任务"),
    ("methods_and_measures", "采取的方法和措施"),
    ("funds_and_materials", "经费和物资的落实"),
    ("responsible_body_and_people", "负责治理的机构和人员"),
    ("time_limit_and_requirements", "治理的时限和要求"),
    ("safety_measures_and_emergency_plan", "安全措施和应急预案"),
)


def _missing(parts: tuple[tuple[str, str], ...], given: Mapping[str, object]) -> tuple[str, ...]:
    missing = []
    for key, _label in parts:
        value = given.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            missing.append(key)
    return tuple(missing)


def missing_report_parts(report: Mapping[str, object]) -> tuple[str, ...]:
    """Keys of `MAJOR_HAZARD_REQUIRED_PARTS` that are absent, None or blank in `report` (ref §3.2)."""
    return _missing(MAJOR_HAZARD_REQUIRED_PARTS, report)


def missing_treatment_plan_parts(plan: Mapping[str, object]) -> tuple[str, ...]:
    """Keys of `MAJOR_HAZARD_TREATMENT_PLAN_PARTS` that are absent, None or blank in `plan` (ref §3.2)."""
    return _missing(MAJOR_HAZARD_TREATMENT_PLAN_PARTS, plan)


# ---------------------------------------------------------------------------------------------
# Restart after treatment under shutdown (16号令; ref §3.3) [V1]
# ---------------------------------------------------------------------------------------------


def restart_review_due(
    received_on: datetime.date,
    *,
    days: int = 10,
    is_holiday: HolidayTest | None = None,
) -> datetime.date:
    """Last day for the regulator's on-site review of a restart application (ref §3.3).

    For a 挂牌督办 hazard treated under full/partial shutdown the regulator reviews on site within
    10 days of receiving the application. Day counting per ref §0: the day of receipt is not
    counted, so the last day is received_on + days.

    [M] `days=10`: seen only in an exam item and a Hubei rule (ref §10 item 1).
    [M] `is_holiday`: holiday roll-over for administrative deadlines is unconfirmed; default none.
    """
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be a positive integer, got {days!r}")
    return roll_past_holidays(_local_date(received_on) + datetime.timedelta(days=days), is_holiday)


# ---------------------------------------------------------------------------------------------
# Closure rule (Work Safety Law 2021 Art. 113(1), ref §3.2) [V2]
# ---------------------------------------------------------------------------------------------

CLOSURE_WINDOW_DAYS = 180
CLOSURE_COUNT_IN_WINDOW = 3
CLOSURE_COUNT_IN_YEAR = 4
RESPONSIBLE_PERSON_BAN_YEARS = 5  # Art. 113: main responsible person barred for 5 years


def closure_rule_triggered(penalty_dates: Iterable[datetime.date]) -> bool:
    """Whether a unit with a 重大隐患 must be put forward for closure (Law Art. 113(1), ref §3.2).

    True when it received administrative penalties 3 times within 180 days or 4 times within one
    year. Pass only the penalties under the Work Safety Law imposed while the 重大隐患 existed;
    several penalties on one date count separately.

    [D] Window reading: any run of penalties counts, not only the most recent; "within 180 days"
    means the last date ≤ the first + 180 days, "within one year" means ≤ the same date one year
    later (29 Feb → 28 Feb), following the day-counting rule of ref §0 (start day not counted).
    """
    dates = sorted(_local_date(d) for d in penalty_dates)
    window = datetime.timedelta(days=CLOSURE_WINDOW_DAYS)
    for i, first in enumerate(dates):
        third = i + CLOSURE_COUNT_IN_WINDOW - 1
        if third < len(dates) and dates[third] <= first + window:
            return True
        fourth = i + CLOSURE_COUNT_IN_YEAR - 1
        if fourth < len(dates) and dates[fourth] <= _add_years(first, 1):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# 化工和危险化学品生产经营单位重大生产安全事故隐患判定标准（试行）, 安监总管三〔2017〕121号
# (ref §3.5) [V2]: any one item makes a 重大事故隐患.
# ---------------------------------------------------------------------------------------------

MAJOR_HAZARD_CRITERIA_HAZCHEM_SOURCE = (
    "化工和危险化学品生产经营单位重大生产安全事故隐患判定标准（试行），安监总管三〔2017〕121号"
)
MAJOR_HAZARD_CRITERIA_HAZCHEM: tuple[tuple[int, str], ...] = (
    (1, "危险化学品生产、经营单位主要负责人和安全生产管理人员未依法经考核合格。"),
    (2, "特种作业人员未持证上岗。"),
    (3, "涉及“两重点一重大”的生产装置、储存设施外部安全防护距离不符合国家标准要求。"),
    (
        4,
        "涉及重点监管危险化工工艺的装置未实现自动化控制，系统未实现紧急停车功能，装备的自动化控制系统、"
        "紧急停车系统未投入使用。",
    ),
    (
        5,
        "构成一级、二级重大危险源的危险化学品罐区未实现紧急切断功能；涉及毒性气体、液化气体、剧毒液体的一级、"
        "二级重大危险源的危险化学品罐区未配备独立的安全仪表系统。",
    ),
    (6, "全压力式液化烃储罐未按国家标准设置注水措施。"),
    (7, "液化烃、液氨、液氯等易燃易爆、有毒有害液化气体的充装未使用万向管道充装系统。"),
    (8, "光气、氯气等剧毒气体及硫化氢气体管道穿越除厂区（包括化工园区、工业园区）外的公共区域。"),
    (9, "地区架空电力线路穿越生产区且不符合国家标准要求。"),
    (10, "在役化工装置未经正规设计且未进行安全设计诊断。"),
    (11, "使用淘汰落后安全技术工艺、设备目录列出的工艺、设备。"),
    (
        12,
        "涉及可燃和有毒有害气体泄漏的场所未按国家标准设置检测报警装置，爆炸危险场所未按国家标准安装使用防爆电气设备。",
    ),
    (13, "控制室或机柜间面向具有火灾、爆炸危险性装置一侧不满足国家标准关于防火防爆的要求。"),
    (14, "化工生产装置未按国家标准要求设置双重电源供电，自动化控制系统未设置不间断电源。"),
    (15, "安全阀、爆破片等安全附件未正常投用。"),
    (16, "未建立与岗位相匹配的全员安全生产责任制或者未制定实施生产安全事故隐患排查治理制度。"),
    (17, "未制定操作规程和工艺控制指标。"),
    (18, "未按照国家标准制定动火、进入受限空间等特殊作业管理制度，或者制度未有效执行。"),
    (
        19,
        "新开发的危险化学品生产工艺未经小试、中试、工业化试验直接进行工业化生产；国内首次使用的化工工艺未经过"
        "省级人民政府有关部门组织的安全可靠性论证；新建装置未制定试生产方案投料开车；精细化工企业未按规范性文件"
        "要求开展反应安全风险评估。",
    ),
    (20, "未按国家标准分区分类储存危险化学品，超量、超品种储存危险化学品，相互禁配物质混放混存。"),
)
