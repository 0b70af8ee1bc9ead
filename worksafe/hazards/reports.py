"""Quarterly and annual hazard statistics reports (隐患排查治理情况统计分析, 16号令; ref §3.2).

The unit analyses its hazard work every quarter and every year and sends the written table, signed by
its main responsible person (主要负责人), to the regulator by the 15th of the first month of the next
quarter, and by 31 January of the next year (`rules.quarterly_report_due`, `rules.annual_report_due`).

Figures are computed from the hazard records, for one enterprise and one period [start, end] (local
calendar dates, both ends inclusive). For each level (general, major) and in total:

- found: hazards whose `found_on` lies in the period;
- rectified: hazards verified and closed (销号) in the period, i.e. `closed_on` in the period, whenever
  they were found;
- found_rectified: hazards found in the period and closed by its end (the report's rectification rate
  is found_rectified / found);
- open: hazards open at the end of the period: found on or before `end` and not closed by then
  (`closed_on` empty or after `end`);
- overdue: of those open at the end, the ones whose rectification deadline had passed by then
  (`deadline` < `end`: the deadline day itself is still on time, ref §0 and `rules.deadline_state`).

Funds (yuan, strings with 2 decimals): planned = the rectification funds of the hazards found in the
period; spent = the funds of the hazards closed in the period.

Major hazards listed for supervision (挂牌督办): listed = listings made in the period; under_supervision
= listed by the end and not lifted by then; overdue = of those, past their listing deadline at the end;
lifted = lifted (摘牌) in the period.

"Open" and "overdue" are reconstructed from the dates (`closed_on`, `deadline`) rather than read from the
current status, so a report for a past period gives the same numbers whenever it is computed. The
deadline is the one recorded now (it is set once, when the rectification is assigned).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from worksafe.core import audit
from worksafe.core.choices import KeyIndustry
from worksafe.core.models import AuditEntry
from worksafe.core.scoping import still_visible
from worksafe.core.workflow import InvalidTransition
from worksafe.enterprises.models import Enterprise, EnterpriseStatus
from worksafe.hazards import rules
from worksafe.hazards.choices import HazardLevel
from worksafe.hazards.models import Hazard, HazardReport, Listing, ReportKind

LEVELS = (HazardLevel.GENERAL.value, HazardLevel.MAJOR.value)
METRICS = ("found", "rectified", "found_rectified", "open", "overdue")
LISTING_METRICS = ("listed", "under_supervision", "overdue", "lifted")
FIGURES_VERSION = 1  # bump when a definition above changes; stored in every snapshot

# [D] Enterprises expected to file the reports: every key-industry class the platform supervises (16号令
# binds every 生产经营单位), not "other", and only while operating. One place to change it.
REPORTING_CLASSES = tuple(c.value for c in KeyIndustry if c != KeyIndustry.OTHER)

ZERO = Decimal("0.00")


# --- periods -----------------------------------------------------------------------------------


def check_period(kind: str, year: int, quarter: int | None) -> None:
    """ValidationError unless (kind, year, quarter) names a period: quarter 1–4 for a quarterly report,
    none for an annual one."""
    if kind not in ReportKind.values:
        raise ValidationError({"kind": _("Choose quarterly or annual.")})
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationError({"year": _("Enter a year between 2000 and 2100.")})
    if kind == ReportKind.QUARTER and quarter not in rules.QUARTERS:
        raise ValidationError({"quarter": _("Choose a quarter from 1 to 4.")})
    if kind == ReportKind.ANNUAL and quarter is not None:
        raise ValidationError({"quarter": _("An annual report has no quarter.")})


def period_bounds(kind: str, year: int, quarter: int | None) -> tuple[datetime.date, datetime.date]:
    """First and last day of the period (both inclusive)."""
    check_period(kind, year, quarter)
    if kind == ReportKind.ANNUAL:
        return datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    start = datetime.date(year, 3 * quarter - 2, 1)
    end = (datetime.date(year + 1, 1, 1) if quarter == 4 else datetime.date(year, 3 * quarter + 1, 1)) \
        - datetime.timedelta(days=1)
    return start, end


def due_date(kind: str, year: int, quarter: int | None) -> datetime.date:
    """The filing deadline from the rules (no holiday roll-over, see rules.quarterly_report_due)."""
    check_period(kind, year, quarter)
    if kind == ReportKind.ANNUAL:
        return rules.annual_report_due(year)
    return rules.quarterly_report_due(year, quarter)


def last_ended_quarter(today: datetime.date) -> tuple[int, int]:
    """(year, quarter) of the most recent quarter that has ended by `today`."""
    year, quarter = rules.quarter_of(today)
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


# --- figures -----------------------------------------------------------------------------------


def metric_filters(start: datetime.date, end: datetime.date, prefix: str = "") -> dict[str, Q]:
    """One Q per metric (module docstring) over Hazard rows; `prefix` for a path to Hazard."""
    p = prefix

    def q(**kwargs):
        return Q(**{p + k: v for k, v in kwargs.items()})

    open_at_end = q(found_on__lte=end) & (q(closed_on__isnull=True) | q(closed_on__gt=end))
    return {
        "found": q(found_on__gte=start, found_on__lte=end),
        "rectified": q(closed_on__gte=start, closed_on__lte=end),
        "found_rectified": q(found_on__gte=start, found_on__lte=end, closed_on__lte=end),
        "open": open_at_end,
        "overdue": open_at_end & q(deadline__lt=end),
    }


def rate(done: int, total: int) -> float | None:
    """A percentage with one decimal, None when there is nothing to divide by."""
    return round(100 * done / total, 1) if total else None


def _money(value) -> str:
    return str((value or ZERO).quantize(Decimal("0.01")))


def compute_figures(enterprise, kind: str, year: int, quarter: int | None) -> dict:
    """The report's figures from the hazard and listing records (two aggregate queries)."""
    start, end = period_bounds(kind, year, quarter)
    filters = metric_filters(start, end)
    hazards = Hazard.objects.filter(enterprise=enterprise, found_on__lte=end)
    money = DecimalField(max_digits=16, decimal_places=2)
    aggregates = {f"{level}__{m}": Count("id", filter=q & Q(level=level)) for level in LEVELS
                  for m, q in filters.items()}
    aggregates["funds_planned"] = Coalesce(Sum("funds", filter=filters["found"]), Value(ZERO), output_field=money)
    aggregates["funds_spent"] = Coalesce(Sum("funds", filter=filters["rectified"]), Value(ZERO), output_field=money)
    row = hazards.aggregate(**aggregates)
    levels = {level: {m: row[f"{level}__{m}"] for m in METRICS} for level in LEVELS}
    levels["total"] = {m: sum(levels[level][m] for level in LEVELS) for m in METRICS}
    for counts in levels.values():
        counts["rectification_rate"] = rate(counts["found_rectified"], counts["found"])

    supervised = Q(listed_on__lte=end) & (Q(lifted_on__isnull=True) | Q(lifted_on__gt=end))
    listings = Listing.objects.filter(hazard__enterprise=enterprise).aggregate(
        listed=Count("id", filter=Q(listed_on__gte=start, listed_on__lte=end)),
        under_supervision=Count("id", filter=supervised),
        overdue=Count("id", filter=supervised & Q(deadline__lt=end)),
        lifted=Count("id", filter=Q(lifted_on__gte=start, lifted_on__lte=end)),
    )
    return {
        "version": FIGURES_VERSION,
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "levels": levels,
        "funds": {"planned": _money(row["funds_planned"]), "spent": _money(row["funds_spent"])},
        "listings": listings,
        "computed_at": timezone.now().isoformat(),
    }


