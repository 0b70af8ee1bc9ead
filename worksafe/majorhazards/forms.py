from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from worksafe.core.generic import ScopedForm
from worksafe.core.widgets import DateInput
from worksafe.majorhazards import rules
from worksafe.majorhazards.messages import describe
from worksafe.majorhazards.models import Change, Custodian, CustodianCheck, MajorHazard, Substance

DATE = DateInput()


class MajorHazardForm(ScopedForm):
    class Meta:
        model = MajorHazard
        fields = ["enterprise", "code", "name", "unit_kind", "location", "lng", "lat", "people_within_500m",
                  "evaluation_report_on"]
        widgets = {"evaluation_report_on": DATE}


class CatalogueInput(forms.TextInput):
    """A text input suggesting the GB 18218 Table 1 names and aliases (a <datalist>, no script needed)."""

    def render(self, name, value, attrs=None, renderer=None):
        list_id = f"{(attrs or {}).get('id', name)}-catalogue"
        self.attrs.update({"list": list_id, "autocomplete": "off"})
        names = sorted({n for e in rules.substance_catalogue() if e.table == "table1" for n in (e.name, *e.aliases)})
        options = format_html_join("", '<option value="{}">', ((n,) for n in names))
        return format_html('{}<datalist id="{}">{}</datalist>', super().render(name, value, attrs, renderer),
                           list_id, options)


class SubstanceForm(ScopedForm):
    class Meta:
        model = Substance
        fields = ["hazard", "name", "cas", "categories", "q", "q_override", "beta_override"]
        widgets = {"name": CatalogueInput}

    def clean(self):
        """The substance must resolve under GB 18218 (Table 1 name/alias/CAS or a Table 2 category)."""
        cleaned = super().clean()
        probe = Substance(**{f: cleaned.get(f) for f in ("name", "cas", "categories", "q", "q_override",
                                                          "beta_override")})
        probe.name, probe.cas, probe.categories = probe.name or "", probe.cas or "", probe.categories or ""
        if probe.q is None:
            return cleaned
        try:
            rules.assess_unit([probe.as_rule_input()])
        except ValueError as exc:
            raise forms.ValidationError(describe(exc), code="substance") from None
        return cleaned


class CustodianForm(ScopedForm):
    class Meta:
        model = Custodian
        fields = ["hazard", "role", "name", "position", "phone", "appointed_on"]
        widgets = {"appointed_on": DATE}


class CustodianCheckForm(ScopedForm):
    class Meta:
        model = CustodianCheck
        fields = ["custodian", "checked_on", "hazards_found", "findings"]
        widgets = {"checked_on": DATE}


class ChangeForm(ScopedForm):
    class Meta:
        model = Change
        fields = ["hazard", "kind", "occurred_on", "description"]
        widgets = {"occurred_on": DATE}


class DeregisterForm(forms.Form):
    deregistered_on = forms.DateField(label=_("deregistered on"), widget=DATE)
    reason = forms.CharField(label=_("deregistration reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 3}))


class FilingForm(forms.Form):
    filed_on = forms.DateField(label=_("filed on"), widget=DATE)
