from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from worksafe.checks import actions, formalism
from worksafe.checks.choices import TaskStatus
from worksafe.checks.filters import (
    ChecklistFilterSet,
    ChecklistItemFilterSet,
    CheckPlanFilterSet,
    CheckRecordFilterSet,
    CheckResultFilterSet,
    CheckTaskFilterSet,
    FormalismFlagFilterSet,
)
from worksafe.checks.forms import (
    CheckForm,
    ChecklistForm,
    ChecklistItemForm,
    CheckPlanForm,
    CheckTaskForm,
    start_token,
)
from worksafe.checks.models import (
    Checklist,
    ChecklistItem,
    CheckPlan,
    CheckRecord,
    CheckResult,
    CheckTask,
    FormalismFlag,
)
from worksafe.core.generic import ScopedDeleteView, ScopedDetailView, ScopedEditView, ScopedListView
from worksafe.core.models import Attachment
from worksafe.core.scoping import get_visible_or_404

# --- checklists --------------------------------------------------------------------------------


class ChecklistListView(ScopedListView):
    model = Checklist
    filterset_class = ChecklistFilterSet
    columns = ["name", "owner", "key_class", "basis", "is_active"]
    select_related = ["enterprise"]


class ChecklistDetailView(ScopedDetailView):
    model = Checklist
    template_name = "checks/checklist_detail.html"
    fields = ["name", "owner", "key_class", "basis", "description", "is_active"]

    def get_context(self, obj):
        user = self.request.user
        return {
            "items": obj.items.all(),
            "plans": CheckPlan.objects.visible_to(user).filter(checklist=obj).select_related("enterprise")[:50],
            "can_edit_list": user.has_perm("checks.change_checklist") and not obj.is_builtin,
            "can_delete_list": user.has_perm("checks.delete_checklist") and not obj.is_builtin,
            "can_add_item": user.has_perm("checks.add_checklistitem") and not obj.is_builtin,
            "can_copy": user.has_perm("checks.add_checklist") and _own_enterprise(user) is not None,
            "can_check": _can_check(user) and obj.is_active and obj.enterprise_id in (None, _own_enterprise_id(user)),
        }


class _NotBuiltin:
    """Built-in lists and their items are read-only for everyone: edit and delete are refused (403)."""

    def refuse_builtin(self, obj):
        checklist = obj if isinstance(obj, Checklist) else obj.checklist
        if checklist.is_builtin:
            raise PermissionDenied

    def get_object(self):
        obj = super().get_object()
        if obj is not None:
            self.refuse_builtin(obj)
        return obj


class _NotBuiltinDelete(ScopedDeleteView):
    def get(self, request, pk):
        self.refuse_builtin(get_visible_or_404(self.model, request.user, pk, "delete"))
        return super().get(request, pk)

    def post(self, request, pk):
        self.refuse_builtin(get_visible_or_404(self.model, request.user, pk, "delete"))
        return super().post(request, pk)

    refuse_builtin = _NotBuiltin.refuse_builtin


class ChecklistEditView(_NotBuiltin, ScopedEditView):
    model = Checklist
    form_class = ChecklistForm


class ChecklistDeleteView(_NotBuiltinDelete):
    model = Checklist


class ChecklistCopyView(LoginRequiredMixin, View):
    """An enterprise copies a list (the built-in one, typically) to adapt it to its site."""

    def post(self, request, pk):
        checklist = get_visible_or_404(Checklist, request.user, pk, "view")
        enterprise = _own_enterprise(request.user)
        if enterprise is None or not request.user.has_perm("checks.add_checklist"):
            raise PermissionDenied
        copy = actions.copy_checklist(checklist, enterprise=enterprise, by=request.user)
        messages.success(request, _("Copied: adapt the items to your site."))
        return redirect("checks:checklist_detail", pk=copy.pk)


# --- checklist items (belong to a list: back to its page after saving) --------------------------


class ChecklistItemListView(ScopedListView):
    model = ChecklistItem
    filterset_class = ChecklistItemFilterSet
    columns = ["checklist", "number", "text", "basis", "is_major_criterion"]
    select_related = ["checklist"]


class ChecklistItemDetailView(ScopedDetailView):
    model = ChecklistItem
    fields = ["checklist", "number", "text", "basis", "is_major_criterion"]


class ChecklistItemEditView(_NotBuiltin, ScopedEditView):
    model = ChecklistItem
    form_class = ChecklistItemForm

    def get_success_url(self, saved):
        return reverse("checks:checklist_detail", args=[saved.checklist_id])


class ChecklistItemDeleteView(_NotBuiltinDelete):
    model = ChecklistItem

    def get_success_url(self, obj):
        return reverse("checks:checklist_detail", args=[obj.checklist_id])


# --- plans and tasks ---------------------------------------------------------------------------


