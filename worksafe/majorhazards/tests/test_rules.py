"""Pure rules for major hazard sources: GB 18218-2018 identification and grading (no database).

Comparisons are exact: the rules return Fractions, and every expected number below is written as a decimal
string and compared with `== Fraction(expected)`. Several cases are chosen so that plain float arithmetic
would land on the wrong side of a boundary (0.7 + 0.2 + 0.1 < 1 and 1.2 × 125/3 < 50 in binary floating
point).

Test vectors MH-01 … MH-07 are from shared/rules/major_hazards.md §1.8; the other cases are the derived
vectors that section lists (S and R boundaries, every α band edge, Table 1 vs Table 2, CO, LPG, two units
never summed, a large phosgene inventory).
"""

import json
import shutil
from decimal import Decimal
from fractions import Fraction

import pytest

from worksafe.majorhazards import rules
from worksafe.majorhazards.rules import (
    AmbiguousSubstance,
    InvalidCAS,
    InvalidPopulation,
    InvalidQuantity,
    MajorHazardError,
    MissingQuantity,
    SubstanceMismatch,
    TableError,
    UnknownCategory,
    UnknownSubstance,
    assess_unit,
    assess_units,
    cas_check_digit_ok,
    find_substances,
    load_tables,
    substance_catalogue,
)

F = Fraction


def _opt(value):
    return None if value is None else F(value)


# --- §1.8 published test vectors -------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "substances", "people", "s", "is_major", "alpha", "r", "grade"), [
    ("MH-01 SO2 200 t, 60 people: R = 1.5 × 2 × 200/20 = 30 → 三级",
     [{"name": "二氧化硫", "q": 200}], 60, "10", True, "1.5", "30", 3),
    ("MH-02 chlor-alkali plant, 80 people: S = 7, R = 1.5 × (1 + 8 + 2) = 16.5 → 三级",
     [{"name": "A", "q": 200, "Q": 200, "beta": 1}, {"name": "B", "q": 80, "Q": 20, "beta": 2},
      {"name": "C", "q": 400, "Q": 200, "beta": 1}], 80, "7", True, "1.5", "16.5", 3),
    ("MH-03 warehouse 丁: 200/500 + 100/200 + 1/10 = 1.0 exactly → major (inputs as published)",
     [{"name": "丁-1", "q": 200, "Q": 500}, {"name": "丁-2", "q": 100, "Q": 200}, {"name": "丁-3", "q": 1, "Q": 10}],
     None, "1", True, None, None, None),
    ("MH-04 warehouse 乙: S = 1.3 → major (reference records only S; inputs reconstructed)",
     [{"name": "苯", "q": 40}, {"name": "甲醇", "q": 250}], None, "1.3", True, None, None, None),
    ("MH-05 warehouse 丙: S = 0.9 → not major (reference records only S; inputs reconstructed)",
     [{"name": "苯", "q": 20}, {"name": "甲醇", "q": 250}], None, "0.9", False, None, None, None),
    ("MH-06 warehouse 甲 with the 2018 Q for styrene (500 t): 300/500 + 0.5 = 1.1",
     [{"name": "苯乙烯", "q": 300}, {"name": "其他", "q": 25, "Q": 50}], None, "1.1", True, None, None, None),
    ("MH-06 the same warehouse with the old 50 t for styrene gives the item's 6.5",
     [{"name": "苯乙烯", "q": 300, "Q": 50}, {"name": "其他", "q": 25, "Q": 50}], None, "6.5", True, None, None,
     None),
    ("MH-07 LPG 60.9 t vs Q 50 t: S = 1.218, major; no population given",
     [{"name": "液化石油气", "q": 60.9}], None, "1.218", True, None, None, None),
])
def test_published_vectors(_case, substances, people, s, is_major, alpha, r, grade):
    result = assess_unit(substances, people)
    assert result.s == F(s)
    assert result.is_major is is_major
    assert result.alpha == _opt(alpha)
    assert result.r == _opt(r)
    assert result.grade == grade


def test_mh01_takes_q_from_table1_and_beta_from_table3():
    (line,) = assess_unit([{"name": "二氧化硫", "q": 200}], 60).lines
    assert (line.Q, line.Q_source, line.beta, line.beta_source) == (F(20), "table1", F(2), "table3")
    assert (line.table1_seq, line.cas, line.ratio, line.weighted) == (4, "7446-09-5", F(10), F(20))


