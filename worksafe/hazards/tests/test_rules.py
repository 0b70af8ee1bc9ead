"""Pure rules of hidden-hazard treatment: report deadlines, deadline states, escalation, criteria (no database)."""

import datetime
import re

import pytest

from worksafe.hazards.rules import (
    DEADLINE_STATES,
    HAZARD_GRADE_LABELS,
    MAJOR_HAZARD_CRITERIA_HAZCHEM,
    MAJOR_HAZARD_REQUIRED_PARTS,
    MAJOR_HAZARD_TREATMENT_PLAN_PARTS,
    annual_report_due,
    closure_rule_triggered,
    deadline_state,
    escalation_chain,
    escalation_target_code,
    hazard_grade,
    is_late,
    jurisdiction_level,
    missing_report_parts,
    missing_treatment_plan_parts,
    quarter_of,
    quarterly_report_due,
    restart_review_due,
    roll_past_holidays,
)

D = datetime.date
CST = datetime.timezone(datetime.timedelta(hours=8))


def weekends(day: datetime.date) -> bool:
    return day.weekday() >= 5


# ----------------------------------------------------------------------------------------------
# Quarterly and annual statistics (16号令, regulations.md §3.2)
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "year", "quarter", "due"), [
    ("Q1 → 15 April", 2024, 1, D(2024, 4, 15)),
    ("Q2 → 15 July", 2024, 2, D(2024, 7, 15)),
    ("Q3 → 15 October", 2024, 3, D(2024, 10, 15)),
    ("Q4 → 15 January next year", 2024, 4, D(2025, 1, 15)),
    ("Q4 rollover from 2023", 2023, 4, D(2024, 1, 15)),
    ("Q4 rollover at a decade", 2029, 4, D(2030, 1, 15)),
    ("weekend due date is not moved by default", 2023, 1, D(2023, 4, 15)),
])
def test_quarterly_report_due(_case, year, quarter, due):
    assert quarterly_report_due(year, quarter) == due


@pytest.mark.parametrize(("_case", "quarter"), [
    ("zero", 0),
    ("five", 5),
    ("negative", -1),
    ("bool", True),
    ("float", 1.0),
    ("string", "1"),
    ("None", None),
])
def test_quarterly_report_due_refuses_bad_quarter(_case, quarter):
    with pytest.raises(ValueError):
        quarterly_report_due(2024, quarter)


@pytest.mark.parametrize(("_case", "year", "due"), [
    ("2023 → 31 Jan 2024 (leap year irrelevant)", 2023, D(2024, 1, 31)),
    ("2024 → 31 Jan 2025", 2024, D(2025, 1, 31)),
    ("2027 → 31 Jan 2028", 2027, D(2028, 1, 31)),
    ("2025 → 31 Jan 2026, a Saturday, not moved by default", 2025, D(2026, 1, 31)),
])
def test_annual_report_due(_case, year, due):
    assert annual_report_due(year) == due


@pytest.mark.parametrize(("_case", "due", "expected"), [
    ("quarterly on Saturday rolls to Monday", lambda h: quarterly_report_due(2023, 1, is_holiday=h), D(2023, 4, 17)),
    ("annual on Saturday rolls to Monday", lambda h: annual_report_due(2025, is_holiday=h), D(2026, 2, 2)),
    ("working day is not moved", lambda h: quarterly_report_due(2024, 4, is_holiday=h), D(2025, 1, 15)),
])
def test_report_due_with_holiday_roll_over(_case, due, expected):
    assert due(weekends) == expected


@pytest.mark.parametrize(("_case", "day", "is_holiday", "expected"), [
    ("explicit holiday set (National Day week)", D(2024, 10, 1), {D(2024, 10, d) for d in range(1, 8)}.__contains__,
     D(2024, 10, 8)),
    ("weekend test on a Sunday", D(2024, 10, 13), weekends, D(2024, 10, 14)),
    ("no callback: unchanged", D(2024, 10, 1), None, D(2024, 10, 1)),
])
def test_roll_past_holidays(_case, day, is_holiday, expected):
    assert roll_past_holidays(day, is_holiday) == expected


def test_holiday_roll_over_refuses_a_callback_that_never_ends():
    with pytest.raises(ValueError):
        roll_past_holidays(D(2024, 1, 1), lambda day: True)


