"""Risk grading and control (风险分级管控): risk points, their versioned assessments (LEC, LS matrix)
and their control measures. The grading itself is pure (risks/rules.py); actions.assess applies it."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from worksafe.core.excel import labelled
from worksafe.core.scoping import Scope, ScopedManager
from worksafe.risks import rules

_SCOPE = dict(jurisdiction="enterprise__county__code", organisation="enterprise__organisation_id",
              sector="enterprise__key_class")


class RiskPointKind(models.TextChoices):
    """What a risk point is (风险点类别)."""

    PLACE = "place", pgettext_lazy("risk point kind", "Place")  # 场所: a storage yard, a workshop
    UNIT = "unit", pgettext_lazy("risk point kind", "Unit")  # 单元: a process unit, a tank farm
    EQUIPMENT = "equipment", pgettext_lazy("risk point kind", "Equipment or facility")  # 设备设施
    ACTIVITY = "activity", pgettext_lazy("risk point kind", "Work activity")  # 作业活动: hot work, lifting


class AccidentType(models.TextChoices):
    """The 20 accident categories of GB 6441-1986 (企业职工伤亡事故分类), in the standard's order."""

    STRUCK_BY_OBJECT = "struck_by_object", pgettext_lazy("accident type", "Struck by object")  # 物体打击
    VEHICLE = "vehicle", pgettext_lazy("accident type", "Vehicle injury")  # 车辆伤害
    MACHINERY = "machinery", pgettext_lazy("accident type", "Machinery injury")  # 机械伤害
    LIFTING = "lifting", pgettext_lazy("accident type", "Lifting injury")  # 起重伤害
    ELECTRIC_SHOCK = "electric_shock", pgettext_lazy("accident type", "Electric shock")  # 触电
    DROWNING = "drowning", pgettext_lazy("accident type", "Drowning")  # 淹溺
    BURNS = "burns", pgettext_lazy("accident type", "Burns and scalds")  # 灼烫
    FIRE = "fire", pgettext_lazy("accident type", "Fire")  # 火灾
    FALL_FROM_HEIGHT = "fall_from_height", pgettext_lazy("accident type", "Fall from height")  # 高处坠落
    COLLAPSE = "collapse", pgettext_lazy("accident type", "Collapse")  # 坍塌
    ROOF_FALL = "roof_fall", pgettext_lazy("accident type", "Roof fall and rib spalling")  # 冒顶片帮
    WATER_INRUSH = "water_inrush", pgettext_lazy("accident type", "Water inrush")  # 透水
    BLASTING = "blasting", pgettext_lazy("accident type", "Blasting injury")  # 放炮
    EXPLOSIVES = "explosives", pgettext_lazy("accident type", "Explosive detonation")  # 火药爆炸
    FIREDAMP = "firedamp", pgettext_lazy("accident type", "Firedamp explosion")  # 瓦斯爆炸
    BOILER = "boiler", pgettext_lazy("accident type", "Boiler explosion")  # 锅炉爆炸
    VESSEL = "vessel", pgettext_lazy("accident type", "Pressure vessel explosion")  # 容器爆炸
    OTHER_EXPLOSION = "other_explosion", pgettext_lazy("accident type", "Other explosion")  # 其他爆炸
    POISONING = "poisoning", pgettext_lazy("accident type", "Poisoning and asphyxiation")  # 中毒和窒息
    OTHER = "other", pgettext_lazy("accident type", "Other injury")  # 其他伤害


# The standard's own names, whatever the interface language: Excel registers are matched against them.
GB6441_NAMES: dict[str, str] = {
    "struck_by_object": "物体打击", "vehicle": "车辆伤害", "machinery": "机械伤害", "lifting": "起重伤害",
    "electric_shock": "触电", "drowning": "淹溺", "burns": "灼烫", "fire": "火灾", "fall_from_height": "高处坠落",
    "collapse": "坍塌", "roof_fall": "冒顶片帮", "water_inrush": "透水", "blasting": "放炮", "explosives": "火药爆炸",
    "firedamp": "瓦斯爆炸", "boiler": "锅炉爆炸", "vessel": "容器爆炸", "other_explosion": "其他爆炸",
    "poisoning": "中毒和窒息", "other": "其他伤害",
}


class RiskLevel(models.TextChoices):
    """The four risk levels and colours (安委办〔2016〕11号), highest first (rules.LEVELS)."""

    RED = "red", _("Major risk (red)")  # 重大风险
    ORANGE = "orange", _("Considerable risk (orange)")  # 较大风险
    YELLOW = "yellow", _("General risk (yellow)")  # 一般风险
    BLUE = "blue", _("Low risk (blue)")  # 低风险


class Method(models.TextChoices):
    """Assessment method (风险评价方法)."""

    LEC = rules.LEC_METHOD_ID, _("LEC (working-condition hazard evaluation)")  # 作业条件危险性评价法, D = L×E×C
    LS = rules.LS_METHOD_ID, _("LS risk matrix")  # 风险矩阵法, R = L×S


