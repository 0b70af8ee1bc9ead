"""Excel import of an existing risk register (风险分级管控清单): one row per risk point, assessed on import.

A row with the credit code and risk point code of an existing point updates it (and adds a new assessment
version); otherwise the point is created. Every row is graded by the same rules as the assess page.
"""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from worksafe.core import audit
from worksafe.core.generic import Importer
from worksafe.enterprises.forms import EnterpriseRowForm
from worksafe.risks import actions
from worksafe.risks.models import (
    GB6441_NAMES,
    AccidentType,
    Method,
    RiskPoint,
    RiskPointKind,
    criterion_label,
)

_SEPARATORS = ("、", "，", ",", ";", "；", "/", "\n")
# The Chinese names of the kinds, whatever the interface language (registers are written in Chinese).
_KIND_NAMES = [("place", "场所"), ("unit", "单元"), ("equipment", "设备设施"), ("equipment", "设备"),
               ("activity", "作业活动")]


def _match(text: str, choices) -> str | None:
    """A choice value from its value or label (case and surrounding spaces ignored)."""
    text = str(text or "").strip()
    for value, label in choices:
        if text.lower() in (str(value).lower(), str(label).lower()):
            return value
    return None


def parse_accident_types(text) -> tuple[list[str], list[str]]:
    """('、'-separated GB 6441 names or ids) → (ids in the standard's order, names not understood)."""
    text = str(text or "")
    for sep in _SEPARATORS[1:]:
        text = text.replace(sep, _SEPARATORS[0])
    by_name = {name: value for value, name in GB6441_NAMES.items()}
    by_label = {str(label): value for value, label in AccidentType.choices}
    found, unknown = set(), []
    for part in (p.strip() for p in text.split(_SEPARATORS[0])):
        if not part:
            continue
        value = by_name.get(part) or by_label.get(part) or (part if part in GB6441_NAMES else None)
        if value is None:
            unknown.append(part)
        else:
            found.add(value)
    return [v for v in AccidentType.values if v in found], unknown


def _method_choices():
    return [*Method.choices, (Method.LEC.value, "LEC"), (Method.LS.value, "LS"), (Method.LEC.value, "作业条件危险性评价法"),
            (Method.LS.value, "风险矩阵法"), (Method.LS.value, "风险矩阵")]


def _scheme_choices():
    from worksafe.risks import rules

    return [(sid, criterion_label(sid)) for sid in rules.SCHEMES] + [(sid, s.variant) for sid, s in rules.SCHEMES.items()]


class RiskPointRowForm(EnterpriseRowForm):
    code = forms.CharField(max_length=40)
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=RiskPointKind.choices)
    location = forms.CharField(max_length=200, required=False)
    accident_types = forms.CharField(required=False)
    responsible_person = forms.CharField(max_length=50, required=False)
    responsible_phone = forms.CharField(max_length=30, required=False)
    method = forms.ChoiceField(choices=Method.choices)
    L = forms.CharField()
    E = forms.CharField(required=False)
    C = forms.CharField(required=False)
    S = forms.CharField(required=False)
    scheme = forms.CharField(required=False)
    assessed_on = forms.DateField(required=False)


    def clean_accident_types(self):
        values, unknown = parse_accident_types(self.cleaned_data.get("accident_types"))
        if unknown:
            raise forms.ValidationError(_("Not a GB 6441-1986 accident type: {}").format("、".join(unknown)))
        return values

    def clean_assessed_on(self):
        on = self.cleaned_data.get("assessed_on") or timezone.localdate()
        if on > timezone.localdate():
            raise forms.ValidationError(_("The assessment date cannot be in the future."))
        return on

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            actions.evaluate(**self.assess_kwargs())
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="inputs") from None
        return cleaned

    def assess_kwargs(self) -> dict:
        data = self.cleaned_data
        if data["method"] == Method.LS:
            return {"method": Method.LS.value, "L": data["L"], "S": data.get("S"), "scheme": data.get("scheme") or None}
        return {"method": Method.LEC.value, "L": data["L"], "E": data.get("E"), "C": data.get("C")}