@pytest.mark.parametrize(("_case", "day", "expected"), [
    ("1 January", D(2024, 1, 1), (2024, 1)),
    ("31 March", D(2024, 3, 31), (2024, 1)),
    ("1 April", D(2024, 4, 1), (2024, 2)),
    ("30 September", D(2024, 9, 30), (2024, 3)),
    ("1 October", D(2024, 10, 1), (2024, 4)),
    ("31 December", D(2024, 12, 31), (2024, 4)),
])
def test_quarter_of(_case, day, expected):
    assert quarter_of(day) == expected


# ----------------------------------------------------------------------------------------------
# Lateness and deadline states
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "submitted", "due", "late"), [
    ("day before", D(2024, 4, 14), D(2024, 4, 15), False),
    ("on the due date", D(2024, 4, 15), D(2024, 4, 15), False),
    ("day after", D(2024, 4, 16), D(2024, 4, 15), True),
    ("month later", D(2024, 5, 15), D(2024, 4, 15), True),
    ("23:59 Beijing time on the due date", datetime.datetime(2024, 4, 15, 23, 59, tzinfo=CST), D(2024, 4, 15), False),
    ("00:00 Beijing time the day after", datetime.datetime(2024, 4, 16, 0, 0, tzinfo=CST), D(2024, 4, 15), True),
    ("15:59 UTC is 23:59 in Beijing", datetime.datetime(2024, 4, 15, 15, 59, tzinfo=datetime.UTC), D(2024, 4, 15),
     False),
    ("16:00 UTC is the next day in Beijing", datetime.datetime(2024, 4, 15, 16, 0, tzinfo=datetime.UTC),
     D(2024, 4, 15), True),
    ("naive datetime taken as local", datetime.datetime(2024, 4, 15, 23, 0), D(2024, 4, 15), False),
])
def test_is_late(_case, submitted, due, late):
    assert is_late(submitted, due) is late


@pytest.mark.parametrize(("_case", "deadline", "today", "soon", "state"), [
    ("a week past", D(2024, 6, 30), D(2024, 7, 7), 7, "overdue"),
    ("day after the deadline", D(2024, 6, 30), D(2024, 7, 1), 7, "overdue"),
    ("on the deadline", D(2024, 6, 30), D(2024, 6, 30), 7, "due_soon"),
    ("1 day left", D(2024, 6, 30), D(2024, 6, 29), 7, "due_soon"),
    ("exactly due_soon_days left", D(2024, 6, 30), D(2024, 6, 23), 7, "due_soon"),
    ("one more than due_soon_days left", D(2024, 6, 30), D(2024, 6, 22), 7, "on_track"),
    ("far away", D(2024, 6, 30), D(2024, 1, 1), 7, "on_track"),
    ("window 0: deadline day is due soon", D(2024, 6, 30), D(2024, 6, 30), 0, "due_soon"),
    ("window 0: day before is on track", D(2024, 6, 30), D(2024, 6, 29), 0, "on_track"),
    ("window 0: day after is overdue", D(2024, 6, 30), D(2024, 7, 1), 0, "overdue"),
    ("across a year end", D(2025, 1, 2), D(2024, 12, 31), 3, "due_soon"),
    ("across 29 Feb", D(2024, 3, 1), D(2024, 2, 28), 1, "on_track"),
    ("aware datetime today, still the deadline day in Beijing", D(2024, 6, 30),
     datetime.datetime(2024, 6, 30, 15, 59, tzinfo=datetime.UTC), 0, "due_soon"),
    ("aware datetime today, already the next day in Beijing", D(2024, 6, 30),
     datetime.datetime(2024, 6, 30, 16, 0, tzinfo=datetime.UTC), 0, "overdue"),
])
def test_deadline_state(_case, deadline, today, soon, state):
    assert deadline_state(deadline, today, soon) == state
    assert state in DEADLINE_STATES


@pytest.mark.parametrize(("_case", "soon"), [("negative", -1), ("bool", True), ("float", 1.5), ("None", None)])
def test_deadline_state_refuses_bad_window(_case, soon):
    with pytest.raises(ValueError):
        deadline_state(D(2024, 6, 30), D(2024, 6, 1), soon)


def test_deadline_state_refuses_non_dates():
    with pytest.raises(ValueError):
        deadline_state("2024-06-30", D(2024, 6, 1), 7)


