"""Workflow steps for major hazard sources: assess, file, deregister. Each is one transaction with its audit."""

from __future__ import annotations

import datetime
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from worksafe.core import audit
from worksafe.core.models import AuditEntry
from worksafe.majorhazards import rules
from worksafe.majorhazards.models import Assessment, MajorHazard, MajorHazardStatus


def rule_options() -> dict:
    """The unverified GB 18218 choices, from settings (docs/rules.md)."""
    return {
        "beta_multi_category": settings.MH_BETA_MULTI_CATEGORY,
        "coal_gas_beta": Fraction(settings.MH_COAL_GAS_BETA) if settings.MH_COAL_GAS_BETA else None,
        "default_beta": Fraction(settings.MH_DEFAULT_BETA) if settings.MH_DEFAULT_BETA else None,
    }


def _plain(value):
    """JSON-ready copy of the rule inputs (Fractions and Decimals as exact strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Fraction):
        return rules.fraction_to_str(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def _dec(value) -> Decimal | None:
    return None if value is None else rules.to_decimal(Fraction(value))


def assess(hazard: MajorHazard, *, by, reason: str = "", on: datetime.date | None = None) -> Assessment:
    """Identify and grade the unit from its current substances and exposed people (GB 18218-2018 4.2–4.3).

    1. Run the pure rule on this unit alone (units are never summed).
    2. Keep the inputs and the full result as a new Assessment version.
    3. Copy S, R and the grade onto the hazard for lists and maps; audit both rows.
    Raises ValueError (from the rule) for an unknown substance or a missing quantity.
    """
    substances = [s.as_rule_input() for s in hazard.substances.all()]
    result = rules.assess_unit(substances, people_within_500m=hazard.people_within_500m, **rule_options())
    on = on or timezone.localdate()
    with transaction.atomic():
        locked = MajorHazard.objects.select_for_update().get(pk=hazard.pk)
        before = audit.snapshot(locked)
        assessment = Assessment.objects.create(
            hazard=locked, assessed_on=on, assessed_by=by, reason=reason,
            inputs={"substances": _plain(substances), "people_within_500m": locked.people_within_500m},
            result=result.as_dict(), s_value=_dec(result.s), r_value=_dec(result.r), grade=result.grade,
            is_major=result.is_major,
        )
        locked.s_value, locked.r_value, locked.grade = assessment.s_value, assessment.r_value, assessment.grade
        locked.assessed_on = on
        locked.save(update_fields=["s_value", "r_value", "grade", "assessed_on", "updated_at"])
        audit.record(AuditEntry.Action.CREATE, assessment, after=audit.snapshot(assessment), user=by)
        audit.record(AuditEntry.Action.UPDATE, locked, before=before, after=audit.snapshot(locked), user=by)
    hazard.refresh_from_db()
    return assessment


def record_filing(hazard: MajorHazard, *, by, filed_on: datetime.date) -> None:
    """The county bureau records the filing (备案, 40号令 Art. 23): the source becomes registered."""
    _transition(hazard, by=by, to=MajorHazardStatus.REGISTERED, allowed={MajorHazardStatus.DRAFT,
                MajorHazardStatus.REGISTERED}, changes={"filed_on": filed_on}, detail="filing")


def deregister(hazard: MajorHazard, *, by, on: datetime.date, reason: str) -> None:
    """核销 (40号令 Art. 27): the regulator confirms the unit is no longer a major hazard."""
    _transition(hazard, by=by, to=MajorHazardStatus.DEREGISTERED, allowed={MajorHazardStatus.DRAFT,
                MajorHazardStatus.REGISTERED}, changes={"deregistered_on": on, "deregistration_reason": reason},
                detail="deregistration")


class InvalidTransition(Exception):
    pass


def _transition(hazard, *, by, to, allowed, changes, detail):
    with transaction.atomic():
        before = audit.snapshot(hazard)
        moved = MajorHazard.objects.filter(pk=hazard.pk, status__in=allowed).update(
            status=to, updated_at=timezone.now(), **changes)
        if moved != 1:
            raise InvalidTransition(hazard.status)
        hazard.refresh_from_db()
        audit.record(AuditEntry.Action.TRANSITION, hazard, before=before, after=audit.snapshot(hazard), user=by,
                     detail=detail)