def draft_analysis(figures: dict) -> str:
    """A first draft of the written analysis from the figures, for the signer to edit."""
    total, major = figures["levels"]["total"], figures["levels"]["major"]
    text = _("In this period {found} hazards were found, {major} of them major; {rectified} were rectified and "
             "closed; {open} remained open at the end of the period, {overdue} of them past their deadline. "
             "Rectification funds: {planned} yuan planned, {spent} yuan spent.").format(
        found=total["found"], major=major["found"], rectified=total["rectified"], open=total["open"],
        overdue=total["overdue"], planned=figures["funds"]["planned"], spent=figures["funds"]["spent"])
    if total["overdue"]:
        text += "\n" + _("The overdue hazards are to be rectified without further delay; the causes of the delay "
                         "are analysed below.")
    return text


# --- draft and submission ------------------------------------------------------------------------


def generate(enterprise, kind: str, year: int, quarter: int | None, *, by) -> HazardReport:
    """Create the period's draft for the enterprise, or refresh the figures of its existing draft.

    1. The period must be valid and have started; `by` needs add (new) or change (refresh) permission
       and the enterprise in their place.
    2. A submitted report is never changed: ValidationError.
    3. Figures are computed, the row saved, the scope re-checked and the change audited, in one
       transaction.
    """
    check_period(kind, year, quarter)
    start, _end = period_bounds(kind, year, quarter)
    if start > timezone.localdate():
        raise ValidationError(_("The period has not started yet."))
    if not Enterprise.objects.scoped(by).filter(pk=enterprise.pk).exists():
        raise PermissionDenied
    with transaction.atomic():
        report = (HazardReport.objects.select_for_update()
                  .filter(enterprise=enterprise, kind=kind, year=year, quarter=quarter).first())
        if report is not None and report.is_submitted:
            raise ValidationError(_("This report has been submitted and can no longer change."))
        action = "change" if report else "add"
        if not by.has_perm(f"hazards.{action}_hazardreport"):
            raise PermissionDenied
        before = audit.snapshot(report) if report else None
        if report is None:
            report = HazardReport(enterprise=enterprise, kind=kind, year=year, quarter=quarter,
                                  due_on=due_date(kind, year, quarter))
        report.figures = compute_figures(enterprise, kind, year, quarter)
        report.save()
        if not still_visible(report, by, action):
            raise PermissionDenied
        audit.record(AuditEntry.Action.UPDATE if before else AuditEntry.Action.CREATE, report, before=before,
                     after=audit.snapshot(report), user=by)
    return report