# --- Identification: S ≥ 1 ------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "substances", "s", "is_major"), [
    ("S exactly 1, one substance: ammonia 10 t vs Q 10 t", [{"name": "氨", "q": 10}], "1", True),
    ("S just below 1, one substance: ammonia 9.999 t", [{"name": "氨", "q": 9.999}], "0.9999", False),
    ("S exactly 1 from 0.7 + 0.2 + 0.1 (below 1 in float arithmetic)",
     [{"name": "甲醇", "q": 350}, {"name": "氨", "q": 2}, {"name": "苯", "q": 5}], "1", True),
    ("S just below 1 from three substances",
     [{"name": "甲醇", "q": 350}, {"name": "氨", "q": 2}, {"name": "苯", "q": "4.99995"}], "0.999999", False),
    ("S exactly 1 with Decimal inputs", [{"name": "液氯", "q": Decimal("2.5")}, {"name": "氢", "q": Decimal("2.5")}],
     "1", True),
    ("S exactly 1 with string inputs", [{"name": "乙炔", "q": "0.5"}, {"name": "钾", "q": "0.5"}], "1", True),
    ("zero quantity counts as nothing, not as an error", [{"name": "氨", "q": 0}], "0", False),
    ("a unit with no hazardous chemicals", [], "0", False),
    ("H2 + LPG: 2/5 + 30/50 = 1", [{"name": "氢气", "q": 2}, {"cas": "68476-85-7", "q": 30}], "1", True),
    ("large phosgene inventory: 30 t vs Q 0.3 t", [{"name": "光气", "q": 30}], "100", True),
])
def test_identification(_case, substances, s, is_major):
    result = assess_unit(substances)
    assert result.s == F(s)
    assert result.is_major is is_major
    if not is_major:
        assert (result.r, result.grade, result.status) == (None, None, rules.STATUS_NOT_MAJOR)


# --- Grading: R band edges ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "substances", "people", "r", "grade"), [
    ("R exactly 100 → 一级: chlorine 62.5 t, α 2: 2 × 4 × 62.5/5", [{"name": "氯", "q": 62.5}], 100, "100", 1),
    ("R just below 100 → 二级", [{"name": "氯", "q": "62.4999"}], 100, "99.99984", 2),
    ("R exactly 50 → 二级: methanol (W5.3, β 1) 25000 t, α 1",
     [{"name": "甲醇", "q": 25000, "category": "W5.3"}], 10, "50", 2),
    ("R just below 50 → 三级", [{"name": "甲醇", "q": "24999.9", "category": "W5.3"}], 10, "49.9998", 3),
    ("R exactly 50 as 1.2 × 125/3 (below 50 in float arithmetic) → 二级",
     [{"name": "X", "q": 125, "Q": 3, "beta": 1}], 30, "50", 2),
    ("R exactly 10 → 三级: ammonia 100 t, α 0.5: 0.5 × 2 × 100/10", [{"name": "氨", "q": 100}], 0, "10", 3),
    ("R just below 10 → 四级", [{"name": "氨", "q": 99.99}], 0, "9.999", 4),
    ("S exactly 1 with the smallest α: R = 0.5 × 2 × 1 = 1 → 四级", [{"name": "氨", "q": 10}], 0, "1", 4),
    ("large phosgene inventory: 2 × 20 × 30/0.3 = 4000 → 一级", [{"name": "碳酰氯", "q": 30}], 500, "4000", 1),
])
def test_grading(_case, substances, people, r, grade):
    result = assess_unit(substances, people)
    assert result.is_major
    assert result.r == F(r)
    assert result.grade == grade
    assert result.status == rules.STATUS_GRADED
    assert result.grade_label == rules.GRADE_LABELS[grade]


@pytest.mark.parametrize(("_case", "r", "grade"), [
    ("1000 → 一级", 1000, 1),
    ("100 → 一级", 100, 1),
    ("just below 100 → 二级", F(99999, 1000), 2),
    ("50 → 二级", 50, 2),
    ("just below 50 → 三级", F(49999, 1000), 3),
    ("10 → 三级", 10, 3),
    ("just below 10 → 四级", F(9999, 1000), 4),
    ("1 → 四级", 1, 4),
    ("0 → 四级", 0, 4),
])
def test_grade_for_r(_case, r, grade):
    assert rules.grade_for_r(r) == grade


