from django import forms
from django.utils.translation import gettext_lazy as _

from worksafe.core.choices import KeyIndustry
from worksafe.core.generic import Importer, ScopedForm
from worksafe.core.models import Jurisdiction
from worksafe.core.widgets import DateInput
from worksafe.enterprises.models import Enterprise, EnterpriseStatus, Licence, Scale, SupervisionTier

# Fields only a regulator may set; an enterprise's own users see them read-only.
REGULATOR_FIELDS = ["name", "credit_code", "county", "township", "industry", "key_class", "tier", "status"]


class EnterpriseForm(ScopedForm):
    class Meta:
        model = Enterprise
        fields = ["name", "credit_code", "county", "township", "address", "lng", "lat", "industry", "key_class",
                  "scale", "employees", "tier", "status", "legal_representative", "legal_representative_phone",
                  "principal", "principal_phone", "safety_manager", "safety_manager_phone"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["county"].queryset = Jurisdiction.objects.scoped(user).filter(level="county")
        self.fields["township"].queryset = Jurisdiction.objects.scoped(user).filter(level="township")
        self.fields["credit_code"].widget.attrs.update({"maxlength": 18, "style": "text-transform:uppercase"})
        if user.is_enterprise_user:
            # Read-only for the enterprise's own users: the only valid choice is the current one.
            current = [self.instance.county_id, self.instance.township_id]
            for name in ("county", "township"):
                self.fields[name].queryset = Jurisdiction.objects.filter(code__in=[c for c in current if c])
            for name in REGULATOR_FIELDS:
                self.fields[name].disabled = True

    def clean_credit_code(self):
        return (self.cleaned_data.get("credit_code") or "").strip().upper()


class EnterpriseRowForm(forms.Form):
    """An import row that names its enterprise by credit code; the enterprise must be in the user's scope."""

    credit_code = forms.CharField(max_length=18)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        self.enterprise = None
        super().__init__(*args, **kwargs)

    def clean_credit_code(self):
        code = self.cleaned_data["credit_code"].strip().upper()
        self.enterprise = Enterprise.objects.scoped(self.user).filter(credit_code=code).first()
        if self.enterprise is None:
            raise forms.ValidationError(_("No enterprise with this credit code in your jurisdiction."))
        return code


class LicenceForm(ScopedForm):
    class Meta:
        model = Licence
        fields = ["enterprise", "kind", "number", "issuer", "issued_on", "expires_on"]
        widgets = {"issued_on": DateInput(),
                   "expires_on": DateInput()}


def _by_value_or_label(choices, value):
    value = str(value).strip()
    for key, label in choices:
        if value in (key, str(label)):
            return key
    return value


class EnterpriseImporter(Importer):
    """Rows of an enterprise register (企业基础信息台账) → Enterprise, keyed by credit code."""

    model = Enterprise
    form_class = EnterpriseForm
    key_field = "credit_code"
    headers = [
        (_("Enterprise name"), "name", _("Required")),
        (_("Unified social credit code"), "credit_code", _("Required, 18 characters; existing codes are updated")),
        (_("County code"), "county", _("GB/T 2260 6-digit code or the county name, e.g. 350505 or 泉港区")),
        (_("Township"), "township", _("Optional: township code or name within the county")),
        (_("Industry code"), "industry", _("GB/T 4754-2017 division, 2 digits, e.g. 26")),
        (_("Key industry class"), "key_class", _("One of: {}").format("、".join(str(c.label) for c in KeyIndustry))),
        (_("Scale"), "scale", "、".join(str(c.label) for c in Scale)),
        (_("Employees"), "employees", _("Whole number")),
        (_("Supervision tier"), "tier", "、".join(str(c.label) for c in SupervisionTier)),
        (_("Status"), "status", "、".join(str(c.label) for c in EnterpriseStatus)),
        (_("Legal representative"), "legal_representative", _("Required")),
        (_("Legal representative phone"), "legal_representative_phone", ""),
        (_("Principal responsible person"), "principal", ""),
        (_("Principal phone"), "principal_phone", ""),
        (_("Safety manager"), "safety_manager", ""),
        (_("Safety manager phone"), "safety_manager_phone", ""),
        (_("Address"), "address", ""),
        (_("Longitude"), "lng", _("Decimal degrees (WGS84), e.g. 118.9")),
        (_("Latitude"), "lat", _("Decimal degrees (WGS84), e.g. 25.2")),
    ]
    example = ["福建示例化工有限公司", "91350505MA2XXXXXXX", "350505", "", "26", "危险化学品", "规模以上", 120,
               "县级", "在营", "张三", "13800000000", "李四", "", "王五", "", "泉港区南埔镇", 118.9, 25.2]

    def row_data(self, values):
        data = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
        data["credit_code"] = str(data.get("credit_code") or "").upper()
        county = str(data.get("county") or "")
        if county and not county.isdigit():
            match = list(Jurisdiction.objects.filter(level="county", name=county).values_list("code", flat=True)[:2])
            data["county"] = match[0] if len(match) == 1 else county
        township = str(data.get("township") or "")
        if township and not township.isdigit():
            code = Jurisdiction.objects.filter(level="township", name=township,
                                               code__startswith=str(data["county"])).values_list("code", flat=True).first()
            data["township"] = code or township
        industry = data.get("industry")
        if isinstance(industry, int | float):
            data["industry"] = f"{int(industry):02d}"
        data["key_class"] = _by_value_or_label(KeyIndustry.choices, data.get("key_class") or KeyIndustry.TRADE_OTHER)
        data["scale"] = _by_value_or_label(Scale.choices, data.get("scale") or Scale.BELOW)
        data["tier"] = _by_value_or_label(SupervisionTier.choices, data.get("tier") or SupervisionTier.COUNTY)
        data["status"] = _by_value_or_label(EnterpriseStatus.choices, data.get("status") or EnterpriseStatus.OPERATING)
        data["employees"] = data.get("employees") or 0
        return data
