"""Major hazard sources (重大危险源): units, their substances, versioned assessments, 包保 custodians,
their checks, re-assessment triggers, evaluation/filing dates and deregistration (核销)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from worksafe.core.excel import labelled
from worksafe.core.scoping import Scope, ScopedManager
from worksafe.majorhazards import rules

_SCOPE = dict(jurisdiction="enterprise__county__code", organisation="enterprise__organisation_id",
              sector="enterprise__key_class")


class UnitKind(models.TextChoices):
    PRODUCTION = "production", _("Production unit")  # 生产单元: bounded by isolation valves
    STORAGE = "storage", _("Storage unit")  # 储存单元: a diked tank group or a separate warehouse


class MajorHazardStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")  # being identified; not yet filed
    REGISTERED = "registered", _("Registered")  # filed (备案) with the county bureau
    DEREGISTERED = "deregistered", _("Deregistered")  # 核销 by the regulator: no longer a major hazard


class MajorHazard(models.Model):
    """A unit of an enterprise identified as a major hazard source (重大危险源) under GB 18218-2018."""

    enterprise = models.ForeignKey("enterprises.Enterprise", models.PROTECT, related_name="major_hazards",
                                   verbose_name=_("enterprise"))
    code = models.CharField(_("hazard code"), max_length=40,
                            help_text=_("The number in the enterprise's or the national registry."))
    name = models.CharField(_("unit name"), max_length=120)
    unit_kind = models.CharField(_("unit kind"), max_length=12, choices=UnitKind.choices)
    location = models.CharField(_("location within the site"), max_length=200, blank=True)
    lng = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    lat = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    people_within_500m = models.PositiveIntegerField(
        _("people within 500 m"), null=True, blank=True,
        help_text=_("People who may be exposed within 500 m of the unit (GB 18218-2018 Table 5)."))
    status = models.CharField(_("status"), max_length=14, choices=MajorHazardStatus.choices,
                              default=MajorHazardStatus.DRAFT)
    # Result of the latest assessment (denormalised from Assessment for lists, maps and filters).
    s_value = models.DecimalField(_("S (Σq/Q)"), max_digits=12, decimal_places=4, null=True, blank=True)
    r_value = models.DecimalField(_("R"), max_digits=12, decimal_places=4, null=True, blank=True)
    grade = models.PositiveSmallIntegerField(_("grade"), null=True, blank=True,
                                             choices=[(1, _("Grade 1")), (2, _("Grade 2")), (3, _("Grade 3")),
                                                      (4, _("Grade 4"))])
    assessed_on = models.DateField(_("assessed on"), null=True, blank=True)
    # 40号令 Art. 8/23: safety evaluation report, then filing within 15 days; evaluation every 3 years.
    evaluation_report_on = models.DateField(_("evaluation report dated"), null=True, blank=True)
    filed_on = models.DateField(_("filed on"), null=True, blank=True)
    deregistered_on = models.DateField(_("deregistered on"), null=True, blank=True)
    deregistration_reason = models.CharField(_("deregistration reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    scope = Scope(**_SCOPE)
    objects = ScopedManager()

    class Meta:
        ordering = ["grade", "enterprise_id", "code"]
        verbose_name = _("major hazard source")
        verbose_name_plural = _("major hazard sources")
        permissions = [("deregister_majorhazard", "Can deregister a major hazard source"),
                       ("file_majorhazard", "Can record the filing of a major hazard source"),
                       ("export_majorhazard", "Can export major hazard sources"),
                       ("import_majorhazard", "Can import major hazard sources")]
        constraints = [models.UniqueConstraint(fields=["enterprise", "code"], name="mh_unique_code")]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    # --- dates derived at read time --------------------------------------------------------------
    @property
    @labelled(_("next evaluation due"))
    def evaluation_due(self) -> datetime.date | None:
        return rules.evaluation_due(self.evaluation_report_on) if self.evaluation_report_on else None

    @property
    @labelled(_("filing due"))
    def filing_due(self) -> datetime.date | None:
        if not self.evaluation_report_on:
            return None
        return rules.filing_due(self.evaluation_report_on, days=settings.MH_FILING_DAYS)

    @property
    def reassessment_required(self) -> bool:
        """A recorded change (40号令 Art. 10) after the latest assessment asks for a new one."""
        last = self.assessed_on
        return any(last is None or c.occurred_on > last for c in self.changes.all())

    def overdue_items(self, today: datetime.date | None = None) -> list[str]:
        today = today or timezone.localdate()
        items = []
        if self.status == MajorHazardStatus.DEREGISTERED:
            return items
        if self.evaluation_due and self.evaluation_due < today:
            items.append("evaluation")
        if self.filing_due and self.filed_on is None and self.filing_due < today:
            items.append("filing")
        if self.reassessment_required:
            items.append("reassessment")
        return items


class Substance(models.Model):
    """A hazardous chemical held in a unit, with its actual maximum quantity q (GB 18218-2018 4.2.2)."""

    hazard = models.ForeignKey(MajorHazard, models.CASCADE, related_name="substances",
                               verbose_name=_("major hazard source"))
    name = models.CharField(_("substance name"), max_length=100, blank=True)
    cas = models.CharField(_("CAS number"), max_length=20, blank=True)
    categories = models.CharField(_("hazard categories"), max_length=60, blank=True,
                                  help_text=_("GB 18218 Table 2 codes for a substance not in Table 1, e.g. W5.1; "
                                              "several separated by commas."))
    q = models.DecimalField(_("maximum quantity q (t)"), max_digits=14, decimal_places=4,
                            validators=[MinValueValidator(0)])
    q_override = models.DecimalField(_("critical quantity Q override (t)"), max_digits=14, decimal_places=4,
                                     null=True, blank=True, validators=[MinValueValidator(0.0001)])
    beta_override = models.DecimalField(_("β override"), max_digits=6, decimal_places=3, null=True, blank=True,
                                        validators=[MinValueValidator(0.001)])

    scope = Scope(**{k: f"hazard__{v}" for k, v in _SCOPE.items()})
    objects = ScopedManager()

    class Meta:
        ordering = ["hazard_id", "id"]
        verbose_name = _("substance")
        verbose_name_plural = _("substances")

    def __str__(self) -> str:
        return self.name or self.cas or self.categories

    def clean(self):
        if not (self.name or self.cas or self.categories):
            raise ValidationError(_("Give the substance's name, CAS number or hazard category."))
        if self.cas and not rules.cas_check_digit_ok(self.cas):
            raise ValidationError({"cas": _("This CAS number's check digit is wrong.")})

    def as_rule_input(self) -> dict:
        data: dict = {"q": self.q}
        if self.name:
            data["name"] = self.name
        if self.cas:
            data["cas"] = self.cas
        if self.categories:
            data["categories"] = [c.strip() for c in self.categories.split(",") if c.strip()]
        if self.q_override is not None:
            data["Q"] = self.q_override
        if self.beta_override is not None:
            data["beta"] = self.beta_override
        return data


class Assessment(models.Model):
    """One identification and grading of a unit (辨识与分级), kept with its inputs; never edited."""

    hazard = models.ForeignKey(MajorHazard, models.CASCADE, related_name="assessments",
                               verbose_name=_("major hazard source"))
    assessed_on = models.DateField(_("assessed on"), default=timezone.localdate)
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+",
                                    verbose_name=_("assessed by"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    standard = models.CharField(_("standard"), max_length=30, default="GB 18218-2018")
    inputs = models.JSONField(_("inputs"))
    result = models.JSONField(_("result"))
    s_value = models.DecimalField(_("S (Σq/Q)"), max_digits=12, decimal_places=4)
    r_value = models.DecimalField(_("R"), max_digits=12, decimal_places=4, null=True, blank=True)
    grade = models.PositiveSmallIntegerField(_("grade"), null=True, blank=True)
    is_major = models.BooleanField(_("major hazard"))

    scope = Scope(**{k: f"hazard__{v}" for k, v in _SCOPE.items()})
    objects = ScopedManager()

    class Meta:
        ordering = ["-assessed_on", "-id"]
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")

    def __str__(self) -> str:
        return f"{self.hazard} {self.assessed_on}"


class CustodianRole(models.TextChoices):
    PRINCIPAL = "principal", _("Principal custodian")  # 主要负责人
    TECHNICAL = "technical", _("Technical custodian")  # 技术负责人: a check at least every quarter
    OPERATIONAL = "operational", _("Operational custodian")  # 操作负责人: a check at least every week


class Custodian(models.Model):
    """One of the three named persons responsible for a major hazard source (包保责任人)."""

    hazard = models.ForeignKey(MajorHazard, models.CASCADE, related_name="custodians",
                               verbose_name=_("major hazard source"))
    role = models.CharField(_("custody role"), max_length=12, choices=CustodianRole.choices)
    name = models.CharField(_("name"), max_length=50)
    position = models.CharField(_("position"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=30)
    appointed_on = models.DateField(_("appointed on"), default=timezone.localdate)

    scope = Scope(**{k: f"hazard__{v}" for k, v in _SCOPE.items()})
    objects = ScopedManager()

    class Meta:
        ordering = ["hazard_id", "role"]
        verbose_name = _("custodian")
        verbose_name_plural = _("custodians")
        constraints = [models.UniqueConstraint(fields=["hazard", "role"], name="mh_one_custodian_per_role")]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.name}"

    @property
    def last_check(self):
        checks = self.checks.all()  # prefetched by the pages that list custodians
        return max(checks, key=lambda c: (c.checked_on, c.pk), default=None)

    @property
    @labelled(_("next check due"))
    def check_due(self) -> datetime.date | None:
        last = self.last_check
        return rules.custodian_check_due(self.role, last.checked_on if last else self.appointed_on,
                                         operational_days=settings.MH_OPERATIONAL_CHECK_DAYS)


class CustodianCheck(models.Model):
    """A check of the major hazard source by one of its custodians (包保责任人履职检查)."""

    custodian = models.ForeignKey(Custodian, models.CASCADE, related_name="checks", verbose_name=_("custodian"))
    checked_on = models.DateField(_("checked on"), default=timezone.localdate)
    findings = models.TextField(_("findings"), blank=True)
    hazards_found = models.PositiveIntegerField(_("hazards found"), default=0)

    scope = Scope(**{k: f"custodian__hazard__{v}" for k, v in _SCOPE.items()})
    objects = ScopedManager()

    class Meta:
        ordering = ["-checked_on", "-id"]
        verbose_name = _("custodian check")
        verbose_name_plural = _("custodian checks")

    def __str__(self) -> str:
        return f"{self.custodian} {self.checked_on}"


class ChangeKind(models.TextChoices):
    """40号令 Art. 10: events that require re-identification, re-assessment and re-grading."""

    NEW_UNIT = "new_unit", _("New, rebuilt or expanded unit")
    SUBSTANCE = "substance", _("Change in chemicals, quantities, process, storage or key equipment")
    ENVIRONMENT = "environment", _("Change in the surroundings")
    ACCIDENT = "accident", _("Accident with a death, 10 or more injured, or public impact")
    STANDARD = "standard", _("Change in the applicable standards")


class Change(models.Model):
    """A recorded change that asks for a new assessment of the unit (重新辨识、评估、分级)."""

    hazard = models.ForeignKey(MajorHazard, models.CASCADE, related_name="changes",
                               verbose_name=_("major hazard source"))
    kind = models.CharField(_("kind of change"), max_length=12, choices=ChangeKind.choices)
    occurred_on = models.DateField(_("occurred on"), default=timezone.localdate)
    description = models.CharField(_("description"), max_length=300)

    scope = Scope(**{k: f"hazard__{v}" for k, v in _SCOPE.items()})
    objects = ScopedManager()

    class Meta:
        ordering = ["-occurred_on", "-id"]
        verbose_name = _("change")
        verbose_name_plural = _("changes")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_on}"
