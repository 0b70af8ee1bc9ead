"""Excel import of an existing hazard ledger (隐患台账): one row per hazard, open or already closed."""

from django import forms
from django.utils.translation import gettext_lazy as _

from worksafe.core.generic import RowImporter
from worksafe.enterprises.forms import EnterpriseRowForm
from worksafe.hazards.actions import report
from worksafe.hazards.choices import HazardLevel, HazardSource, HazardStatus
from worksafe.hazards.models import MAJOR_PARTS, Hazard


class HazardRowForm(EnterpriseRowForm):
    title = forms.CharField(max_length=200)
    location = forms.CharField(max_length=200, required=False)
    level = forms.ChoiceField(choices=HazardLevel.choices)
    source = forms.ChoiceField(choices=HazardSource.choices)
    found_on = forms.DateField()
    found_by = forms.CharField(max_length=50, required=False)
    status_and_causes = forms.CharField(required=False)
    harm_and_difficulty = forms.CharField(required=False)
    treatment_plan = forms.CharField(required=False)
    responsible_person = forms.CharField(max_length=50, required=False)
    measures = forms.CharField(required=False)
    funds = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2, required=False)
    deadline = forms.DateField(required=False)
    closed_on = forms.DateField(required=False)


    def clean(self):
        cleaned = super().clean()
        if cleaned.get("level") == HazardLevel.MAJOR:
            for part in MAJOR_PARTS:
                if not (cleaned.get(part) or "").strip():
                    self.add_error(part, _("A major hazard report needs this part."))
        if cleaned.get("closed_on") and cleaned.get("found_on") and cleaned["closed_on"] < cleaned["found_on"]:
            self.add_error("closed_on", _("The closing date is before the hazard was found."))
        return cleaned


class HazardImporter(RowImporter):
    model = Hazard
    form_class = HazardRowForm
    headers = [
        (_("Unified social credit code"), "credit_code", _("Required: the enterprise, inside your jurisdiction")),
        (_("hazard"), "title", _("Required")),
        (_("location"), "location", ""),
        (_("level"), "level", "、".join(str(c.label) for c in HazardLevel)),
        (_("source"), "source", "、".join(str(c.label) for c in HazardSource)),
        (_("found on"), "found_on", _("Date, e.g. 2025-06-30")),
        (_("found by"), "found_by", ""),
        (_("current state and its causes"), "status_and_causes", _("Required for a major hazard")),
        (_("harm and difficulty of rectification"), "harm_and_difficulty", _("Required for a major hazard")),
        (_("treatment plan"), "treatment_plan", _("Required for a major hazard")),
        (_("responsible person"), "responsible_person", ""),
        (_("rectification measures"), "measures", ""),
        (_("funds (yuan)"), "funds", ""),
        (_("deadline"), "deadline", _("Date; with a responsible person the hazard is being rectified")),
        (_("closed on"), "closed_on", _("Date; filled in for a hazard already verified and closed")),
    ]
    example = ["91350505MA00000000", "储罐区防火堤破损", "2号罐区", "一般", "企业自查", "2026-03-02", "张三", "", "", "",
               "李四", "修补防火堤", 5000, "2026-03-20", "2026-03-18"]

    def row_data(self, values):
        data = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
        for key, choices in (("level", HazardLevel), ("source", HazardSource)):
            text = str(data.get(key) or "")
            data[key] = next((c.value for c in choices if text in (c.value, str(c.label))), text)
        for key in ("found_on", "deadline", "closed_on"):
            if hasattr(data.get(key), "date"):
                data[key] = data[key].date()
        return data


    def save(self, row, user):
        data = dict(row.cleaned_data)
        data.pop("credit_code")
        closed_on = data.pop("closed_on")
        status = (HazardStatus.CLOSED if closed_on else
                  HazardStatus.RECTIFYING if data.get("responsible_person") and data.get("deadline") else
                  HazardStatus.REPORTED)
        hazard = Hazard(enterprise=row.enterprise, status=status, closed_on=closed_on,
                        **{k: v for k, v in data.items() if v not in (None, "")})
        report(hazard, by=user)
        return [(hazard, True, None)]  # report() wrote the timeline row; run_import audits the import