class CheckPlanListView(ScopedListView):
    model = CheckPlan
    filterset_class = CheckPlanFilterSet
    columns = ["name", "enterprise__name", "checklist", "post", "place", "frequency", "assignee", "is_active"]
    select_related = ["enterprise", "checklist", "assignee"]


class CheckPlanDetailView(ScopedDetailView):
    model = CheckPlan
    template_name = "checks/checkplan_detail.html"
    fields = ["enterprise", "checklist", "name", "post", "place", "frequency", "assignee", "starts_on", "ends_on",
              "is_active"]

    def get_context(self, obj):
        tasks = CheckTask.objects.visible_to(self.request.user).filter(plan=obj).select_related("record")
        return {"tasks": tasks[:60], "missed": tasks.filter(status=TaskStatus.OPEN,
                                                            due_on__lt=timezone.localdate()).count()}


class CheckPlanEditView(ScopedEditView):
    model = CheckPlan
    form_class = CheckPlanForm


class CheckPlanDeleteView(ScopedDeleteView):
    model = CheckPlan


class CheckTaskListView(ScopedListView):
    """All tasks in the user's place, with the user's own open tasks as big cards on top (phone first)."""

    model = CheckTask
    filterset_class = CheckTaskFilterSet
    template_name = "checks/checktask_list.html"
    columns = ["plan", "plan__enterprise__name", "plan__post", "period_start", "due_on", "assignee", "state",
               "done_at"]
    select_related = ["plan", "plan__enterprise", "assignee"]


class CheckTaskDetailView(ScopedDetailView):
    model = CheckTask
    template_name = "checks/checktask_detail.html"
    fields = ["plan", "plan__enterprise", "plan__checklist", "plan__post", "plan__place", "period_start", "due_on",
              "assignee", "state", "done_at"]

    def get_context(self, obj):
        user = self.request.user
        return {"record": CheckRecord.objects.filter(task=obj).first(),
                "can_check": obj.status == TaskStatus.OPEN and _can_check(user)
                and obj.plan.enterprise_id == _own_enterprise_id(user)}


class CheckTaskEditView(ScopedEditView):
    model = CheckTask
    form_class = CheckTaskForm


class CheckTaskDeleteView(ScopedDeleteView):
    model = CheckTask


# --- doing a check -----------------------------------------------------------------------------


def _own_enterprise(user):
    org = getattr(user, "organisation", None)
    if org is None or not user.is_enterprise_user:
        return None
    return getattr(org, "enterprise", None)


def _own_enterprise_id(user):
    enterprise = _own_enterprise(user)
    return enterprise.pk if enterprise else None


def _can_check(user) -> bool:
    return user.has_perm("checks.add_checkrecord") and user.has_perm("checks.add_checkresult")


class _CheckView(LoginRequiredMixin, View):
    """Do a check on site: one card per item with pass/fail, a note and photos; the phone's location."""

    template_name = "checks/check_form.html"

    def target(self, request, pk):
        """(enterprise, checklist, task) for this check; 404 outside the user's place, 403 without the role."""
        raise NotImplementedError

    def _target(self, request, pk):
        enterprise, checklist, task = self.target(request, pk)
        if not _can_check(request.user) or enterprise is None or enterprise.pk != _own_enterprise_id(request.user):
            raise PermissionDenied
        return enterprise, checklist, task

    def get(self, request, pk):
        enterprise, checklist, task = self._target(request, pk)
        if task is not None and task.status == TaskStatus.DONE:
            messages.info(request, _("This task has been done already."))
            return redirect("checks:checktask_detail", pk=task.pk)
        place = task.plan.place if task else ""
        form = CheckForm(user=request.user, checklist=checklist, task=task,
                         initial={"started": start_token(request.user, checklist, task), "place": place})
        return self.render(form, enterprise, checklist, task)

    def post(self, request, pk):
        enterprise, checklist, task = self._target(request, pk)
        form = CheckForm(request.POST, request.FILES, user=request.user, checklist=checklist, task=task)
        if not form.is_valid():
            return self.render(form, enterprise, checklist, task)
        data = form.cleaned_data
        try:
            record = actions.submit(
                by=request.user, enterprise=enterprise, checklist=checklist, task=task, results=form.results(),
                started_at=data["started"], place=data["place"], notes=data["notes"], lng=data["lng"],
                lat=data["lat"], accuracy_m=data["accuracy"])
        except actions.TaskAlreadyDone:
            messages.info(request, _("This task has been done already."))
            return redirect("checks:checktask_detail", pk=task.pk)
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
            return self.render(form, enterprise, checklist, task)
        failed = record.failed_count
        if failed:
            messages.warning(request, _("Check handed in: {n} items failed. Turn them into hazards below.").format(
                n=failed))
        else:
            messages.success(request, _("Check handed in: every item passed."))
        return redirect("checks:checkrecord_detail", pk=record.pk)

    def render(self, form, enterprise, checklist, task):
        return render(self.request, self.template_name, {"form": form, "enterprise": enterprise,
                                                         "checklist": checklist, "task": task})


