"""Hazards API: the registry (same scoping and forms as the pages) and each workflow step as a POST."""

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from ninja import Schema

from worksafe.core.api import ApiError, ErrorOut, crud_router
from worksafe.core.scoping import get_visible_or_404
from worksafe.core.workflow import InvalidTransition
from worksafe.hazards import actions
from worksafe.hazards.filters import HazardFilterSet, ListingFilterSet
from worksafe.hazards.forms import HazardForm, ListingForm
from worksafe.hazards.models import Hazard, Listing


class HazardIn(Schema):
    enterprise: int
    title: str
    location: str = ""
    level: str = "general"
    source: str = "self_check"
    found_on: date
    found_by: str = ""
    description: str = ""
    status_and_causes: str = ""
    harm_and_difficulty: str = ""
    treatment_plan: str = ""
    workers_congress_record: str = ""


class HazardOut(Schema):
    id: int
    enterprise_id: int
    code: str
    title: str
    location: str
    level: str
    source: str
    status: str
    found_on: date
    found_by: str
    description: str
    status_and_causes: str
    harm_and_difficulty: str
    treatment_plan: str
    workers_congress_record: str
    reported_to_regulator_at: datetime | None
    responsible_person: str
    measures: str
    funds: Decimal | None
    deadline: date | None
    deadline_state: str | None
    rectified_on: date | None
    closed_on: date | None


class ListingOut(Schema):
    id: int
    hazard_id: int
    listed_by_id: int
    notice_number: str
    supervising_office: str
    requirements: str
    deadline: date
    listed_on: date
    status: str
    lifted_on: date | None


class AssignIn(Schema):
    responsible_person: str
    measures: str
    deadline: date
    funds: Decimal | None = None
    comment: str = ""


class CommentIn(Schema):
    comment: str = ""


class ListingIn(Schema):
    notice_number: str
    supervising_office: str
    deadline: date
    requirements: str = ""


hazard_router = crud_router(Hazard, out_schema=HazardOut, in_schema=HazardIn, filterset_class=HazardFilterSet,
                            form_class=HazardForm, tags=["hazards"], select_related=["enterprise"],
                            create=lambda form, user: actions.report(form.save(commit=False), by=user))
listing_router = crud_router(Listing, out_schema=ListingOut, in_schema=ListingIn, filterset_class=ListingFilterSet,
                             form_class=ListingForm, tags=["hazards"], writable=False)

STEP = {200: HazardOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _step(request, pk: int, run):
    hazard = get_visible_or_404(Hazard, request.user, pk, "view")
    try:
        run(hazard)
    except InvalidTransition:
        raise ApiError(409, "invalid_transition") from None
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        raise ApiError(400, "validation_error", fields) from None
    except PermissionDenied:
        raise ApiError(403, "permission_denied") from None
    hazard.refresh_from_db()
    return hazard


@hazard_router.post("/{int:pk}/assign", response=STEP, url_name="hazard-assign", operation_id="hazard_assign")
def assign(request, pk: int, payload: AssignIn):
    """Name the responsible person, measures, funds and deadline (reported → rectifying)."""
    return _step(request, pk, lambda h: actions.assign(h, by=request.user, **payload.dict()))


@hazard_router.post("/{int:pk}/rectify", response=STEP, url_name="hazard-rectify", operation_id="hazard_rectify")
def rectify(request, pk: int, payload: CommentIn):
    """Report the rectification done (rectifying → awaiting verification)."""
    return _step(request, pk, lambda h: actions.rectify(h, by=request.user, comment=payload.comment))


@hazard_router.post("/{int:pk}/verify", response=STEP, url_name="hazard-verify", operation_id="hazard_verify")
def verify(request, pk: int, payload: CommentIn):
    """Verify and close (销号); lifts a listing when done by the listing authority."""
    def run(hazard):
        if not request.user.has_perm("hazards.verify_hazard"):
            raise PermissionDenied
        actions.verify(hazard, by=request.user, comment=payload.comment)
    return _step(request, pk, run)


@hazard_router.post("/{int:pk}/reject", response=STEP, url_name="hazard-reject", operation_id="hazard_reject")
def reject(request, pk: int, payload: CommentIn):
    """Send the rectification back (awaiting verification → rectifying), with the reason."""
    def run(hazard):
        if not request.user.has_perm("hazards.reject_hazard"):
            raise PermissionDenied
        actions.reject(hazard, by=request.user, comment=payload.comment)
    return _step(request, pk, run)


@hazard_router.post("/{int:pk}/list", response=STEP, url_name="hazard-list-for-supervision",
                    operation_id="hazard_list_for_supervision")
def list_for_supervision(request, pk: int, payload: ListingIn):
    """挂牌督办: list an open major hazard for supervision by the caller's organisation."""
    return _step(request, pk, lambda h: actions.list_for_supervision(h, by=request.user, **payload.dict()))


ROUTERS = [("/hazards/hazards/", hazard_router), ("/hazards/listings/", listing_router)]
