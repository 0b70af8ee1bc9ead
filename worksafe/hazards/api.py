"""Hazards API: the registry (same scoping and forms as the pages) and each workflow step as a POST."""

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from ninja import Router, Schema

from worksafe.core.api import ApiError, ErrorOut, crud_router
from worksafe.core.scoping import get_visible_or_404
from worksafe.core.workflow import InvalidTransition
from worksafe.hazards import actions, reports
from worksafe.hazards.filters import HazardFilterSet, ListingFilterSet
from worksafe.hazards.forms import HazardForm, ListingForm
from worksafe.hazards.models import Hazard, HazardReport, Listing
from worksafe.hazards.report_views import HazardReportFilterSet
from worksafe.hazards.statistics import Statistics


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


# --- statistics reports (统计分析表) and statistics ------------------------------------------------


class HazardReportOut(Schema):
    id: int
    enterprise_id: int
    kind: str
    year: int
    quarter: int | None
    figures: dict
    analysis: str
    signed_by_name: str
    due_on: date
    submitted_at: datetime | None
    submitted_by_id: int | None
    late: bool
    submission_state: str


class GenerateIn(Schema):
    kind: str = "quarter"
    year: int
    quarter: int | None = None


class SubmitIn(Schema):
    signed_by_name: str
    analysis: str


report_router = crud_router(HazardReport, out_schema=HazardReportOut, in_schema=None,
                            filterset_class=HazardReportFilterSet, form_class=None, tags=["hazards"],
                            select_related=["enterprise"], writable=False)
REPORT_STEP = {200: HazardReportOut, 201: HazardReportOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut,
               404: ErrorOut, 409: ErrorOut}


def _report_step(run):
    try:
        return run()
    except InvalidTransition:
        raise ApiError(409, "invalid_transition") from None
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        raise ApiError(400, "validation_error", fields) from None
    except PermissionDenied:
        raise ApiError(403, "permission_denied") from None


@report_router.post("/generate", response=REPORT_STEP, url_name="hazardreport-generate",
                    operation_id="hazardreport_generate")
def generate_report(request, payload: GenerateIn):
    """Draft (or refresh) the caller's enterprise's report for a period, figures computed from the records."""
    user = request.user
    enterprise = getattr(user.organisation, "enterprise", None) if user.is_enterprise_user else None
    if enterprise is None or not user.has_perm("hazards.add_hazardreport"):
        raise ApiError(403, "permission_denied")
    report = _report_step(lambda: reports.generate(enterprise, payload.kind, payload.year, payload.quarter, by=user))
    return 201, report


@report_router.post("/{int:pk}/submit", response=REPORT_STEP, url_name="hazardreport-submit",
                    operation_id="hazardreport_submit")
def submit_report(request, pk: int, payload: SubmitIn):
    """Sign and submit (the main responsible person): figures recomputed, then frozen; late past the due date."""
    report = get_visible_or_404(HazardReport, request.user, pk, "submit")
    return _report_step(lambda: reports.submit(report, by=request.user, signed_by_name=payload.signed_by_name,
                                               analysis=payload.analysis))


class StatRow(Schema):
    code: str
    label: str
    found: int
    rectified: int
    found_rectified: int
    open: int
    overdue: int
    rate: float | None
    group: bool = False


class TrendRow(Schema):
    month: str
    found: int
    closed: int


class StatisticsOut(Schema):
    period: dict[str, str]
    totals: StatRow
    by_level: list[StatRow]
    by_status: list[StatRow]
    by_key_class: list[StatRow]
    by_jurisdiction: list[StatRow]
    trend: list[TrendRow]
    escalated_listings: int
    overdue_listings: int


statistics_router = Router(tags=["hazards"])


@statistics_router.get("/", response={200: StatisticsOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut},
                       url_name="hazard-statistics", operation_id="hazard_statistics")
def statistics(request, date_from: date | None = None, date_to: date | None = None, jurisdiction: str = "",
               key_class: str = "", level: str = "", status: str = ""):
    """Hazard figures in the caller's scope: totals, breakdowns and the monthly trend (see the statistics page
    for the definitions). Filters as on the page."""
    if not request.user.has_perm("hazards.view_hazard"):
        raise ApiError(403, "permission_denied")
    stats = Statistics(request.user, request.GET, request)
    if stats.filterset.is_bound and not stats.filterset.form.is_valid():
        raise ApiError(400, "validation_error", {f: [str(e) for e in errs]
                                                 for f, errs in stats.filterset.form.errors.items()})
    return stats.as_dict()


ROUTERS = [("/hazards/hazards/", hazard_router), ("/hazards/listings/", listing_router),
           ("/hazards/reports/", report_router), ("/hazards/statistics/", statistics_router)]
