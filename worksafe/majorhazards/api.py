from datetime import date
from decimal import Decimal

from django.db import transaction
from ninja import Schema

from worksafe.core.api import ApiError, ErrorOut, crud_router
from worksafe.core.scoping import get_visible_or_404
from worksafe.majorhazards import actions
from worksafe.majorhazards.filters import (
    ChangeFilterSet,
    CustodianCheckFilterSet,
    CustodianFilterSet,
    MajorHazardFilterSet,
    SubstanceFilterSet,
)
from worksafe.majorhazards.forms import (
    ChangeForm,
    CustodianCheckForm,
    CustodianForm,
    MajorHazardForm,
    SubstanceForm,
)
from worksafe.majorhazards.messages import describe
from worksafe.majorhazards.models import Change, Custodian, CustodianCheck, MajorHazard, Substance


class MajorHazardIn(Schema):
    enterprise: int
    code: str
    name: str
    unit_kind: str
    location: str = ""
    lng: Decimal | None = None
    lat: Decimal | None = None
    people_within_500m: int | None = None
    evaluation_report_on: date | None = None


class MajorHazardOut(Schema):
    id: int
    enterprise_id: int
    code: str
    name: str
    unit_kind: str
    location: str
    lng: Decimal | None
    lat: Decimal | None
    people_within_500m: int | None
    status: str
    s_value: Decimal | None
    r_value: Decimal | None
    grade: int | None
    assessed_on: date | None
    evaluation_report_on: date | None
    evaluation_due: date | None
    filing_due: date | None
    filed_on: date | None
    deregistered_on: date | None


class SubstanceIn(Schema):
    hazard: int
    name: str = ""
    cas: str = ""
    categories: str = ""
    q: Decimal
    q_override: Decimal | None = None
    beta_override: Decimal | None = None


class SubstanceOut(Schema):
    id: int
    hazard_id: int
    name: str
    cas: str
    categories: str
    q: Decimal
    q_override: Decimal | None
    beta_override: Decimal | None


class CustodianIn(Schema):
    hazard: int
    role: str
    name: str
    position: str = ""
    phone: str
    appointed_on: date


class CustodianOut(Schema):
    id: int
    hazard_id: int
    role: str
    name: str
    position: str
    phone: str
    appointed_on: date
    check_due: date | None


class CheckIn(Schema):
    custodian: int
    checked_on: date
    hazards_found: int = 0
    findings: str = ""


class CheckOut(Schema):
    id: int
    custodian_id: int
    checked_on: date
    hazards_found: int
    findings: str


class ChangeIn(Schema):
    hazard: int
    kind: str
    occurred_on: date
    description: str


class ChangeOut(Schema):
    id: int
    hazard_id: int
    kind: str
    occurred_on: date
    description: str


class AssessmentOut(Schema):
    id: int
    assessed_on: date
    s_value: Decimal
    r_value: Decimal | None
    grade: int | None
    is_major: bool
    standard: str
    inputs: dict
    result: dict


hazard_router = crud_router(MajorHazard, out_schema=MajorHazardOut, in_schema=MajorHazardIn,
                            filterset_class=MajorHazardFilterSet, form_class=MajorHazardForm, tags=["major hazards"],
                            select_related=["enterprise"])


@hazard_router.post("/{int:pk}/assess", response={201: AssessmentOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut,
                                                   404: ErrorOut}, url_name="majorhazard-assess",
                    operation_id="majorhazard_assess")
def assess(request, pk: int):
    """Identify and grade the unit from its current substances (GB 18218-2018); keeps a new version."""
    hazard = get_visible_or_404(MajorHazard, request.user, pk, "change")
    try:
        with transaction.atomic():
            return 201, actions.assess(hazard, by=request.user)
    except ValueError as exc:
        raise ApiError(400, "validation_error", {"substances": [describe(exc)]}) from None


substance_router = crud_router(Substance, out_schema=SubstanceOut, in_schema=SubstanceIn,
                               filterset_class=SubstanceFilterSet, form_class=SubstanceForm, tags=["major hazards"])
custodian_router = crud_router(Custodian, out_schema=CustodianOut, in_schema=CustodianIn,
                               filterset_class=CustodianFilterSet, form_class=CustodianForm, tags=["major hazards"])
check_router = crud_router(CustodianCheck, out_schema=CheckOut, in_schema=CheckIn,
                           filterset_class=CustodianCheckFilterSet, form_class=CustodianCheckForm,
                           tags=["major hazards"])
change_router = crud_router(Change, out_schema=ChangeOut, in_schema=ChangeIn, filterset_class=ChangeFilterSet,
                            form_class=ChangeForm, tags=["major hazards"])