class ControlTier(models.TextChoices):
    """The tier that owns the control of a risk (管控层级); rules.control_tier_for gives the default."""

    COMPANY = "company", _("Company level")  # 公司级
    WORKSHOP = "workshop", _("Workshop level")  # 车间级
    TEAM = "team", _("Team level")  # 班组级
    POST = "post", _("Post level")  # 岗位级


class MeasureType(models.TextChoices):
    """Kinds of control measures (管控措施类别)."""

    ENGINEERING = "engineering", _("Engineering controls")  # 工程技术
    MANAGEMENT = "management", _("Management controls")  # 管理
    TRAINING = "training", _("Training and education")  # 培训教育
    PPE = "ppe", _("Personal protective equipment")  # 个体防护
    EMERGENCY = "emergency", _("Emergency response")  # 应急处置


def validate_accident_types(value) -> None:
    """A list of GB 6441 category ids, each once."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(_("Give the accident types as a list."), code="accident_types")
    unknown = [v for v in value if v not in AccidentType.values]
    if unknown:
        raise ValidationError(_("Unknown accident type: {}").format("、".join(unknown)), code="accident_types")
    if len(set(value)) != len(value):
        raise ValidationError(_("An accident type is listed twice."), code="accident_types")


def criterion_label(criterion: str) -> str:
    """A short label for a stored criterion id (the LEC criterion or an LS scheme)."""
    if criterion == rules.LEC_CRITERION_ID:
        return str(_("LEC: red > 320, orange 160–320, yellow 70–159, blue < 70"))
    scheme = rules.SCHEMES.get(criterion)
    if scheme is None:
        return criterion
    red, orange, yellow, blue = (f"{b.low}–{b.high}" for b in scheme.bands)
    return str(_("LS variant {variant}: red {red}, orange {orange}, yellow {yellow}, blue {blue}").format(
        variant=scheme.variant, red=red, orange=orange, yellow=yellow, blue=blue))


def reassessment_months():
    """The reassessment interval [M]: settings.RISK_REASSESSMENT_MONTHS, an int or {level: months}."""
    return getattr(settings, "RISK_REASSESSMENT_MONTHS", rules.REASSESSMENT_MONTHS)


class RiskPoint(models.Model):
    """A place, unit, equipment or work activity of an enterprise whose risk is assessed and controlled (风险点)."""

    enterprise = models.ForeignKey("enterprises.Enterprise", models.PROTECT, related_name="risk_points",
                                   verbose_name=_("enterprise"))
    code = models.CharField(_("risk point code"), max_length=40,
                            help_text=_("The number in the enterprise's risk register, e.g. FX-01."))
    name = models.CharField(_("risk point name"), max_length=120)
    kind = models.CharField(_("risk point kind"), max_length=12, choices=RiskPointKind.choices)
    location = models.CharField(_("location within the site"), max_length=200, blank=True)
    accident_types = models.JSONField(_("possible accident types"), default=list, blank=True,
                                      validators=[validate_accident_types],
                                      help_text=_("GB 6441-1986 categories."))
    hazard_factors = models.TextField(_("main hazard factors"), blank=True)
    control_tier_override = models.CharField(
        _("control tier"), max_length=10, choices=ControlTier.choices, blank=True,
        help_text=_("Leave empty to follow the risk level (red/orange: company, yellow: workshop, blue: team)."))
    responsible_person = models.CharField(_("person responsible"), max_length=50, blank=True)
    responsible_phone = models.CharField(_("phone of the person responsible"), max_length=30, blank=True)
    # The tier in force: the override, else the default for the level (rules.control_tier_for); set in save().
    control_tier = models.CharField(_("control tier in force"), max_length=10, choices=ControlTier.choices,
                                    blank=True, editable=False)
    # Result of the latest assessment (denormalised from RiskAssessment for lists, maps and filters).
    level = models.CharField(_("risk level"), max_length=6, choices=RiskLevel.choices, blank=True)
    score = models.DecimalField(_("risk score"), max_digits=10, decimal_places=2, null=True, blank=True)
    method = models.CharField(_("assessment method"), max_length=3, choices=Method.choices, blank=True)
    criterion = models.CharField(_("grading criterion"), max_length=30, blank=True)
    assessed_on = models.DateField(_("date assessed"), null=True, blank=True)
    reassessment_due = models.DateField(_("reassessment due"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    scope = Scope(**_SCOPE)
    objects = ScopedManager()

    class Meta:
        ordering = ["enterprise_id", "code", "id"]
        verbose_name = _("risk point")
        verbose_name_plural = _("risk points")
        permissions = [("import_riskpoint", "Can import risk points"),
                       ("export_riskpoint", "Can export risk points")]
        constraints = [models.UniqueConstraint(fields=["enterprise", "code"], name="risk_point_unique_code")]
        indexes = [models.Index(fields=["enterprise", "level"], name="risk_point_ent_level_idx")]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    def save(self, *args, **kwargs):
        self.control_tier = self.control_tier_override or (rules.control_tier_for(self.level) if self.level else "")
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "control_tier"}
        super().save(*args, **kwargs)

    @property
    @labelled(_("possible accident types"))
    def accident_type_names(self) -> str:
        labels = dict(AccidentType.choices)
        return "、".join(str(labels.get(v, v)) for v in self.accident_types or [])

    @property
    @labelled(_("grading criterion"))
    def criterion_display(self) -> str:
        return criterion_label(self.criterion) if self.criterion else ""

    @property
    @labelled(_("risk score"))
    def score_display(self) -> str:
        return f"{self.score.normalize():f}" if self.score is not None else ""

    @property
    def level_hex(self) -> str:
        return rules.LEVEL_HEX.get(self.level, "#868e96")

    @property
    def control_tiers(self) -> list[str]:
        """Every tier taking part in the control, highest first (ref §2.2)."""
        if not self.control_tier:
            return []
        labels = dict(ControlTier.choices)
        tiers = rules.CONTROL_TIERS[rules.CONTROL_TIERS.index(self.control_tier):]
        return [str(labels[t]) for t in tiers]

    def is_reassessment_overdue(self, today: datetime.date | None = None) -> bool:
        return bool(self.reassessment_due and self.reassessment_due < (today or timezone.localdate()))


class RiskAssessment(models.Model):
    """One assessment of a risk point (风险评价) with its method, inputs and criterion.

    A version: never edited or deleted on its own (only with its point); assessing again adds a new one."""

    point = models.ForeignKey(RiskPoint, models.CASCADE, related_name="assessments", verbose_name=_("risk point"))
    method = models.CharField(_("assessment method"), max_length=3, choices=Method.choices)
    likelihood = models.DecimalField(_("L (likelihood)"), max_digits=5, decimal_places=2)
    exposure = models.DecimalField(_("E (exposure)"), max_digits=5, decimal_places=2, null=True, blank=True)
    consequence = models.DecimalField(_("C (consequence)"), max_digits=5, decimal_places=2, null=True, blank=True)
    severity = models.DecimalField(_("S (severity)"), max_digits=5, decimal_places=2, null=True, blank=True)
    # LEC: rules.LEC_CRITERION_ID (and the C table version); LS: the scheme the enterprise adopted (ref §2.4).
    criterion = models.CharField(_("grading criterion"), max_length=30)
    table_version = models.CharField(_("score table version"), max_length=20, blank=True)
    score = models.DecimalField(_("risk score"), max_digits=10, decimal_places=2)
    level = models.CharField(_("risk level"), max_length=6, choices=RiskLevel.choices)
    band = models.CharField(_("LEC band"), max_length=12, blank=True)
    assessed_on = models.DateField(_("date assessed"), default=timezone.localdate)
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+",
                                    verbose_name=_("assessor"))
    note = models.CharField(_("remarks"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    scope = Scope(**{k: f"point__{v}" for k, v in _SCOPE.items()})
    objects = ScopedManager()

    class Meta:
        ordering = ["-assessed_on", "-id"]
        verbose_name = _("risk assessment")
        verbose_name_plural = _("risk assessments")

    def __str__(self) -> str:
        return f"{self.point} {self.assessed_on}"

    @property
    @labelled(_("grading criterion"))
    def criterion_display(self) -> str:
        return criterion_label(self.criterion)

    @property
    @labelled(_("inputs"))
    def inputs(self) -> str:
        def num(value):
            return f"{value.normalize():f}" if value is not None else "—"

        if self.method == Method.LEC:
            return f"L={num(self.likelihood)} E={num(self.exposure)} C={num(self.consequence)}"
        return f"L={num(self.likelihood)} S={num(self.severity)}"

    @property
    @labelled(_("LEC band"))
    def band_label(self) -> str:
        band = next((b for b in rules.LEC_BANDS if b.key == self.band), None)
        return f"{band.label}（{band.action}）" if band else ""


class ControlMeasure(models.Model):
    """A measure that controls a risk point (管控措施): engineering, management, training, PPE or emergency."""

    point = models.ForeignKey(RiskPoint, models.CASCADE, related_name="measures", verbose_name=_("risk point"))
    kind = models.CharField(_("measure type"), max_length=12, choices=MeasureType.choices)
    description = models.TextField(_("measure"))
    responsible = models.CharField(_("responsible person or unit"), max_length=60, blank=True)

    scope = Scope(**{k: f"point__{v}" for k, v in _SCOPE.items()})
    objects = ScopedManager()

    class Meta:
        ordering = ["point_id", "kind", "id"]
        verbose_name = _("control measure")
        verbose_name_plural = _("control measures")

    def __str__(self) -> str:
        text = self.description if len(self.description) <= 40 else self.description[:39] + "…"
        return f"{self.get_kind_display()}：{text}"
