"""Hidden hazards (事故隐患) with the enterprise's closed loop and the government's 挂牌督办."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from worksafe.core.excel import labelled
from worksafe.core.scoping import Scope, ScopedManager, ScopedQuerySet
from worksafe.hazards import rules
from worksafe.hazards.choices import HazardLevel, HazardSource, HazardStatus, ListingStatus

_SCOPE = dict(jurisdiction="enterprise__county__code", organisation="enterprise__organisation_id",
              sector="enterprise__key_class")
# 16号令 / Work Safety Law Art. 41: a major hazard report holds these three parts.
MAJOR_PARTS = ("status_and_causes", "harm_and_difficulty", "treatment_plan")


class Hazard(models.Model):
    """A hidden hazard (事故隐患) found at an enterprise, followed until it is verified and closed (销号)."""

    enterprise = models.ForeignKey("enterprises.Enterprise", models.PROTECT, related_name="hazards",
                                   verbose_name=_("enterprise"))
    code = models.CharField(_("hazard number"), max_length=30, blank=True)
    title = models.CharField(_("hazard"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    level = models.CharField(_("level"), max_length=10, choices=HazardLevel.choices, default=HazardLevel.GENERAL)
    source = models.CharField(_("source"), max_length=12, choices=HazardSource.choices,
                              default=HazardSource.SELF_CHECK)
    status = models.CharField(_("status"), max_length=24, choices=HazardStatus.choices,
                              default=HazardStatus.REPORTED, db_index=True)
    found_on = models.DateField(_("found on"), default=timezone.localdate)
    found_by = models.CharField(_("found by"), max_length=50, blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+",
                                    verbose_name=_("reported by"))
    # 重大隐患 report (Art. 41 and 16号令): the three parts, and the record of telling the workers' congress
    status_and_causes = models.TextField(_("current state and its causes"), blank=True)
    harm_and_difficulty = models.TextField(_("harm and difficulty of rectification"), blank=True)
    treatment_plan = models.TextField(_("treatment plan"), blank=True)
    workers_congress_record = models.TextField(
        _("report to the workers' congress"), blank=True,
        help_text=_("When and how the major hazard was reported to the workers' congress or its delegates."))
    reported_to_regulator_at = models.DateTimeField(_("reported to the regulator at"), null=True, blank=True)
    # set when the rectification is assigned (16号令: measures, funds, responsibility, time limit)
    responsible_person = models.CharField(_("responsible person"), max_length=50, blank=True)
    measures = models.TextField(_("rectification measures"), blank=True)
    funds = models.DecimalField(_("funds (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True,
                                validators=[MinValueValidator(0)])
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    rectified_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("rectified by"))
    rectified_on = models.DateField(_("rectified on"), null=True, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("verified by"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    scope = Scope(**_SCOPE)
    objects = ScopedManager()

    class Meta:
        ordering = ["-found_on", "-id"]
        verbose_name = _("hazard")
        verbose_name_plural = _("hazards")
        permissions = [
            ("assign_hazard", "Can assign a hazard's rectification"),
            ("rectify_hazard", "Can report a hazard rectified"),
            ("reject_hazard", "Can reject a rectification"),
            ("verify_hazard", "Can verify and close a hazard"),
            ("list_hazard", "Can list a major hazard for supervision"),
            ("export_hazard", "Can export hazards"),
            ("import_hazard", "Can import hazards"),
        ]
        indexes = [models.Index(fields=["enterprise", "status", "deadline"], name="hazard_ent_status_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}" if self.code else self.title

    def clean(self):
        if self.level == HazardLevel.MAJOR:
            missing = {f: _("A major hazard report needs this part.") for f in MAJOR_PARTS
                       if not (getattr(self, f) or "").strip()}
            if missing:
                raise ValidationError(missing)

    @property
    def is_open(self) -> bool:
        return self.status != HazardStatus.CLOSED

    @property
    @labelled(_("deadline state"))
    def deadline_state(self) -> str | None:
        """overdue / due_soon / on_track while open with a deadline (derived at read time)."""
        if not self.is_open or self.deadline is None:
            return None
        return rules.deadline_state(self.deadline, timezone.localdate(), settings.HAZARD_DUE_SOON_DAYS)

    def get_deadline_state_display(self) -> str:
        return str(DEADLINE_STATE_LABELS.get(self.deadline_state, ""))


DEADLINE_STATE_LABELS = {"overdue": _("Overdue"), "due_soon": _("Due soon"), "on_track": _("On track")}


class Listing(models.Model):
    """Government supervision of a major hazard until it is removed (挂牌督办)."""

    hazard = models.OneToOneField(Hazard, models.PROTECT, related_name="listing", verbose_name=_("hazard"))
    listed_by = models.ForeignKey("core.Organisation", models.PROTECT, related_name="+",
                                  verbose_name=_("listing authority"))
    notice_number = models.CharField(_("notice number"), max_length=60)
    supervising_office = models.CharField(_("supervising office"), max_length=120)
    requirements = models.TextField(_("requirements"), blank=True)
    deadline = models.DateField(_("deadline"))
    listed_on = models.DateField(_("listed on"), default=timezone.localdate)
    status = models.CharField(_("status"), max_length=10, choices=ListingStatus.choices,
                              default=ListingStatus.LISTED)
    lifted_on = models.DateField(_("lifted on"), null=True, blank=True)
    site_verification = models.TextField(_("on-site verification"), blank=True)

    scope = Scope(**{k: f"hazard__{v}" for k, v in _SCOPE.items()})
    objects = ScopedManager()

    class Meta:
        ordering = ["deadline", "id"]
        verbose_name = _("supervision listing")
        verbose_name_plural = _("supervision listings")

    def __str__(self) -> str:
        return f"{self.notice_number} {self.hazard.title}"

    @property
    def is_overdue(self) -> bool:
        return self.status == ListingStatus.LISTED and self.deadline < timezone.localdate()

    @property
    def escalated_to(self) -> str | None:
        """The jurisdiction one level above the listing authority, once the listing is overdue."""
        if not self.is_overdue:
            return None
        return rules.escalation_target_code(self.listed_by.jurisdiction_id)

    @property
    def days_overdue(self) -> int:
        return max(0, (timezone.localdate() - self.deadline).days)


def next_code(enterprise_id: int, year: int | None = None) -> str:
    """YH-<year>-<n>: the enterprise's running hazard number for the year."""
    year = year or datetime.date.today().year
    count = Hazard.objects.filter(enterprise_id=enterprise_id, code__startswith=f"YH-{year}-").count()
    return f"YH-{year}-{count + 1:04d}"