class TaskCheckView(_CheckView):
    def target(self, request, pk):
        task = get_visible_or_404(CheckTask, request.user, pk, "view",
                                  queryset=CheckTask.objects.select_related("plan__enterprise", "plan__checklist"))
        return task.plan.enterprise, task.plan.checklist, task


class ChecklistCheckView(_CheckView):
    """A check outside the plan (e.g. a self-check against the built-in 20 criteria)."""

    def target(self, request, pk):
        checklist = get_visible_or_404(Checklist, request.user, pk, "view")
        if not checklist.is_active:
            raise PermissionDenied
        return _own_enterprise(request.user), checklist, None


# --- records, results, flags -------------------------------------------------------------------


class CheckRecordListView(ScopedListView):
    """Records are made by doing a check (no add form); read-only here."""

    model = CheckRecord
    template_name = "checks/readonly_list.html"
    filterset_class = CheckRecordFilterSet
    columns = ["enterprise__name", "checklist", "checked_by", "place", "finished_at", "duration_s", "item_count",
               "failed_count", "flag_count"]
    export_columns = [*columns, "started_at", "lng", "lat", "accuracy_m", "distance_m", "notes",
                      "enterprise__credit_code"]
    select_related = ["enterprise", "checklist", "checked_by"]


def _photos_of(results) -> dict[int, list[Attachment]]:
    ct = ContentType.objects.get_for_model(CheckResult)
    photos = defaultdict(list)
    for a in Attachment.objects.filter(content_type=ct, object_id__in=[str(r.pk) for r in results],
                                       role=formalism.EVIDENCE):
        photos[int(a.object_id)].append(a)
    return photos


class CheckRecordDetailView(ScopedDetailView):
    model = CheckRecord
    template_name = "checks/checkrecord_detail.html"
    fields = ["enterprise", "checklist", "checked_by", "place", "task", "started_at", "finished_at", "duration_s",
              "lng", "lat", "accuracy_m", "distance_m", "notes"]

    def get_context(self, obj):
        user = self.request.user
        results = list(CheckResult.objects.visible_to(user).filter(record=obj).select_related("item", "hazard"))
        photos = _photos_of(results)
        flags = FormalismFlag.objects.visible_to(user).filter(record=obj).select_related("other_record")
        return {"results": [(r, photos.get(r.pk, [])) for r in results], "flags": flags,
                "can_hazard": _can_hazard(user)}


def _can_hazard(user) -> bool:
    return user.has_perm("hazards.add_hazard") and user.has_perm("checks.change_checkresult")


class CheckResultListView(ScopedListView):
    """Results are made by doing a check (no add form); read-only here."""

    model = CheckResult
    template_name = "checks/readonly_list.html"
    filterset_class = CheckResultFilterSet
    columns = ["record", "record__enterprise__name", "item", "outcome", "note", "hazard"]
    select_related = ["record", "record__checklist", "record__enterprise", "item", "hazard"]


class CheckResultDetailView(ScopedDetailView):
    model = CheckResult
    template_name = "checks/checkresult_detail.html"
    fields = ["record", "item", "item__basis", "outcome", "note", "hazard"]

    def get_context(self, obj):
        return {"photos": _photos_of([obj]).get(obj.pk, []), "can_hazard": _can_hazard(self.request.user)}


class ResultToHazardView(LoginRequiredMixin, View):
    """A failed item becomes a hazard in one tap (a second tap opens the same hazard)."""

    def post(self, request, pk):
        result = get_visible_or_404(CheckResult, request.user, pk, "change")
        try:
            hazard, created = actions.result_to_hazard(result, by=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("checks:checkrecord_detail", pk=result.record_id)
        if created:
            messages.success(request, _("Hazard {code} reported.").format(code=hazard.code))
        return redirect("hazards:hazard_detail", pk=hazard.pk)


class FormalismFlagListView(ScopedListView):
    model = FormalismFlag
    filterset_class = FormalismFlagFilterSet
    columns = ["record", "record__enterprise__name", "record__enterprise__county__name", "kind", "detail",
               "record__checked_by", "created_at"]
    export_columns = [*columns, "record__enterprise__credit_code", "other_record"]
    select_related = ["record", "record__checklist", "record__enterprise", "record__enterprise__county",
                      "record__checked_by", "other_record", "other_record__checklist"]


class FormalismFlagDetailView(ScopedDetailView):
    model = FormalismFlag
    template_name = "checks/formalismflag_detail.html"
    fields = ["record", "record__enterprise", "record__checked_by", "kind", "detail", "result", "other_record",
              "created_at"]