# --- α (Table 5) band edges, from the CSV ------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "people", "alpha"), [
    ("0 people", 0, "0.5"),
    ("1 person", 1, "1.0"),
    ("29 people", 29, "1.0"),
    ("30 people", 30, "1.2"),
    ("49 people", 49, "1.2"),
    ("50 people", 50, "1.5"),
    ("99 people", 99, "1.5"),
    ("100 people ('100人以上' includes 100)", 100, "2.0"),
    ("100000 people", 100000, "2.0"),
])
def test_alpha_bands(_case, people, alpha):
    assert rules.alpha_for_people(people) == F(alpha)


# Σβq/Q = q/5 for ammonia (Q 10 t, β 2); each Σ is chosen so the grade flips across the band edge.
@pytest.mark.parametrize(("_case", "q", "people", "r", "grade"), [
    ("edge 0/1 at Σ 10: 0 people → 5, 四级", 50, 0, "5", 4),
    ("edge 0/1 at Σ 10: 1 person → 10, 三级", 50, 1, "10", 3),
    ("edge 29/30 at Σ 45: 29 people → 45, 三级", 225, 29, "45", 3),
    ("edge 29/30 at Σ 45: 30 people → 54, 二级", 225, 30, "54", 2),
    ("edge 49/50 at Σ 40: 49 people → 48, 三级", 200, 49, "48", 3),
    ("edge 49/50 at Σ 40: 50 people → 60, 二级", 200, 50, "60", 2),
    ("edge 99/100 at Σ 60: 99 people → 90, 二级", 300, 99, "90", 2),
    ("edge 99/100 at Σ 60: 100 people → 120, 一级", 300, 100, "120", 1),
])
def test_alpha_band_edges_flip_the_grade(_case, q, people, r, grade):
    result = assess_unit([{"name": "氨", "q": q}], people)
    assert (result.r, result.grade) == (F(r), grade)


@pytest.mark.parametrize(("_case", "people"), [
    ("negative", -1),
    ("fraction of a person", 2.5),
    ("boolean", True),
    ("text", "many"),
])
def test_invalid_population(_case, people):
    with pytest.raises(InvalidPopulation):
        assess_unit([{"name": "氨", "q": 10}], people)


def test_people_unknown_leaves_grade_none_but_identifies():
    result = assess_unit([{"name": "氨", "q": 20}])
    assert (result.s, result.is_major) == (F(2), True)
    assert (result.alpha, result.r, result.grade) == (None, None, None)
    assert result.status == rules.STATUS_PEOPLE_UNKNOWN
    assert result.weighted_sum == F(4)


def test_not_major_has_no_grade_even_with_people():
    result = assess_unit([{"name": "氨", "q": 5}], 150)
    assert (result.is_major, result.alpha, result.r, result.grade) == (False, F(2), None, None)
    assert result.status == rules.STATUS_NOT_MAJOR


# --- Units are never summed --------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "units", "keys"), [
    ("MH-29 two storage units (list), each S = 0.6",
     [{"kind": "storage", "substances": [{"name": "氨", "q": 6}]},
      {"kind": "storage", "substances": [{"name": "液氨", "q": 6}]}], [0, 1]),
    ("MH-29 production and storage unit (mapping), each S = 0.6",
     {"reactor": {"kind": "production", "substances": [{"name": "苯", "q": 30}]},
      "tank farm": {"kind": "storage", "substances": [{"name": "苯", "q": 30}]}}, ["reactor", "tank farm"]),
])
def test_units_are_never_summed(_case, units, keys):
    results = assess_units(units, people_within_500m=200)
    assert [results[k].s for k in keys] == [F("0.6"), F("0.6")]
    assert [results[k].is_major for k in keys] == [False, False]
    assert [results[k].grade for k in keys] == [None, None]


def test_assess_units_people_per_unit_and_kind():
    results = assess_units([
        {"name": "罐区A", "kind": "storage", "people_within_500m": 0, "substances": [{"name": "氨", "q": 100}]},
        {"name": "罐区B", "kind": "storage", "substances": [{"name": "氨", "q": 100}]},
    ], people_within_500m=100)
    assert [(r.unit_name, r.unit_kind, r.r, r.grade) for r in results] == [
        ("罐区A", "storage", F(10), 3), ("罐区B", "storage", F(40), 3)]


