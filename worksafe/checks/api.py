"""Hazard-check API: checklists, items, plans and tasks (same scoping and forms as the pages); records,
results and formalism flags read-only, a check handed in as one multipart POST, and "failed item → hazard"."""

import json
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Form, Schema
from pydantic import ValidationError as PydanticValidationError

from worksafe.checks import actions
from worksafe.checks.filters import (
    ChecklistFilterSet,
    ChecklistItemFilterSet,
    CheckPlanFilterSet,
    CheckRecordFilterSet,
    CheckResultFilterSet,
    CheckTaskFilterSet,
    FormalismFlagFilterSet,
)
from worksafe.checks.forms import ChecklistForm, ChecklistItemForm, CheckPlanForm, CheckTaskForm
from worksafe.checks.models import (
    Checklist,
    ChecklistItem,
    CheckPlan,
    CheckRecord,
    CheckResult,
    CheckTask,
    FormalismFlag,
)
from worksafe.core.api import ApiError, ErrorOut, crud_router
from worksafe.core.scoping import get_visible_or_404


class ChecklistIn(Schema):
    enterprise: int
    name: str
    key_class: str = ""
    basis: str = ""
    description: str = ""
    is_active: bool = True


class ChecklistOut(Schema):
    id: int
    enterprise_id: int | None
    name: str
    key_class: str
    basis: str
    description: str
    is_active: bool
    is_builtin: bool


class ChecklistItemIn(Schema):
    checklist: int
    number: int
    text: str
    basis: str = ""
    is_major_criterion: bool = False


class ChecklistItemOut(Schema):
    id: int
    checklist_id: int
    number: int
    text: str
    basis: str
    is_major_criterion: bool


class CheckPlanIn(Schema):
    enterprise: int
    checklist: int
    name: str
    post: str
    place: str = ""
    frequency: str
    assignee: int | None = None
    starts_on: date
    ends_on: date | None = None
    is_active: bool = True


class CheckPlanOut(Schema):
    id: int
    enterprise_id: int
    checklist_id: int
    name: str
    post: str
    place: str
    frequency: str
    assignee_id: int | None
    starts_on: date
    ends_on: date | None
    is_active: bool


class CheckTaskIn(Schema):
    plan: int
    period_start: date
    due_on: date
    assignee: int | None = None


class CheckTaskOut(Schema):
    id: int
    plan_id: int
    period_start: date
    due_on: date
    assignee_id: int | None
    status: str
    state: str
    done_at: datetime | None


class CheckRecordOut(Schema):
    id: int
    task_id: int | None
    enterprise_id: int
    checklist_id: int
    checked_by_id: int
    place: str
    started_at: datetime
    finished_at: datetime
    duration_s: int
    lng: Decimal | None
    lat: Decimal | None
    accuracy_m: float | None
    distance_m: int | None
    notes: str
    item_count: int
    failed_count: int
    flag_count: int


class CheckResultOut(Schema):
    id: int
    record_id: int
    item_id: int
    outcome: str
    note: str
    hazard_id: int | None


class FormalismFlagOut(Schema):
    id: int
    record_id: int
    kind: str
    result_id: int | None
    other_record_id: int | None
    data: dict
    detail: str
    created_at: datetime


class ResultIn(Schema):
    item: int
    outcome: str
    note: str = ""


class CheckIn(Schema):
    """A check handed in by an app: `data` (this, as JSON) plus photos as files named photos_<item id>."""

    task: int | None = None
    checklist: int | None = None
    started_at: datetime
    finished_at: datetime | None = None
    place: str = ""
    notes: str = ""
    lng: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None
    results: list[ResultIn]


class HazardLinkOut(Schema):
    hazard_id: int
    code: str
    created: bool


checklist_router = crud_router(Checklist, out_schema=ChecklistOut, in_schema=ChecklistIn,
                               filterset_class=ChecklistFilterSet, form_class=ChecklistForm, tags=["checks"],
                               select_related=["enterprise"])
item_router = crud_router(ChecklistItem, out_schema=ChecklistItemOut, in_schema=ChecklistItemIn,
                          filterset_class=ChecklistItemFilterSet, form_class=ChecklistItemForm, tags=["checks"])
plan_router = crud_router(CheckPlan, out_schema=CheckPlanOut, in_schema=CheckPlanIn, filterset_class=CheckPlanFilterSet,
                          form_class=CheckPlanForm, tags=["checks"])