# ----------------------------------------------------------------------------------------------
# Escalation up the GB/T 2260 tree
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "code", "target", "level"), [
    ("township → county", "350203001", "350203", "township"),
    ("county → city", "350203", "3502", "county"),
    ("city → province", "3502", "35", "city"),
    ("province → none", "35", None, "province"),
    ("district 330110 is cut by width, not by zeros", "330110", "3301", "county"),
    ("county code ending in 00 is still cut by width", "350100", "3501", "county"),
    ("city code ending in 0", "3310", "33", "city"),
    ("township ending in zeros", "350102000", "350102", "township"),
    ("平潭 350128", "350128", "3501", "county"),
])
def test_escalation_target_code(_case, code, target, level):
    assert escalation_target_code(code) == target
    assert jurisdiction_level(code) == level


@pytest.mark.parametrize(("_case", "code", "chain"), [
    ("township", "350203001", ("350203", "3502", "35")),
    ("county", "350203", ("3502", "35")),
    ("city", "3501", ("35",)),
    ("province", "35", ()),
])
def test_escalation_chain(_case, code, chain):
    assert escalation_chain(code) == chain


@pytest.mark.parametrize(("_case", "code"), [
    ("empty", ""),
    ("one digit", "3"),
    ("three digits", "350"),
    ("five digits", "35020"),
    ("seven digits", "3502030"),
    ("eight digits", "35020300"),
    ("twelve-digit statistical code", "350203001001"),
    ("letter", "35a2"),
    ("space", " 35"),
    ("full-width digits", "３５"),
    ("integer, not string", 350203),
    ("None", None),
])
def test_escalation_target_code_refuses_bad_codes(_case, code):
    with pytest.raises(ValueError):
        escalation_target_code(code)


# ----------------------------------------------------------------------------------------------
# Grading and major-hazard documents (regulations.md §3.1, §3.2)
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "kwargs", "grade"), [
    ("fixable at once", {"needs_shutdown_to_fix": False, "unit_cannot_fix_external": False}, "general"),
    ("needs shutdown and treatment", {"needs_shutdown_to_fix": True, "unit_cannot_fix_external": False}, "major"),
    ("external factors", {"needs_shutdown_to_fix": False, "unit_cannot_fix_external": True}, "major"),
    ("matches a sector criterion", {"needs_shutdown_to_fix": False, "unit_cannot_fix_external": False,
                                    "meets_major_criterion": True}, "major"),
    ("everything", {"needs_shutdown_to_fix": True, "unit_cannot_fix_external": True,
                    "meets_major_criterion": True}, "major"),
])
def test_hazard_grade(_case, kwargs, grade):
    assert hazard_grade(**kwargs) == grade
    assert grade in HAZARD_GRADE_LABELS


def test_hazard_grade_labels():
    assert HAZARD_GRADE_LABELS == {"general": "一般事故隐患", "major": "重大事故隐患"}


def test_major_hazard_report_parts():
    assert [label for _, label in MAJOR_HAZARD_REQUIRED_PARTS] == [
        "现状及其产生原因",
        "危害程度和整改难易程度分析",
        "治理方案",
    ]


def test_major_hazard_treatment_plan_has_six_parts():
    assert len(MAJOR_HAZARD_TREATMENT_PLAN_PARTS) == 6
    assert len({key for key, _ in MAJOR_HAZARD_TREATMENT_PLAN_PARTS}) == 6


FULL_REPORT = {key: "内容" for key, _ in MAJOR_HAZARD_REQUIRED_PARTS}


@pytest.mark.parametrize(("_case", "report", "missing"), [
    ("complete", FULL_REPORT, ()),
    ("empty", {}, ("current_state_and_causes", "harm_and_difficulty", "treatment_plan")),
    ("blank plan", {**FULL_REPORT, "treatment_plan": "  \n"}, ("treatment_plan",)),
    ("None causes", {**FULL_REPORT, "current_state_and_causes": None}, ("current_state_and_causes",)),
    ("extra keys ignored", {**FULL_REPORT, "other": ""}, ()),
])
def test_missing_report_parts(_case, report, missing):
    assert missing_report_parts(report) == missing


def test_missing_treatment_plan_parts():
    plan = {key: "已落实" for key, _ in MAJOR_HAZARD_TREATMENT_PLAN_PARTS}
    assert missing_treatment_plan_parts(plan) == ()
    del plan["funds_and_materials"]
    assert missing_treatment_plan_parts(plan) == ("funds_and_materials",)


# ----------------------------------------------------------------------------------------------
# 20 items of 安监总管三〔2017〕121号 (regulations.md §3.5)
# ----------------------------------------------------------------------------------------------


