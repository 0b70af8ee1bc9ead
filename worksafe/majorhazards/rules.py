"""Pure rules for major hazard sources: GB 18218-2018 identification (辨识) and grading (分级).

No Django here: stdlib only, so the rules run in tests, imports and the CLI alike.

Arithmetic is exact. Every quantity is turned into a `Fraction` (a float is read through its shortest
repr, i.e. the decimal the user typed: 60.9 → 609/10), so S ≥ 1 and the R band edges are compared without
rounding error (shared/rules/major_hazards.md §1.6 "Numeric handling"). Results carry Fractions; use
`to_decimal()` or `as_dict()` for display and snapshots.

Clause numbers (4.2.2, 4.2.3, 4.3) follow the research note and are not yet checked against the printed
standard (§5 item 4); the table numbers are certain.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

METHOD = "GB18218-2018"
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
TABLE_FILES = ("gb18218_table1.csv", "gb18218_table2.csv", "gb18218_beta.csv", "gb18218_alpha.csv")

# ---------------------------------------------------------------------------------------------------------
# Rules the research note marks unverified ([M] / [M/D]). Each is a module constant and a keyword argument of
# assess_unit()/assess_units(), so the lead can turn it into a setting.
# ---------------------------------------------------------------------------------------------------------

# UNVERIFIED (§1.6 open points, [M/D]): a chemical in several Table 4 categories — the standard gives no
# tie-break for β. "max" = the largest β among its categories (what assessors commonly do); "q_category" = β of
# the Table 2 category that set Q (falls back to "max" when Q came from Table 1 or an override).
BetaMultiCategoryRule = Literal["max", "q_category"]
BETA_MULTI_CATEGORY: BetaMultiCategoryRule = "max"

# UNVERIFIED (§1.6 open points, [M]): 煤气 (Table 1 row 13) is not named in Table 3; practice treats its CO
# content with β = 2. None = follow the standard's letter (β from the Table 4 category given, else missing);
# set to Fraction(2) to apply the practice.
COAL_GAS_BETA: Fraction | None = None

# UNVERIFIED (§1.6, [D]): GB 18218-2018 gives no β for a chemical that is neither a Table 3 gas nor given a
# Table 4 category (most Table 1 rows). None = no default: the unit is left ungraded with status
# "beta_missing" and the substance named. The 2011 SAWS annex (40号令 附件1) used 1 for "others"; set
# Fraction(1) only if the client accepts that.
DEFAULT_BETA: Fraction | None = None

# ---------------------------------------------------------------------------------------------------------
# Fixed rules
# ---------------------------------------------------------------------------------------------------------

# GB 18218-2018 4.3 (grading), [V2]: 一级 R ≥ 100; 二级 100 > R ≥ 50; 三级 50 > R ≥ 10; 四级 R < 10.
GRADE_THRESHOLDS: tuple[tuple[Fraction, int], ...] = ((Fraction(100), 1), (Fraction(50), 2), (Fraction(10), 3))
LOWEST_GRADE = 4
GRADE_LABELS = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}

UNIT_KINDS = ("production", "storage")  # GB 18218-2018 3.x: 生产单元 / 储存单元, assessed separately

STATUS_GRADED = "graded"
STATUS_NOT_MAJOR = "not_major"  # S < 1: not a major hazard, so no grade (§1.6, [D])
STATUS_PEOPLE_UNKNOWN = "people_unknown"  # major, but α needs the people within 500 m
STATUS_BETA_MISSING = "beta_missing"  # major, but some substance has no β (see DEFAULT_BETA)

# Where Q and β came from, as recorded on each SubstanceLine.
Q_SOURCES = ("override", "table1", "table2")
BETA_SOURCES = ("override", "table3", "coal_gas_practice", "table4", "default")

# [D] Names we accept for a Table 1 row beyond the printed name and aliases (seq → names):
# the labels printed beside the row's CAS numbers, the descriptive qualifiers, and Table 3's plain 氯化氢.
DERIVED_ALIASES: dict[int, tuple[str, ...]] = {
    11: ("氯化氢",),  # Table 3 prints 氯化氢 for row 11 氯化氢(无水); hydrochloric acid is 盐酸, not this row
    13: ("煤气",),
    21: ("环氧氯丙烷", "3-氯-1,2-环氧丙烷"),  # the printed alias is "环氧氯丙烷(3-氯-1,2-环氧丙烷)"
    49: ("甲烷", "天然气"),
    52: ("液化石油气", "丙烷", "丁烷", "LPG"),
    56: ("氧",),
    66: ("汽油", "乙醇汽油", "甲醇汽油"),
}
# Table 3 names that are not Table 1 rows, with the CAS number that identifies them (§1.7a).
TABLE3_EXTRA_CAS: dict[str, str] = {"一氧化碳": "630-08-0"}
COAL_GAS_SEQ = 13

_CAS_RE = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")
_CAS_CELL_RE = re.compile(r"^\s*(\d{2,7}-\d{2}-\d)\s*(?:\((.*)\))?\s*$")
_BRACKETS = str.maketrans({"[": "(", "]": ")", "【": "(", "】": ")", "〔": "(", "〕": ")", "（": "(", "）": ")"})


# ---------------------------------------------------------------------------------------------------------
# Errors: all are ValueError, and every message names the substance.
# ---------------------------------------------------------------------------------------------------------


class MajorHazardError(ValueError):
    """Base of every input error raised by these rules."""

    def __init__(self, message: str, *, substance: str | None = None) -> None:
        super().__init__(message)
        self.substance = substance
        self.unit: Any = None


class UnknownSubstance(MajorHazardError):
    """Not a Table 1 row, and no Table 2 category or Q override to fall back on."""


class UnknownCategory(UnknownSubstance):
    """A category code that is not in Table 2."""


class AmbiguousSubstance(MajorHazardError):
    """The CAS number or name fits several Table 1 rows, or only a qualified row (e.g. 甲醛(含量>90%))."""

    def __init__(self, message: str, *, substance: str | None = None, candidates: Sequence[str] = ()) -> None:
        super().__init__(message, substance=substance)
        self.candidates = tuple(candidates)


class SubstanceMismatch(MajorHazardError):
    """The name and the CAS number point to different Table 1 rows."""


class InvalidCAS(MajorHazardError):
    """Not of the form NNNNNNN-NN-N, or the check digit is wrong."""


class MissingQuantity(MajorHazardError):
    """q (the actual maximum quantity, t) is absent or blank."""


class InvalidQuantity(MajorHazardError):
    """q is negative or not a finite number, or a Q/β override is not positive."""


class InvalidPopulation(MajorHazardError):
    """people_within_500m is not a whole number ≥ 0."""


class TableError(MajorHazardError):
    """A reference CSV is missing, malformed or inconsistent."""


# ---------------------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table1Entry:
    """One row of GB 18218-2018 Table 1 (named hazardous chemicals and their critical quantity)."""

    seq: int
    name: str
    aliases: tuple[str, ...]  # as printed
    derived_aliases: tuple[str, ...]  # accepted by us, [D] (DERIVED_ALIASES)
    cas: tuple[str, ...]  # empty for rows 13, 45, 74; several for rows 49, 52, 66
    cas_labels: tuple[str, ...]  # the printed label beside each CAS number ("" when none)
    critical_quantity_t: Fraction


@dataclass(frozen=True)
class Table2Entry:
    """One row of GB 18218-2018 Table 2 (critical quantity by hazard category)."""

    code: str
    name: str
    description: str
    critical_quantity_t: Fraction


@dataclass(frozen=True)
class AlphaBand:
    """One row of GB 18218-2018 Table 5: α for a band of people within 500 m of the plant boundary."""

    label: str
    people_min: int
    people_max: int | None  # None = no upper bound
    alpha: Fraction


@dataclass(frozen=True, eq=False)  # compared and hashed by identity (the cache key of the catalogue)
class Tables:
    """The four reference tables, parsed, checked and indexed."""

    table1: tuple[Table1Entry, ...]
    table2: dict[str, Table2Entry]
    table3: dict[str, Fraction]  # gas name → β
    table4: dict[str, Fraction]  # category code → β
    alpha: tuple[AlphaBand, ...]
    digest: str  # sha256 of the four CSV files, for assessment snapshots
    by_seq: dict[int, Table1Entry] = field(repr=False)
    by_cas: dict[str, tuple[int, ...]] = field(repr=False)
    by_name: dict[str, tuple[int, ...]] = field(repr=False)  # normalised name/alias → seqs
    by_base: dict[str, tuple[int, ...]] = field(repr=False)  # normalised name without its qualifier → seqs
    table3_by_seq: dict[int, str] = field(repr=False)  # Table 1 seq → Table 3 name
    table3_other: dict[str, str] = field(repr=False)  # normalised name or CAS → Table 3 name (一氧化碳)


def normalize_name(text: str) -> str:
    """Normalise a chemical name for matching (§1.7 matching advice, [D]).

    NFKC (full-width → half-width, H₂ → H2), brackets [] 【】 → (), all whitespace removed, case folded.
    """
    text = unicodedata.normalize("NFKC", text).translate(_BRACKETS)
    return "".join(text.split()).casefold()


def _base_name(normalised: str) -> str:
    head, sep, _ = normalised.partition("(")
    return head if sep and head else normalised


def normalize_cas(text: str) -> str:
    """Strip whitespace and full-width characters from a CAS number (does not validate it)."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def cas_check_digit_ok(cas: str) -> bool:
    """True when `cas` is a well-formed CAS Registry Number with a correct check digit.

    CAS RN check digit: number the digits before it from the right starting at 1; the check digit is
    Σ(position × digit) mod 10. 7664-41-7: 1·1 + 2·4 + 3·4 + 4·6 + 5·6 + 6·7 = 117 → 7.
    """
    if not isinstance(cas, str):
        return False
    match = _CAS_RE.match(normalize_cas(cas))
    if not match:
        return False
    body = match.group(1) + match.group(2)
    total = sum(i * int(d) for i, d in enumerate(reversed(body), start=1))
    return total % 10 == int(match.group(3))


