"""Anti-formalism (反形式主义): flag check records that cannot be real, when they are handed in.

The tests are pure functions in rules.py; this module gathers their inputs from the database, applies the
thresholds from the settings and stores one FormalismFlag per finding. Regulators see the flags on their
list and on each record's page.
"""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from worksafe.checks import rules
from worksafe.checks.choices import FlagKind
from worksafe.checks.models import CheckRecord, CheckResult, FormalismFlag
from worksafe.core.models import Attachment

EVIDENCE = "evidence"  # attachment role of a check photo
EARLIER_RECORDS = 30  # copied text: compare with this many earlier checks with the same list


def thresholds() -> dict:
    """The CHECK_* settings, with the defaults of rules.py when a setting is absent."""
    return {
        "min_seconds_per_item": getattr(settings, "CHECK_MIN_SECONDS_PER_ITEM", rules.MIN_SECONDS_PER_ITEM),
        "phash_max_distance": getattr(settings, "CHECK_PHASH_MAX_DISTANCE", rules.PHASH_MAX_DISTANCE),
        "max_distance_m": getattr(settings, "CHECK_MAX_DISTANCE_M", rules.MAX_DISTANCE_M),
        "copy_similarity": getattr(settings, "CHECK_COPY_SIMILARITY_PERCENT", rules.COPY_SIMILARITY * 100) / 100,
        "copy_min_repeats": getattr(settings, "CHECK_COPY_MIN_REPEATS", rules.COPY_MIN_REPEATS),
    }


def evaluate(record: CheckRecord, *, fresh: bool = False, results: list[CheckResult] | None = None,
             evidence: list[Attachment] | None = None) -> list[FormalismFlag]:
    """Run the four tests on a saved record and replace its flags (inside the caller's transaction).

    `fresh`: the record was just created and has no flags yet. `results` (with their items) and `evidence`
    (its photos' attachments): what the caller already holds, so that they are not read again.

    1. Duration: finished before started, or less than the minimum seconds per item.
    2. Photos: the same picture on two items of this record, or as in an earlier record of the enterprise.
    3. Text: the same substantive note on many items, or the notes as in an earlier record.
    4. Location: the phone farther than the maximum distance from the enterprise.
    """
    limits = thresholds()
    if results is None:
        results = list(CheckResult.objects.filter(record=record).select_related("item"))
    flags = [*_duration(record, results, limits), *_photos(record, results, limits, evidence),
             *_text(record, results, limits), *_distance(record, limits)]
    if not fresh:
        FormalismFlag.objects.filter(record=record).delete()
    if flags:
        FormalismFlag.objects.bulk_create(flags)
    if flags or not fresh:
        CheckRecord.objects.filter(pk=record.pk).update(flag_count=len(flags))
    record.flag_count = len(flags)
    return flags


def _flag(record, kind, *, result=None, other=None, **data) -> FormalismFlag:
    if other is not None:
        data["other_date"] = f"{timezone.localtime(other.finished_at):%Y-%m-%d %H:%M}"
    return FormalismFlag(record=record, kind=kind, result=result, other_record=other, data=data)


def _duration(record, results, limits):
    verdict = rules.duration_verdict(record.started_at, record.finished_at, len(results),
                                     limits["min_seconds_per_item"])
    if verdict is None:
        return []
    return [_flag(record, FlagKind.DURATION, verdict=verdict, seconds=record.duration_s, items=len(results),
                  min_per_item=limits["min_seconds_per_item"])]


def _photos(record, results, limits, evidence=None):
    """One flag for photos repeated inside the record, one for photos handed in before with earlier records."""
    ct = ContentType.objects.get_for_model(CheckResult)
    by_id = {str(r.pk): r for r in results}
    if evidence is None:
        evidence = Attachment.objects.filter(content_type=ct, object_id__in=list(by_id), role=EVIDENCE)
    mine = [(a.object_id, a.sha256, a.phash) for a in sorted(evidence, key=lambda a: a.pk)]
    if not mine:
        return []
    distance = limits["phash_max_distance"]
    flags = []

    # a. the same picture on two different items of this record
    repeated = set()
    for i, (oid, sha, ph) in enumerate(mine):
        for other_oid, other_sha, other_ph in mine[:i]:
            if other_oid != oid and rules.same_photo(sha, ph, other_sha, other_ph, distance):
                repeated |= {oid, other_oid}
    if repeated:
        items = sorted(by_id[o].item.number for o in repeated)
        flags.append(_flag(record, FlagKind.PHOTO_REUSE, result=by_id[min(repeated, key=int)], items=items))

    # b. a picture handed in before, in an earlier record of the same enterprise
    earlier_results = (CheckResult.objects.filter(record__enterprise_id=record.enterprise_id,
                                                  record__finished_at__lte=record.finished_at)
                       .exclude(record_id=record.pk).annotate(sid=Cast("pk", CharField())).values("sid"))
    candidates = Attachment.objects.filter(content_type=ct, role=EVIDENCE, object_id__in=earlier_results)
    if distance == 0:  # identical hashes only: let the indexes do it
        hashes = {ph for _o, _s, ph in mine if ph}
        shas = {sha for _o, sha, _p in mine}
        candidates = candidates.filter(sha256__in=shas) | candidates.filter(phash__in=hashes)
    matched: dict[str, set[str]] = defaultdict(set)  # earlier result id → result ids of this record
    for other_oid, other_sha, other_ph in candidates.values_list("object_id", "sha256", "phash").iterator():
        for oid, sha, ph in mine:
            if rules.same_photo(sha, ph, other_sha, other_ph, distance):
                matched[other_oid].add(oid)
    if not matched:
        return flags
    record_ids = set(CheckResult.objects.filter(pk__in=[int(o) for o in matched]).values_list("record_id", flat=True))
    latest = CheckRecord.objects.filter(pk__in=record_ids).order_by("-finished_at", "-id").first()
    oids = set().union(*matched.values())
    flags.append(_flag(record, FlagKind.PHOTO_REUSE, result=by_id[min(oids, key=int)], other=latest,
                       items=sorted(by_id[o].item.number for o in oids), records=len(record_ids)))
    return flags


