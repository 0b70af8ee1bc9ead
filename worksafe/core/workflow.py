"""Workflow transitions: one helper for every state machine (hazards, alarms, tip-offs, inspections …).

A model's `choices.py` holds a table {action: (allowed from-states, to-state)}. `transition()` checks
the permission "<app>.<action>_<model>", moves the state with a compare-and-set UPDATE (so a double
click or two reviewers at once cannot move it twice), writes a TransitionLog row with the comment
and attachments, and audits — all in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils import timezone

from worksafe.core import audit
from worksafe.core.models import Attachment, AuditEntry, TransitionLog


class InvalidTransition(Exception):
    """The record is not in a state this action starts from (or another user moved it first)."""


def allowed_actions(obj, user, transitions: dict, state_field: str = "status") -> list[str]:
    """Actions the user may take on the record now (state and permission; extra rules are the caller's)."""
    state = getattr(obj, state_field)
    label = obj._meta.app_label
    name = obj._meta.model_name
    return [a for a, (sources, _to) in transitions.items()
            if state in sources and user.has_perm(f"{label}.{a}_{name}")]


def transition(obj: models.Model, action: str, *, by, transitions: dict, comment: str = "", files: Iterable = (),
               updates: dict | None = None, data: dict | None = None, state_field: str = "status",
               check_permission: bool = True) -> TransitionLog:
    """Move `obj` by `action`; `updates` are other fields set in the same UPDATE (e.g. deadline).

    Raises PermissionDenied without "<app>.<action>_<model>", InvalidTransition when the record is not
    (any more) in one of the action's from-states. On success `obj` is refreshed.
    """
    if action not in transitions:
        raise InvalidTransition(action)
    sources, target = transitions[action]
    if check_permission and not by.has_perm(f"{obj._meta.app_label}.{action}_{obj._meta.model_name}"):
        raise PermissionDenied
    with transaction.atomic():
        before = audit.snapshot(obj)
        from_state = getattr(obj, state_field)
        moved = type(obj)._default_manager.filter(pk=obj.pk, **{f"{state_field}__in": list(sources)}).update(
            **{state_field: target}, **(updates or {}))
        if moved != 1:
            raise InvalidTransition(action)
        obj.refresh_from_db()
        log = TransitionLog.objects.create(
            content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk), action=action,
            from_state=from_state, to_state=target, by=by, comment=comment, data=data or {})
        for upload in files:
            attach(obj, upload, by=by, role=(data or {}).get("attachment_role", action), transition=log)
        audit.record(AuditEntry.Action.TRANSITION, obj, before=before, after=audit.snapshot(obj), user=by,
                     detail=f"{action}: {from_state} → {target}")
    return log


def timeline(obj) -> list[TransitionLog]:
    """The record's workflow steps, oldest first, with who and their attachments."""
    return list(TransitionLog.objects.filter(content_type=ContentType.objects.get_for_model(obj),
                                             object_id=str(obj.pk))
                .select_related("by").prefetch_related("attachments"))


def attach(obj, upload, *, by, role: str = "", transition: TransitionLog | None = None) -> Attachment:
    """Store an uploaded file against a record, with its SHA-256 and (for images) a perceptual hash."""
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return Attachment.objects.create(
        content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk), transition=transition,
        role=role, file=upload, name=getattr(upload, "name", "file")[-200:], size=getattr(upload, "size", 0) or 0,
        sha256=digest.hexdigest(), phash=image_phash(upload), uploaded_by=by, uploaded_at=timezone.now())


def attachments(obj, role: str | None = None):
    qs = Attachment.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk))
    return qs.filter(role=role) if role else qs


def image_phash(upload) -> str:
    """64-bit average hash of an image (8×8 greyscale), hex; '' for non-images or when Pillow is absent."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency
        return ""
    try:
        upload.seek(0)
        with Image.open(upload) as img:
            small = img.convert("L").resize((8, 8))
            pixels = list(small.getdata())
    except Exception:
        return ""
    finally:
        upload.seek(0)
    mean = sum(pixels) / len(pixels)
    bits = "".join("1" if p >= mean else "0" for p in pixels)
    return f"{int(bits, 2):016x}"
