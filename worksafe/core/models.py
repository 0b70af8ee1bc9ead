"""Core models: jurisdictions, organisations, users, audit log, API tokens, import jobs."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from worksafe.core.choices import LEVEL_WIDTH, Department, JurisdictionLevel, KeyIndustry, OrganisationKind
from worksafe.core.scoping import Scope, ScopedManager, ScopedQuerySet


class Jurisdiction(models.Model):
    """An administrative division of Fujian (行政区划), keyed by its GB/T 2260 prefix code."""

    code = models.CharField(_("code"), max_length=9, primary_key=True)
    name = models.CharField(_("name"), max_length=50)
    level = models.CharField(_("level"), max_length=10, choices=JurisdictionLevel.choices)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children",
                               verbose_name=_("parent"))
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    # 平潭综合实验区 is reported beside the 9 cities but has no code of its own (it is 平潭县 350128).
    reporting_group = models.CharField(_("reporting group"), max_length=50, blank=True)

    scope = Scope(jurisdiction="code")
    objects = ScopedManager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("jurisdiction")
        verbose_name_plural = _("jurisdictions")

    def __str__(self) -> str:
        return self.name

    @property
    def city_code(self) -> str | None:
        return self.code[: LEVEL_WIDTH["city"]] if len(self.code) >= LEVEL_WIDTH["city"] else None

    @property
    def county_code(self) -> str | None:
        return self.code[: LEVEL_WIDTH["county"]] if len(self.code) >= LEVEL_WIDTH["county"] else None

    def ancestors(self) -> list[Jurisdiction]:
        codes = [self.code[:w] for w in LEVEL_WIDTH.values() if w < len(self.code)]
        return list(Jurisdiction.objects.filter(code__in=codes).order_by("code"))

    @property
    def full_name(self) -> str:
        return "".join(j.name for j in [*self.ancestors()[1:], self]) if len(self.code) > 2 else self.name


class Organisation(models.Model):
    """An organisation users belong to (单位): a regulator, an industry department, an enterprise,
    a third-party agency or a rescue team."""

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=OrganisationKind.choices)
    department = models.CharField(_("department"), max_length=30, choices=Department.choices, blank=True)
    jurisdiction = models.ForeignKey(Jurisdiction, models.PROTECT, related_name="organisations",
                                     verbose_name=_("jurisdiction"))
    # 管行业必须管安全: key-industry classes an industry department supervises.
    supervised_classes = models.JSONField(_("supervised industry classes"), default=list, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    scope = Scope(jurisdiction="jurisdiction__code", organisation="id")
    objects = ScopedManager()

    class Meta:
        ordering = ["jurisdiction_id", "kind", "name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    def clean(self):
        valid = set(KeyIndustry.values)
        bad = [c for c in self.supervised_classes or [] if c not in valid]
        if bad:
            raise ValidationError({"supervised_classes": _("Unknown industry class: {}").format(", ".join(bad))})
        if self.kind == OrganisationKind.INDUSTRY and not self.department:
            raise ValidationError({"department": _("An industry department must say which department it is.")})


class UserManager(DjangoUserManager.from_queryset(ScopedQuerySet)):
    pass


class User(AbstractUser):
    """A natural person with an account (用户); belongs to one organisation and holds roles (Groups)."""

    organisation = models.ForeignKey(Organisation, models.PROTECT, null=True, blank=True, related_name="users",
                                     verbose_name=_("organisation"))
    full_name = models.CharField(_("full name"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)
    must_change_password = models.BooleanField(_("must change password"), default=False)

    scope = Scope(jurisdiction="organisation__jurisdiction__code", organisation="organisation_id")
    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [("assign_roles", "Can assign roles"), ("unlock_user", "Can unlock user")]
        constraints = [
            models.UniqueConstraint(models.functions.Lower("username"), name="core_user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.username

    @cached_property
    def roles(self) -> frozenset[str]:
        return frozenset(self.groups.values_list("name", flat=True))

    @property
    def jurisdiction(self) -> Jurisdiction | None:
        return self.organisation.jurisdiction if self.organisation_id else None

    @property
    def is_enterprise_user(self) -> bool:
        return bool(self.organisation_id) and self.organisation.kind == OrganisationKind.ENTERPRISE

    def set_password(self, raw_password):
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()
        self._password_set = True

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        if getattr(self, "_password_set", False) and self.password:
            PasswordHistory.objects.create(user=self, password=self.password)
            self._password_set = False


class PasswordHistory(models.Model):
    """A previous password hash, so the last N cannot be reused (等保 DB-IA-1)."""

    user = models.ForeignKey(User, models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d}"


class ApiToken(models.Model):
    """A machine credential for the API (接口令牌); only its SHA-256 is stored."""

    user = models.ForeignKey(User, models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, user, name: str, expires_at=None) -> tuple[ApiToken, str]:
        key = "ws_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, key_hash=cls.hash(key), prefix=key[:8],
                                   expires_at=expires_at)
        return token, key


class AuditEntry(models.Model):
    """One audit record (审计记录): who did what, when, from where, to which object, before/after.

    Append-only: a PostgreSQL trigger refuses UPDATE and DELETE, and each row carries an HMAC
    chained over the previous row so that tampering is detectable (`worksafe verify_audit`).
    """

    class Action(models.TextChoices):
        LOGIN = "login", _("Login")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOGOUT = "logout", _("Logout")
        CREATE = "create", _("Create")
        UPDATE = "update", _("Update")
        DELETE = "delete", _("Delete")
        TRANSITION = "transition", _("State change")
        EXPORT = "export", _("Export")
        IMPORT = "import", _("Import")
        SECURITY = "security", _("Security event")

    ts = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    user = models.ForeignKey(User, models.DO_NOTHING, null=True, blank=True, db_constraint=False,
                             related_name="+", verbose_name=_("user"))
    username = models.CharField(_("username"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    request_id = models.CharField(_("request ID"), max_length=36, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object ID"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    alg = models.CharField(max_length=10, default="sm3")
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        permissions = [("verify_auditentry", "Can verify the audit chain")]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.ts:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.object_repr}"


class ImportJob(models.Model):
    """An Excel import (批量导入) with its progress and per-row errors."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")  # uploaded, not started
        RUNNING = "running", _("Running")  # rows being validated or saved
        FAILED = "failed", _("Failed")  # some rows invalid: nothing saved
        DONE = "done", _("Done")  # every row saved

    user = models.ForeignKey(User, models.PROTECT, related_name="+", verbose_name=_("user"))
    model_label = models.CharField(max_length=100)
    filename = models.CharField(_("file name"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(_("rows"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def percent(self) -> int:
        return int(100 * self.processed / self.total) if self.total else 0


def _upload_to(instance, filename: str) -> str:
    stamp = timezone.now()
    return f"attachments/{stamp:%Y/%m}/{secrets.token_hex(8)}-{filename[-80:]}"


class TransitionLog(models.Model):
    """One step of a workflow (流程记录): who moved which record from which state to which, when, and why.

    Written by core.workflow.transition() in the same transaction as the state change; the record's
    detail page shows these rows as its timeline.
    """

    content_type = models.ForeignKey("contenttypes.ContentType", models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64, db_index=True)
    action = models.CharField(_("action"), max_length=40)
    from_state = models.CharField(_("from"), max_length=40)
    to_state = models.CharField(_("to"), max_length=40)
    by = models.ForeignKey(User, models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    comment = models.TextField(_("comment"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id", "at"], name="transition_obj_idx")]
        verbose_name = _("workflow step")
        verbose_name_plural = _("workflow steps")

    def __str__(self) -> str:
        return f"{self.action} {self.from_state}→{self.to_state}"


class Attachment(models.Model):
    """A file attached to a record (附件), e.g. a photo before or after rectification.

    Stores the SHA-256 and a perceptual hash of images, so that the same photo reused across checks
    can be flagged (anti-formalism).
    """

    content_type = models.ForeignKey("contenttypes.ContentType", models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64, db_index=True)
    transition = models.ForeignKey(TransitionLog, models.CASCADE, null=True, blank=True, related_name="attachments")
    role = models.CharField(_("kind"), max_length=20, blank=True)  # before / after / evidence / ...
    file = models.FileField(_("file"), upload_to=_upload_to)
    name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size"), default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    phash = models.CharField(max_length=16, blank=True, db_index=True)
    uploaded_by = models.ForeignKey(User, models.PROTECT, related_name="+", verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="attachment_obj_idx")]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name
