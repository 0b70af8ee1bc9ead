"""Hazard checks (隐患排查): checklists, check plans and their tasks, check records with one result per item,
and the anti-formalism flags raised on records that cannot be real."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import ProtectedError, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from worksafe.checks import rules
from worksafe.checks.choices import TASK_STATES, FlagKind, Frequency, Outcome, TaskStatus
from worksafe.core.choices import KeyIndustry
from worksafe.core.excel import labelled
from worksafe.core.scoping import Scope, ScopedManager, ScopedQuerySet

_SCOPE = dict(jurisdiction="enterprise__county__code", organisation="enterprise__organisation_id",
              sector="enterprise__key_class")


def _scope(prefix: str) -> Scope:
    return Scope(**{k: f"{prefix}{v}" for k, v in _SCOPE.items()})


class WithBuiltinsQuerySet(ScopedQuerySet):
    """Built-in checklists (no enterprise) are reference data: in every signed-in user's place.

    Enterprise lists follow the one scoping rule; the built-ins are added to whatever the rule lets the
    user see, so FK choices (a plan's checklist), lists and detail pages all offer them. Writes to them
    are refused by the forms and views (they are read-only for everyone).
    """

    builtin_path = "enterprise"

    def scoped(self, user) -> ScopedQuerySet:
        own = super().scoped(user)
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return own
        return own | self.filter(**{f"{self.builtin_path}__isnull": True})


class ChecklistQuerySet(WithBuiltinsQuerySet):
    builtin_path = "enterprise"


class ChecklistItemQuerySet(WithBuiltinsQuerySet):
    builtin_path = "checklist__enterprise"


class Checklist(models.Model):
    """A checklist (隐患排查清单/检查表): the items to look at in one kind of check, for an industry.

    Built-in lists (no enterprise), such as the 20 criteria of 安监总管三〔2017〕121号, are shared and
    read-only; an enterprise copies them or writes its own.
    """

    enterprise = models.ForeignKey("enterprises.Enterprise", models.PROTECT, null=True, blank=True,
                                   related_name="checklists", verbose_name=_("enterprise"),
                                   help_text=_("Empty for the built-in lists shared by every enterprise."))
    name = models.CharField(_("checklist name"), max_length=120)
    key_class = models.CharField(_("key industry class"), max_length=20, choices=KeyIndustry.choices, blank=True)
    basis = models.CharField(_("basis"), max_length=200, blank=True,
                             help_text=_("The standard, rule or internal regulation the items come from."))
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("in use"), default=True)
    builtin_key = models.CharField(max_length=40, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    scope = Scope(**_SCOPE)
    objects = ScopedManager.from_queryset(ChecklistQuerySet)()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("checklist")
        verbose_name_plural = _("checklists")
        constraints = [models.UniqueConstraint(fields=["builtin_key"], condition=~Q(builtin_key=""),
                                               name="checklist_builtin_key_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_builtin(self) -> bool:
        return self.enterprise_id is None

    @property
    @labelled(_("owner"))
    def owner(self) -> str:
        return str(self.enterprise) if self.enterprise_id else str(_("Built-in"))

    def delete(self, *args, **kwargs):
        if self.is_builtin:
            raise ProtectedError(str(_("Built-in checklists are read-only.")), {self})
        return super().delete(*args, **kwargs)


class ChecklistItem(models.Model):
    """One item of a checklist (检查项): what to look at, and the rule it comes from."""

    checklist = models.ForeignKey(Checklist, models.CASCADE, related_name="items", verbose_name=_("checklist"))
    number = models.PositiveSmallIntegerField(_("number"))
    text = models.CharField(_("item"), max_length=500)
    basis = models.CharField(_("basis"), max_length=200, blank=True,
                             help_text=_("The clause behind the item, e.g. 安监总管三〔2017〕121号 item 2."))
    is_major_criterion = models.BooleanField(
        _("major hazard criterion"), default=False,
        help_text=_("A failure meets a criterion of a 重大事故隐患 standard: it becomes a major hazard."))

    scope = _scope("checklist__")
    objects = ScopedManager.from_queryset(ChecklistItemQuerySet)()

    class Meta:
        ordering = ["checklist_id", "number", "id"]
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        constraints = [models.UniqueConstraint(fields=["checklist", "number"], name="checklist_item_number_unique")]

    def __str__(self) -> str:
        text = self.text if len(self.text) <= 60 else self.text[:59] + "…"
        return f"{self.number}. {text}"

    def delete(self, *args, **kwargs):
        if self.checklist.is_builtin:
            raise ProtectedError(str(_("Built-in checklists are read-only.")), {self})
        return super().delete(*args, **kwargs)


class CheckPlan(models.Model):
    """A check plan (排查计划): which post checks with which list, how often; it generates the check tasks."""

    enterprise = models.ForeignKey("enterprises.Enterprise", models.PROTECT, related_name="check_plans",
                                   verbose_name=_("enterprise"))
    checklist = models.ForeignKey(Checklist, models.PROTECT, related_name="plans", verbose_name=_("checklist"))
    name = models.CharField(_("plan name"), max_length=120)
    post = models.CharField(_("post"), max_length=60, help_text=_("The post (岗位) that does the check."))
    place = models.CharField(_("area"), max_length=120, blank=True, help_text=_("Where the check is done."))
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("assignee"),
                                 help_text=_("Empty: anyone of the enterprise who does checks."))
    starts_on = models.DateField(_("starts on"), default=timezone.localdate)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    scope = Scope(**_SCOPE)
    objects = ScopedManager()

    class Meta:
        ordering = ["enterprise_id", "name", "id"]
        verbose_name = _("check plan")
        verbose_name_plural = _("check plans")

    def __str__(self) -> str:
        return self.name

    def clean(self):
        errors = {}
        if self.checklist_id and self.enterprise_id:
            owner = Checklist.objects.filter(pk=self.checklist_id).values_list("enterprise_id", flat=True).first()
            if owner is not None and owner != self.enterprise_id:
                errors["checklist"] = _("Use a built-in checklist or one of this enterprise's own.")
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            errors["ends_on"] = _("The plan cannot end before it starts.")
        if self.assignee_id and self.enterprise_id and not _works_at(self.assignee_id, self.enterprise_id):
            errors["assignee"] = _("The assignee must be a user of this enterprise.")
        if errors:
            raise ValidationError(errors)


def _works_at(user_id: int, enterprise_id: int) -> bool:
    from worksafe.core.models import User

    return User.objects.filter(pk=user_id, organisation__enterprise__id=enterprise_id).exists()


class CheckTask(models.Model):
    """A check task (排查任务): one period of a plan, due on its last day; missed if not done by then."""

    plan = models.ForeignKey(CheckPlan, models.PROTECT, related_name="tasks", verbose_name=_("check plan"))
    period_start = models.DateField(_("period starts"))
    due_on = models.DateField(_("due on"), db_index=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("assignee"))
    status = models.CharField(_("status"), max_length=8, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    scope = _scope("plan__")
    objects = ScopedManager()

    class Meta:
        ordering = ["-due_on", "plan_id", "id"]
        verbose_name = _("check task")
        verbose_name_plural = _("check tasks")
        constraints = [models.UniqueConstraint(fields=["plan", "period_start"], name="check_task_one_per_period")]
        # "my open tasks" and the missed-task counts: open rows by due date
        indexes = [models.Index(fields=["status", "due_on"], name="check_task_status_due_idx")]

    def __str__(self) -> str:
        return f"{self.plan} {self.due_on:%Y-%m-%d}"

    def clean(self):
        if self.period_start and self.due_on and self.due_on < self.period_start:
            raise ValidationError({"due_on": _("The due date cannot be before the period starts.")})
        if self.assignee_id and self.plan_id:
            enterprise_id = CheckPlan.objects.filter(pk=self.plan_id).values_list("enterprise_id", flat=True).first()
            if enterprise_id and not _works_at(self.assignee_id, enterprise_id):
                raise ValidationError({"assignee": _("The assignee must be a user of this enterprise.")})

    @property
    @labelled(_("state"))
    def state(self) -> str:
        return rules.task_state(self.status == TaskStatus.DONE, self.due_on, timezone.localdate())

    def get_state_display(self) -> str:
        return str(TASK_STATES[self.state])

    @property
    def is_late(self) -> bool:
        return self.done_at is not None and timezone.localdate(self.done_at) > self.due_on


class CheckRecord(models.Model):
    """A check record (排查记录): who checked which list, where and when, with one result per item."""

    task = models.OneToOneField(CheckTask, models.SET_NULL, null=True, blank=True, related_name="record",
                                verbose_name=_("check task"))
    enterprise = models.ForeignKey("enterprises.Enterprise", models.PROTECT, related_name="check_records",
                                   verbose_name=_("enterprise"))
    checklist = models.ForeignKey(Checklist, models.PROTECT, related_name="records", verbose_name=_("checklist"))
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+",
                                   verbose_name=_("checked by"))
    place = models.CharField(_("area"), max_length=120, blank=True)
    # started_at comes from the server when the check page opened (signed), finished_at when it was handed in.
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), db_index=True)
    lng = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    lat = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    accuracy_m = models.FloatField(_("location accuracy (m)"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    item_count = models.PositiveSmallIntegerField(_("items"), default=0)
    failed_count = models.PositiveSmallIntegerField(_("failed items"), default=0)
    flag_count = models.PositiveSmallIntegerField(_("formalism flags"), default=0)
    created_at = models.DateTimeField(_("received at"), default=timezone.now)

    scope = Scope(**_SCOPE)
    objects = ScopedManager()

    class Meta:
        ordering = ["-finished_at", "-id"]
        verbose_name = _("check record")
        verbose_name_plural = _("check records")
        permissions = [("export_checkrecord", "Can export check records")]
        indexes = [models.Index(fields=["enterprise", "checklist", "finished_at"], name="check_record_ent_idx")]

    def __str__(self) -> str:
        return f"{self.checklist} {timezone.localtime(self.finished_at):%Y-%m-%d %H:%M}"

    @property
    @labelled(_("duration (s)"))
    def duration_s(self) -> int:
        return int((self.finished_at - self.started_at).total_seconds())

    @property
    @labelled(_("distance from the enterprise (m)"))
    def distance_m(self) -> int | None:
        ent = self.enterprise
        if None in (self.lng, self.lat, ent.lng, ent.lat):
            return None
        return round(rules.haversine_m(float(self.lng), float(self.lat), float(ent.lng), float(ent.lat)))


class CheckResult(models.Model):
    """The result of one checklist item in a check record (检查结果): pass, fail or not applicable."""

    record = models.ForeignKey(CheckRecord, models.CASCADE, related_name="results", verbose_name=_("check record"))
    item = models.ForeignKey(ChecklistItem, models.PROTECT, related_name="results", verbose_name=_("item"))
    outcome = models.CharField(_("outcome"), max_length=4, choices=Outcome.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    hazard = models.OneToOneField("hazards.Hazard", models.SET_NULL, null=True, blank=True,
                                  related_name="check_result", verbose_name=_("hazard"))

    scope = _scope("record__")
    objects = ScopedManager()

    class Meta:
        ordering = ["record_id", "id"]
        verbose_name = _("check result")
        verbose_name_plural = _("check results")
        constraints = [models.UniqueConstraint(fields=["record", "item"], name="check_result_one_per_item")]

    def __str__(self) -> str:
        return f"{self.item} · {self.get_outcome_display()}"


class FormalismFlag(models.Model):
    """A sign that a check record cannot be real (形式主义预警): for the regulator to look into."""

    record = models.ForeignKey(CheckRecord, models.CASCADE, related_name="flags", verbose_name=_("check record"))
    kind = models.CharField(_("kind"), max_length=12, choices=FlagKind.choices)
    result = models.ForeignKey(CheckResult, models.SET_NULL, null=True, blank=True, related_name="+",
                               verbose_name=_("item"))
    other_record = models.ForeignKey(CheckRecord, models.SET_NULL, null=True, blank=True, related_name="+",
                                     verbose_name=_("earlier record"))
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("raised at"), default=timezone.now)

    scope = _scope("record__")
    objects = ScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("formalism flag")
        verbose_name_plural = _("formalism flags")
        default_permissions = ("view",)
        indexes = [models.Index(fields=["kind", "created_at"], name="formalism_flag_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.record}"

    @property
    @labelled(_("detail"))
    def detail(self) -> str:
        from worksafe.checks.formalism import describe

        return describe(self)
