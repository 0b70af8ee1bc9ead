"""The enterprise registry (一企一档): enterprises, their industries and licences."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from worksafe.core.choices import KeyIndustry
from worksafe.core.excel import labelled
from worksafe.core.scoping import Scope, ScopedManager
from worksafe.enterprises import rules

CREDIT_CODE_MESSAGES = {
    "length": _("A unified social credit code has 18 characters."),
    "charset": _("A unified social credit code uses digits and capital letters except I, O, S, V and Z."),
    "area": _("Characters 3 to 8 of a unified social credit code are the area code (digits)."),
    "check_digit": _("The check character (the 18th) does not match: please check the code."),
}


def validate_credit_code(value: str) -> None:
    error = rules.credit_code_error(value)
    if error:
        raise ValidationError(CREDIT_CODE_MESSAGES[error], code="credit_code_" + error)


class Industry(models.Model):
    """A GB/T 4754-2017 national economic industry (国民经济行业分类): section (门类) or division (大类)."""

    code = models.CharField(_("code"), max_length=4, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10)  # section | division
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children")

    scope = None  # reference data: everyone with the view permission sees all of it

    class Meta:
        ordering = ["code"]
        verbose_name = _("industry")
        verbose_name_plural = _("industries")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Scale(models.TextChoices):
    ABOVE = "above", _("Above designated size")  # 规模以上
    BELOW = "below", _("Below designated size")  # 规模以下


class SupervisionTier(models.TextChoices):
    PROVINCE = "province", _("Provincial")  # 省级直接监管
    CITY = "city", _("City")  # 市级
    COUNTY = "county", _("County")  # 县级


class EnterpriseStatus(models.TextChoices):
    OPERATING = "operating", _("Operating")  # 在营
    SUSPENDED = "suspended", _("Suspended")  # 停产(停业)
    CLOSED = "closed", _("Closed")  # 关闭


class Enterprise(models.Model):
    """A production or business entity under work-safety supervision (生产经营单位)."""

    name = models.CharField(_("Enterprise name"), max_length=120)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True,
                                   validators=[validate_credit_code])
    organisation = models.OneToOneField("core.Organisation", models.PROTECT, null=True, blank=True,
                                        related_name="enterprise", verbose_name=_("organisation"))
    legal_representative = models.CharField(_("legal representative"), max_length=50)
    legal_representative_phone = models.CharField(_("legal representative phone"), max_length=30, blank=True)
    principal = models.CharField(_("principal responsible person"), max_length=50, blank=True)
    principal_phone = models.CharField(_("principal phone"), max_length=30, blank=True)
    safety_manager = models.CharField(_("safety manager"), max_length=50, blank=True)
    safety_manager_phone = models.CharField(_("safety manager phone"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    lng = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True,
                              validators=[MinValueValidator(115), MaxValueValidator(121)])
    lat = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True,
                              validators=[MinValueValidator(23), MaxValueValidator(29)])
    county = models.ForeignKey("core.Jurisdiction", models.PROTECT, related_name="+", verbose_name=_("county"),
                               limit_choices_to={"level": "county"})
    township = models.ForeignKey("core.Jurisdiction", models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("township"), limit_choices_to={"level": "township"})
    industry = models.ForeignKey(Industry, models.PROTECT, related_name="enterprises", verbose_name=_("industry"),
                                 limit_choices_to={"level": "division"})
    key_class = models.CharField(_("key industry class"), max_length=20, choices=KeyIndustry.choices,
                                 default=KeyIndustry.TRADE_OTHER)
    scale = models.CharField(_("scale"), max_length=10, choices=Scale.choices, default=Scale.BELOW)
    employees = models.PositiveIntegerField(_("employees"), default=0)
    tier = models.CharField(_("supervision tier"), max_length=10, choices=SupervisionTier.choices,
                            default=SupervisionTier.COUNTY)
    status = models.CharField(_("status"), max_length=10, choices=EnterpriseStatus.choices,
                              default=EnterpriseStatus.OPERATING)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    scope = Scope(jurisdiction="county__code", organisation="organisation_id", sector="key_class")
    objects = ScopedManager()

    class Meta:
        ordering = ["county_id", "name", "id"]
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        permissions = [("import_enterprise", "Can import enterprises"),
                       ("export_enterprise", "Can export enterprises")]
        indexes = [
            # The scoping rule is a range on the county code (core.scoping.prefix_q), so plain btree
            # indexes in list order serve "my subtree, page N" and "my subtree + industry, page N".
            models.Index(fields=["county", "name", "id"], name="ent_county_name_idx"),
            models.Index(fields=["industry", "county", "name", "id"], name="ent_industry_county_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        errors = {}
        if self.township_id and self.county_id and not self.township_id.startswith(self.county_id):
            errors["township"] = _("The township is not in the chosen county.")
        if (self.lng is None) != (self.lat is None):
            errors["lat"] = _("Give both longitude and latitude, or neither.")
        if errors:
            raise ValidationError(errors)


class LicenceKind(models.TextChoices):
    SAFETY_PRODUCTION = "safety_production", _("Work safety licence")  # 安全生产许可证
    HAZCHEM_OPERATION = "hazchem_operation", _("Hazardous chemicals operation licence")  # 危险化学品经营许可证
    HAZCHEM_USE = "hazchem_use", _("Hazardous chemicals use licence")  # 危险化学品安全使用许可证
    FIREWORKS = "fireworks", _("Fireworks operation licence")  # 烟花爆竹经营许可证
    MINING = "mining", _("Mining licence")  # 采矿许可证
    ROAD_TRANSPORT = "road_transport", _("Road transport operation licence")  # 道路运输经营许可证
    OTHER = "other", _("Other")


class Licence(models.Model):
    """A licence or permit an enterprise holds (许可证), with its validity."""

    enterprise = models.ForeignKey(Enterprise, models.CASCADE, related_name="licences",
                                   verbose_name=_("enterprise"))
    kind = models.CharField(_("kind"), max_length=30, choices=LicenceKind.choices)
    number = models.CharField(_("number"), max_length=60)
    issuer = models.CharField(_("issued by"), max_length=100, blank=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)

    scope = Scope(jurisdiction="enterprise__county__code", organisation="enterprise__organisation_id",
                  sector="enterprise__key_class")
    objects = ScopedManager()

    class Meta:
        ordering = ["expires_on", "id"]
        verbose_name = _("licence")
        verbose_name_plural = _("licences")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def clean(self):
        if self.issued_on and self.expires_on and self.expires_on < self.issued_on:
            raise ValidationError({"expires_on": _("The expiry date is before the issue date.")})

    @property
    @labelled(_("validity"))
    def state(self) -> str:
        return rules.licence_state(self.expires_on, timezone.localdate(), settings.LICENCE_EXPIRY_WARNING_DAYS)

    def get_state_display(self) -> str:
        return str(LICENCE_STATES[self.state])


LICENCE_STATES = {"valid": _("Valid"), "expiring": _("Expiring soon"), "expired": _("Expired")}