def test_assess_units_error_names_the_unit():
    with pytest.raises(UnknownSubstance) as info:
        assess_units({"T-101": {"substances": [{"name": "不存在的物质", "q": 1}]}})
    assert info.value.unit == "T-101"
    assert "T-101" in str(info.value) and "不存在的物质" in str(info.value)


def test_unit_kind_must_be_production_or_storage():
    with pytest.raises(ValueError):
        assess_unit([{"name": "氨", "q": 1}], kind="warehouse")


# --- Which Q applies (Table 1, else smallest Table 2) ---------------------------------------------------------


@pytest.mark.parametrize(("_case", "substance", "Q", "Q_source", "Q_category"), [
    ("Table 1 wins over Table 2: benzene W5.1 (10 t) still takes 50 t", {"name": "苯", "category": "W5.1"},
     "50", "table1", None),
    ("Table 1 wins over Table 2: ammonia J3 (50 t) still takes 10 t", {"name": "氨", "categories": ["J3", "W2"]},
     "10", "table1", None),
    ("Table 2 only: one category", {"name": "某易燃液体", "category": "W5.3"}, "1000", "table2", "W5.3"),
    ("several categories take the smallest Q: W5.3 1000, J5 500", {"name": "某有毒液体", "categories": ["W5.3", "J5"]},
     "500", "table2", "J5"),
    ("CO (not in Table 1): smallest of W2 10 t and J3 50 t", {"name": "一氧化碳", "categories": ["J3", "W2"]},
     "10", "table2", "W2"),
    ("category as comma-separated text, lower case and full-width", {"name": "某物质", "category": "ｗ5.3，j5"},
     "500", "table2", "J5"),
    ("category only, no name", {"category": "J1"}, "5", "table2", "J1"),
    ("Q override wins over Table 1", {"name": "氨", "Q": 20}, "20", "override", None),
    ("Table 2-only J1 gas", {"name": "某剧毒气体", "category": "J1"}, "5", "table2", "J1"),
    ("mixture classified on its own: 37 % formalin with table1=False",
     {"name": "甲醛溶液(37%)", "cas": "50-00-0", "categories": ["J5"], "table1": False}, "500", "table2", "J5"),
])
def test_critical_quantity(_case, substance, Q, Q_source, Q_category):
    (line,) = assess_unit([{"q": 1, **substance}]).lines
    assert (line.Q, line.Q_source, line.Q_category) == (F(Q), Q_source, Q_category)


# --- Which β applies (Table 3, else Table 4) -------------------------------------------------------------


@pytest.mark.parametrize(("_case", "substance", "beta", "beta_source", "beta_category"), [
    ("Table 3 named gas: chlorine 4", {"name": "氯"}, "4", "table3", None),
    ("Table 3 beats the category: hydrogen sulphide 5, not J1's 4", {"name": "硫化氢", "category": "J1"}, "5", "table3",
     None),
    ("Table 3 by alias: 光气 → 碳酰氯 20", {"name": "光气"}, "20", "table3", None),
    ("Table 3 氯化氢 matches Table 1 氯化氢(无水): 3", {"name": "氯化氢(无水)"}, "3", "table3", None),
    ("Table 3 gas not in Table 1: CO 2 by name", {"name": "一氧化碳", "categories": ["W2", "J3"]}, "2", "table3", None),
    ("Table 3 gas not in Table 1: CO 2 by CAS", {"cas": "630-08-0", "categories": ["W2"]}, "2", "table3", None),
    ("Table 1 gas not in Table 3: arsine J1 → Table 4 4", {"name": "砷化氢", "category": "J1"}, "4", "table4", "J1"),
    ("Table 4 by category: benzene W5.1 1.5", {"name": "苯", "category": "W5.1"}, "1.5", "table4", "W5.1"),
    ("Table 4 by category: W5.3 1", {"name": "某易燃液体", "category": "W5.3"}, "1", "table4", "W5.3"),
    ("several categories, rule 'max' (unverified): W5.1 1.5 vs J3 2 → 2", {"name": "某物质", "categories": ["W5.1", "J3"]},
     "2", "table4", "J3"),
    ("β override wins over Table 3", {"name": "氨", "beta": 3}, "3", "override", None),
    ("β override for a category substance", {"name": "某物质", "category": "W5.3", "beta": "1.5"}, "1.5", "override",
     None),
    ("table1=False skips Table 3: ammonia solution classified J5", {"name": "氨", "category": "J5", "table1": False},
     "1", "table4", "J5"),
])
def test_beta(_case, substance, beta, beta_source, beta_category):
    (line,) = assess_unit([{"q": 1, **substance}]).lines
    assert (line.beta, line.beta_source, line.beta_category) == (F(beta), beta_source, beta_category)


