"""POST /api/v1/telemetry: the HTTP twin of the MQTT topic, for gateways that cannot speak MQTT.

The body is the same JSON payload (docs/telemetry.md); the gateway authenticates with its own token
(`Authorization: Bearer wsg_…`, issued on the gateway's page). The answer comes only after the
readings are committed, so a gateway may delete a message from its outbox on any 2xx:
- 200 `stored` / `partial` (some readings rejected; `errors` says which and why) / `duplicate`
  (the same message again — nothing stored twice);
- 409 `altered_resend`: the sequence number was already used for different content;
- 422 with the reason when nothing in the message could be used (recorded as a rejected message);
- 503 with Retry-After when the database is unavailable: keep the message and retry.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, close_old_connections
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Router
from ninja.security import HttpBearer

from worksafe.core.api import ApiError
from worksafe.monitoring import ingest
from worksafe.monitoring.models import Gateway

log = logging.getLogger(__name__)

REASONS = {
    "invalid_json": gettext_lazy("The body is not valid JSON."),
    "invalid_envelope": gettext_lazy("The message needs a gateway code, a sequence number and a list of readings."),
    "invalid_reading": gettext_lazy("A reading needs a point code, a time with a UTC offset and a numeric value."),
    "unknown_gateway": gettext_lazy("This gateway is not registered or not active."),
    "gateway_mismatch": gettext_lazy("The gateway code in the message does not match the token's gateway."),
    "unknown_point": gettext_lazy("The point code is not registered for this enterprise."),
    "future_timestamp": gettext_lazy("The reading time is ahead of the platform clock; check the gateway clock."),
    "too_old": gettext_lazy("The reading is older than the retention period and was not stored."),
    "span_too_long": gettext_lazy("The readings of one message must lie within 24 days of each other."),
    "altered_resend": gettext_lazy("This sequence number was already received with different content."),
    "database_unavailable": gettext_lazy("The platform cannot store readings right now; keep them and retry."),
}


class GatewayAuth(HttpBearer):
    """A gateway's own token: it may only post its own readings."""

    def authenticate(self, request, token):
        if not token.startswith("wsg_"):
            return None
        gateway = Gateway.objects.filter(token_hash=Gateway.hash_token(token), active=True).first()
        if gateway is not None:
            request.gateway = gateway
        return gateway


router = Router(tags=["telemetry"], auth=GatewayAuth())

_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["gateway", "seq", "readings"],
        "properties": {
            "gateway": {"type": "string", "description": "gateway code (网关编码)"},
            "seq": {"type": "integer", "minimum": 0, "description": "rises by one per message, never reused"},
            "readings": {"type": "array", "maxItems": 10000, "items": {
                "type": "object", "required": ["point", "ts", "value"],
                "properties": {
                    "point": {"type": "string", "description": "tag number (位号)"},
                    "ts": {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "integer"}],
                           "description": "RFC 3339 with offset, or epoch milliseconds"},
                    "value": {"type": "number"},
                    "quality": {"type": "integer", "enum": [0, 1, 2], "default": 0}}}}}}}}}
}


def _describe(errors) -> list[dict]:
    return [{"index": i, "code": code, "message": str(REASONS.get(code, code)), "detail": detail}
            for i, code, detail in errors[:100]]


@router.post("", summary="Post a batch of readings (gateway token)", openapi_extra=_BODY, response={200: dict})
def post_telemetry(request):
    gateway: Gateway = request.gateway
    message = ingest.Message(request.body, source=f"http:{gateway.pk}", gateway_id=gateway.pk)
    try:
        outcome = ingest.shared().process([message])[0]
    except DatabaseError:
        log.exception("telemetry from gateway %s not stored", gateway.pk)
        close_old_connections()
        response = JsonResponse({"code": "database_unavailable", "message": str(REASONS["database_unavailable"]),
                                 "field_errors": {}}, status=503, json_dumps_params={"ensure_ascii": False})
        response["Retry-After"] = "5"
        return response
    body = {"status": outcome.status, "stored": outcome.stored, "rejected": outcome.rejected,
            "errors": _describe(outcome.errors)}
    if outcome.status == "conflict":
        raise ApiError(409, "altered_resend", message=str(REASONS["altered_resend"]))
    if outcome.status == "rejected":
        reason = outcome.reason or "bad_request"
        raise ApiError(422, reason, message=str(REASONS.get(reason, _("The message could not be used."))),
                       field_errors={"readings": [f"#{e['index']}: {e['message']}" for e in body["errors"]
                                                  if e["index"] is not None]})
    return body
