"""Pure rules for the enterprise registry: GB 32100-2015 unified social credit code, licence expiry."""

from __future__ import annotations

import datetime

# GB 32100-2015 §4: the code alphabet is the digits and 21 capital letters (no I, O, S, V, Z).
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# GB 32100-2015 §5 / Annex: weights W_i = 3^(i-1) mod 31 for positions 1..17.
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a credit code from its first 17 (C18 = 31 - Σ(Ci·Wi) mod 31; 31 → 0)."""
    if len(first17) != 17:
        raise ValueError("need the first 17 characters")
    total = 0
    for char, weight in zip(first17, CREDIT_CODE_WEIGHTS, strict=True):
        value = CREDIT_CODE_CHARSET.find(char)
        if value < 0:
            raise ValueError(f"character {char!r} is not allowed in a credit code")
        total += value * weight
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def credit_code_error(code: str) -> str | None:
    """None when `code` is a valid 统一社会信用代码, else a short reason code.

    Codes may start with a letter (e.g. 'N' for farmers' cooperatives, 'Y' for other registrations):
    the first two characters are from the full alphabet, positions 3–8 are the GB/T 2260 area code.
    """
    if len(code) != 18:
        return "length"
    if any(c not in CREDIT_CODE_CHARSET for c in code):
        return "charset"
    if not code[2:8].isdigit():
        return "area"
    if credit_code_check_char(code[:17]) != code[17]:
        return "check_digit"
    return None


def licence_state(expires: datetime.date | None, today: datetime.date, warning_days: int) -> str:
    """'valid', 'expiring' (within warning_days, inclusive) or 'expired' (the day after expiry)."""
    if expires is None:
        return "valid"
    if expires < today:
        return "expired"
    if (expires - today).days <= warning_days:
        return "expiring"
    return "valid"