@pytest.mark.parametrize(("_case", "rule", "beta", "beta_category"), [
    ("'max': larger β of W5.1 (1.5) and J3 (2)", "max", "2", "J3"),
    ("'q_category': β of W5.1, the category that set Q (10 t < 50 t)", "q_category", "1.5", "W5.1"),
])
def test_beta_multi_category_rule(_case, rule, beta, beta_category):
    (line,) = assess_unit([{"name": "某物质", "q": 1, "categories": ["W5.1", "J3"]}],
                          beta_multi_category=rule).lines
    assert (line.Q, line.beta, line.beta_category) == (F(10), F(beta), beta_category)


def test_beta_multi_category_rule_is_checked():
    with pytest.raises(ValueError):
        assess_unit([{"name": "氨", "q": 1}], beta_multi_category="min")


@pytest.mark.parametrize(("_case", "options", "beta", "beta_source", "status", "r"), [
    ("no default: benzene without category has no β; unit left ungraded", {}, None, None,
     rules.STATUS_BETA_MISSING, None),
    ("default_beta=1 (unverified, 40号令 practice)", {"default_beta": 1}, "1", "default", rules.STATUS_GRADED, "4"),
])
def test_missing_beta(_case, options, beta, beta_source, status, r):
    result = assess_unit([{"name": "苯", "q": 100}], 100, **options)
    (line,) = result.lines
    assert (line.beta, line.beta_source) == (_opt(beta), beta_source)
    assert (result.is_major, result.status, result.r) == (True, status, _opt(r))
    assert result.missing_beta == (() if beta else ("苯",))


@pytest.mark.parametrize(("_case", "substance", "options", "beta", "beta_source"), [
    ("coal gas, practice off: β from its category", {"name": "煤气", "category": "J3"}, {}, "2", "table4"),
    ("coal gas, practice off, no category: no β", {"name": "煤气"}, {}, None, None),
    ("coal gas, practice on (unverified): β 2", {"name": "煤气"}, {"coal_gas_beta": 2}, "2", "coal_gas_practice"),
])
def test_coal_gas_beta(_case, substance, options, beta, beta_source):
    (line,) = assess_unit([{"q": 1, **substance}], **options).lines
    assert (line.table1_seq, line.Q) == (13, F(20))
    assert (line.beta, line.beta_source) == (_opt(beta), beta_source)


# --- Matching Table 1 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "substance", "seq"), [
    ("LPG by 丙烷 CAS", {"cas": "74-98-6"}, 52),
    ("LPG by 丁烷 CAS", {"cas": "106-97-8"}, 52),
    ("LPG by its own CAS", {"cas": "68476-85-7"}, 52),
    ("LPG by printed name", {"name": "液化石油气(含丙烷、丁烷及其混合物)"}, 52),
    ("LPG by alias with full-width parentheses", {"name": "石油气（液化的）"}, 52),
    ("LPG by short name", {"name": "液化石油气"}, 52),
    ("natural gas by CAS", {"cas": "8006-14-2"}, 49),
    ("methane by name", {"name": "甲烷"}, 49),
    ("ammonia by alias 液氨", {"name": "液氨"}, 1),
    ("ammonia by alias 氨气 with surrounding whitespace", {"name": "  氨气 "}, 1),
    ("ammonia by CAS", {"cas": "7664-41-7"}, 1),
    ("ammonia by CAS with full-width digits and spaces", {"cas": " ７６６４－４１－７ "}, 1),
    ("ammonia by name and CAS", {"name": "液氨", "cas": "7664-41-7"}, 1),
    ("free-text name with a Table 1 CAS resolves by CAS", {"name": "液化气", "cas": "74-98-6"}, 52),
    ("TDI alias, case-insensitive", {"name": "tdi"}, 23),
    ("alias 酒精", {"name": "酒精"}, 67),
    ("epichlorohydrin by the alias before its parenthesis", {"name": "环氧氯丙烷"}, 21),
    ("name with a comma and full-width comma", {"name": "1-氯-2，3-环氧丙烷"}, 21),
    ("coal gas with plain digits for subscripts", {"name": "煤气(CO,CO和H2、CH4的混合物等)"}, 13),
    ("coal gas with printed subscripts", {"name": "煤气(CO,CO和H₂、CH₄的混合物等)"}, 13),
    ("nitrocellulose by CAS and full name", {"cas": "9004-70-0", "name": "硝化纤维素(含乙醇≥25%)"}, 39),
    ("nitrocellulose by full name with full-width parentheses", {"name": "硝化纤维素（含乙醇≥25%）"}, 39),
    ("nitrocellulose square brackets typed as parentheses", {"name": "硝化纤维素(干的或含水(或乙醇)<25%)"}, 37),
    ("ammonium nitrate by CAS and full name", {"cas": "6484-52-2", "name": "硝酸铵(含可燃物≤0.2%)"}, 44),
    ("row without CAS: alkylaluminium by name, any CAS accepted", {"name": "烷基铝", "cas": "97-93-8"}, 74),
])
def test_table1_matching(_case, substance, seq):
    (line,) = assess_unit([{"q": 1, **substance}]).lines
    assert line.table1_seq == seq
    assert line.Q_source == "table1"
    assert line.Q == load_tables().by_seq[seq].critical_quantity_t


