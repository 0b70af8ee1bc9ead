from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from worksafe.core.generic import ScopedForm
from worksafe.core.widgets import DateInput
from worksafe.risks import actions, rules
from worksafe.risks.models import (
    AccidentType,
    ControlMeasure,
    ControlTier,
    Method,
    RiskPoint,
    criterion_label,
)

DATE = DateInput()


class Checklist(forms.CheckboxSelectMultiple):
    """Checkboxes laid out as a wrapping list of Tabler form-checks (usable on a phone)."""

    template_name = "risks/widgets/checklist.html"
    option_template_name = "risks/widgets/checklist_option.html"

    def get_context(self, name, value, attrs):
        attrs = {**(attrs or {}), "class": "form-check-input"}
        return super().get_context(name, value, attrs)


def scheme_choices():
    return [(sid, criterion_label(sid)) for sid in rules.SCHEMES]


class RiskPointForm(ScopedForm):
    accident_types = forms.MultipleChoiceField(label=_("possible accident types"), choices=AccidentType.choices,
                                               required=False, widget=Checklist,
                                               help_text=_("GB 6441-1986 categories."))

    class Meta:
        model = RiskPoint
        fields = ["enterprise", "code", "name", "kind", "location", "accident_types", "hazard_factors",
                  "control_tier_override", "responsible_person", "responsible_phone"]
        widgets = {"hazard_factors": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["control_tier_override"].choices = [("", _("Follow the risk level")), *ControlTier.choices]

    def clean_accident_types(self):
        chosen = set(self.cleaned_data.get("accident_types") or [])
        return [v for v in AccidentType.values if v in chosen]  # the standard's order, each once


class ControlMeasureForm(ScopedForm):
    class Meta:
        model = ControlMeasure
        fields = ["point", "kind", "description", "responsible"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


def _lec_choices(table):
    return [("", "---------"), *((f"{v:f}", f"{v:f} — {label}") for v, label in table)]


class AssessForm(forms.Form):
    """The assess page of one risk point: LEC from the standard tables, or LS with the adopted scheme."""

    method = forms.ChoiceField(label=_("assessment method"), choices=Method.choices, widget=forms.RadioSelect)
    lec_l = forms.TypedChoiceField(label=_("L (likelihood)"), choices=_lec_choices(rules.LEC_L_TABLE),
                                   coerce=Decimal, required=False, empty_value=None)
    lec_e = forms.TypedChoiceField(label=_("E (exposure)"), choices=_lec_choices(rules.LEC_E_TABLE),
                                   coerce=Decimal, required=False, empty_value=None)
    lec_c = forms.TypedChoiceField(label=_("C (consequence)"), choices=_lec_choices(rules.LEC_C_TABLE),
                                   coerce=Decimal, required=False, empty_value=None)
    ls_l = forms.TypedChoiceField(label=_("L (likelihood)"), choices=[("", "---------")] + [(i, i) for i in range(1, 6)],
                                  coerce=int, required=False, empty_value=None,
                                  help_text=_("1: practically never, strong controls in place … 5: happens often, "
                                              "no controls."))
    ls_s = forms.TypedChoiceField(label=_("S (severity)"), choices=[("", "---------")] + [(i, i) for i in range(1, 6)],
                                  coerce=int, required=False, empty_value=None,
                                  help_text=_("1: no or slight injury, loss under 10,000 yuan … 5: death, loss over "
                                              "1,000,000 yuan, major public impact."))
    scheme = forms.ChoiceField(label=_("LS grading criterion"), required=False,
                               help_text=_("The criterion the enterprise adopted; it is stored with the assessment."))
    assessed_on = forms.DateField(label=_("date assessed"), widget=DATE)
    note = forms.CharField(label=_("remarks"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scheme"].choices = [("", "---------"), *scheme_choices()]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.evaluation = actions.evaluate(**self.action_kwargs())
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="inputs") from None
        if cleaned["assessed_on"] > timezone.localdate():
            self.add_error("assessed_on", _("The assessment date cannot be in the future."))
        return cleaned

    def action_kwargs(self) -> dict:
        data = self.cleaned_data
        if data.get("method") == Method.LS:
            return {"method": Method.LS.value, "L": data.get("ls_l"), "S": data.get("ls_s"),
                    "scheme": data.get("scheme") or None}
        return {"method": data.get("method"), "L": data.get("lec_l"), "E": data.get("lec_e"), "C": data.get("lec_c")}
