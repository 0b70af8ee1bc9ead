"""The three separated administrator consoles (三权分立, GB/T 22239 8.1.5.1–8.1.5.3).

- 系统管理员 (core.add_user / core.change_user): accounts — list, create, disable/enable. No roles.
- 安全管理员 (core.assign_roles / core.unlock_user): role assignment and unlocking locked-out accounts.
- 审计管理员 (core.view_auditentry / core.verify_auditentry): read, export and verify the audit log.

Each view checks its own permission (403 otherwise), users are narrowed with `User.objects.scoped`,
and every action — including reading the audit log — leaves an audit entry.
"""

from __future__ import annotations

import secrets

import django_filters
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.cache import never_cache

from worksafe.core import audit, excel
from worksafe.core.accounts import bootstrap_form
from worksafe.core.choices import OrganisationKind
from worksafe.core.filters import JurisdictionFilter, ScopedFilterSet
from worksafe.core.generic import ScopedForm
from worksafe.core.models import AuditEntry, Organisation, User
from worksafe.core.roles import ROLE_LABELS
from worksafe.core.widgets import DateInput


class PermissionView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Signed-in users only; a missing permission is a 403, never a login loop."""

    raise_exception = True

    def handle_no_permission(self):
        if not self.request.user.is_authenticated:
            return redirect_to_login(self.request.get_full_path())
        return super().handle_no_permission()


def _filter_widgets(filterset):
    bootstrap_form(filterset.form)
    return filterset


# --- shared user list (系统管理员 + 安全管理员) ---------------------------------------------------

class UserFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=gettext_lazy("Search"), method="search")
    organisation = django_filters.ModelChoiceFilter(label=gettext_lazy("Organisation"),
                                                    queryset=Organisation.objects.none())
    jurisdiction = JurisdictionFilter(code_path="organisation__jurisdiction__code",
                                      levels=("province", "city", "county"))
    is_active = django_filters.BooleanFilter(label=gettext_lazy("Active"))

    class Meta:
        model = User
        fields = ["q", "organisation", "jurisdiction", "is_active"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        user = request.user
        # Government organisations as a list; enterprises (thousands) are found by the text search.
        organisations = (Organisation.objects.scoped(user).exclude(kind=OrganisationKind.ENTERPRISE)
                         .order_by("jurisdiction_id", "name"))
        self.filters["organisation"].queryset = organisations
        self.form.fields["organisation"].queryset = organisations  # the form exists already (ScopedFilterSet)
        _filter_widgets(self)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(username__icontains=value) | Q(full_name__icontains=value) |
                               Q(phone__icontains=value) | Q(organisation__name__icontains=value))


def locked_usernames(usernames) -> set[str]:
    """Which of these usernames django-axes currently locks out (failures within the cool-off)."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME if settings.AXES_COOLOFF_TIME else None
    attempts = AccessAttempt.objects.filter(username__in=list(usernames),
                                            failures_since_start__gte=settings.AXES_FAILURE_LIMIT)
    if since is not None:
        attempts = attempts.filter(attempt_time__gte=since)
    return set(attempts.values_list("username", flat=True))


