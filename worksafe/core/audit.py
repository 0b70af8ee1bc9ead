"""Audit log writer and chain verifier (等保 8.1.4.3, DB-AU-1…4).

Call `record()` inside the same transaction as the change: no change commits without its entry.
Each entry's hash is an HMAC (SM3 where OpenSSL has it, else SHA-256) over its content and the
previous entry's hash, so editing or deleting a row breaks the chain at that row.
"""

from __future__ import annotations

import contextvars
import datetime
import decimal
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, models, transaction

_current: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar("audit_request", default=None)

ALGORITHM = "sm3" if "sm3" in hashlib.algorithms_available else "sha256"
_CHAIN_LOCK = 7_350_000  # pg_advisory_xact_lock key serialising chain appends


@dataclass
class RequestInfo:
    request_id: str
    ip: str | None
    user: object | None = None


def set_request(info: RequestInfo | None):
    return _current.set(info)


def reset_request(token) -> None:
    _current.reset(token)


def current_request() -> RequestInfo | None:
    return _current.get()


def _jsonable(value):
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if hasattr(value, "name") and hasattr(value, "url"):  # FieldFile
        return value.name or None
    return value


def snapshot(obj: models.Model) -> dict:
    """Concrete field values of a row, JSON-ready (FKs by id)."""
    data = {}
    for field in obj._meta.concrete_fields:
        if field.name in ("password",):
            continue
        data[field.attname] = _jsonable(getattr(obj, field.attname))
    return data


def _digest(entry, prev_hash: str) -> str:
    payload = json.dumps(
        [entry.ts.isoformat(), entry.user_id, entry.username, entry.ip, entry.request_id, entry.action,
         entry.object_type, entry.object_id, entry.object_repr, entry.before, entry.after, entry.detail,
         prev_hash],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str,
    )
    return hmac.new(settings.AUDIT_HMAC_KEY.encode(), payload.encode(), entry.alg).hexdigest()


def record(action: str, obj: models.Model | None = None, *, before=None, after=None, user=None,
           detail: str = "", object_type: str = "", object_id: str = "", object_repr: str = ""):
    """Append one audit entry. Fills user, IP and request id from the current request."""
    from worksafe.core.models import AuditEntry

    info = current_request()
    if user is None and info is not None:
        user = info.user
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    entry = AuditEntry(
        user=user, username=getattr(user, "username", "") if user else "",
        ip=info.ip if info else None, request_id=info.request_id if info else "",
        action=action, object_type=object_type, object_id=object_id, object_repr=object_repr[:200],
        before=_jsonable(before), after=_jsonable(after), detail=detail[:500], alg=ALGORITHM,
    )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
        last = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first()
        entry.prev_hash = last or ""
        # Round-trip through the DB's JSON so that the digest sees what verify() will read back.
        entry.before = json.loads(json.dumps(entry.before, default=str)) if entry.before is not None else None
        entry.after = json.loads(json.dumps(entry.after, default=str)) if entry.after is not None else None
        entry.hash = _digest(entry, entry.prev_hash)
        entry.save()
    return entry


def verify_chain() -> list[int]:
    """Ids of entries whose hash or link does not match: empty when the chain is intact."""
    from worksafe.core.models import AuditEntry

    broken = []
    prev = ""
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        if entry.prev_hash != prev or not hmac.compare_digest(entry.hash, _digest(entry, entry.prev_hash)):
            broken.append(entry.id)
        prev = entry.hash
    return broken
