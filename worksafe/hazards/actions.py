"""The hazard closed loop: report → assign → rectify → verify (or reject), and 挂牌督办 by the regulator.

Each step is one transaction: the state change (compare-and-set), its timeline row, attachments and audit.
"""

from __future__ import annotations

import datetime

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from worksafe.core import audit
from worksafe.core.models import AuditEntry, TransitionLog
from worksafe.core.workflow import InvalidTransition, attach, transition
from worksafe.hazards.choices import TRANSITIONS, HazardLevel, HazardStatus, ListingStatus
from worksafe.hazards.models import Hazard, Listing, next_code

__all__ = ["InvalidTransition", "report", "assign", "rectify", "reject", "verify", "list_for_supervision"]


def _event(obj, action: str, *, by, comment: str = "", data: dict | None = None) -> TransitionLog:
    """A timeline row for a step that does not change the status (reporting, listing)."""
    return TransitionLog.objects.create(
        content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk), action=action,
        from_state=obj.status, to_state=obj.status, by=by, comment=comment, data=data or {})


def report(hazard: Hazard, *, by, files=()) -> Hazard:
    """Register a new hazard (the form has validated it). A major hazard goes to the regulator at once
    (双报告): it is visible on the jurisdiction's lists from this moment, with the time recorded."""
    with transaction.atomic():
        hazard.reported_by = by
        hazard.code = hazard.code or next_code(hazard.enterprise_id, hazard.found_on.year)
        if hazard.level == HazardLevel.MAJOR:
            hazard.full_clean(exclude=["reported_by"])
            hazard.reported_to_regulator_at = timezone.now()
        hazard.save()
        log = _event(hazard, "report", by=by, comment=hazard.description)
        for upload in files:
            attach(hazard, upload, by=by, role="before", transition=log)
        audit.record(AuditEntry.Action.CREATE, hazard, after=audit.snapshot(hazard), user=by)
    return hazard


def assign(hazard: Hazard, *, by, responsible_person: str, measures: str, deadline: datetime.date,
           funds=None, comment: str = "") -> TransitionLog:
    """Name who fixes it, how, with what money and by when (16号令: 五落实)."""
    if deadline < hazard.found_on:
        raise ValidationError({"deadline": _("The deadline cannot be before the hazard was found.")})
    return transition(hazard, "assign", by=by, transitions=TRANSITIONS, comment=comment,
                      updates={"responsible_person": responsible_person, "measures": measures, "funds": funds,
                               "deadline": deadline, "updated_at": timezone.now()})


def rectify(hazard: Hazard, *, by, comment: str, files=(), on: datetime.date | None = None) -> TransitionLog:
    """The rectifier reports the fix done, with photos after; someone else verifies it."""
    return transition(hazard, "rectify", by=by, transitions=TRANSITIONS, comment=comment, files=files,
                      data={"attachment_role": "after"},
                      updates={"rectified_by": by, "rectified_on": on or timezone.localdate(),
                               "updated_at": timezone.now()})


def reject(hazard: Hazard, *, by, comment: str) -> TransitionLog:
    """The verifier finds the fix insufficient: back to rectifying, with the reason."""
    if not comment.strip():
        raise ValidationError({"comment": _("Say why the rectification is not accepted.")})
    _check_verifier(hazard, by)
    return transition(hazard, "reject", by=by, transitions=TRANSITIONS, comment=comment,
                      updates={"updated_at": timezone.now()})


def verify(hazard: Hazard, *, by, comment: str = "", files=()) -> TransitionLog:
    """Verify the fix and close the hazard (销号); a listed major hazard is also lifted (摘牌) here,
    by the listing authority only, after checking on site."""
    _check_verifier(hazard, by)
    listing = getattr(hazard, "listing", None)
    with transaction.atomic():
        log = transition(hazard, "verify", by=by, transitions=TRANSITIONS, comment=comment, files=files,
                         data={"attachment_role": "verification"},
                         updates={"verified_by": by, "closed_on": timezone.localdate(),
                                  "updated_at": timezone.now()})
        if listing is not None and listing.status == ListingStatus.LISTED:
            before = audit.snapshot(listing)
            lifted = Listing.objects.filter(pk=listing.pk, status=ListingStatus.LISTED).update(
                status=ListingStatus.LIFTED, lifted_on=timezone.localdate(), site_verification=comment)
            if lifted != 1:
                raise InvalidTransition("lift")
            listing.refresh_from_db()
            audit.record(AuditEntry.Action.TRANSITION, listing, before=before, after=audit.snapshot(listing),
                         user=by, detail="lift")
    return log


def _check_verifier(hazard: Hazard, by) -> None:
    """Someone other than the rectifier verifies; a listed hazard only by the listing authority."""
    if hazard.rectified_by_id is not None and hazard.rectified_by_id == by.pk:
        raise ValidationError(_("The person who rectified a hazard cannot verify it."))
    listing = getattr(hazard, "listing", None)
    if listing is not None and listing.status == ListingStatus.LISTED and by.organisation_id != listing.listed_by_id:
        raise PermissionDenied(_("Only the listing authority can verify and lift a listed hazard."))


def list_for_supervision(hazard: Hazard, *, by, notice_number: str, supervising_office: str,
                         deadline: datetime.date, requirements: str = "") -> Listing:
    """挂牌督办: a regulator puts an open major hazard under supervision with a deadline and a notice."""
    if not by.has_perm("hazards.list_hazard"):
        raise PermissionDenied
    if hazard.level != HazardLevel.MAJOR:
        raise ValidationError(_("Only a major hazard can be listed for supervision."))
    if hazard.status == HazardStatus.CLOSED:
        raise ValidationError(_("A closed hazard cannot be listed."))
    if by.organisation is None or by.is_enterprise_user:
        raise PermissionDenied
    with transaction.atomic():
        locked = Hazard.objects.select_for_update().get(pk=hazard.pk)
        if Listing.objects.filter(hazard=locked).exists():
            raise ValidationError(_("This hazard is already listed."))
        listing = Listing.objects.create(hazard=locked, listed_by=by.organisation, notice_number=notice_number,
                                         supervising_office=supervising_office, deadline=deadline,
                                         requirements=requirements)
        _event(locked, "list", by=by, comment=requirements,
               data={"notice_number": notice_number, "deadline": deadline.isoformat(),
                     "authority": by.organisation.name})
        audit.record(AuditEntry.Action.CREATE, listing, after=audit.snapshot(listing), user=by)
    return listing
