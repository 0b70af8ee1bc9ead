from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from worksafe.core import audit
from worksafe.core.generic import (
    OutOfScope,
    ScopedDeleteView,
    ScopedDetailView,
    ScopedEditView,
    ScopedImportView,
    ScopedListView,
)
from worksafe.core.models import AuditEntry
from worksafe.core.scoping import get_visible_or_404, still_visible
from worksafe.core.workflow import InvalidTransition, allowed_actions, attachments, timeline
from worksafe.hazards import actions, rules
from worksafe.hazards.choices import TRANSITIONS, HazardLevel, HazardStatus, ListingStatus
from worksafe.hazards.filters import HazardFilterSet, ListingFilterSet
from worksafe.hazards.forms import AssignForm, HazardForm, ListingForm, RectifyForm, RejectForm, VerifyForm
from worksafe.hazards.importer import HazardImporter
from worksafe.hazards.models import Hazard, Listing

HAZARD_COLUMNS = ["code", "title", "enterprise__name", "enterprise__county__name", "level", "source", "status",
                  "found_on", "deadline", "deadline_state"]


class HazardListView(ScopedListView):
    model = Hazard
    filterset_class = HazardFilterSet
    columns = HAZARD_COLUMNS
    export_columns = [*HAZARD_COLUMNS, "location", "responsible_person", "measures", "funds", "rectified_on",
                      "closed_on", "enterprise__credit_code"]
    select_related = ["enterprise", "enterprise__county"]


class HazardDetailView(ScopedDetailView):
    model = Hazard
    template_name = "hazards/hazard_detail.html"
    fields = ["enterprise", "code", "title", "location", "level", "source", "status", "found_on", "found_by",
              "reported_by", "description", "responsible_person", "measures", "funds", "deadline", "deadline_state",
              "rectified_by", "rectified_on", "verified_by", "closed_on"]

    def get_context(self, obj):
        user = self.request.user
        listing = Listing.objects.filter(hazard=obj).select_related("listed_by").first()
        can = set(allowed_actions(obj, user, TRANSITIONS))
        if obj.rectified_by_id == user.pk:
            can -= {"verify", "reject"}  # someone else verifies
        if listing and listing.status == ListingStatus.LISTED and user.organisation_id != listing.listed_by_id:
            can -= {"verify", "reject"}  # only the listing authority lifts it
        return {
            "timeline": timeline(obj),
            "photos": attachments(obj),
            "listing": listing,
            "can": can,
            "can_list": (obj.level == HazardLevel.MAJOR and obj.status != HazardStatus.CLOSED and listing is None
                         and user.has_perm("hazards.list_hazard") and not user.is_enterprise_user),
            "assign_form": AssignForm(initial={"deadline": timezone.localdate() + timedelta(days=30)}),
            "rectify_form": RectifyForm(), "verify_form": VerifyForm(), "reject_form": RejectForm(),
            "listing_form": ListingForm(initial={"deadline": timezone.localdate() + timedelta(days=90)}),
        }


class HazardEditView(ScopedEditView):
    """Report a hazard (with photos; a major one goes to the regulator at once) or correct it while reported."""

    model = Hazard
    form_class = HazardForm

    def post(self, request, pk=None):
        if pk is not None:
            hazard = get_visible_or_404(Hazard, request.user, pk, "change")
            if hazard.status != HazardStatus.REPORTED:
                messages.error(request, _("Only a hazard that is still just reported can be edited."))
                return redirect("hazards:hazard_detail", pk=pk)
            return super().post(request, pk)
        self.require_perm("add")
        form = self.form_class(request.POST, request.FILES, user=request.user)
        if not form.is_valid():
            return self.render_form(form, None)
        try:
            with transaction.atomic():
                hazard = actions.report(form.save(commit=False), by=request.user,
                                        files=form.cleaned_data.get("photos") or [])
                if not still_visible(hazard, request.user, "add"):
                    raise OutOfScope
        except OutOfScope:
            form.add_error(None, _("You can only keep records inside your own jurisdiction."))
            return self.render_form(form, None)
        messages.success(request, _("Hazard {code} reported.").format(code=hazard.code))
        return redirect("hazards:hazard_detail", pk=hazard.pk)


class HazardDeleteView(ScopedDeleteView):
    model = Hazard


