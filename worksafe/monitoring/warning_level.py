"""Enterprise warning levels (企业风险预警: red / orange / yellow / blue), recomputed by `worksafe tick`.

For every enterprise with monitoring points, gather the inputs (rules.WarningInputs) in a few grouped
queries, call the rule named by MONITORING_WARNING_RULE (a dotted path; default
rules.default_warning_level) with MONITORING_WARNING_WEIGHTS, and store the colour, score, inputs,
weights and reasons in EnterpriseWarning. `since` moves only when the colour changes; a change is
published to the live board. The national formula is not public (major_hazards.md §2.3): ours is
documented in docs/rules.md and replaceable.

Stored `inputs`: {"values": WarningInputs as a dict, "weights": the weights used, "rule": dotted path,
"persist_minutes": MONITORING_ALARM_PERSIST_MINUTES}.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min
from django.utils.module_loading import import_string

from worksafe.monitoring import live, rules
from worksafe.monitoring.choices import ACTIVE_STATUSES, QualityKind, WarningColour
from worksafe.monitoring.models import Alarm, EnterpriseWarning, Point, QualityEvent

UTC = datetime.UTC


def rule():
    return import_string(settings.MONITORING_WARNING_RULE)


def weights() -> dict:
    return {**rules.DEFAULT_WARNING_WEIGHTS, **(settings.MONITORING_WARNING_WEIGHTS or {})}


def gather(enterprise_ids, now: datetime.datetime, using: str = "default") -> dict[int, rules.WarningInputs]:
    """WarningInputs for each enterprise id, from grouped queries (no per-enterprise query)."""
    from worksafe.hazards.choices import HazardLevel, HazardStatus
    from worksafe.hazards.models import Hazard
    from worksafe.majorhazards.models import MajorHazard, MajorHazardStatus

    ids = list(enterprise_ids)
    persist = now - datetime.timedelta(minutes=settings.MONITORING_ALARM_PERSIST_MINUTES)
    values: dict[int, dict] = {e: {} for e in ids}
    active = Alarm.objects.using(using).filter(enterprise_id__in=ids, status__in=list(ACTIVE_STATUSES))
    for row in active.values("enterprise_id", "level").annotate(n=Count("pk")):
        values[row["enterprise_id"]][f"level{row['level']}_active"] = row["n"]
    for row in active.filter(raised_at__lt=persist).values("enterprise_id", "level").annotate(n=Count("pk")):
        values[row["enterprise_id"]][f"long_level{row['level']}"] = row["n"]
    worst: dict[tuple, int] = defaultdict(int)
    for row in active.values("enterprise_id", "hazard_id", "level").annotate(n=Count("point_id", distinct=True)):
        key = (row["enterprise_id"], row["level"])
        worst[key] = max(worst[key], row["n"])
    for (ent, level), n in worst.items():
        values[ent][f"worst_unit_level{level}"] = n
    for row in QualityEvent.objects.using(using).filter(
            enterprise_id__in=ids, kind=QualityKind.INTERRUPTION, is_open=True).values("enterprise_id").annotate(
            n=Count("pk")):
        values[row["enterprise_id"]]["interruptions"] = row["n"]
    for row in MajorHazard.objects.using(using).filter(
            enterprise_id__in=ids, status=MajorHazardStatus.REGISTERED, grade__isnull=False).values(
            "enterprise_id").annotate(g=Min("grade")):
        values[row["enterprise_id"]]["hazard_grade"] = row["g"]
    for row in Hazard.objects.using(using).filter(enterprise_id__in=ids, level=HazardLevel.MAJOR).exclude(
            status=HazardStatus.CLOSED).values("enterprise_id").annotate(n=Count("pk")):
        values[row["enterprise_id"]]["open_major_hazards"] = row["n"]
    # recent_accidents stays 0: there is no accident module yet (the page says so).
    return {e: rules.WarningInputs(**v) for e, v in values.items()}


def update_all(now: datetime.datetime | None = None, using: str = "default") -> dict[str, int]:
    """Recompute every enterprise's warning level; returns counts of rows computed and colours changed."""
    from worksafe.enterprises.models import Enterprise

    now = now or datetime.datetime.now(UTC)
    func, w, path = rule(), weights(), settings.MONITORING_WARNING_RULE
    monitored = set(Point.objects.using(using).filter(active=True).values_list("enterprise_id", flat=True).distinct())
    changed = 0
    with transaction.atomic(using=using):
        existing = {w_.enterprise_id: w_ for w_ in EnterpriseWarning.objects.using(using).select_for_update()}
        inputs = gather(monitored, now, using)
        counties = dict(Enterprise.objects.using(using).filter(pk__in=set(existing) | monitored).values_list(
            "pk", "county_id"))
        new, updates = [], []
        for ent in sorted(set(existing) | monitored):
            if ent in monitored:
                i = inputs[ent]
                colour, score, reasons = func(i, w)
                stored = {"values": dataclasses.asdict(i), "weights": w, "rule": path,
                          "persist_minutes": settings.MONITORING_ALARM_PERSIST_MINUTES}
            else:  # no monitored points any more
                colour, score, reasons, stored = WarningColour.NONE, 0.0, [], {}
            row = existing.get(ent)
            previous = row.colour if row else WarningColour.NONE
            if row is None:
                row = EnterpriseWarning(enterprise_id=ent, colour=colour, score=score, inputs=stored,
                                        reasons=reasons, since=now, computed_at=now)
                new.append(row)
            else:
                if row.colour != colour:
                    row.since = now
                if (row.colour, row.score, row.inputs, row.reasons) == (colour, score, stored, reasons):
                    continue
                row.colour, row.score, row.inputs, row.reasons = colour, score, stored, reasons
                updates.append(row)
            if colour != previous:
                changed += 1
                live.publish({"type": "warning", "enterprise_id": ent, "county": counties.get(ent, ""),
                              "colour": colour, "previous": previous, "score": score,
                              "since": row.since.isoformat()}, using=using)
        EnterpriseWarning.objects.using(using).bulk_create(new)
        EnterpriseWarning.objects.using(using).bulk_update(updates, ["colour", "score", "inputs", "reasons", "since"],
                                                           batch_size=500)
        EnterpriseWarning.objects.using(using).update(computed_at=now)
    return {"computed": len(monitored), "changed": changed}
