from django import forms
from django.utils.translation import gettext_lazy as _

from worksafe.core.generic import ScopedForm
from worksafe.monitoring.models import Gateway, Point

POINT_FIELDS = ["enterprise", "hazard", "gateway", "code", "name", "kind", "unit", "range_low", "range_high",
                "low_low", "low", "high", "high_high", "deadband", "min_duration", "sampling_period", "active"]
THRESHOLD_FIELDS = ["range_low", "low_low", "low", "high", "high_high", "range_high", "deadband", "min_duration"]


class GatewayForm(ScopedForm):
    class Meta:
        model = Gateway
        fields = ["enterprise", "code", "name", "active"]


class PointForm(ScopedForm):
    """A point and its thresholds. The major hazard source and gateway must be the enterprise's own:
    their choices are narrowed to the chosen enterprise, and Point.clean checks again (thresholds rise
    strictly from low-low to high-high inside the range: rules.threshold_errors)."""

    class Meta:
        model = Point
        fields = POINT_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        enterprise = self._enterprise_id()
        if enterprise:
            for name in ("hazard", "gateway"):
                self.fields[name].queryset = self.fields[name].queryset.filter(enterprise_id=enterprise)

    def _enterprise_id(self):
        raw = self.data.get("enterprise") if self.is_bound else self.initial.get("enterprise")
        if raw in (None, "") and self.instance.pk:
            raw = self.instance.enterprise_id
        try:
            return int(raw) if raw not in (None, "") else None
        except (TypeError, ValueError):
            return None


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(label=_("Note (what was found or done)"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 2}))


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("assignee"), queryset=None, empty_label=None)
    comment = forms.CharField(label=_("Instructions"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = users


class CommentForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
