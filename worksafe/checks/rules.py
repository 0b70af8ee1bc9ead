"""Pure rules of hazard checks (隐患排查): check periods and due dates, and the anti-formalism tests.

No Django here. The anti-formalism tests flag check records that cannot be real: a check finished faster
than anyone can look at its items, the same photo handed in again, the same text pasted on many items or
from an earlier check, and a phone location far from the enterprise. Thresholds are arguments; the
settings CHECK_* give their defaults (formalism.py).
"""

from __future__ import annotations

import calendar
import datetime
import difflib
import math
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

DAILY, WEEKLY, MONTHLY = "daily", "weekly", "monthly"
FREQUENCIES = (DAILY, WEEKLY, MONTHLY)

# Defaults of the settings (worksafe/settings.py reads the environment).
MIN_SECONDS_PER_ITEM = 5  # CHECK_MIN_SECONDS_PER_ITEM
PHASH_MAX_DISTANCE = 4  # CHECK_PHASH_MAX_DISTANCE: of 64 bits
MAX_DISTANCE_M = 1000  # CHECK_MAX_DISTANCE_M
COPY_SIMILARITY = 0.95  # CHECK_COPY_SIMILARITY_PERCENT / 100
COPY_MIN_REPEATS = 3  # CHECK_COPY_MIN_REPEATS: the same note on this many items of one record
MIN_NOTE_CHARS = 8  # shorter notes ("正常", "合格", "无异常") are routine, not copied text
MIN_COPY_CHARS = 30  # a record's notes must say this much before "the same as an earlier record" means copied

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius


# ---------------------------------------------------------------------------------------------
# Check periods (排查周期): one task per period, due on its last day
# ---------------------------------------------------------------------------------------------


class Period(NamedTuple):
    start: datetime.date  # first day of the period (or the plan's first day, if later)
    due: datetime.date  # last day of the period: the check must be done by then


def period_of(frequency: str, day: datetime.date) -> Period:
    """The calendar period containing `day`: the day itself, its ISO week (Monday–Sunday) or its month."""
    if frequency == DAILY:
        return Period(day, day)
    if frequency == WEEKLY:
        monday = day - datetime.timedelta(days=day.weekday())
        return Period(monday, monday + datetime.timedelta(days=6))
    if frequency == MONTHLY:
        last = calendar.monthrange(day.year, day.month)[1]
        return Period(day.replace(day=1), day.replace(day=last))
    raise ValueError(f"unknown frequency: {frequency!r}")


def periods(frequency: str, start: datetime.date, end: datetime.date) -> list[Period]:
    """The periods from the one containing `start` to the one containing `end`, oldest first.

    The first period starts on `start` when the plan begins in the middle of it (a plan starting on a
    Wednesday owes its first weekly check by that Sunday). Empty when `end` is before `start`.
    """
    result: list[Period] = []
    day = start
    while day <= end:
        period = period_of(frequency, day)
        result.append(Period(max(period.start, start), period.due))
        day = period.due + datetime.timedelta(days=1)
    return result


def due_dates(frequency: str, start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """The due date (last day) of every period from `start` to `end`."""
    return [p.due for p in periods(frequency, start, end)]


def task_state(done: bool, due: datetime.date, today: datetime.date) -> str:
    """done / open / missed: a task not done by the end of its due date is missed (derived, never stored)."""
    if done:
        return "done"
    return "missed" if due < today else "open"


# ---------------------------------------------------------------------------------------------
# (1) Impossible duration
# ---------------------------------------------------------------------------------------------


def duration_verdict(started: datetime.datetime, finished: datetime.datetime, items: int,
                     min_seconds_per_item: float = MIN_SECONDS_PER_ITEM) -> str | None:
    """None when the duration is possible; "reversed" when the check ends before it starts; "too_fast"
    when it took less than `min_seconds_per_item` per item (exactly the minimum is possible)."""
    seconds = (finished - started).total_seconds()
    if seconds < 0:
        return "reversed"
    if items > 0 and seconds < min_seconds_per_item * items:
        return "too_fast"
    return None


# ---------------------------------------------------------------------------------------------
# (2) Reused photo: SHA-256 equal, or 64-bit average hashes within a Hamming distance
# ---------------------------------------------------------------------------------------------


def hamming(a: str, b: str) -> int:
    """Bits that differ between two 64-bit hashes written as hex (core.workflow.image_phash)."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def same_photo(sha_a: str, phash_a: str, sha_b: str, phash_b: str,
               max_distance: int = PHASH_MAX_DISTANCE) -> bool:
    """The same file (SHA-256) or the same picture re-encoded, resized or slightly cropped (perceptual hash).

    A missing hash ('' for a non-image) never matches; `max_distance` of 0 means identical hashes only.
    """
    if sha_a and sha_a == sha_b:
        return True
    if not phash_a or not phash_b:
        return False
    return hamming(phash_a, phash_b) <= max_distance


# ---------------------------------------------------------------------------------------------
# (3) Copy-pasted text
# ---------------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Text as compared: full-width folded (NFKC), lower case, without spaces, punctuation or symbols."""
    folded = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(c for c in folded if unicodedata.category(c)[0] in "LN")


def is_substantive(text: str, min_chars: int = MIN_NOTE_CHARS) -> bool:
    """At least `min_chars` letters or digits once normalised: "正常" or "ok." is routine, not evidence."""
    return len(normalise(text)) >= min_chars


def repeated_notes(notes: Iterable[str], min_repeats: int = COPY_MIN_REPEATS,
                   min_chars: int = MIN_NOTE_CHARS) -> list[tuple[str, int]]:
    """Substantive notes that appear (normalised) on at least `min_repeats` items, with their counts."""
    counts = Counter(n for n in (normalise(t) for t in notes) if len(n) >= min_chars)
    return sorted(((text, n) for text, n in counts.items() if n >= min_repeats), key=lambda p: (-p[1], p[0]))


def record_text(notes: Iterable[str], min_chars: int = MIN_NOTE_CHARS) -> str:
    """The substantive notes of a record, normalised and joined in order (routine notes left out)."""
    return "|".join(n for n in (normalise(t) for t in notes) if len(n) >= min_chars)


def similarity(a: str, b: str) -> float:
    """difflib's ratio of two already normalised texts: 1.0 identical, 0.0 nothing in common."""
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def copied_from(text: str, earlier: Iterable[tuple[object, str]], threshold: float = COPY_SIMILARITY,
                min_chars: int = MIN_COPY_CHARS) -> tuple[object, float] | None:
    """The first earlier (key, text) whose similarity to `text` reaches `threshold`, with the ratio.

    `text` and the earlier texts come from record_text(). A text shorter than `min_chars` is never a copy:
    the same one-line finding noted again (a defect not yet fixed) is not a record copied wholesale.
    """
    if len(text) < min_chars:
        return None
    for key, other in earlier:
        if not other:
            continue
        matcher = difflib.SequenceMatcher(None, text, other, autojunk=False)
        if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
            continue
        ratio = matcher.ratio()
        if ratio >= threshold:
            return key, ratio
    return None


# ---------------------------------------------------------------------------------------------
# (4) Far from the enterprise
# ---------------------------------------------------------------------------------------------


def haversine_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    """Great-circle distance in metres between two WGS84 points (degrees)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def too_far(distance_m: float, max_distance_m: float = MAX_DISTANCE_M) -> bool:
    """Farther than `max_distance_m` (exactly the maximum is still on site)."""
    return distance_m > max_distance_m