class ReportKind(models.TextChoices):
    QUARTER = "quarter", _("Quarterly")  # 季度统计分析: due the 15th of the next quarter's first month
    ANNUAL = "annual", _("Annual")  # 年度统计分析: due 31 January of the next year


class HazardReportQuerySet(ScopedQuerySet):
    def scoped(self, user):
        """As for any scoped model, and a regulator sees only submitted reports: a draft is the
        enterprise's working copy until its main responsible person signs and submits it."""
        qs = super().scoped(user)
        if not getattr(user, "is_authenticated", False) or user.is_enterprise_user:
            return qs
        return qs.filter(submitted_at__isnull=False)


class HazardReport(models.Model):
    """The unit's quarterly or annual hazard statistics and analysis (隐患排查治理情况统计分析报表),
    signed by its main responsible person and submitted to the regulator (16号令, ref §3.2).

    `figures` is a snapshot computed from the hazard records (hazards/reports.py); it is recomputed
    while the report is a draft and frozen when the report is submitted.
    """

    enterprise = models.ForeignKey("enterprises.Enterprise", models.PROTECT, related_name="hazard_reports",
                                   verbose_name=_("enterprise"))
    kind = models.CharField(_("report period"), max_length=10, choices=ReportKind.choices)
    year = models.PositiveSmallIntegerField(_("reporting year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"), null=True, blank=True)
    figures = models.JSONField(_("figures"), default=dict, blank=True)
    analysis = models.TextField(_("analysis"), blank=True)
    signed_by_name = models.CharField(_("signed by (main responsible person)"), max_length=50, blank=True)
    due_on = models.DateField(_("due date"))
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("submitted by"))
    # rules.is_late(submission date in Asia/Shanghai, due_on), set when submitting (stored to filter on it)
    late = models.BooleanField(_("submitted late"), default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    scope = Scope(**_SCOPE)
    objects = models.Manager.from_queryset(HazardReportQuerySet)()

    class Meta:
        ordering = ["-year", "-quarter", "enterprise_id", "id"]
        verbose_name = _("hazard statistics report")
        verbose_name_plural = _("hazard statistics reports")
        permissions = [
            ("submit_hazardreport", "Can sign and submit a hazard statistics report"),
            ("export_hazardreport", "Can export hazard statistics reports"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "kind", "year", "quarter"],
                                    condition=models.Q(quarter__isnull=False), name="hazardreport_quarter_uniq"),
            models.UniqueConstraint(fields=["enterprise", "kind", "year"],
                                    condition=models.Q(quarter__isnull=True), name="hazardreport_annual_uniq"),
            models.CheckConstraint(
                condition=(models.Q(kind="quarter", quarter__gte=1, quarter__lte=4)
                           | models.Q(kind="annual", quarter__isnull=True)),
                name="hazardreport_kind_quarter"),
        ]
        indexes = [models.Index(fields=["year", "quarter", "kind"], name="hazardreport_period_idx")]

    def __str__(self) -> str:
        return f"{self.enterprise} {self.period_label}"

    @property
    @labelled(_("report period"))
    def period_label(self) -> str:
        return period_label(self.kind, self.year, self.quarter)

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None

    @property
    @labelled(_("submission"))
    def submission_state(self) -> str:
        """on_time / late (submitted) or overdue / draft (not submitted), seen today."""
        if self.submitted_at is not None:
            return "late" if self.late else "on_time"
        return "overdue" if rules.is_late(timezone.localdate(), self.due_on) else "draft"

    def get_submission_state_display(self) -> str:
        return str(SUBMISSION_STATE_LABELS[self.submission_state])


SUBMISSION_STATE_LABELS = {"on_time": _("Submitted on time"), "late": _("Submitted late"),
                           "overdue": _("Not submitted, past due"), "draft": _("Draft, not submitted")}


def period_label(kind: str, year: int, quarter: int | None) -> str:
    """"2026年第1季度" / "2026年度" (the way the forms are titled)."""
    if kind == ReportKind.QUARTER:
        return _("{year} Q{quarter}").format(year=year, quarter=quarter)
    return _("{year} annual").format(year=year)
