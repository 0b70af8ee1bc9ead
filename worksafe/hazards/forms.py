from django import forms
from django.utils.translation import gettext_lazy as _

from worksafe.core.generic import ScopedForm
from worksafe.core.widgets import DateInput
from worksafe.hazards.models import Hazard

DATE = DateInput()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several photos at once; on a phone the camera opens directly (capture)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*", "capture": "environment"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class HazardForm(ScopedForm):
    photos = PhotosField(label=_("Photos before rectification"))

    class Meta:
        model = Hazard
        fields = ["enterprise", "title", "location", "level", "source", "found_on", "found_by", "description",
                  "status_and_causes", "harm_and_difficulty", "treatment_plan", "workers_congress_record"]
        widgets = {"found_on": DATE, "description": forms.Textarea(attrs={"rows": 3}),
                   "status_and_causes": forms.Textarea(attrs={"rows": 3}),
                   "harm_and_difficulty": forms.Textarea(attrs={"rows": 3}),
                   "treatment_plan": forms.Textarea(attrs={"rows": 4}),
                   "workers_congress_record": forms.Textarea(attrs={"rows": 2})}


class AssignForm(forms.Form):
    responsible_person = forms.CharField(label=_("responsible person"), max_length=50)
    measures = forms.CharField(label=_("rectification measures"), widget=forms.Textarea(attrs={"rows": 3}))
    funds = forms.DecimalField(label=_("funds (yuan)"), min_value=0, max_digits=14, decimal_places=2, required=False)
    deadline = forms.DateField(label=_("deadline"), widget=DATE)
    comment = forms.CharField(label=_("comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RectifyForm(forms.Form):
    comment = forms.CharField(label=_("What was done"), widget=forms.Textarea(attrs={"rows": 3}))
    photos = PhotosField(label=_("Photos after rectification"))


class VerifyForm(forms.Form):
    comment = forms.CharField(label=_("Verification notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    photos = PhotosField(label=_("Photos"))


class RejectForm(forms.Form):
    comment = forms.CharField(label=_("Why the rectification is not accepted"),
                              widget=forms.Textarea(attrs={"rows": 3}))


class ListingForm(forms.Form):
    notice_number = forms.CharField(label=_("notice number"), max_length=60)
    supervising_office = forms.CharField(label=_("supervising office"), max_length=120)
    deadline = forms.DateField(label=_("deadline"), widget=DATE)
    requirements = forms.CharField(label=_("requirements"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