class HazardImportView(ScopedImportView):
    model = Hazard
    importer_class = HazardImporter


class _Step(LoginRequiredMixin, View):
    """POST one workflow step from the hazard page; errors come back as messages."""

    form_class = None

    def post(self, request, pk):
        hazard = get_visible_or_404(Hazard, request.user, pk, "view")
        form = self.form_class(request.POST, request.FILES)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect("hazards:hazard_detail", pk=pk)
        try:
            self.step(request, hazard, form.cleaned_data)
        except InvalidTransition:
            messages.error(request, _("Someone else has moved this hazard on; reload and look again."))
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        return redirect("hazards:hazard_detail", pk=pk)


class AssignView(_Step):
    form_class = AssignForm

    def step(self, request, hazard, data):
        actions.assign(hazard, by=request.user, responsible_person=data["responsible_person"],
                       measures=data["measures"], funds=data["funds"], deadline=data["deadline"],
                       comment=data["comment"])
        messages.success(request, _("Rectification assigned."))


class RectifyView(_Step):
    form_class = RectifyForm

    def step(self, request, hazard, data):
        actions.rectify(hazard, by=request.user, comment=data["comment"], files=data["photos"])
        messages.success(request, _("Reported as rectified; waiting for verification."))


class VerifyView(_Step):
    form_class = VerifyForm

    def step(self, request, hazard, data):
        if not request.user.has_perm("hazards.verify_hazard"):
            raise PermissionDenied
        actions.verify(hazard, by=request.user, comment=data["comment"], files=data["photos"])
        messages.success(request, _("Verified and closed."))


class RejectView(_Step):
    form_class = RejectForm

    def step(self, request, hazard, data):
        if not request.user.has_perm("hazards.reject_hazard"):
            raise PermissionDenied
        actions.reject(hazard, by=request.user, comment=data["comment"])
        messages.warning(request, _("Sent back for rectification."))


class ListForSupervisionView(_Step):
    """挂牌督办 by a regulator."""

    form_class = ListingForm

    def step(self, request, hazard, data):
        actions.list_for_supervision(hazard, by=request.user, **data)
        messages.success(request, _("Listed for supervision."))


class ListingListView(ScopedListView):
    model = Listing
    filterset_class = ListingFilterSet
    columns = ["notice_number", "hazard", "hazard__enterprise__name", "listed_by", "listed_on", "deadline", "status"]
    select_related = ["hazard", "hazard__enterprise", "listed_by"]


class ListingDetailView(ScopedDetailView):
    model = Listing
    template_name = "hazards/listing_detail.html"
    fields = ["notice_number", "hazard", "listed_by", "supervising_office", "requirements", "listed_on", "deadline",
              "status", "lifted_on", "site_verification"]


class EscalatedView(LoginRequiredMixin, View):
    """Overdue listings escalated to this level: listed one level below, past their deadline (derived)."""

    def get(self, request):
        if not request.user.has_perm("hazards.view_listing"):
            raise PermissionDenied
        rows = escalated_to(request.user)
        return render(request, "hazards/escalated.html", {"rows": rows, "today": timezone.localdate()})


def escalated_to(user) -> list[Listing]:
    """Listings in the user's scope that are overdue and whose escalation target is the user's jurisdiction."""
    own = getattr(getattr(user, "organisation", None), "jurisdiction_id", None)
    if own is None or user.is_enterprise_user:
        return []
    qs = (Listing.objects.visible_to(user).filter(status=ListingStatus.LISTED, deadline__lt=timezone.localdate())
          .select_related("hazard", "hazard__enterprise", "hazard__enterprise__county", "listed_by"))
    return [listing for listing in qs if rules.escalation_target_code(listing.listed_by.jurisdiction_id) == own]


class ListingNoticePdfView(LoginRequiredMixin, View):
    """The printable supervision notice (重大事故隐患挂牌督办通知书)."""

    def get(self, request, pk):
        from worksafe.hazards.pdf import listing_notice_pdf

        listing = get_visible_or_404(Listing, request.user, pk, "view")
        audit.record(AuditEntry.Action.EXPORT, listing, detail="supervision notice PDF")
        response = HttpResponse(listing_notice_pdf(listing), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="listing-{listing.pk}.pdf"'
        return response
