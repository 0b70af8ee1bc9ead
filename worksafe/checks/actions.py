"""Hazard-check steps: generate tasks from plans, hand in a check, turn a failed item into a hazard, copy a list.

Each step is one transaction: the rows, their audit entry and (for a check) the anti-formalism flags.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from worksafe.checks import formalism, rules
from worksafe.checks.choices import Outcome, TaskStatus
from worksafe.checks.models import Checklist, ChecklistItem, CheckPlan, CheckRecord, CheckResult, CheckTask
from worksafe.core import audit
from worksafe.core.models import AuditEntry
from worksafe.core.workflow import attach, attachments

__all__ = ["ItemResult", "TaskAlreadyDone", "generate_tasks", "submit", "result_to_hazard", "copy_checklist"]


class TaskAlreadyDone(Exception):
    """The task was handed in already (a second tap, or two phones at once)."""


# ---------------------------------------------------------------------------------------------
# Plans → tasks
# ---------------------------------------------------------------------------------------------


def generate_tasks(*, today: datetime.date | None = None, since: datetime.date | None = None,
                   plans: Iterable[CheckPlan] | None = None) -> int:
    """Create the missing tasks of active plans for every period from `since` (default: today) to the
    period containing `today`; returns how many were created. Idempotent: a period's task is created once
    (unique plan + period start), so the command can run as often as wanted.
    """
    today = today or timezone.localdate()
    since = min(since or today, today)
    if plans is None:
        plans = (CheckPlan.objects.filter(is_active=True, starts_on__lte=today)
                 .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=since)).order_by("id").iterator(chunk_size=500))
    created = 0
    batch: list[CheckPlan] = []
    for plan in plans:
        batch.append(plan)
        if len(batch) == 500:
            created += _generate_batch(batch, since, today)
            batch = []
    if batch:
        created += _generate_batch(batch, since, today)
    return created


def _generate_batch(plans: list[CheckPlan], since: datetime.date, today: datetime.date) -> int:
    wanted = []
    for plan in plans:
        if not plan.is_active or plan.starts_on > today:
            continue
        end = min(today, plan.ends_on) if plan.ends_on else today
        first = rules.period_of(plan.frequency, max(plan.starts_on, since))
        # Periods are clipped to the plan's first day only, never to `since`: the same period always has
        # the same start, whichever day the generation runs.
        begin = max(first.start, plan.starts_on)
        wanted += [(plan, p) for p in rules.periods(plan.frequency, begin, end)]
    if not wanted:
        return 0
    existing = set(CheckTask.objects.filter(plan__in=plans, period_start__gte=min(p.start for _pl, p in wanted))
                   .values_list("plan_id", "period_start"))
    new = [CheckTask(plan=plan, period_start=p.start, due_on=p.due, assignee_id=plan.assignee_id)
           for plan, p in wanted if (plan.pk, p.start) not in existing]
    CheckTask.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


# ---------------------------------------------------------------------------------------------
# Handing in a check
# ---------------------------------------------------------------------------------------------


@dataclass
class ItemResult:
    item: ChecklistItem
    outcome: str
    note: str = ""
    photos: Sequence = field(default_factory=tuple)


def submit(*, by, enterprise, checklist: Checklist, results: Sequence[ItemResult],
           started_at: datetime.datetime, finished_at: datetime.datetime | None = None,
           task: CheckTask | None = None, place: str = "", notes: str = "", lng=None, lat=None,
           accuracy_m: float | None = None) -> CheckRecord:
    """Hand in a check: the record, one result per item with its photos, the task done, audit and flags.

    1. Every item of the checklist has exactly one result; a failed item says what is wrong.
    2. The task (if any) moves open → done with a compare-and-set UPDATE, so handing it in twice is refused.
    3. Record, results and photos are saved and audited, then the anti-formalism tests run on them.
    All in one transaction.
    """
    finished_at = finished_at or timezone.now()
    items = {i.pk: i for i in checklist.items.all()}
    given = [r.item.pk for r in results]
    if sorted(given) != sorted(items) or len(set(given)) != len(given):
        raise ValidationError(_("Give exactly one result for every item of the checklist."))
    errors = {}
    for r in results:
        if r.outcome not in Outcome.values:
            errors[f"outcome_{r.item.pk}"] = _("Choose pass, fail or not applicable.")
        elif r.outcome == Outcome.FAIL and not r.note.strip():
            errors[f"note_{r.item.pk}"] = _("Say what is wrong.")
    if errors:
        raise ValidationError(errors)
    if task is not None and (task.plan.enterprise_id != enterprise.pk or task.plan.checklist_id != checklist.pk):
        raise ValidationError(_("This task belongs to another enterprise or checklist."))
    if checklist.enterprise_id not in (None, enterprise.pk):
        raise ValidationError(_("This checklist belongs to another enterprise."))

    with transaction.atomic():
        if task is not None:
            done = CheckTask.objects.filter(pk=task.pk, status=TaskStatus.OPEN).update(
                status=TaskStatus.DONE, done_at=finished_at)
            if done != 1:
                raise TaskAlreadyDone(task.pk)
            task.refresh_from_db()
        record = CheckRecord.objects.create(
            task=task, enterprise=enterprise, checklist=checklist, checked_by=by, place=place[:120], notes=notes,
            started_at=started_at, finished_at=finished_at, lng=_coord(lng), lat=_coord(lat), accuracy_m=accuracy_m,
            item_count=len(results), failed_count=sum(r.outcome == Outcome.FAIL for r in results))
        ordered = sorted(results, key=lambda r: (r.item.number, r.item.pk))
        rows = CheckResult.objects.bulk_create(
            [CheckResult(record=record, item=r.item, outcome=r.outcome, note=r.note.strip()[:500]) for r in ordered])
        evidence = []
        for row, given_result in zip(rows, ordered, strict=True):
            row.item = given_result.item
            evidence += [attach(row, upload, by=by, role=formalism.EVIDENCE) for upload in given_result.photos]
        audit.record(AuditEntry.Action.CREATE, record, after=audit.snapshot(record), user=by,
                     detail=_("{n} items, {failed} failed").format(n=record.item_count, failed=record.failed_count))
        formalism.evaluate(record, fresh=True, results=rows, evidence=evidence)
    return record


def _coord(value):
    from decimal import Decimal

    return None if value in (None, "") else Decimal(f"{float(value):.6f}")


# ---------------------------------------------------------------------------------------------
# A failed item → a hazard, in one tap
# ---------------------------------------------------------------------------------------------


def result_to_hazard(result: CheckResult, *, by) -> tuple[object, bool]:
    """Report the failed item as a hazard (source self-check) with the item's photos; (hazard, created).

    Idempotent: the result keeps the hazard it became, so a second tap returns the same hazard. An item
    that is a 重大事故隐患 criterion becomes a major hazard, reported to the regulator at once; its treatment
    plan is marked as still to be drawn up (the head completes it while the hazard is "reported").
    """
    from worksafe.hazards import actions as hazard_actions
    from worksafe.hazards.choices import HazardLevel, HazardSource
    from worksafe.hazards.models import Hazard

    if not by.has_perm("hazards.add_hazard"):
        raise PermissionDenied
    with transaction.atomic():
        locked = CheckResult.objects.select_for_update(of=("self",)).select_related(
            "record", "record__checklist", "item", "hazard").get(pk=result.pk)
        if locked.hazard_id is not None:
            return locked.hazard, False
        if locked.outcome != Outcome.FAIL:
            raise ValidationError(_("Only a failed item can become a hazard."))
        record, item = locked.record, locked.item
        checked_on = timezone.localdate(record.finished_at)
        # A criterion item is worded as the hazard itself (安监总管三〔2017〕121号); an enterprise's own item says
        # what should be in order, so the checker's note on what is wrong is the hazard.
        title = item.text if item.is_major_criterion or not locked.note else locked.note
        hazard = Hazard(enterprise_id=record.enterprise_id, title=title[:200], source=HazardSource.SELF_CHECK,
                        location=record.place, found_on=checked_on, found_by=str(record.checked_by)[:50],
                        description=_("Found in the check “{checklist}” of {date}, item {number} “{item}”: {note}")
                        .format(checklist=record.checklist, date=checked_on.isoformat(), number=item.number,
                                item=item.text, note=locked.note))
        if item.is_major_criterion:
            hazard.level = HazardLevel.MAJOR
            hazard.status_and_causes = f"{item.text}\n{locked.note}".strip()
            hazard.harm_and_difficulty = _("Meets {basis}: a major accident hazard.").format(
                basis=" ".join(p for p in (record.checklist.basis, item.basis) if p) or record.checklist.name)
            hazard.treatment_plan = _("To be drawn up under the principal responsible person.")
        photos = [File(a.file.open("rb"), name=a.name) for a in attachments(locked, formalism.EVIDENCE)]
        try:
            hazard_actions.report(hazard, by=by, files=photos)
        finally:
            for photo in photos:
                photo.close()
        before = audit.snapshot(locked)
        CheckResult.objects.filter(pk=locked.pk).update(hazard=hazard)
        locked.hazard = hazard
        audit.record(AuditEntry.Action.UPDATE, locked, before=before, after=audit.snapshot(locked), user=by,
                     detail=_("became hazard {code}").format(code=hazard.code))
    result.hazard = hazard
    return hazard, True


# ---------------------------------------------------------------------------------------------
# Copying a list
# ---------------------------------------------------------------------------------------------


def copy_checklist(checklist: Checklist, *, enterprise, by) -> Checklist:
    """The enterprise's own copy of a list (built-in or its own), items included, to adapt to its site."""
    with transaction.atomic():
        copy = Checklist.objects.create(enterprise=enterprise, name=checklist.name[:120],
                                        key_class=checklist.key_class or enterprise.key_class,
                                        basis=checklist.basis, description=checklist.description)
        ChecklistItem.objects.bulk_create([
            ChecklistItem(checklist=copy, number=i.number, text=i.text, basis=i.basis,
                          is_major_criterion=i.is_major_criterion) for i in checklist.items.all()])
        audit.record(AuditEntry.Action.CREATE, copy, after=audit.snapshot(copy), user=by,
                     detail=_("copied from checklist {pk}").format(pk=checklist.pk))
    return copy