def test_nitrocellulose_grade_decides_q():
    lines = assess_unit([{"cas": "9004-70-0", "name": "硝化纤维素(含乙醇≥25%)", "q": 5},
                         {"cas": "9004-70-0", "name": "硝化纤维素(含水≥25%)", "q": 5}]).lines
    assert [(line.name, line.Q) for line in lines] == [("硝化纤维素(含乙醇≥25%)", F(10)), ("硝化纤维素(含水≥25%)", F(50))]


@pytest.mark.parametrize(("_case", "substance", "n_candidates"), [
    ("nitrocellulose CAS alone: six grades", {"cas": "9004-70-0"}, 6),
    ("nitrocellulose CAS with the bare name", {"cas": "9004-70-0", "name": "硝化纤维素"}, 6),
    ("nitrocellulose alias 硝化棉 alone: five rows", {"name": "硝化棉"}, 5),
    ("nitrocellulose bare name", {"name": "硝化纤维素"}, 5),
    ("ammonium nitrate CAS alone: two grades", {"cas": "6484-52-2"}, 2),
    ("甲醛 fits only 甲醛(含量>90%)", {"name": "甲醛"}, 1),
    ("硝酸 fits only the >70 % row", {"name": "硝酸"}, 1),
    ("a qualifier the table does not print: 氨(液)", {"name": "氨(液)"}, 1),
    ("甲醛 with a category is still ambiguous without table1=False", {"name": "甲醛", "category": "J5"}, 1),
])
def test_ambiguous_substance(_case, substance, n_candidates):
    with pytest.raises(AmbiguousSubstance) as info:
        assess_unit([{"q": 1, **substance}])
    assert len(info.value.candidates) == n_candidates
    for candidate in info.value.candidates:
        assert candidate in str(info.value)
    assert isinstance(info.value, ValueError)


def test_nitrocellulose_candidates_are_the_six_grades():
    with pytest.raises(AmbiguousSubstance) as info:
        assess_unit([{"cas": "9004-70-0", "q": 1}])
    assert info.value.candidates == tuple(load_tables().by_seq[s].name for s in range(37, 43))