class UserListView(PermissionView):
    """Accounts in the administrator's jurisdiction, with the actions their role allows."""

    permission_required = "core.view_user"
    template_name = "core/users.html"

    def get(self, request):
        user = request.user
        qs = (User.objects.visible_to(user, "view").select_related("organisation", "organisation__jurisdiction")
              .prefetch_related("groups").order_by("organisation__jurisdiction_id", "username"))
        filterset = UserFilterSet(request.GET or None, queryset=qs, request=request)
        page = Paginator(filterset.qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        rows = list(page.object_list)
        for row in rows:
            row.role_names = [ROLE_LABELS.get(g.name, g.name) for g in row.groups.all()]
        return render(request, self.template_name, {
            "filterset": filterset, "page": page, "rows": rows, "querystring": query.urlencode(),
            "locked": locked_usernames(u.username for u in rows), "role_labels": ROLE_LABELS,
            "can_add": user.has_perm("core.add_user"), "can_toggle": user.has_perm("core.change_user"),
            "can_assign": user.has_perm("core.assign_roles"), "can_unlock": user.has_perm("core.unlock_user"),
        })


# --- 系统管理员: create and disable accounts -----------------------------------------------------

def generate_password(user=None, length: int = 16) -> str:
    """A random initial password that passes every AUTH_PASSWORD_VALIDATOR (shown once)."""
    # No look-alikes (0/O, 1/l/I) and no HTML-special symbols: it is read out or copied by hand.
    groups = ("abcdefghijkmnpqrstuvwxyz", "ABCDEFGHJKLMNPQRSTUVWXYZ", "23456789", "#%*+-=?@_")
    alphabet = "".join(groups)
    while True:
        candidate = "".join(secrets.choice(alphabet) for _i in range(max(length, settings.PASSWORD_MIN_LENGTH)))
        if not all(any(c in group for c in candidate) for group in groups):
            continue
        try:
            validate_password(candidate, user)
        except ValidationError:
            continue
        return candidate


class UserCreateForm(ScopedForm):
    class Meta:
        model = User
        fields = ["username", "full_name", "phone", "email", "organisation"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].required = True
        self.fields["organisation"].queryset = self.fields["organisation"].queryset.filter(is_active=True)
        self.fields["full_name"].required = True

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(_("This username is already taken."))
        return username


@method_decorator(never_cache, name="dispatch")
class UserCreateView(PermissionView):
    """Create an account with a one-time initial password; the user must change it at first sign-in."""

    permission_required = "core.add_user"
    template_name = "core/user_form.html"

    def get(self, request):
        return render(request, self.template_name, {"form": bootstrap_form(UserCreateForm(user=request.user))})

    def post(self, request):
        form = bootstrap_form(UserCreateForm(request.POST, user=request.user))
        if not form.is_valid():
            return render(request, self.template_name, {"form": form})
        with transaction.atomic():
            new_user = form.save(commit=False)
            password = generate_password(new_user)
            new_user.set_password(password)
            new_user.must_change_password = True
            new_user.save()
            audit.record(AuditEntry.Action.CREATE, new_user, after=audit.snapshot(new_user), detail="user created")
        # Rendered once in this response; never stored in clear, never put in a URL or the session.
        return render(request, self.template_name, {"created": new_user, "password": password})


def kill_sessions(user) -> int:
    """Delete every server-side session of the user (disabling an account ends it now)."""
    killed = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            killed += 1
    return killed


class UserToggleView(PermissionView):
    """Disable (and sign out everywhere) or re-enable an account."""

    permission_required = "core.change_user"
    http_method_names = ["post"]

    def post(self, request, pk):
        target = get_object_or_404(User.objects.scoped(request.user), pk=pk)
        if target.pk == request.user.pk:
            messages.error(request, _("You cannot disable your own account."))
            return redirect("core:user_list")
        before = audit.snapshot(target)
        with transaction.atomic():
            target.is_active = not target.is_active
            target.save(update_fields=["is_active"])
            killed = 0 if target.is_active else kill_sessions(target)
            audit.record(AuditEntry.Action.UPDATE, target, before=before, after=audit.snapshot(target),
                         detail="user enabled" if target.is_active else f"user disabled, {killed} session(s) ended")
        if target.is_active:
            messages.success(request, _("Account {name} enabled.").format(name=target.username))
        else:
            messages.success(request, _("Account {name} disabled and signed out.").format(name=target.username))
        return redirect("core:user_list")


# --- 安全管理员: roles and unlocking ---------------------------------------------------------------

class RoleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return ROLE_LABELS.get(obj.name, obj.name)


class UserRolesForm(forms.Form):
    roles = RoleChoiceField(label=gettext_lazy("Roles"), queryset=Group.objects.none(), required=False,
                            widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        order = Case(*[When(name=name, then=Value(i)) for i, name in enumerate(ROLE_LABELS)])
        self.fields["roles"].queryset = Group.objects.filter(name__in=list(ROLE_LABELS)).order_by(order)


@method_decorator(never_cache, name="dispatch")
class UserRolesView(PermissionView):
    """Grant or withdraw roles; the 三权分立 guard (core/signals.py) refuses two administrator roles."""

    permission_required = "core.assign_roles"
    template_name = "core/user_roles.html"

    def target(self):
        target = get_object_or_404(User.objects.scoped(self.request.user), pk=self.kwargs["pk"])
        return target

    def get(self, request, pk):
        target = self.target()
        form = UserRolesForm(initial={"roles": list(target.groups.filter(name__in=list(ROLE_LABELS)))})
        return self.render(form, target)

    def post(self, request, pk):
        target = self.target()
        form = UserRolesForm(request.POST)
        if target.pk == request.user.pk:
            form.is_valid()
            form.add_error(None, _("You cannot change your own roles; ask another security administrator."))
            return self.render(form, target)
        if not form.is_valid():
            return self.render(form, target)
        before = sorted(target.groups.values_list("name", flat=True))
        # Groups that are not roles (if any) are kept as they are.
        chosen = list(form.cleaned_data["roles"]) + list(target.groups.exclude(name__in=list(ROLE_LABELS)))
        try:
            with transaction.atomic():
                target.groups.set(chosen)
                after = sorted(target.groups.values_list("name", flat=True))
                if after != before:
                    audit.record(AuditEntry.Action.UPDATE, target, before={"roles": before},
                                 after={"roles": after}, detail="roles changed")
        except ValidationError as exc:
            form.add_error("roles", exc.messages)
            return self.render(form, target)
        messages.success(request, _("Roles of {name} saved.").format(name=target))
        return redirect("core:user_list")

    def render(self, form, target):
        return render(self.request, self.template_name, {"form": form, "target": target, "role_labels": ROLE_LABELS})


class UserUnlockView(PermissionView):
    """Clear django-axes failures for the account's username (after a lockout)."""

    permission_required = "core.unlock_user"
    http_method_names = ["post"]

    def post(self, request, pk):
        target = get_object_or_404(User.objects.scoped(request.user), pk=pk)
        with transaction.atomic():
            removed = axes_reset(username=target.username)
            audit.record(AuditEntry.Action.SECURITY, target, detail=f"user unlocked ({removed} lockout record(s) cleared)")
        messages.success(request, _("Account {name} unlocked.").format(name=target.username))
        return redirect("core:user_list")


# --- 审计管理员: read, export and verify the audit log ---------------------------------------------

class AuditFilterSet(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(label=gettext_lazy("Action"), choices=AuditEntry.Action.choices)
    username = django_filters.CharFilter(label=gettext_lazy("Username"), lookup_expr="icontains")
    object_type = django_filters.CharFilter(label=gettext_lazy("Object type"), lookup_expr="icontains")
    date_from = django_filters.DateFilter(label=gettext_lazy("From"), field_name="ts", lookup_expr="date__gte",
                                          widget=DateInput())
    date_to = django_filters.DateFilter(label=gettext_lazy("To"), field_name="ts", lookup_expr="date__lte",
                                        widget=DateInput())

    class Meta:
        model = AuditEntry
        fields = ["action", "username", "object_type", "date_from", "date_to"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _filter_widgets(self)


AUDIT_COLUMNS = ["ts", "username", "ip", "action", "object_type", "object_id", "object_repr", "detail",
                 "request_id"]


@method_decorator(never_cache, name="dispatch")
class AuditListView(PermissionView):
    """The audit log, filtered and paginated; `?export=xlsx` downloads the filtered rows.
    Reading and exporting are themselves audited (auditing the auditor, DB-AU-1)."""

    permission_required = "core.view_auditentry"
    template_name = "core/audit_list.html"

    def get(self, request):
        filterset = AuditFilterSet(request.GET or None, queryset=AuditEntry.objects.all())
        qs = filterset.qs if filterset.is_bound else filterset.queryset
        filters = request.GET.copy()
        filters.pop("page", None)
        filters.pop("export", None)
        if request.GET.get("export") == "xlsx":
            count = qs.count()
            audit.record(AuditEntry.Action.EXPORT, object_type="core.auditentry",
                         detail=f"audit log export: {count} rows; filters: {filters.urlencode()}")
            name = f"{AuditEntry._meta.verbose_name_plural}-{timezone.localdate().isoformat()}.xlsx"
            return excel.export_response(name, excel.columns_for(AuditEntry, AUDIT_COLUMNS),
                                         qs.iterator(chunk_size=2000))
        # Recorded before the query, so the page and its count agree (the reader sees their own read).
        audit.record(AuditEntry.Action.SECURITY, object_type="core.auditentry",
                     detail=f"audit log read: page {request.GET.get('page', '1')[:10]}; filters: {filters.urlencode()}")
        page = Paginator(qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, self.template_name, {
            "filterset": filterset, "page": page, "rows": page.object_list, "querystring": filters.urlencode(),
            "can_verify": request.user.has_perm("core.verify_auditentry"),
            "broken": request.session.pop("audit_broken", None),
        })


class AuditVerifyView(PermissionView):
    """Recompute the HMAC chain over every entry and report the ids that do not match."""

    permission_required = "core.verify_auditentry"
    http_method_names = ["post"]

    def post(self, request):
        broken = audit.verify_chain()
        shown = broken[:100]
        audit.record(AuditEntry.Action.SECURITY, object_type="core.auditentry",
                     detail="audit chain verified: " + ("intact" if not broken else
                                                        f"{len(broken)} broken: {shown}")[:450])
        if broken:
            messages.error(request, _("The audit chain is broken at {n} entries.").format(n=len(broken)))
            request.session["audit_broken"] = shown
        else:
            messages.success(request, _("The audit chain is intact."))
        return redirect("core:audit_list")
