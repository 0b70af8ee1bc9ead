"""API routers of this app: (prefix under /api/v1/, router) pairs mounted by worksafe/api.py."""

from datetime import date
from decimal import Decimal

from ninja import Schema

from worksafe.core.api import ApiError, ErrorOut, crud_router
from worksafe.core.scoping import get_visible_or_404
from worksafe.risks import actions
from worksafe.risks.filters import ControlMeasureFilterSet, RiskAssessmentFilterSet, RiskPointFilterSet
from worksafe.risks.forms import ControlMeasureForm, RiskPointForm
from worksafe.risks.models import ControlMeasure, RiskAssessment, RiskPoint


class RiskPointIn(Schema):
    enterprise: int
    code: str
    name: str
    kind: str
    location: str = ""
    accident_types: list[str] = []
    hazard_factors: str = ""
    control_tier_override: str = ""
    responsible_person: str = ""
    responsible_phone: str = ""


class RiskPointOut(Schema):
    id: int
    enterprise_id: int
    code: str
    name: str
    kind: str
    location: str
    accident_types: list[str]
    hazard_factors: str
    control_tier_override: str
    control_tier: str
    responsible_person: str
    responsible_phone: str
    level: str
    score: Decimal | None
    method: str
    criterion: str
    assessed_on: date | None
    reassessment_due: date | None


class RiskAssessmentOut(Schema):
    id: int
    point_id: int
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
    assessed_on: date
    assessed_by_id: int
    note: str


class ControlMeasureIn(Schema):
    point: int
    kind: str
    description: str
    responsible: str = ""


class ControlMeasureOut(Schema):
    id: int
    point_id: int
    kind: str
    description: str
    responsible: str


class AssessIn(Schema):
    """LEC: method "lec" with L, E, C from the standard tables. LS: method "ls" with L, S (1–5) and scheme."""

    method: str
    L: Decimal
    E: Decimal | None = None
    C: Decimal | None = None
    S: Decimal | None = None
    scheme: str | None = None
    assessed_on: date | None = None
    note: str = ""


point_router = crud_router(RiskPoint, out_schema=RiskPointOut, in_schema=RiskPointIn,
                           filterset_class=RiskPointFilterSet, form_class=RiskPointForm, tags=["risks"],
                           select_related=["enterprise"])


@point_router.post("/{int:pk}/assess", response={201: RiskAssessmentOut, 400: ErrorOut, 401: ErrorOut,
                                                  403: ErrorOut, 404: ErrorOut},
                   url_name="riskpoint-assess", operation_id="riskpoint_assess")
def assess(request, pk: int, payload: AssessIn):
    """Assess the risk point again (LEC or LS); keeps a new version and updates the point's level."""
    point = get_visible_or_404(RiskPoint, request.user, pk, "change")
    if not request.user.has_perm("risks.add_riskassessment"):
        raise ApiError(403, "permission_denied")
    try:
        return 201, actions.assess(point, by=request.user, method=payload.method, L=payload.L, E=payload.E,
                                   C=payload.C, S=payload.S, scheme=payload.scheme, on=payload.assessed_on,
                                   note=payload.note)
    except ValueError as exc:
        raise ApiError(400, "validation_error", {"__all__": [str(exc)]}) from None


# Read-only: a version is added by POST /risks/riskpoints/{id}/assess and never edited.
assessment_router = crud_router(RiskAssessment, out_schema=RiskAssessmentOut, in_schema=None,
                                filterset_class=RiskAssessmentFilterSet, form_class=None, tags=["risks"],
                                select_related=["point"], writable=False)
measure_router = crud_router(ControlMeasure, out_schema=ControlMeasureOut, in_schema=ControlMeasureIn,
                             filterset_class=ControlMeasureFilterSet, form_class=ControlMeasureForm, tags=["risks"])

ROUTERS = [
    ("/risks/riskpoints/", point_router),
    ("/risks/riskassessments/", assessment_router),
    ("/risks/controlmeasures/", measure_router),
]