@pytest.mark.parametrize(("_case", "substance", "error", "needle"), [
    ("unknown name", {"name": "不存在的物质", "q": 1}, UnknownSubstance, "不存在的物质"),
    ("unknown CAS (valid check digit: water)", {"cas": "7732-18-5", "q": 1}, UnknownSubstance, "7732-18-5"),
    ("nothing that identifies it (the second substance)", {"q": 1}, UnknownSubstance, "#2"),
    ("unknown category", {"name": "某物质", "category": "W12", "q": 1}, UnknownCategory, "W12"),
    ("CAS with a wrong check digit", {"cas": "7664-41-8", "q": 1}, InvalidCAS, "7664-41-8"),
    ("malformed CAS", {"name": "氨", "cas": "7664417", "q": 1}, InvalidCAS, "7664417"),
    ("name and CAS of different rows", {"name": "氨", "cas": "7782-50-5", "q": 1}, SubstanceMismatch, "氨"),
    ("Table 1 name with a CAS outside Table 1", {"name": "氨", "cas": "7732-18-5", "q": 1}, SubstanceMismatch, "氨"),
    ("q missing", {"name": "苯"}, MissingQuantity, "苯"),
    ("q None", {"name": "苯", "q": None}, MissingQuantity, "苯"),
    ("q blank", {"name": "苯", "q": "  "}, MissingQuantity, "苯"),
    ("q negative", {"name": "苯", "q": -1}, InvalidQuantity, "苯"),
    ("q negative Decimal", {"name": "苯", "q": Decimal("-0.0001")}, InvalidQuantity, "苯"),
    ("q not numeric", {"name": "苯", "q": "abc"}, InvalidQuantity, "苯"),
    ("q NaN", {"name": "苯", "q": float("nan")}, InvalidQuantity, "苯"),
    ("q infinite", {"name": "苯", "q": Decimal("Infinity")}, InvalidQuantity, "苯"),
    ("q boolean", {"name": "苯", "q": True}, InvalidQuantity, "苯"),
    ("q a list", {"name": "苯", "q": [1]}, InvalidQuantity, "苯"),
    ("Q override zero", {"name": "苯", "q": 1, "Q": 0}, InvalidQuantity, "苯"),
    ("Q override negative", {"name": "苯", "q": 1, "Q": -5}, InvalidQuantity, "苯"),
    ("β override zero", {"name": "苯", "q": 1, "beta": 0}, InvalidQuantity, "苯"),
    ("category-only substance, q missing", {"category": "W5.1"}, MissingQuantity, "W5.1"),
])
def test_invalid_substances(_case, substance, error, needle):
    with pytest.raises(error) as info:
        assess_unit([{"name": "氨", "q": 1}, substance])
    assert needle in str(info.value)
    assert isinstance(info.value, MajorHazardError) and isinstance(info.value, ValueError)


def test_substances_must_be_a_list_of_mappings():
    with pytest.raises(TypeError):
        assess_unit({"name": "氨", "q": 1})
    with pytest.raises(TypeError):
        assess_unit(["氨"])


# --- Overrides and the record of where each number came from -------------------------------------------------


def test_overrides_are_used_and_recorded():
    result = assess_unit([{"name": "氨", "q": 30, "Q": 20, "beta": 3}], 100)
    (line,) = result.lines
    assert (line.Q, line.Q_source, line.beta, line.beta_source) == (F(20), "override", F(3), "override")
    assert (result.s, result.r, result.grade) == (F("1.5"), F(9), 4)


def test_line_records_resolution():
    (line,) = assess_unit([{"cas": "106-97-8", "q": "60.9"}]).lines
    assert (line.name, line.cas, line.table1_seq, line.q, line.ratio) == (
        "液化石油气(含丙烷、丁烷及其混合物)", "106-97-8", 52, F("60.9"), F("1.218"))
    (line,) = assess_unit([{"categories": ["W5.1"], "q": 1}]).lines
    assert line.name == "W5.1 易燃液体"


def test_as_dict_is_json_ready_and_exact():
    result = assess_unit([{"name": "A", "q": 200, "Q": 200, "beta": 1}, {"name": "B", "q": 80, "Q": 20, "beta": 2},
                          {"name": "C", "q": 400, "Q": 200, "beta": 1}], 80, name="氯碱装置", kind="production")
    data = json.loads(json.dumps(result.as_dict(), ensure_ascii=False))
    assert (data["s"], data["r"], data["grade"], data["grade_label"]) == ("7", "16.5", 3, "三级")
    assert (data["method"], data["unit_kind"], len(data["tables_digest"])) == ("GB18218-2018", "production", 64)
    assert data["lines"][1]["Q_source"] == "override"
    assert data["options"] == {"beta_multi_category": "max", "coal_gas_beta": "", "default_beta": ""}


@pytest.mark.parametrize(("_case", "value", "text"), [
    ("integer", F(7), "7"),
    ("terminating decimal", F(33, 2), "16.5"),
    ("tiny terminating decimal", F(1, 2**30), "0.000000000931322574615478515625"),
    ("non-terminating", F(1, 3), "1/3"),
])
def test_fraction_to_str(_case, value, text):
    assert rules.fraction_to_str(value) == text


