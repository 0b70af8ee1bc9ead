"""Workflow step for risk points: assess (a new assessment version, the point's current result).

Each step is one transaction with its audit entries. The grading is the pure rules in risks/rules.py.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from worksafe.core import audit
from worksafe.core.models import AuditEntry
from worksafe.risks import rules
from worksafe.risks.models import Method, RiskAssessment, RiskPoint, reassessment_months

_CURRENT_FIELDS = ["level", "score", "method", "criterion", "assessed_on", "reassessment_due", "control_tier"]


@dataclass(frozen=True)
class Evaluation:
    """The graded result of one set of inputs, ready to be stored as a RiskAssessment."""

    method: str
    likelihood: Decimal
    exposure: Decimal | None
    consequence: Decimal | None
    severity: Decimal | None
    criterion: str
    table_version: str
    score: Decimal
    level: str
    band: str


def _number(name: str, value) -> Decimal:
    if value is None or value == "":
        raise ValueError(_("{name} is required.").format(name=name))
    if isinstance(value, bool):
        raise ValueError(_("{name} must be a number.").format(name=name))
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(_("{name} must be a number.").format(name=name)) from None
    if not number.is_finite():
        raise ValueError(_("{name} must be a number.").format(name=name))
    return number


def _ls_value(name: str, value) -> int:
    number = _number(name, value)
    if number != number.to_integral_value() or not 1 <= number <= 5:
        raise ValueError(_("{name} must be a whole number from 1 to 5.").format(name=name))
    return int(number)


def evaluate(*, method: str, L, E=None, C=None, S=None, scheme: str | None = None) -> Evaluation:
    """Grade one set of inputs with the pure rules; ValueError (translated message) for invalid inputs.

    LEC: L, E and C must be values of the standard tables (ref §2.3); the criterion is the platform's
    320/160/70/20 convention. LS: L and S are whole numbers 1–5 and `scheme` is one of rules.SCHEMES
    (there is no default: the enterprise adopts one, ref §2.4).
    """
    if method == Method.LEC:
        values = {"L": _number("L", L), "E": _number("E", E), "C": _number("C", C)}
        tables = {"L": rules.LEC_L_TABLE, "E": rules.LEC_E_TABLE, "C": rules.LEC_C_TABLE}
        for name, value in values.items():
            allowed = [v for v, _label in tables[name]]
            if value not in allowed:
                raise ValueError(_("{name} = {value} is not in the standard LEC table ({allowed}).").format(
                    name=name, value=value, allowed="、".join(f"{v:f}" for v in allowed)))
        result = rules.lec(values["L"], values["E"], values["C"])
        return Evaluation(Method.LEC.value, result.L, result.E, result.C, None, rules.LEC_CRITERION_ID,
                          rules.LEC_TABLE_VERSION, result.score, result.level, result.band.key)
    if method == Method.LS:
        lv, sv = _ls_value("L", L), _ls_value("S", S)
        if not scheme:
            raise ValueError(_("Choose the LS grading criterion the enterprise has adopted."))
        if scheme not in rules.SCHEMES:
            raise ValueError(_("Unknown LS grading criterion: {}").format(scheme))
        result = rules.ls(lv, sv, scheme=scheme)
        return Evaluation(Method.LS.value, Decimal(lv), None, None, Decimal(sv), scheme, "", Decimal(result.score),
                          result.level, "")
    raise ValueError(_("Unknown assessment method: {}").format(method))


def assess(point: RiskPoint, *, by, method: str, L, E=None, C=None, S=None, scheme: str | None = None,
           on: datetime.date | None = None, note: str = "") -> RiskAssessment:
    """Assess the risk point again: a new RiskAssessment version, and the point's current result.

    1. Grade the inputs with the pure rules (ValueError with a translatable message if invalid).
    2. Store the inputs, the criterion (LS scheme or LEC criterion), score, level and band as a new version.
    3. Put the latest version's result on the point (level, score, method, criterion, dates) and its
       default control tier (unless the enterprise fixed one); audit both rows, all in one transaction.
    """
    evaluation = evaluate(method=method, L=L, E=E, C=C, S=S, scheme=scheme)
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise ValueError(_("The assessment date cannot be in the future."))
    with transaction.atomic():
        locked = RiskPoint.objects.select_for_update().get(pk=point.pk)
        assessment = RiskAssessment.objects.create(
            point=locked, method=evaluation.method, likelihood=evaluation.likelihood, exposure=evaluation.exposure,
            consequence=evaluation.consequence, severity=evaluation.severity, criterion=evaluation.criterion,
            table_version=evaluation.table_version, score=evaluation.score, level=evaluation.level,
            band=evaluation.band, assessed_on=on, assessed_by=by, note=note[:200],
        )
        audit.record(AuditEntry.Action.CREATE, assessment, after=audit.snapshot(assessment), user=by)
        _apply_latest(locked, user=by)
    point.refresh_from_db()
    assessment.refresh_from_db()  # values as stored (e.g. the score with its two decimals), as GET shows them
    return assessment


def _apply_latest(point: RiskPoint, *, user) -> None:
    """Copy the latest assessment (by date, then entry) onto the point; a back-dated entry does not override it."""
    before = audit.snapshot(point)
    latest = point.assessments.order_by("-assessed_on", "-id").first()
    point.level, point.score, point.method = latest.level, latest.score, latest.method
    point.criterion, point.assessed_on = latest.criterion, latest.assessed_on
    point.reassessment_due = rules.reassessment_due(latest.assessed_on, latest.level, months=reassessment_months())
    point.save(update_fields=[*_CURRENT_FIELDS, "updated_at"])  # save() also sets the default control tier
    audit.record(AuditEntry.Action.UPDATE, point, before=before, after=audit.snapshot(point), user=user,
                 detail="assessment")


def last_ls_scheme(enterprise_id: int) -> str | None:
    """The LS criterion the enterprise used last: the assess form's default (ref §2.4: the enterprise picks one)."""
    return (RiskAssessment.objects.filter(point__enterprise_id=enterprise_id, method=Method.LS)
            .order_by("-assessed_on", "-id").values_list("criterion", flat=True).first())