task_router = crud_router(CheckTask, out_schema=CheckTaskOut, in_schema=CheckTaskIn, filterset_class=CheckTaskFilterSet,
                          form_class=CheckTaskForm, tags=["checks"])
record_router = crud_router(CheckRecord, out_schema=CheckRecordOut, in_schema=None,
                            filterset_class=CheckRecordFilterSet, form_class=None, tags=["checks"],
                            select_related=["enterprise"], writable=False)
result_router = crud_router(CheckResult, out_schema=CheckResultOut, in_schema=None,
                            filterset_class=CheckResultFilterSet, form_class=None, tags=["checks"], writable=False)
flag_router = crud_router(FormalismFlag, out_schema=FormalismFlagOut, in_schema=None,
                          filterset_class=FormalismFlagFilterSet, form_class=None, tags=["checks"], writable=False)

SUBMIT = {201: CheckRecordOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


@record_router.post("/", response=SUBMIT, url_name="checkrecord-submit", operation_id="checkrecord_submit")
def submit(request, data: Form[str]):
    """Hand in a check (multipart): `data` is a CheckIn as JSON; photos are files named `photos_<item id>`.

    Give `task` for a planned check, or `checklist` for a check outside the plans. The anti-formalism
    tests run on the record as on the pages; the answer carries its flag count.
    """
    user = request.user
    try:
        payload = CheckIn.model_validate(json.loads(data))
    except (ValueError, PydanticValidationError) as exc:
        raise ApiError(400, "validation_error", {"data": [str(exc)[:300]]}) from None
    if not (user.has_perm("checks.add_checkrecord") and user.has_perm("checks.add_checkresult")):
        raise PermissionDenied
    task = None
    if payload.task is not None:
        task = get_visible_or_404(CheckTask, user, payload.task, "view",
                                  queryset=CheckTask.objects.select_related("plan__enterprise", "plan__checklist"))
        enterprise, checklist = task.plan.enterprise, task.plan.checklist
    elif payload.checklist is not None:
        checklist = get_visible_or_404(Checklist, user, payload.checklist, "view")
        org = user.organisation
        enterprise = getattr(org, "enterprise", None) if user.is_enterprise_user else None
    else:
        raise ApiError(400, "validation_error", {"task": [_("Give the task or the checklist.")]})
    if enterprise is None or not user.is_enterprise_user or user.organisation_id != enterprise.organisation_id:
        raise PermissionDenied
    items = {i.pk: i for i in checklist.items.all()}
    unknown = [r.item for r in payload.results if r.item not in items]
    if unknown:
        raise ApiError(400, "validation_error", {"results": [
            _("Not items of this checklist: {}").format(", ".join(str(i) for i in unknown))]})
    results = [actions.ItemResult(item=items[r.item], outcome=r.outcome, note=r.note,
                                  photos=request.FILES.getlist(f"photos_{r.item}")) for r in payload.results]
    try:
        record = actions.submit(by=user, enterprise=enterprise, checklist=checklist, task=task, results=results,
                                started_at=payload.started_at, finished_at=payload.finished_at or timezone.now(),
                                place=payload.place, notes=payload.notes, lng=payload.lng, lat=payload.lat,
                                accuracy_m=payload.accuracy_m)
    except actions.TaskAlreadyDone:
        raise ApiError(409, "invalid_transition") from None
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        raise ApiError(400, "validation_error", fields) from None
    return 201, CheckRecord.objects.select_related("enterprise").get(pk=record.pk)


@result_router.post("/{int:pk}/hazard", response={200: HazardLinkOut, 201: HazardLinkOut, 400: ErrorOut,
                                                   401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
                    url_name="checkresult-hazard", operation_id="checkresult_hazard")
def result_to_hazard(request, pk: int):
    """Report a failed item as a hazard (source self-check) with its photos; again: the same hazard (200)."""
    result = get_visible_or_404(CheckResult, request.user, pk, "change")
    try:
        hazard, created = actions.result_to_hazard(result, by=request.user)
    except ValidationError as exc:
        raise ApiError(400, "validation_error", {"__all__": exc.messages}) from None
    return (201 if created else 200), {"hazard_id": hazard.pk, "code": hazard.code, "created": created}


ROUTERS = [
    ("/checks/checklists/", checklist_router),
    ("/checks/items/", item_router),
    ("/checks/plans/", plan_router),
    ("/checks/tasks/", task_router),
    ("/checks/records/", record_router),
    ("/checks/results/", result_router),
    ("/checks/flags/", flag_router),
]