def _fraction_from_cell(text: str, where: str) -> Fraction:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise TableError(f"{where}: {text!r} is not a number") from None
    if not value.is_finite():
        raise TableError(f"{where}: {text!r} is not a finite number")
    return Fraction(value)


def _read_csv(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if list(reader.fieldnames or []) != list(columns):
                raise TableError(f"{path.name}: expected columns {list(columns)}, found {reader.fieldnames}")
            return [{k: (v or "") for k, v in row.items()} for row in reader]
    except OSError as exc:
        raise TableError(f"cannot read {path}: {exc}") from None


def _add(index: dict[str, list[int]], key: str, seq: int) -> None:
    seqs = index.setdefault(key, [])
    if seq not in seqs:
        seqs.append(seq)


def _parse_tables(directory: Path) -> Tables:
    digest = hashlib.sha256()
    for name in TABLE_FILES:
        try:
            digest.update(name.encode() + b"\0" + (directory / name).read_bytes() + b"\0")
        except OSError as exc:
            raise TableError(f"cannot read {directory / name}: {exc}") from None

    # Table 1
    table1: list[Table1Entry] = []
    rows = _read_csv(directory / "gb18218_table1.csv", ("seq", "name_zh", "alias_zh", "cas", "critical_quantity_t"))
    for row in rows:
        where = f"gb18218_table1.csv seq {row['seq']}"
        cas_numbers: list[str] = []
        cas_labels: list[str] = []
        for cell in filter(None, (c.strip() for c in row["cas"].split(";"))):
            match = _CAS_CELL_RE.match(unicodedata.normalize("NFKC", cell))
            if not match or not cas_check_digit_ok(match.group(1)):
                raise TableError(f"{where}: bad CAS {cell!r}")
            cas_numbers.append(match.group(1))
            cas_labels.append(match.group(2) or "")
        seq = int(row["seq"])
        quantity = _fraction_from_cell(row["critical_quantity_t"], where)
        if quantity <= 0:
            raise TableError(f"{where}: critical quantity must be positive")
        table1.append(Table1Entry(
            seq=seq, name=row["name_zh"].strip(),
            aliases=tuple(a.strip() for a in row["alias_zh"].split(";") if a.strip()),
            derived_aliases=DERIVED_ALIASES.get(seq, ()), cas=tuple(cas_numbers), cas_labels=tuple(cas_labels),
            critical_quantity_t=quantity,
        ))
    if [e.seq for e in table1] != list(range(1, len(table1) + 1)):
        raise TableError("gb18218_table1.csv: seq must run 1, 2, 3, … in order")

    by_cas: dict[str, list[int]] = {}
    by_name: dict[str, list[int]] = {}
    for entry in table1:
        for cas in entry.cas:
            _add(by_cas, cas, entry.seq)
        for text in (entry.name, *entry.aliases, *entry.derived_aliases):
            _add(by_name, normalize_name(text), entry.seq)
    by_base: dict[str, list[int]] = {}
    for entry in table1:
        full = normalize_name(entry.name)
        base = _base_name(full)
        if base != full and base not in by_name:
            _add(by_base, base, entry.seq)

    # Table 2
    table2: dict[str, Table2Entry] = {}
    for row in _read_csv(directory / "gb18218_table2.csv",
                         ("category_code", "category_zh", "description_zh", "critical_quantity_t")):
        code = row["category_code"].strip()
        quantity = _fraction_from_cell(row["critical_quantity_t"], f"gb18218_table2.csv {code}")
        if quantity <= 0 or code in table2:
            raise TableError(f"gb18218_table2.csv {code}: duplicate code or non-positive quantity")
        table2[code] = Table2Entry(code=code, name=row["category_zh"].strip(),
                                   description=row["description_zh"].strip(), critical_quantity_t=quantity)

    # Tables 3 and 4
    table3: dict[str, Fraction] = {}
    table4: dict[str, Fraction] = {}
    for row in _read_csv(directory / "gb18218_beta.csv", ("source_table", "key_type", "key", "category_zh", "beta")):
        key = row["key"].strip()
        beta = _fraction_from_cell(row["beta"], f"gb18218_beta.csv {key}")
        if beta <= 0:
            raise TableError(f"gb18218_beta.csv {key}: β must be positive")
        if row["key_type"] == "substance":
            table3[key] = beta
        elif row["key_type"] == "category":
            table4[key] = beta
        else:
            raise TableError(f"gb18218_beta.csv {key}: unknown key_type {row['key_type']!r}")
    if set(table4) != set(table2):
        raise TableError("gb18218_beta.csv: Table 4 must give β for exactly the Table 2 categories")
    table3_by_seq: dict[int, str] = {}
    table3_other: dict[str, str] = {}
    for gas in table3:
        seqs = by_name.get(normalize_name(gas), [])
        if len(seqs) == 1:
            table3_by_seq[seqs[0]] = gas
        elif gas in TABLE3_EXTRA_CAS:
            table3_other[normalize_name(gas)] = gas
            table3_other[TABLE3_EXTRA_CAS[gas]] = gas
        else:
            raise TableError(f"gb18218_beta.csv: Table 3 gas {gas!r} matches no single Table 1 row")

    # Table 5
    alpha: list[AlphaBand] = []
    for row in _read_csv(directory / "gb18218_alpha.csv", ("people_range_zh", "people_min", "people_max", "alpha")):
        alpha.append(AlphaBand(
            label=row["people_range_zh"].strip(), people_min=int(row["people_min"]),
            people_max=int(row["people_max"]) if row["people_max"].strip() else None,
            alpha=_fraction_from_cell(row["alpha"], f"gb18218_alpha.csv {row['people_range_zh']}"),
        ))
    alpha.sort(key=lambda band: band.people_min)
    expected_min = 0
    for band in alpha:
        if band.people_min != expected_min or (band.people_max is not None and band.people_max < band.people_min):
            raise TableError("gb18218_alpha.csv: bands must cover 0, 1, 2, … without gaps or overlaps")
        if band.people_max is None:
            expected_min = -1
            continue
        expected_min = band.people_max + 1
    if expected_min != -1 or alpha[-1].people_max is not None:
        raise TableError("gb18218_alpha.csv: the last band must have no upper bound")

    return Tables(
        table1=tuple(table1), table2=table2, table3=table3, table4=table4, alpha=tuple(alpha),
        digest=digest.hexdigest(), by_seq={e.seq: e for e in table1},
        by_cas={k: tuple(v) for k, v in by_cas.items()}, by_name={k: tuple(v) for k, v in by_name.items()},
        by_base={k: tuple(v) for k, v in by_base.items()}, table3_by_seq=table3_by_seq, table3_other=table3_other,
    )


@functools.lru_cache(maxsize=8)
def _load_cached(directory: str) -> Tables:
    return _parse_tables(Path(directory))


def load_tables(data_dir: str | Path | None = None) -> Tables:
    """GB 18218-2018 Tables 1–5 from the CSVs in `data_dir` (default worksafe/data/), parsed once and cached.

    Raises TableError when a file is missing or inconsistent (bad CAS check digit, gaps in the α bands, a
    Table 2 category without a Table 4 β, a Table 3 gas that matches no Table 1 row, …).
    """
    directory = Path(data_dir) if data_dir is not None else DATA_DIR
    return _load_cached(str(directory.resolve()))


def clear_table_cache() -> None:
    """Forget cached tables (after the CSVs change on disk)."""
    _load_cached.cache_clear()


# ---------------------------------------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueEntry:
    """A Table 1 chemical or a Table 2 category, for the searchable substance picker."""

    table: str  # "table1" or "table2"
    key: str  # Table 1 seq ("1"…"85") or Table 2 code ("J1"…"W11")
    name: str
    aliases: tuple[str, ...]  # printed aliases
    derived_aliases: tuple[str, ...]  # also accepted when matching, [D]
    cas: tuple[str, ...]
    critical_quantity_t: Fraction
    beta: Fraction | None  # Table 3 β of a named gas, Table 4 β of a category; None when it depends on category
    beta_source: str | None  # "table3", "table4" or None
    description: str  # Table 2 description; "" for Table 1 rows


def substance_catalogue(tables: Tables | None = None) -> tuple[CatalogueEntry, ...]:
    """Every Table 1 row (in the standard's order) followed by every Table 2 category."""
    t = tables or load_tables()
    return _catalogue(t)


@functools.lru_cache(maxsize=8)
def _catalogue(t: Tables) -> tuple[CatalogueEntry, ...]:
    entries: list[CatalogueEntry] = []
    for row in t.table1:
        gas = t.table3_by_seq.get(row.seq)
        entries.append(CatalogueEntry(
            table="table1", key=str(row.seq), name=row.name, aliases=row.aliases, derived_aliases=row.derived_aliases,
            cas=row.cas, critical_quantity_t=row.critical_quantity_t, beta=t.table3[gas] if gas else None,
            beta_source="table3" if gas else None, description="",
        ))
    for code, category in t.table2.items():
        entries.append(CatalogueEntry(
            table="table2", key=code, name=category.name, aliases=(), derived_aliases=(), cas=(),
            critical_quantity_t=category.critical_quantity_t, beta=t.table4[code], beta_source="table4",
            description=category.description,
        ))
    return tuple(entries)


def find_substances(query: str, tables: Tables | None = None) -> tuple[CatalogueEntry, ...]:
    """Catalogue entries whose name, alias, CAS number or Table 2 code contains `query`.

    Matching ignores case, whitespace, full-/half-width differences and (for CAS) hyphens. Exact matches come
    first, then prefix matches, then other substring matches, each in catalogue order. A blank query finds
    nothing.
    """
    needle = normalize_name(query or "")
    if not needle:
        return ()
    digits = needle.replace("-", "")
    ranked: list[tuple[int, int, CatalogueEntry]] = []
    for position, entry in enumerate(substance_catalogue(tables)):
        texts = [normalize_name(x) for x in (entry.name, *entry.aliases, *entry.derived_aliases)]
        if entry.table == "table2":
            texts.append(normalize_name(entry.key))
        cas_texts = list(entry.cas)
        best = 3
        for text in texts:
            if needle == text:
                best = 0
            elif text.startswith(needle):
                best = min(best, 1)
            elif needle in text:
                best = min(best, 2)
        for cas in cas_texts:
            plain = cas.replace("-", "")
            if needle == cas or (digits and digits == plain):
                best = 0
            elif cas.startswith(needle) or (digits.isdigit() and plain.startswith(digits)):
                best = min(best, 1)
            elif needle in cas or (digits.isdigit() and digits in plain):
                best = min(best, 2)
        if best < 3:
            ranked.append((best, position, entry))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return tuple(entry for _, _, entry in ranked)


# ---------------------------------------------------------------------------------------------------------
# Assessment
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubstanceLine:
    """One chemical of a unit as assessed: what it resolved to, which Q and β were used and why."""

    index: int  # position in the input (0-based)
    name: str  # Table 1 name when resolved, else the name given, else the Table 2 category name
    given_name: str | None
    cas: str | None  # the CAS given, else the Table 1 row's (first) CAS
    table1_seq: int | None
    categories: tuple[str, ...]
    q: Fraction  # actual maximum quantity, t (GB 18218-2018 4.2.2: design maximum)
    Q: Fraction  # critical quantity used, t
    Q_source: str  # "override", "table1" or "table2"
    Q_category: str | None  # the Table 2 code that gave the smallest Q (Q_source "table2")
    beta: Fraction | None  # None when no β could be determined
    beta_source: str | None  # "override", "table3", "coal_gas_practice", "table4", "default" or None
    beta_category: str | None  # the Table 4 code used (beta_source "table4")
    ratio: Fraction  # q/Q
    weighted: Fraction | None  # β·q/Q


@dataclass(frozen=True)
class UnitAssessment:
    """Identification and grading of one production or storage unit (GB 18218-2018 4.2–4.3)."""

    s: Fraction  # S = Σ q/Q
    is_major: bool  # S ≥ 1
    people_within_500m: int | None
    alpha: Fraction | None  # Table 5; None when people is unknown
    weighted_sum: Fraction | None  # Σ β·q/Q; None when some β is missing
    r: Fraction | None  # R = α·Σβ·q/Q; only for a major hazard with people and every β known
    grade: int | None  # 1–4 (一级…四级); None unless status is "graded"
    status: str  # STATUS_GRADED / NOT_MAJOR / PEOPLE_UNKNOWN / BETA_MISSING
    lines: tuple[SubstanceLine, ...]
    missing_beta: tuple[str, ...]  # names of substances without β
    unit_name: str | None = None
    unit_kind: str | None = None  # "production", "storage" or None
    method: str = METHOD
    tables_digest: str = ""
    options: dict[str, str] = field(default_factory=dict)  # the unverified-rule settings used

    @property
    def grade_label(self) -> str | None:
        """一级 … 四级, or None."""
        return GRADE_LABELS.get(self.grade) if self.grade is not None else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready snapshot; Fractions become exact strings (see fraction_to_str)."""
        return _plain(self)


def fraction_to_str(value: Fraction) -> str:
    """Exact text for a Fraction: a terminating decimal ("16.5", "1.218") or "p/q" when it does not terminate."""
    denominator = value.denominator
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    if denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    places = max(twos, fives)
    scaled = value * 10**places
    text = str(Decimal(int(scaled)).scaleb(-places))
    return text if "E" not in text else format(Decimal(int(scaled)).scaleb(-places), "f")


def to_decimal(value: Fraction, places: int = 4) -> Decimal:
    """`value` rounded half-up to `places` decimals, computed exactly (for display and DecimalFields)."""
    scaled = value * 10**places
    rounded = math.floor(scaled + Fraction(1, 2)) if scaled >= 0 else -math.floor(-scaled + Fraction(1, 2))
    return Decimal(rounded).scaleb(-places)


def _plain(value: Any) -> Any:
    if isinstance(value, UnitAssessment | SubstanceLine):
        data = {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
        if isinstance(value, UnitAssessment):
            data["grade_label"] = value.grade_label
        return data
    if isinstance(value, Fraction):
        return fraction_to_str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def alpha_for_people(people: int, tables: Tables | None = None) -> Fraction:
    """α from Table 5 for the resident people within 500 m of the plant boundary (bands from the CSV).

    GB 18218-2018 Table 5, [V2]: 0 → 0.5; 1–29 → 1.0; 30–49 → 1.2; 50–99 → 1.5; 100 or more → 2.0.
    """
    people = _people(people)
    for band in (tables or load_tables()).alpha:
        if people >= band.people_min and (band.people_max is None or people <= band.people_max):
            return band.alpha
    raise TableError(f"no α band for {people} people")  # unreachable: load_tables checks the bands


def grade_for_r(r: Fraction | int) -> int:
    """Grade 1–4 from R: 一级 R ≥ 100, 二级 50 ≤ R < 100, 三级 10 ≤ R < 50, 四级 R < 10 (GB 18218-2018 4.3)."""
    for threshold, grade in GRADE_THRESHOLDS:
        if r >= threshold:
            return grade
    return LOWEST_GRADE


def _people(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        raise InvalidPopulation(f"people within 500 m must be a whole number ≥ 0, got {value!r}")
    if value < 0:
        raise InvalidPopulation(f"people within 500 m must be ≥ 0, got {value}")
    return value


def _number(value: Any, what: str, label: str) -> Fraction:
    """An exact Fraction from an int, Decimal, Fraction, float (via its repr) or numeric string."""
    if isinstance(value, bool):
        raise InvalidQuantity(f"substance {label}: {what} must be a number, got {value!r}", substance=label)
    if isinstance(value, int | Fraction):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidQuantity(f"substance {label}: {what} must be finite, got {value!r}", substance=label)
        return Fraction(Decimal(repr(value)))
    if isinstance(value, str):
        try:
            value = Decimal(unicodedata.normalize("NFKC", value).strip())
        except InvalidOperation:
            raise InvalidQuantity(f"substance {label}: {what} is not a number: {value!r}", substance=label) from None
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidQuantity(f"substance {label}: {what} must be finite, got {value!r}", substance=label)
        return Fraction(value)
    raise InvalidQuantity(f"substance {label}: {what} must be a number, got {value!r}", substance=label)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _label(index: int, data: Mapping[str, Any]) -> str:
    for key in ("name", "cas"):
        if not _blank(data.get(key)):
            return repr(str(data[key]).strip())
    categories = _raw_categories(data)
    if categories:
        return repr("/".join(categories))
    return f"#{index + 1}"


def _raw_categories(data: Mapping[str, Any]) -> list[str]:
    raw: list[Any] = []
    for key in ("category", "categories"):
        value = data.get(key)
        if _blank(value):
            continue
        if isinstance(value, str):
            raw.extend(value.replace("，", ",").replace("、", ",").split(","))
        elif isinstance(value, Iterable):
            raw.extend(value)
        else:
            raw.append(value)
    codes: list[str] = []
    for item in raw:
        code = "".join(unicodedata.normalize("NFKC", str(item)).split()).upper()
        if code and code not in codes:
            codes.append(code)
    return codes


def _resolve_table1(t: Tables, name: str | None, cas: str | None, label: str) -> Table1Entry | None:
    """The Table 1 row a substance names, or None (GB 18218-2018 4.2.1 / §1.7 matching advice).

    1. A CAS number is checked (InvalidCAS) and looked up first; a CAS shared by several rows (硝化纤维素,
       硝酸铵) needs a name that picks one of them, else AmbiguousSubstance lists them.
    2. Otherwise the name or alias, normalised. A name that fits several rows (硝化棉) or only a qualified row
       (甲醛 → 甲醛(含量>90%)) is ambiguous: the user must pick the row, or classify a mixture with table1=False.
    3. A name and a CAS that point to different rows raise SubstanceMismatch.
    """
    name_seqs: tuple[int, ...] = ()
    base_seqs: tuple[int, ...] = ()
    if name:
        key = normalize_name(name)
        name_seqs = t.by_name.get(key, ())
        if not name_seqs:
            # "甲醛" for 甲醛(含量>90%), or "氨(液)" for 氨: close, but the user must confirm the exact row.
            base = _base_name(key)
            base_seqs = t.by_base.get(base, ()) or (t.by_name.get(base, ()) if base != key else ())
    if cas:
        cas_seqs = t.by_cas.get(cas, ())
        if len(cas_seqs) == 1:
            entry = t.by_seq[cas_seqs[0]]
            if name_seqs and entry.seq not in name_seqs:
                raise SubstanceMismatch(
                    f"substance {label}: CAS {cas} is Table 1 row {entry.seq} {entry.name}, but the name is "
                    f"{', '.join(t.by_seq[s].name for s in name_seqs)}", substance=label)
            return entry
        if len(cas_seqs) > 1:
            chosen = [s for s in cas_seqs if s in name_seqs]
            if len(chosen) == 1:
                return t.by_seq[chosen[0]]
            candidates = [t.by_seq[s].name for s in cas_seqs]
            raise AmbiguousSubstance(
                f"substance {label}: CAS {cas} is shared by several Table 1 rows; give the full name, one of: "
                + "; ".join(candidates), substance=label, candidates=candidates)
        # CAS not in Table 1: a name that is a Table 1 row with CAS numbers contradicts it.
        for seq in name_seqs:
            if t.by_seq[seq].cas:
                raise SubstanceMismatch(
                    f"substance {label}: the name is Table 1 row {seq} {t.by_seq[seq].name} "
                    f"(CAS {', '.join(t.by_seq[seq].cas)}), but CAS {cas} was given", substance=label)
    if len(name_seqs) == 1:
        return t.by_seq[name_seqs[0]]
    if len(name_seqs) > 1 or base_seqs:
        candidates = [t.by_seq[s].name for s in (name_seqs or base_seqs)]
        raise AmbiguousSubstance(
            f"substance {label}: the name fits Table 1 only as a specific entry; give the full name, one of: "
            + "; ".join(candidates)
            + " (or, for a mixture or grade outside these entries, its Table 2 categories with table1=False)",
            substance=label, candidates=candidates)
    return None


def _line(
    t: Tables, index: int, data: Mapping[str, Any], *, beta_multi_category: BetaMultiCategoryRule,
    coal_gas_beta: Fraction | None, default_beta: Fraction | None,
) -> SubstanceLine:
    if not isinstance(data, Mapping):
        raise TypeError(f"substance #{index + 1} must be a mapping, got {type(data).__name__}")
    label = _label(index, data)

    # GB 18218-2018 4.2.2: q is the actual (design) maximum quantity in tonnes; never assume zero.
    if "q" not in data or _blank(data.get("q")):
        raise MissingQuantity(f"substance {label}: the actual maximum quantity q (t) is missing", substance=label)
    q = _number(data["q"], "q", label)
    if q < 0:
        raise InvalidQuantity(f"substance {label}: q must not be negative, got {fraction_to_str(q)}", substance=label)

    categories = tuple(_raw_categories(data))
    for code in categories:
        if code not in t.table2:
            raise UnknownCategory(f"substance {label}: {code!r} is not a GB 18218-2018 Table 2 category",
                                  substance=label)

    overrides: dict[str, Fraction] = {}
    for key, what in (("Q", "the critical quantity Q override"), ("beta", "the β override")):
        if not _blank(data.get(key)):
            value = _number(data[key], what, label)
            if value <= 0:
                raise InvalidQuantity(f"substance {label}: {what} must be positive, got {fraction_to_str(value)}",
                                      substance=label)
            overrides[key] = value

    use_table1 = data.get("table1", True)
    if not isinstance(use_table1, bool):
        raise TypeError(f"substance {label}: table1 must be True or False")
    given_name = None if _blank(data.get("name")) else str(data["name"]).strip()
    cas = None
    if not _blank(data.get("cas")):
        cas = normalize_cas(str(data["cas"]))
        if not cas_check_digit_ok(cas):
            raise InvalidCAS(f"substance {label}: {cas!r} is not a valid CAS number (format or check digit)",
                             substance=label)
    # GB 18218-2018 4.2.3 (mixtures): table1=False says the material is classified on its own, so Table 1
    # (and Table 3, which names Table 1 gases) does not apply.
    row = _resolve_table1(t, given_name, cas, label) if use_table1 else None

    # GB 18218-2018 4.2.1 / §1.3: Table 1 first; else the smallest Q among the Table 2 categories.
    q_category = None
    if "Q" in overrides:
        critical, q_source = overrides["Q"], "override"
    elif row is not None:
        critical, q_source = row.critical_quantity_t, "table1"
    elif categories:
        q_category = min(categories, key=lambda c: t.table2[c].critical_quantity_t)  # first of equals wins
        critical, q_source = t.table2[q_category].critical_quantity_t, "table2"
    else:
        if given_name or cas:
            reason = "is not in GB 18218-2018 Table 1; give its Table 2 hazard categories (or a Q override)"
        else:
            reason = "has no name, CAS number or Table 2 category"
        raise UnknownSubstance(f"substance {label} {reason}", substance=label)

    # GB 18218-2018 4.3, Tables 3 and 4: a named toxic gas takes Table 3; anything else its category's Table 4 β.
    beta: Fraction | None = None
    beta_source = beta_category = None
    gas = None
    if use_table1:
        if row is not None:
            gas = t.table3_by_seq.get(row.seq)
        else:
            gas = (t.table3_other.get(normalize_name(given_name)) if given_name else None) or (
                t.table3_other.get(cas) if cas else None)
    if "beta" in overrides:
        beta, beta_source = overrides["beta"], "override"
    elif gas is not None:
        beta, beta_source = t.table3[gas], "table3"
    elif row is not None and row.seq == COAL_GAS_SEQ and coal_gas_beta is not None:
        beta, beta_source = Fraction(coal_gas_beta), "coal_gas_practice"  # UNVERIFIED practice, see COAL_GAS_BETA
    elif categories:
        if beta_multi_category == "q_category" and q_category is not None:
            beta_category = q_category
        else:  # "max", UNVERIFIED tie-break (BETA_MULTI_CATEGORY); first of equals wins
            beta_category = max(categories, key=lambda c: t.table4[c])
        beta, beta_source = t.table4[beta_category], "table4"
    elif default_beta is not None:
        beta, beta_source = Fraction(default_beta), "default"  # UNVERIFIED, see DEFAULT_BETA

    if row is not None:
        name = row.name
    elif given_name:
        name = given_name
    elif categories:
        name = "/".join(f"{c} {t.table2[c].name}" for c in categories)
    else:
        name = f"#{index + 1}"
    ratio = q / critical
    return SubstanceLine(
        index=index, name=name, given_name=given_name, cas=cas or (row.cas[0] if row and row.cas else None),
        table1_seq=row.seq if row else None, categories=categories, q=q, Q=critical, Q_source=q_source,
        Q_category=q_category, beta=beta, beta_source=beta_source, beta_category=beta_category, ratio=ratio,
        weighted=beta * ratio if beta is not None else None,
    )


def assess_unit(
    substances: Iterable[Mapping[str, Any]],
    people_within_500m: int | None = None,
    *,
    name: str | None = None,
    kind: str | None = None,
    beta_multi_category: BetaMultiCategoryRule | None = None,
    coal_gas_beta: Fraction | int | None = None,
    default_beta: Fraction | int | None = None,
    tables: Tables | None = None,
) -> UnitAssessment:
    """Identify and grade one production or storage unit (GB 18218-2018 4.2 and 4.3).

    Each substance is a mapping with
      - `q`: actual maximum quantity in tonnes (required; int, Decimal, Fraction, float or numeric string);
      - `cas` and/or `name` (Table 1 name or alias) and/or `category`/`categories` (Table 2 codes, a string —
        comma-separated allowed — or a list);
      - optional `Q` and `beta` overrides (positive), and `table1=False` for a mixture classified on its own.

    1. Per substance: Q from an override, else Table 1, else the smallest Q of its Table 2 categories; β from an
       override, else Table 3 (named toxic gas), else Table 4 of its category (see the UNVERIFIED constants).
    2. S = Σ q/Q; the unit is a major hazard when S ≥ 1 (4.2.1).
    3. α from Table 5 when people_within_500m is known; R = α·Σβ·q/Q and the grade (4.3) only when the unit is
       a major hazard, people is known and every β is known — `status` says which of these stopped grading.

    `beta_multi_category`, `coal_gas_beta`, `default_beta` default to the module constants of the same name
    (upper case). Raises a MajorHazardError (a ValueError) naming the substance for unknown or ambiguous
    substances and missing, negative or non-numeric quantities.
    """
    t = tables or load_tables()
    rule: BetaMultiCategoryRule = beta_multi_category or BETA_MULTI_CATEGORY
    if rule not in ("max", "q_category"):
        raise ValueError(f"beta_multi_category must be 'max' or 'q_category', got {rule!r}")
    if kind is not None and kind not in UNIT_KINDS:
        raise ValueError(f"unit kind must be one of {UNIT_KINDS}, got {kind!r}")
    coal = COAL_GAS_BETA if coal_gas_beta is None else Fraction(coal_gas_beta)
    default = DEFAULT_BETA if default_beta is None else Fraction(default_beta)
    if isinstance(substances, Mapping | str | bytes):
        raise TypeError("substances must be a list of mappings, one per chemical")
    people = None if people_within_500m is None else _people(people_within_500m)

    lines = tuple(
        _line(t, i, data, beta_multi_category=rule, coal_gas_beta=coal, default_beta=default)
        for i, data in enumerate(substances)
    )
    s = sum((line.ratio for line in lines), Fraction(0))
    is_major = s >= 1  # GB 18218-2018 4.2.1: "equal to or above" the critical quantity
    alpha = alpha_for_people(people, t) if people is not None else None
    missing = tuple(line.name for line in lines if line.beta is None)
    weighted_sum = None if missing else sum((line.weighted or Fraction(0) for line in lines), Fraction(0))

    r = grade = None
    if not is_major:
        status = STATUS_NOT_MAJOR
    elif alpha is None:
        status = STATUS_PEOPLE_UNKNOWN
    elif weighted_sum is None:
        status = STATUS_BETA_MISSING
    else:
        r = alpha * weighted_sum
        grade = grade_for_r(r)
        status = STATUS_GRADED
    return UnitAssessment(
        s=s, is_major=is_major, people_within_500m=people, alpha=alpha, weighted_sum=weighted_sum, r=r,
        grade=grade, status=status, lines=lines, missing_beta=missing, unit_name=name, unit_kind=kind,
        method=METHOD, tables_digest=t.digest,
        options={
            "beta_multi_category": rule,
            "coal_gas_beta": "" if coal is None else fraction_to_str(coal),
            "default_beta": "" if default is None else fraction_to_str(default),
        },
    )


def assess_units(
    units: Mapping[Any, Mapping[str, Any]] | Iterable[Mapping[str, Any]],
    people_within_500m: int | None = None,
    **options: Any,
) -> dict[Any, UnitAssessment] | list[UnitAssessment]:
    """Assess several units, each on its own: quantities are never added across units (§1.2, test MH-29).

    `units` is a mapping key → unit or a list of units; a unit is a mapping with `substances` and optionally
    `people_within_500m` (else the shared value given here), `name` and `kind` ("production"/"storage").
    Returns a dict with the same keys, or a list in the same order. An error names the unit (`exc.unit`).
    `options` are passed to assess_unit (beta_multi_category, coal_gas_beta, default_beta, tables).
    """
    items = list(units.items()) if isinstance(units, Mapping) else list(enumerate(units))
    results: list[tuple[Any, UnitAssessment]] = []
    for key, unit in items:
        if not isinstance(unit, Mapping) or "substances" not in unit:
            raise TypeError(f"unit {key!r} must be a mapping with 'substances'")
        people = unit["people_within_500m"] if "people_within_500m" in unit else people_within_500m
        label = unit.get("name") or (key if isinstance(units, Mapping) else f"#{key + 1}")
        try:
            result = assess_unit(unit["substances"], people, name=unit.get("name"), kind=unit.get("kind"), **options)
        except MajorHazardError as exc:
            exc.unit = key
            exc.args = (f"unit {label}: {exc.args[0]}", *exc.args[1:])
            raise
        results.append((key, result))
    if isinstance(units, Mapping):
        return dict(results)
    return [result for _, result in results]


# --- Duties and dates around a registered source (40号令, 包保办法) ---------------------------------------

EVALUATION_PERIOD_YEARS = 3  # 40号令 Art. 10(1): re-assess at least every 3 years [V2]
FILING_DAYS = 15  # 40号令 Art. 23: file within 15 days after the evaluation report [V1 + M] — a setting
OPERATIONAL_CHECK_DAYS = 7  # 包保办法 Art. 6: 操作负责人 checks at least weekly [M] — a setting
CUSTODIAN_ROLES = ("principal", "technical", "operational")  # 主要负责人 / 技术负责人 / 操作负责人 [V2]


def evaluation_due(report_on: date, *, years: int = EVALUATION_PERIOD_YEARS) -> date:
    """The next safety evaluation is due `years` after the last report's date (29 Feb → 28 Feb)."""
    try:
        return report_on.replace(year=report_on.year + years)
    except ValueError:
        return report_on.replace(year=report_on.year + years, day=28)


def filing_due(report_on: date, *, days: int = FILING_DAYS) -> date:
    """Filing (备案) is due `days` after the evaluation report (the report's own day not counted, §0)."""
    return report_on + timedelta(days=days)


def custodian_check_due(role: str, last_on: date, *, operational_days: int = OPERATIONAL_CHECK_DAYS) -> date | None:
    """When the custodian's next check is due, from their last check (or appointment).

    - 技术负责人: at least once a quarter [V1] — due by the last day of the quarter after the one of the
      last check [D] (a check any time in each calendar quarter keeps the duty met).
    - 操作负责人: at least once a week [M] — due `operational_days` after the last check [D].
    - 主要负责人: the text sets no frequency → None.
    """
    if role == "technical":
        quarter = (last_on.month - 1) // 3 + 1
        year, next_quarter = (last_on.year + 1, 1) if quarter == 4 else (last_on.year, quarter + 1)
        first_of_following = (date(year + 1, 1, 1) if next_quarter == 4
                              else date(year, 3 * next_quarter + 1, 1))
        return first_of_following - timedelta(days=1)
    if role == "operational":
        return last_on + timedelta(days=operational_days)
    if role == "principal":
        return None
    raise ValueError(f"unknown custodian role {role!r}")


def missing_custodian_roles(roles: Iterable[str]) -> list[str]:
    """包保 [D]: a registered source needs one person in each of the three roles; the ones still missing."""
    present = set(roles)
    return [r for r in CUSTODIAN_ROLES if r not in present]
