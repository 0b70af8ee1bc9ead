"""Pure rules of the enterprise registry: GB 32100-2015 credit codes and licence expiry (no database)."""

import datetime

import pytest

from worksafe.enterprises.rules import (
    CREDIT_CODE_CHARSET,
    CREDIT_CODE_WEIGHTS,
    credit_code_check_char,
    credit_code_error,
    licence_state,
)

# Check characters computed here once and pinned, so a regression in the checksum shows up below.
LETTER_FIRST = "N2350105MA2XXXXX08"  # 农民专业合作社-style code: starts with a letter
LETTER_Y = "Y1350203MA2Y4K7Q15"
CHECK_ZERO_FIRST17 = "91350203MA0000028"  # Σ(Ci·Wi) ≡ 0 (mod 31): 31 - 0 = 31 → "0"
CHECK_ZERO = CHECK_ZERO_FIRST17 + "0"


def _with_check(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


@pytest.mark.parametrize(("_case", "code", "expected"), [
    ("real code, digit check", "914403001922038216", None),
    ("real code, letter check", "9144030071526726XG", None),
    ("real code, letter check F", "91330100716105852F", None),
    ("starts with letter N", LETTER_FIRST, None),
    ("starts with letter Y", LETTER_Y, None),
    ("check char is 0 (sum mod 31 == 0)", CHECK_ZERO, None),
    ("17 characters", "91440300192203821", "length"),
    ("19 characters", "9144030019220382160", "length"),
    ("empty", "", "length"),
    ("forbidden letter I", "91350203MA2I000011", "charset"),
    ("forbidden letter O", "91350203MA2O000011", "charset"),
    ("forbidden letter S", "91350203MA2S000011", "charset"),
    ("forbidden letter V", "91350203MA2V000011", "charset"),
    ("forbidden letter Z", "91350203MA2Z000011", "charset"),
    ("forbidden letter as check char", "91350203MA000002" + "8O", "charset"),
    ("lower case body", "9144030071526726xg", "charset"),
    ("lower case first char", "n2350105MA2XXXXX08", "charset"),
    ("space inside", "91440300 922038216", "charset"),
    ("letter in area code position 3", _with_check("91A50203MA0000028"), "area"),
    ("letter in area code position 8", _with_check("9135020AMA0000028"), "area"),
    ("wrong check char (digit)", "914403001922038217", "check_digit"),
    ("wrong check char (letter)", "9144030071526726XH", "check_digit"),
    ("check should be 0, given 1", CHECK_ZERO_FIRST17 + "1", "check_digit"),
    ("transposed body characters", "914403001922038126", "check_digit"),
])
def test_credit_code_error(_case, code, expected):
    assert credit_code_error(code) == expected


def test_check_zero_case_really_sums_to_a_multiple_of_31():
    total = sum(CREDIT_CODE_CHARSET.index(c) * w for c, w in zip(CHECK_ZERO_FIRST17, CREDIT_CODE_WEIGHTS, strict=True))
    assert total % 31 == 0
    assert credit_code_check_char(CHECK_ZERO_FIRST17) == "0"


@pytest.mark.parametrize(("_case", "first17", "expected"), [
    ("real code", "91440300192203821", "6"),
    ("real code, letter", "9144030071526726X", "G"),
    ("starts with letter", LETTER_FIRST[:17], LETTER_FIRST[17]),
    ("mod 31 == 0 gives 0, not 31", CHECK_ZERO_FIRST17, "0"),
])
def test_credit_code_check_char(_case, first17, expected):
    assert credit_code_check_char(first17) == expected


@pytest.mark.parametrize(("_case", "first17"), [
    ("16 characters", "9144030019220382"),
    ("18 characters", "914403001922038216"),
    ("forbidden letter", "9144030019220382I"),
])
def test_credit_code_check_char_refuses_bad_input(_case, first17):
    with pytest.raises(ValueError):
        credit_code_check_char(first17)


def test_charset_has_31_characters_without_i_o_s_v_z():
    assert len(CREDIT_CODE_CHARSET) == 31 == len(set(CREDIT_CODE_CHARSET))
    assert not set("IOSVZ") & set(CREDIT_CODE_CHARSET)


TODAY = datetime.date(2025, 3, 1)
DAY = datetime.timedelta(days=1)


@pytest.mark.parametrize(("_case", "expires", "warning_days", "expected"), [
    ("no expiry date", None, 60, "valid"),
    ("expires today", TODAY, 60, "expiring"),
    ("expires today, no warning window", TODAY, 0, "expiring"),
    ("expires tomorrow, no warning window", TODAY + DAY, 0, "valid"),
    ("expired yesterday", TODAY - DAY, 60, "expired"),
    ("expired yesterday, no warning window", TODAY - DAY, 0, "expired"),
    ("expired long ago", TODAY - 400 * DAY, 60, "expired"),
    ("last day of warning window", TODAY + 60 * DAY, 60, "expiring"),
    ("day after warning window", TODAY + 61 * DAY, 60, "valid"),
    ("inside warning window", TODAY + 10 * DAY, 60, "expiring"),
    ("across a month end", datetime.date(2025, 3, 31), 30, "expiring"),
    ("across a month end, one day late", datetime.date(2025, 4, 1), 30, "valid"),
])
def test_licence_state(_case, expires, warning_days, expected):
    assert licence_state(expires, TODAY, warning_days) == expected
