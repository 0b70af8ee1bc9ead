"""Excel import of an existing major hazard registry: one row per substance of a unit.

Rows with the same credit code and hazard code make one unit; an import replaces that unit's substance
list (so importing the same sheet twice changes nothing) and assesses the unit afterwards.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from worksafe.core import audit
from worksafe.core.generic import RowImporter
from worksafe.enterprises.forms import EnterpriseRowForm
from worksafe.majorhazards import actions, rules
from worksafe.majorhazards.messages import describe
from worksafe.majorhazards.models import MajorHazard, Substance, UnitKind


class MajorHazardRowForm(EnterpriseRowForm):
    code = forms.CharField(max_length=40)
    name = forms.CharField(max_length=120)
    unit_kind = forms.ChoiceField(choices=UnitKind.choices)
    people_within_500m = forms.IntegerField(min_value=0, required=False)
    evaluation_report_on = forms.DateField(required=False)
    substance = forms.CharField(max_length=100, required=False)
    cas = forms.CharField(max_length=20, required=False)
    categories = forms.CharField(max_length=60, required=False)
    q = forms.DecimalField(min_value=0, max_digits=14, decimal_places=4)


    def clean(self):
        cleaned = super().clean()
        probe = Substance(name=cleaned.get("substance") or "", cas=cleaned.get("cas") or "",
                          categories=cleaned.get("categories") or "", q=cleaned.get("q"))
        if probe.q is not None:
            try:
                rules.assess_unit([probe.as_rule_input()])
            except ValueError as exc:
                raise forms.ValidationError(describe(exc), code="substance") from None
        return cleaned


class MajorHazardImporter(RowImporter):
    model = MajorHazard
    form_class = MajorHazardRowForm
    headers = [
        (_("Unified social credit code"), "credit_code", _("Required: the enterprise, inside your jurisdiction")),
        (_("hazard code"), "code", _("Required: rows with the same code are one unit")),
        (_("unit name"), "name", _("Required")),
        (_("unit kind"), "unit_kind", "、".join(str(c.label) for c in UnitKind)),
        (_("people within 500 m"), "people_within_500m", _("Whole number; leave empty if unknown")),
        (_("evaluation report dated"), "evaluation_report_on", _("Date, e.g. 2025-06-30")),
        (_("substance name"), "substance", _("GB 18218 Table 1 name or alias, or any name with a category")),
        (_("CAS number"), "cas", _("Optional, e.g. 7664-41-7")),
        (_("hazard categories"), "categories", _("Table 2 codes for a substance not in Table 1, e.g. W5.1")),
        (_("maximum quantity q (t)"), "q", _("Required, tonnes")),
    ]
    example = ["91350505MA00000000", "MH-01", "液氨储罐区", "储存单元", 80, "2025-06-30", "液氨", "7664-41-7", "", 25]

    def __init__(self):
        self.touched: dict[int, MajorHazard] = {}

    def row_data(self, values):
        data = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
        kind = str(data.get("unit_kind") or "")
        data["unit_kind"] = next((c.value for c in UnitKind if kind in (c.value, str(c.label))), kind)
        if hasattr(data.get("evaluation_report_on"), "date"):
            data["evaluation_report_on"] = data["evaluation_report_on"].date()
        return data


    def save(self, row, user):
        data = row.cleaned_data
        hazard = MajorHazard.objects.filter(enterprise=row.enterprise, code=data["code"]).first()
        is_new = hazard is None
        before = None if is_new else audit.snapshot(hazard)
        hazard = hazard or MajorHazard(enterprise=row.enterprise, code=data["code"])
        hazard.name, hazard.unit_kind = data["name"], data["unit_kind"]
        if data.get("people_within_500m") is not None:
            hazard.people_within_500m = data["people_within_500m"]
        if data.get("evaluation_report_on"):
            hazard.evaluation_report_on = data["evaluation_report_on"]
        hazard.save()
        saved = [] if hazard.pk in self.touched and not is_new else [(hazard, is_new, before)]
        if hazard.pk not in self.touched:
            hazard.substances.all().delete()  # the sheet is the unit's substance list
            self.touched[hazard.pk] = hazard
        substance = Substance.objects.create(hazard=hazard, name=data.get("substance") or "",
                                             cas=data.get("cas") or "", categories=data.get("categories") or "",
                                             q=data["q"])
        return [*saved, (substance, True, None)]

    def finish(self, user):
        for hazard in self.touched.values():
            actions.assess(hazard, by=user, reason=str(_("Excel import")))