def submit(report: HazardReport, *, by, signed_by_name: str, analysis: str) -> HazardReport:
    """Sign and submit: the figures are recomputed just before and then frozen with the report.

    1. `by` needs the submit permission and the report in their place.
    2. The period must have ended; the signer (the main responsible person) and the analysis are required.
    3. Compare-and-set on "not yet submitted", so two submissions cannot both succeed (InvalidTransition);
       late = rules.is_late(today in Asia/Shanghai, due date). Audited in the same transaction.
    """
    if not by.has_perm("hazards.submit_hazardreport") or not still_visible(report, by, "submit"):
        raise PermissionDenied
    errors = {}
    if not (signed_by_name or "").strip():
        errors["signed_by_name"] = _("The main responsible person signs the report.")
    if not (analysis or "").strip():
        errors["analysis"] = _("Write the analysis of the period's hazard work.")
    if errors:
        raise ValidationError(errors)
    _start, end = period_bounds(report.kind, report.year, report.quarter)
    now = timezone.now()
    today = timezone.localdate(now)
    if today <= end:
        raise ValidationError(_("The report can be submitted once the period has ended."))
    if report.is_submitted:
        raise ValidationError(_("This report has been submitted and can no longer change."))
    with transaction.atomic():
        before = audit.snapshot(report)
        figures = compute_figures(report.enterprise, report.kind, report.year, report.quarter)
        moved = HazardReport.objects.filter(pk=report.pk, submitted_at__isnull=True).update(
            figures=figures, signed_by_name=signed_by_name.strip(), analysis=analysis.strip(), submitted_at=now,
            submitted_by=by, late=rules.is_late(today, report.due_on), updated_at=now)
        if moved != 1:
            raise InvalidTransition("submit")
        report.refresh_from_db()
        audit.record(AuditEntry.Action.TRANSITION, report, before=before, after=audit.snapshot(report), user=by,
                     detail="submit")
    return report


def missing_reports(user, kind: str, year: int, quarter: int | None):
    """Enterprises in the user's place that must file (REPORTING_CLASSES, operating) and have no submitted
    report for the period. Whether that is late depends on the due date (`due_date`)."""
    check_period(kind, year, quarter)
    submitted = HazardReport.objects.filter(kind=kind, year=year, quarter=quarter, submitted_at__isnull=False)
    return (Enterprise.objects.visible_to(user)
            .filter(status=EnterpriseStatus.OPERATING, key_class__in=REPORTING_CLASSES)
            .exclude(pk__in=submitted.values("enterprise_id")))