@pytest.mark.parametrize(("_case", "value", "places", "expected"), [
    ("rounds half up", F(99999845, 1000000), 4, "99.9998"),
    ("half exactly rounds up", F(5, 100000), 4, "0.0001"),
    ("one third", F(1, 3), 4, "0.3333"),
    ("integer", F(30), 2, "30.00"),
])
def test_to_decimal(_case, value, places, expected):
    assert rules.to_decimal(value, places) == Decimal(expected)
    assert str(rules.to_decimal(value, places)) == expected


# --- CAS check digit -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("_case", "cas", "ok"), [
    ("ammonia", "7664-41-7", True),
    ("ammonia, wrong check digit", "7664-41-8", False),
    ("formaldehyde (short)", "50-00-0", True),
    ("water", "7732-18-5", True),
    ("LPG (7-digit first part)", "68476-85-7", True),
    ("carbon monoxide", "630-08-0", True),
    ("full-width characters", "７６６４－４１－７", True),
    ("surrounding whitespace", " 7664-41-7 ", True),
    ("transposed digits", "7646-41-7", False),
    ("no hyphens", "7664417", False),
    ("one digit before the first hyphen", "7-41-7", False),
    ("eight digits before the first hyphen", "12345678-41-7", False),
    ("letters", "abcd-ef-g", False),
    ("empty", "", False),
    ("not a string", 7664417, False),
])
def test_cas_check_digit(_case, cas, ok):
    assert cas_check_digit_ok(cas) is ok


def test_every_table1_cas_has_a_valid_check_digit():
    numbers = [cas for row in load_tables().table1 for cas in row.cas]
    assert len(numbers) == 85
    assert all(cas_check_digit_ok(cas) for cas in numbers)


# --- Tables, catalogue and search -----------------------------------------------------------------------------


def test_tables_load_completely():
    t = load_tables()
    assert (len(t.table1), len(t.table2), len(t.table3), len(t.table4), len(t.alpha)) == (85, 24, 14, 24, 5)
    assert [row.seq for row in t.table1 if not row.cas] == [13, 45, 74]
    assert len(t.table3_by_seq) == 13  # every Table 3 gas but 一氧化碳 is a Table 1 row
    assert load_tables() is t


def test_load_tables_from_another_directory(tmp_path):
    good, gap = tmp_path / "good", tmp_path / "gap"
    for directory in (good, gap):
        directory.mkdir()
        for name in rules.TABLE_FILES:
            shutil.copy(rules.DATA_DIR / name, directory / name)
    assert load_tables(good).digest == load_tables().digest
    (gap / "gb18218_alpha.csv").write_text(
        "people_range_zh,people_min,people_max,alpha\n100人以上,100,,2.0\n0~98人,0,98,0.5\n", encoding="utf-8")
    with pytest.raises(TableError):
        load_tables(gap)


def test_missing_tables_raise_table_error(tmp_path):
    with pytest.raises(TableError):
        load_tables(tmp_path)


def test_catalogue_lists_table1_then_table2():
    entries = substance_catalogue()
    assert len(entries) == 85 + 24
    assert (entries[0].table, entries[0].key, entries[0].name, entries[0].beta) == ("table1", "1", "氨", F(2))
    assert (entries[56].name, entries[56].beta, entries[56].beta_source) == ("苯", None, None)
    assert (entries[85].key, entries[85].critical_quantity_t, entries[85].beta) == ("J1", F(5), F(4))


@pytest.mark.parametrize(("_case", "query", "first_keys"), [
    ("alias", "液氨", ["1"]),
    ("CAS substring", "7664-41", ["1"]),
    ("CAS without hyphens", "7664417", ["1"]),
    ("propane CAS finds LPG", "74-98-6", ["52"]),
    ("alias shared by the nitrocellulose rows", "硝化棉", ["37", "38", "39", "40", "41", "42"]),
    ("Table 2 code prefix", "W5", ["W5.1", "W5.2", "W5.3", "W5.4"]),
    ("exact match ranks first", "氯", ["12"]),
    ("blank finds nothing", "  ", []),
    ("no match", "不存在的物质", []),
])
def test_find_substances(_case, query, first_keys):
    keys = [entry.key for entry in find_substances(query)]
    assert keys[: len(first_keys)] == first_keys
    if not first_keys:
        assert keys == []