def test_hazchem_criteria_are_numbered_1_to_20_in_order():
    assert [n for n, _ in MAJOR_HAZARD_CRITERIA_HAZCHEM] == list(range(1, 21))


def test_hazchem_criteria_are_distinct_chinese_sentences():
    texts = [text for _, text in MAJOR_HAZARD_CRITERIA_HAZCHEM]
    assert len(set(texts)) == 20
    assert all(re.search(r"[\u4e00-\u9fff]", t) and t.endswith("。") for t in texts)


@pytest.mark.parametrize(("_case", "number", "keyword"), [
    ("1 certification", 1, "考核合格"),
    ("2 special operations", 2, "特种作业人员未持证上岗"),
    ("3 two key + one major", 3, "两重点一重大"),
    ("4 automatic control", 4, "紧急停车"),
    ("5 emergency shut-off", 5, "紧急切断"),
    ("6 water injection", 6, "注水措施"),
    ("7 loading arms", 7, "万向管道充装系统"),
    ("8 toxic gas pipelines", 8, "硫化氢"),
    ("9 overhead lines", 9, "架空电力线路"),
    ("10 design review", 10, "安全设计诊断"),
    ("11 eliminated processes", 11, "淘汰落后"),
    ("12 gas detection", 12, "检测报警装置"),
    ("13 control room", 13, "机柜间"),
    ("14 dual power", 14, "双重电源"),
    ("15 safety valves", 15, "爆破片"),
    ("16 responsibility system", 16, "全员安全生产责任制"),
    ("17 operating procedures", 17, "操作规程"),
    ("18 special work", 18, "受限空间"),
    ("19 new processes", 19, "反应安全风险评估"),
    ("20 storage", 20, "禁配物质"),
])
def test_hazchem_criterion_content(_case, number, keyword):
    assert keyword in dict(MAJOR_HAZARD_CRITERIA_HAZCHEM)[number]


# ----------------------------------------------------------------------------------------------
# Restart review (regulations.md §3.3) and closure rule (Law Art. 113(1), §3.2)
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "received", "kwargs", "due"), [
    ("10 days, day of receipt not counted", D(2024, 3, 1), {}, D(2024, 3, 11)),
    ("across month end", D(2024, 2, 25), {}, D(2024, 3, 6)),
    ("custom days", D(2024, 3, 1), {"days": 15}, D(2024, 3, 16)),
    ("Saturday rolls to Monday when enabled", D(2024, 3, 6), {"is_holiday": weekends}, D(2024, 3, 18)),
    ("Saturday kept by default", D(2024, 3, 6), {}, D(2024, 3, 16)),
])
def test_restart_review_due(_case, received, kwargs, due):
    assert restart_review_due(received, **kwargs) == due


@pytest.mark.parametrize(("_case", "days"), [("zero", 0), ("negative", -3), ("bool", True), ("float", 10.0)])
def test_restart_review_due_refuses_bad_days(_case, days):
    with pytest.raises(ValueError):
        restart_review_due(D(2024, 3, 1), days=days)


START = D(2023, 1, 10)


def _after(*days):
    return [START + datetime.timedelta(days=d) for d in days]


@pytest.mark.parametrize(("_case", "dates", "triggered"), [
    ("none", [], False),
    ("two in a week", _after(0, 7), False),
    ("three within 180 days, third on day 180", _after(0, 90, 180), True),
    ("three, third on day 181", _after(0, 90, 181), False),
    ("three on the same day", _after(5, 5, 5), True),
    ("unsorted input", _after(180, 0, 90), True),
    ("old penalty, then three within 180 days", _after(0, 400, 450, 500), True),
    ("four within one year, fourth on the anniversary",
     [D(2023, 1, 10), D(2023, 5, 1), D(2023, 9, 1), D(2024, 1, 10)], True),
    ("four, fourth the day after the anniversary",
     [D(2023, 1, 10), D(2023, 5, 1), D(2023, 9, 1), D(2024, 1, 11)], False),
    ("four from 29 Feb, fourth on 28 Feb next year",
     [D(2024, 2, 29), D(2024, 7, 1), D(2024, 11, 1), D(2025, 2, 28)], True),
    ("four from 29 Feb, fourth on 1 Mar next year",
     [D(2024, 2, 29), D(2024, 7, 1), D(2024, 11, 1), D(2025, 3, 1)], False),
    ("three spread over a year is not enough", _after(0, 150, 300), False),
])
def test_closure_rule_triggered(_case, dates, triggered):
    assert closure_rule_triggered(dates) is triggered
