"""Monitoring API: gateways and points (same forms and scoping as the pages), alarms, data-quality events and
rejected messages read-only, acknowledging an alarm, and the gateways' own telemetry endpoint."""

from datetime import datetime

from django.core.exceptions import PermissionDenied
from ninja import Schema

from worksafe.core.api import ApiError, ErrorOut, crud_router
from worksafe.core.scoping import get_visible_or_404
from worksafe.core.workflow import InvalidTransition
from worksafe.monitoring import views
from worksafe.monitoring.api_telemetry import router as telemetry_router
from worksafe.monitoring.filters import (
    AlarmFilterSet,
    DeadLetterFilterSet,
    GatewayFilterSet,
    PointFilterSet,
    QualityEventFilterSet,
)
from worksafe.monitoring.forms import GatewayForm, PointForm
from worksafe.monitoring.models import Alarm, DeadLetter, Gateway, Point, QualityEvent


class GatewayIn(Schema):
    enterprise: int
    code: str
    name: str = ""
    active: bool = True


class GatewayOut(Schema):
    id: int
    enterprise_id: int
    code: str
    name: str
    active: bool
    first_seq: int | None
    max_seq: int | None
    received: int
    missing: int
    last_seen_at: datetime | None
    token_issued: bool

    @staticmethod
    def resolve_token_issued(obj) -> bool:
        return bool(obj.token_hash)


class PointIn(Schema):
    enterprise: int
    hazard: int
    gateway: int
    code: str
    name: str
    kind: str
    unit: str = ""
    range_low: float | None = None
    range_high: float | None = None
    low_low: float | None = None
    low: float | None = None
    high: float | None = None
    high_high: float | None = None
    deadband: float = 0
    min_duration: int = 0
    sampling_period: int = 10
    active: bool = True


class PointOut(Schema):
    id: int
    enterprise_id: int
    hazard_id: int
    gateway_id: int
    code: str
    name: str
    kind: str
    unit: str
    range_low: float | None
    range_high: float | None
    low_low: float | None
    low: float | None
    high: float | None
    high_high: float | None
    deadband: float
    min_duration: int
    sampling_period: int
    active: bool
    in_alarm: bool
    last_value: float | None
    last_ts: datetime | None

    @staticmethod
    def resolve_in_alarm(obj) -> bool:
        return bool(obj.alarm_mask)


class AlarmOut(Schema):
    id: int
    enterprise_id: int
    hazard_id: int
    point_id: int
    point_code: str
    condition: str
    level: int
    status: str
    threshold: float
    raised_at: datetime
    raise_value: float
    peak_value: float
    cleared_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by_id: int | None
    assignee_id: int | None
    escalation: int
    escalated_at: datetime | None
    late: bool

    @staticmethod
    def resolve_point_code(obj) -> str:
        return obj.point.code


class QualityEventOut(Schema):
    id: int
    enterprise_id: int
    gateway_id: int | None
    point_id: int | None
    kind: str
    started_at: datetime
    ended_at: datetime | None
    last_seen_at: datetime | None
    is_open: bool
    count: int
    backfilled: int
    detail: dict


class DeadLetterOut(Schema):
    id: int
    received_at: datetime
    source: str
    gateway_id: int | None
    enterprise_id: int | None
    reason: str
    detail: str


class AcknowledgeIn(Schema):
    comment: str = ""


gateway_router = crud_router(Gateway, out_schema=GatewayOut, in_schema=GatewayIn, filterset_class=GatewayFilterSet,
                             form_class=GatewayForm, tags=["monitoring"])
point_router = crud_router(Point, out_schema=PointOut, in_schema=PointIn, filterset_class=PointFilterSet,
                           form_class=PointForm, tags=["monitoring"])
alarm_router = crud_router(Alarm, out_schema=AlarmOut, in_schema=None, filterset_class=AlarmFilterSet,
                           form_class=None, tags=["monitoring"], select_related=["point"], writable=False)
quality_router = crud_router(QualityEvent, out_schema=QualityEventOut, in_schema=None,
                             filterset_class=QualityEventFilterSet, form_class=None, tags=["monitoring"],
                             writable=False)
deadletter_router = crud_router(DeadLetter, out_schema=DeadLetterOut, in_schema=None,
                                filterset_class=DeadLetterFilterSet, form_class=None, tags=["monitoring"],
                                writable=False)


@alarm_router.post("/{int:pk}/acknowledge", response={200: AlarmOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                                       409: ErrorOut},
                   url_name="alarm-acknowledge", operation_id="alarm_acknowledge")
def acknowledge(request, pk: int, payload: AcknowledgeIn):
    """Acknowledge an alarm: active → acknowledged, or cleared-unacknowledged → closed (409 when there is
    nothing to acknowledge, with the alarm's current status in the message)."""
    alarm = get_visible_or_404(Alarm, request.user, pk, "view",
                               queryset=Alarm.objects.select_related("point", "enterprise"))
    try:
        views.acknowledge(alarm, by=request.user, comment=payload.comment)
    except InvalidTransition:
        raise ApiError(409, "invalid_transition", message=views.cannot_acknowledge_message(alarm)) from None
    except PermissionDenied:
        raise ApiError(403, "permission_denied") from None
    return alarm


ROUTERS = [("/monitoring/gateways/", gateway_router), ("/monitoring/points/", point_router),
           ("/monitoring/alarms/", alarm_router), ("/monitoring/qualityevents/", quality_router),
           ("/monitoring/deadletters/", deadletter_router), ("/telemetry", telemetry_router)]
