"""Excel import of point tables (监测点位表): one row per point, naming its enterprise by credit code.

A tag number the enterprise already has is updated (threshold changes are audited with before/after by
run_import); a gateway code the enterprise does not have yet is created when the user may add gateways.
Every row is validated like the point form (Point.clean: thresholds rise within the range; the major hazard
source and gateway are the enterprise's own) before anything is saved.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from worksafe.core import audit
from worksafe.core.generic import RowImporter
from worksafe.enterprises.forms import EnterpriseRowForm
from worksafe.majorhazards.models import MajorHazard
from worksafe.monitoring.choices import PointKind
from worksafe.monitoring.models import Gateway, Point

# Chinese names used in point tables, whatever the UI language.
KIND_NAMES = {"液位": PointKind.LEVEL, "温度": PointKind.TEMPERATURE, "压力": PointKind.PRESSURE,
              "可燃气体": PointKind.FLAMMABLE_GAS, "有毒气体": PointKind.TOXIC_GAS, "流量": PointKind.FLOW,
              "阀位": PointKind.VALVE, "开关量": PointKind.VALVE, "阀位/开关量": PointKind.VALVE,
              "视频在线": PointKind.VIDEO, "氧含量": PointKind.OXYGEN, "其他": PointKind.OTHER}
NUMBERS = ["range_low", "range_high", "low_low", "low", "high", "high_high"]
CODES = ["credit_code", "code", "gateway", "hazard"]


def kind_value(text) -> str:
    """'level', '液位', 'Level' or '可燃气体（%LEL）' → the PointKind value (unchanged when unknown)."""
    text = str(text or "").strip()
    if text in KIND_NAMES:
        return KIND_NAMES[text]
    for kind in PointKind:
        label = str(kind.label)
        short = label.split("（")[0].split("(")[0].strip()
        if text.lower() in (kind.value, label.lower(), short.lower()):
            return kind.value
    return text


class PointRowForm(EnterpriseRowForm):
    code = forms.CharField(max_length=40)
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=PointKind.choices, error_messages={
        "invalid_choice": format_lazy(gettext_lazy("Unknown kind “%(value)s”; use one of: {kinds}"),
                                      kinds="、".join(KIND_NAMES))})
    unit = forms.CharField(max_length=16, required=False)
    range_low = forms.FloatField(required=False)
    range_high = forms.FloatField(required=False)
    low_low = forms.FloatField(required=False)
    low = forms.FloatField(required=False)
    high = forms.FloatField(required=False)
    high_high = forms.FloatField(required=False)
    deadband = forms.FloatField(required=False, min_value=0)
    min_duration = forms.IntegerField(required=False, min_value=0)
    sampling_period = forms.IntegerField(required=False, min_value=1)
    gateway = forms.CharField(max_length=40)
    hazard = forms.CharField(max_length=40)

    def clean(self):
        cleaned = super().clean()
        self.point = self.hazard_obj = self.gateway_obj = None
        ent = self.enterprise
        if ent is None or self.errors:
            return cleaned
        self.hazard_obj = MajorHazard.objects.filter(enterprise=ent, code=cleaned["hazard"]).first()
        if self.hazard_obj is None:
            self.add_error("hazard", _("The enterprise has no major hazard source with this code."))
        self.gateway_obj = Gateway.objects.filter(enterprise=ent, code=cleaned["gateway"]).first()
        if self.gateway_obj is None and not self.user.has_perm("monitoring.add_gateway"):
            self.add_error("gateway", _("The enterprise has no gateway with this code."))
        existing = Point.objects.filter(enterprise=ent, code=cleaned["code"]).first()
        if existing is not None and not self.user.has_perm("monitoring.change_point"):
            self.add_error("code", _("This tag number exists already and you may not change points."))
        if self.errors:
            return cleaned
        point = existing or Point(enterprise=ent)
        fill(point, cleaned, self.hazard_obj, self.gateway_obj)
        try:
            point.full_clean(exclude=["gateway"] if self.gateway_obj is None else None, validate_unique=False)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    self.add_error(field if field in self.fields else None, error)
        self.point = point
        return cleaned


def fill(point: Point, data: dict, hazard, gateway) -> None:
    """Copy a validated row onto a point (blank thresholds mean none; blank settings take the defaults)."""
    point.hazard = hazard
    if gateway is not None:
        point.gateway = gateway
    point.code, point.name, point.kind, point.unit = data["code"], data["name"], data["kind"], data.get("unit") or ""
    for name in NUMBERS:
        setattr(point, name, data.get(name))
    point.deadband = data.get("deadband") or 0
    point.min_duration = data.get("min_duration") or 0
    point.sampling_period = data.get("sampling_period") or Point._meta.get_field("sampling_period").default


class PointImporter(RowImporter):
    model = Point
    form_class = PointRowForm
    key_field = "code"
    headers = [
        (gettext_lazy("Unified social credit code"), "credit_code",
         gettext_lazy("Required: the enterprise, inside your jurisdiction")),
        (gettext_lazy("tag number"), "code",
         gettext_lazy("Required, e.g. LT-1001; a tag number the enterprise has already is updated")),
        (gettext_lazy("name"), "name", gettext_lazy("Required")),
        (gettext_lazy("kind"), "kind", "、".join(KIND_NAMES)),
        (gettext_lazy("unit of measure"), "unit", gettext_lazy("e.g. m, °C, MPa, %LEL, ppm")),
        (gettext_lazy("range low"), "range_low", gettext_lazy("Number")),
        (gettext_lazy("range high"), "range_high", gettext_lazy("Number")),
        (gettext_lazy("low-low"), "low_low", gettext_lazy("Blank: no alarm at this set point")),
        (gettext_lazy("low"), "low", gettext_lazy("Blank: no alarm at this set point")),
        (gettext_lazy("high"), "high", gettext_lazy("Blank: no alarm at this set point")),
        (gettext_lazy("high-high"), "high_high", gettext_lazy("Blank: no alarm at this set point")),
        (gettext_lazy("deadband"), "deadband", gettext_lazy("Default 0")),
        (gettext_lazy("minimum duration (s)"), "min_duration", gettext_lazy("Default 0")),
        (gettext_lazy("sampling period (s)"), "sampling_period", gettext_lazy("Default 10")),
        (gettext_lazy("gateway code"), "gateway",
         gettext_lazy("Required; a code the enterprise does not have yet adds the gateway")),
        (gettext_lazy("hazard code"), "hazard",
         gettext_lazy("Required: the code of one of the enterprise's major hazard sources")),
    ]
    example = ["91350505MA00000000", "LT-1101", "1#液氨储罐液位", "液位", "m", 0, 15, 1, 2, 12, 13.5, 0.1, 5, 10,
               "GW01", "MH-01"]

    def row_data(self, values):
        data = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
        for name in CODES:  # a code typed as a number in Excel (e.g. 1 for "1")
            value = data.get(name)
            if isinstance(value, float) and value.is_integer():
                data[name] = str(int(value))
            elif isinstance(value, int):
                data[name] = str(value)
        data["kind"] = kind_value(data.get("kind"))
        return data

    def key_of(self, row):
        """The same tag number of the same enterprise twice in one file is an error."""
        return (row.enterprise.pk, row.cleaned_data["code"]) if row.enterprise else None

    def save(self, row, user):
        ent, data = row.enterprise, row.cleaned_data
        saved = []
        gateway = row.gateway_obj or Gateway.objects.filter(enterprise=ent, code=data["gateway"]).first()
        if gateway is None:
            gateway = Gateway.objects.create(enterprise=ent, code=data["gateway"], name=data["gateway"])
            saved.append((gateway, True, None))
        point = Point.objects.filter(enterprise=ent, code=data["code"]).first()
        before = audit.snapshot(point) if point else None
        is_new = point is None
        point = point or Point(enterprise=ent)
        fill(point, data, row.hazard_obj, gateway)
        point.save()
        return [*saved, (point, is_new, before)]
