from datetime import date, datetime
from decimal import Decimal

from ninja import Schema

from worksafe.core.api import crud_router
from worksafe.enterprises.filters import EnterpriseFilterSet, LicenceFilterSet
from worksafe.enterprises.forms import EnterpriseForm, LicenceForm
from worksafe.enterprises.models import Enterprise, Licence


class EnterpriseIn(Schema):
    name: str
    credit_code: str
    county: str
    township: str | None = None
    address: str = ""
    lng: Decimal | None = None
    lat: Decimal | None = None
    industry: str
    key_class: str
    scale: str = "below"
    employees: int = 0
    tier: str = "county"
    status: str = "operating"
    legal_representative: str
    legal_representative_phone: str = ""
    principal: str = ""
    principal_phone: str = ""
    safety_manager: str = ""
    safety_manager_phone: str = ""


class EnterpriseOut(Schema):
    id: int
    name: str
    credit_code: str
    county_id: str
    township_id: str | None
    address: str
    lng: Decimal | None
    lat: Decimal | None
    industry_id: str
    key_class: str
    scale: str
    employees: int
    tier: str
    status: str
    legal_representative: str
    legal_representative_phone: str
    principal: str
    principal_phone: str
    safety_manager: str
    safety_manager_phone: str
    updated_at: datetime


class LicenceIn(Schema):
    enterprise: int
    kind: str
    number: str
    issuer: str = ""
    issued_on: date | None = None
    expires_on: date | None = None


class LicenceOut(Schema):
    id: int
    enterprise_id: int
    kind: str
    number: str
    issuer: str
    issued_on: date | None
    expires_on: date | None
    state: str


enterprise_router = crud_router(Enterprise, out_schema=EnterpriseOut, in_schema=EnterpriseIn,
                                filterset_class=EnterpriseFilterSet, form_class=EnterpriseForm, tags=["enterprises"])
licence_router = crud_router(Licence, out_schema=LicenceOut, in_schema=LicenceIn, filterset_class=LicenceFilterSet,
                             form_class=LicenceForm, tags=["enterprises"])