def _text(record, results, limits):
    flags = []
    # a. the same substantive note on many items of this record
    for text, count in rules.repeated_notes([r.note for r in results], limits["copy_min_repeats"]):
        sample = next(r for r in results if rules.normalise(r.note) == text)
        flags.append(_flag(record, FlagKind.COPIED_TEXT, result=sample, text=sample.note[:100], count=count))

    # b. the notes of an earlier check with the same list, again
    text = rules.record_text([record.notes, *[r.note for r in results]])
    if len(text) < rules.MIN_COPY_CHARS:
        return flags
    earlier = list(CheckRecord.objects.filter(enterprise_id=record.enterprise_id, checklist_id=record.checklist_id,
                                              finished_at__lte=record.finished_at)
                   .exclude(pk=record.pk).order_by("-finished_at", "-id")[:EARLIER_RECORDS])
    notes = defaultdict(list)
    for record_id, note in (CheckResult.objects.filter(record__in=earlier).exclude(note="")
                            .order_by("record_id", "id").values_list("record_id", "note")):
        notes[record_id].append(note)
    texts = ((r, rules.record_text([r.notes, *notes[r.pk]])) for r in earlier)
    found = rules.copied_from(text, texts, limits["copy_similarity"])
    if found:
        other, ratio = found
        flags.append(_flag(record, FlagKind.COPIED_TEXT, other=other, ratio=round(ratio, 3)))
    return flags


def _distance(record, limits):
    distance = record.distance_m
    if distance is None or not rules.too_far(distance, limits["max_distance_m"]):
        return []
    return [_flag(record, FlagKind.FAR_AWAY, distance_m=distance, max_m=limits["max_distance_m"],
                  accuracy_m=round(record.accuracy_m) if record.accuracy_m is not None else None)]


def describe(flag: FormalismFlag) -> str:
    """The finding in words, in the reader's language (the flag stores only numbers)."""
    d = flag.data or {}
    if flag.kind == FlagKind.DURATION:
        if d.get("verdict") == "reversed":
            return _("The check finished before it started.")
        return _("{items} items checked in {seconds} s: less than {min} s per item.").format(
            items=d.get("items"), seconds=d.get("seconds"), min=d.get("min_per_item"))
    if flag.kind == FlagKind.PHOTO_REUSE:
        items = "、".join(str(n) for n in d.get("items", []))
        if flag.other_record_id:
            if d.get("records", 1) > 1:
                return _("The photos of items {items} were already handed in with {n} earlier checks, the latest "
                         "of {date}.").format(items=items, n=d["records"], date=d.get("other_date", ""))
            return _("The photos of items {items} were already handed in with the check of {date}.").format(
                items=items, date=d.get("other_date", ""))
        return _("Items {items} of this check carry the same photo.").format(items=items)
    if flag.kind == FlagKind.COPIED_TEXT:
        if flag.other_record_id:
            return _("The notes are {percent}% the same as those of the check of {date}.").format(
                percent=round(100 * d.get("ratio", 0)), date=d.get("other_date", ""))
        return _("The same note on {count} items: “{text}”.").format(count=d.get("count"), text=d.get("text", ""))
    if flag.kind == FlagKind.FAR_AWAY:
        if d.get("accuracy_m") is not None:
            return _("Checked {distance} m from the enterprise (location accuracy {accuracy} m).").format(
                distance=d.get("distance_m"), accuracy=d.get("accuracy_m"))
        return _("Checked {distance} m from the enterprise.").format(distance=d.get("distance_m"))
    return ""
