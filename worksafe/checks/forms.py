import datetime
import time

from django import forms
from django.conf import settings
from django.core import signing
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from worksafe.checks import actions
from worksafe.checks.choices import Outcome
from worksafe.checks.models import Checklist, ChecklistItem, CheckPlan, CheckTask
from worksafe.core.generic import ScopedForm
from worksafe.core.widgets import DateInput
from worksafe.hazards.forms import PhotosField

DATE = DateInput()
READ_ONLY = _("Built-in checklists are read-only: copy one to adapt it.")


class ChecklistForm(ScopedForm):
    class Meta:
        model = Checklist
        fields = ["enterprise", "name", "key_class", "basis", "description", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["enterprise"].required = True  # only the data migration makes built-in lists

    def clean(self):
        if self.instance.pk and self.instance.is_builtin:
            raise forms.ValidationError(READ_ONLY, code="builtin")
        return super().clean()


class ChecklistItemForm(ScopedForm):
    class Meta:
        model = ChecklistItem
        fields = ["checklist", "number", "text", "basis", "is_major_criterion"]
        widgets = {"text": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["checklist"].queryset = self.fields["checklist"].queryset.filter(enterprise__isnull=False)
        checklist = self.initial.get("checklist")
        if self.instance.pk is None and checklist and not self.initial.get("number"):
            last = ChecklistItem.objects.filter(checklist_id=checklist).aggregate(n=Max("number"))["n"]
            self.initial["number"] = (last or 0) + 1

    def clean(self):
        if self.instance.pk and self.instance.checklist.is_builtin:
            raise forms.ValidationError(READ_ONLY, code="builtin")
        return super().clean()


class CheckPlanForm(ScopedForm):
    class Meta:
        model = CheckPlan
        fields = ["enterprise", "checklist", "name", "post", "place", "frequency", "assignee", "starts_on", "ends_on",
                  "is_active"]
        widgets = {"starts_on": DATE, "ends_on": DATE}

    def save(self, commit=True):
        """Saving a plan creates its task for the current period and hands open tasks to the new assignee."""
        plan = super().save(commit)
        if commit:
            today = timezone.localdate()
            plan.tasks.filter(status="open", due_on__gte=today).update(assignee=plan.assignee)
            actions.generate_tasks(today=today, plans=[plan])
        return plan


class CheckTaskForm(ScopedForm):
    class Meta:
        model = CheckTask
        fields = ["plan", "period_start", "due_on", "assignee"]
        widgets = {"period_start": DATE, "due_on": DATE}


# ---------------------------------------------------------------------------------------------
# Doing a check on site (phone first)
# ---------------------------------------------------------------------------------------------

START_SALT = "worksafe.checks.start"


def start_token(user, checklist, task=None) -> str:
    """Signed server time at which the check page was opened: the record's start cannot be made up."""
    return signing.dumps({"u": user.pk, "c": checklist.pk, "k": task.pk if task else None, "t": time.time()},
                         salt=START_SALT)


class CheckForm(forms.Form):
    """One card per item (pass / fail / not applicable, a note, photos), the location and the notes."""

    started = forms.CharField(widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    accuracy = forms.FloatField(required=False, min_value=0, widget=forms.HiddenInput)
    place = forms.CharField(label=_("area"), required=False, max_length=120)
    notes = forms.CharField(label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, checklist, task=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.checklist, self.task = user, checklist, task
        self.items = list(checklist.items.order_by("number", "id"))
        for item in self.items:
            self.fields[f"outcome_{item.pk}"] = forms.ChoiceField(
                label=item.text, choices=Outcome.choices, widget=forms.RadioSelect,
                error_messages={"required": _("Choose pass, fail or not applicable.")})
            self.fields[f"note_{item.pk}"] = forms.CharField(label=_("note"), required=False, max_length=500)
            self.fields[f"photos_{item.pk}"] = PhotosField(label=_("Photos"))

    def cards(self):
        """(item, outcome field, note field, photos field) for the template, in item order."""
        return [(item, self[f"outcome_{item.pk}"], self[f"note_{item.pk}"], self[f"photos_{item.pk}"])
                for item in self.items]

    def clean_started(self):
        max_age = getattr(settings, "CHECK_START_MAX_AGE_HOURS", 12) * 3600
        try:
            data = signing.loads(self.cleaned_data["started"], salt=START_SALT, max_age=max_age)
        except signing.BadSignature:
            raise forms.ValidationError(_("This check page is too old or was altered: open the check again."),
                                        code="started") from None
        if (data.get("u"), data.get("c"), data.get("k")) != (
                self.user.pk, self.checklist.pk, self.task.pk if self.task else None):
            raise forms.ValidationError(_("This check page belongs to another check: open the check again."),
                                        code="started")
        return datetime.datetime.fromtimestamp(data["t"], tz=datetime.UTC)

    def clean(self):
        cleaned = super().clean()
        for item in self.items:
            if cleaned.get(f"outcome_{item.pk}") == Outcome.FAIL and not cleaned.get(f"note_{item.pk}", "").strip():
                self.add_error(f"note_{item.pk}", _("Say what is wrong."))
        if (cleaned.get("lng") is None) != (cleaned.get("lat") is None):
            cleaned["lng"] = cleaned["lat"] = None
        return cleaned

    def results(self) -> list:
        data = self.cleaned_data
        return [actions.ItemResult(item=item, outcome=data[f"outcome_{item.pk}"], note=data[f"note_{item.pk}"],
                                   photos=data[f"photos_{item.pk}"]) for item in self.items]