class RiskPointImporter(Importer):
    model = RiskPoint
    form_class = RiskPointRowForm
    key_field = "code"
    headers = [
        (_("Unified social credit code"), "credit_code", _("Required: the enterprise, inside your jurisdiction")),
        (_("risk point code"), "code", _("Required: an existing code updates that risk point")),
        (_("risk point name"), "name", _("Required")),
        (_("risk point kind"), "kind", "、".join(str(c.label) for c in RiskPointKind)),
        (_("location within the site"), "location", _("Optional")),
        (_("possible accident types"), "accident_types",
         _("GB 6441-1986 names separated by 、, e.g. 火灾、其他爆炸、中毒和窒息")),
        (_("person responsible"), "responsible_person", _("Optional")),
        (_("phone of the person responsible"), "responsible_phone", _("Optional")),
        (_("assessment method"), "method", _("LEC or LS")),
        ("L", "L", _("LEC: 10, 6, 3, 1, 0.5, 0.2 or 0.1; LS: 1 to 5")),
        ("E", "E", _("LEC only: 10, 6, 3, 2, 1 or 0.5")),
        ("C", "C", _("LEC only: 100, 40, 15, 7, 3 or 1")),
        ("S", "S", _("LS only: 1 to 5")),
        (_("LS grading criterion"), "scheme", _("LS only: ls_20_15_9, ls_20_9_4, ls_20_10_4 or ls_15_8_4 (or A/B/C/D)")),
        (_("date assessed"), "assessed_on", _("Date, e.g. 2025-06-30; empty: today")),
    ]
    example = ["91350505MA00000000", "FX-01", "液氨储罐区", "单元", "罐区东侧", "中毒和窒息、火灾、其他爆炸", "陈志远",
               "13859981234", "LEC", 3, 6, 40, "", "", "2025-06-30"]

    def __init__(self):
        self.pending: list[tuple[RiskPoint, dict]] = []

    def row_data(self, values):
        data = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
        for field, choices in (("kind", [*RiskPointKind.choices, *_KIND_NAMES]), ("method", _method_choices())):
            data[field] = _match(data.get(field), choices) or data.get(field)
        data["scheme"] = _match(data.get("scheme"), _scheme_choices()) or data.get("scheme")
        for field in ("L", "E", "C", "S"):
            if isinstance(data.get(field), int | float):
                data[field] = repr(data[field]) if isinstance(data[field], float) else str(data[field])
        if isinstance(data.get("assessed_on"), datetime.datetime):
            data["assessed_on"] = data["assessed_on"].date()
        return data

    def validate(self, raw, user):
        form = self.form_class(data=self.row_data({k: ("" if v is None else v) for k, v in raw.items()}), user=user)
        if not form.is_valid():
            return self.form_errors(form), None
        existing = RiskPoint.objects.filter(enterprise=form.enterprise, code=form.cleaned_data["code"]).first()
        action = "change" if existing else "add"
        if not user.has_perm(f"risks.{action}_riskpoint") or not user.has_perm("risks.add_riskassessment"):
            return [str(_("You may not add new records.") if action == "add" else
                        _("You do not have permission to do this."))], None
        form.existing = existing
        return [], form

    def key_of(self, row):
        return (row.cleaned_data["credit_code"], row.cleaned_data["code"])

    def save(self, row, user):
        data = row.cleaned_data
        point = RiskPoint.objects.filter(enterprise=row.enterprise, code=data["code"]).first()
        is_new = point is None
        before = None if is_new else audit.snapshot(point)
        point = point or RiskPoint(enterprise=row.enterprise, code=data["code"])
        point.name, point.kind, point.accident_types = data["name"], data["kind"], data["accident_types"]
        for field in ("location", "responsible_person", "responsible_phone"):
            if data.get(field):
                setattr(point, field, data[field])
        point.full_clean()
        point.save()
        self.pending.append((point, {**row.assess_kwargs(), "on": data["assessed_on"]}))
        return [(point, is_new, before)]

    def finish(self, user):
        for point, kwargs in self.pending:
            actions.assess(point, by=user, note=str(_("Excel import")), **kwargs)
