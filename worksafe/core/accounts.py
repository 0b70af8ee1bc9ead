"""Sign-in, sign-out, password change, TOTP second factor and the user's own account page.

等保 8.1.4.1 (DB-IA-1…4): the same message for an unknown user and a wrong password, lockout by
django-axes (first authentication backend), forced and periodic password changes, and a TOTP
second factor whose tokens cannot be replayed. Every security event is audited; a password never is.
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from worksafe.core import audit
from worksafe.core.middleware import otp_required
from worksafe.core.models import ApiToken, AuditEntry, User
from worksafe.core.roles import ROLE_LABELS
from worksafe.core.widgets import css_class

TOKEN_RE = re.compile(r"^\d{6}$")


def safe_next(request, default: str | None = None) -> str:
    """The `next` parameter if it points back to this site, else LOGIN_REDIRECT_URL."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return target
    return resolve_url(default or settings.LOGIN_REDIRECT_URL)


def _with_next(viewname: str, target: str) -> str:
    return f"{reverse(viewname)}?{urlencode({'next': target})}"


def has_confirmed_device(user) -> bool:
    return any(True for _device in devices_for_user(user, confirmed=True))


def bootstrap_form(form: forms.Form) -> forms.Form:
    """Tabler classes on every widget."""
    for field in form.fields.values():
        css = css_class(field.widget)
        if css:
            field.widget.attrs.setdefault("class", css)
    return form


# --- sign in / sign out ---------------------------------------------------------------------------

class LoginForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(label=gettext_lazy("Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def clean_username(self):
        """Usernames are unique ignoring case: sign in (and count lockout failures) under the stored
        spelling, so `Alice` and `ALICE` are the same account. One query whether or not it exists."""
        typed = self.cleaned_data["username"].strip()
        stored = User.objects.filter(username__iexact=typed).values_list("username", flat=True).first()
        return stored or typed.lower()


@method_decorator([sensitive_post_parameters("password"), csrf_protect, never_cache], name="dispatch")
class LoginView(View):
    """Username + password. Unknown user, wrong password and disabled account get the same answer."""

    template_name = "core/login.html"

    def get(self, request):
        if request.user.is_authenticated:
            return redirect(safe_next(request))
        return self.render(LoginForm())

    def post(self, request):
        form = bootstrap_form(LoginForm(request.POST))
        if not form.is_valid():
            return self.render(form)
        username = form.cleaned_data["username"]
        # Axes (first backend) refuses locked-out names/addresses; ModelBackend refuses inactive users.
        user = authenticate(request=request, username=username, password=form.cleaned_data["password"])
        if user is None:
            if getattr(request, "axes_locked_out", False):
                # AxesMiddleware turns this response into core/locked_out.html.
                audit.record(AuditEntry.Action.SECURITY, object_type="core.user",
                             detail=f"login refused: locked out ({username[:150]})")
            form.add_error(None, _("Wrong username or password."))
            return self.render(form)
        login(request, user)
        target = safe_next(request)
        if has_confirmed_device(user):
            return redirect(_with_next("core:otp_verify", target))
        if otp_required(user):
            return redirect(_with_next("core:otp_setup", target))
        return redirect(target)

    def render(self, form):
        return render(self.request, self.template_name,
                      {"form": bootstrap_form(form), "next": self.request.POST.get("next") or
                       self.request.GET.get("next", "")})


class LogoutView(View):
    """POST only: a link or an image tag cannot sign anybody out. The session row is deleted."""

    http_method_names = ["post"]

    def post(self, request):
        logout(request)  # user_logged_out → audit LOGOUT; flushes the server-side session
        return redirect(settings.LOGOUT_REDIRECT_URL)


# --- password -------------------------------------------------------------------------------------

@method_decorator([sensitive_post_parameters("old_password", "new_password1", "new_password2"), never_cache],
                  name="dispatch")
class PasswordChangeView(LoginRequiredMixin, View):
    """Old password + new twice through every AUTH_PASSWORD_VALIDATOR (classes, history, …)."""

    template_name = "core/password_change.html"
    SESSION_FAILURES = "password_change_failures"

    def get(self, request):
        return self.render(PasswordChangeForm(request.user))

    def post(self, request):
        user = request.user
        form = PasswordChangeForm(user, request.POST)
        if not form.is_valid():
            if "old_password" in form.errors:
                # A stolen session must not become a password-guessing oracle.
                failures = request.session.get(self.SESSION_FAILURES, 0) + 1
                request.session[self.SESSION_FAILURES] = failures
                audit.record(AuditEntry.Action.LOGIN_FAILED, user, user=user, detail="password change: wrong old password")
                if failures >= settings.AXES_FAILURE_LIMIT:
                    logout(request)
                    messages.error(request, _("Too many wrong passwords; please sign in again."))
                    return redirect(settings.LOGOUT_REDIRECT_URL)
            return self.render(form)
        with transaction.atomic():
            user.must_change_password = False
            form.save()  # set_password → password_changed_at and a PasswordHistory row
            audit.record(AuditEntry.Action.SECURITY, user, user=user, detail="password changed")
        update_session_auth_hash(request, user)
        request.session.pop(self.SESSION_FAILURES, None)
        messages.success(request, _("Your password has been changed."))
        return redirect(safe_next(request))

    def render(self, form):
        user = self.request.user
        return render(self.request, self.template_name, {
            "form": bootstrap_form(form), "next": self.request.POST.get("next") or self.request.GET.get("next", ""),
            "forced": user.must_change_password, "max_age_days": settings.PASSWORD_MAX_AGE_DAYS,
        })


# --- second factor --------------------------------------------------------------------------------

class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("6-digit code"), max_length=6, min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "pattern": "[0-9]{6}", "autofocus": True}))

    def clean_token(self):
        token = self.cleaned_data["token"].strip()
        if not TOKEN_RE.match(token):
            raise forms.ValidationError(_("Enter the 6 digits shown in your authenticator app."))
        return token


def qr_svg(data: str) -> str:
    """The otpauth:// URL as an inline SVG QR code (no external service sees the secret)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


@method_decorator(never_cache, name="dispatch")
class OtpSetupView(LoginRequiredMixin, View):
    """Enrol a TOTP authenticator: scan the QR code (or type the secret), then prove it with a code."""

    template_name = "core/otp_setup.html"

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and has_confirmed_device(user) and not user.is_verified():
            # Enrolling a new device must not bypass the one already registered.
            return redirect(_with_next("core:otp_verify", safe_next(request)))
        return super().dispatch(request, *args, **kwargs)

    def device(self):
        user = self.request.user
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=_("Authenticator app")[:64], confirmed=False)
        return device

    def get(self, request):
        return self.render(TokenForm(), self.device())

    def post(self, request):
        device = self.device()
        form = TokenForm(request.POST)
        if form.is_valid():
            with transaction.atomic():
                device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
                if device.verify_token(form.cleaned_data["token"]):
                    replaced = TOTPDevice.objects.filter(user=request.user, confirmed=True).exclude(pk=device.pk)
                    replaced_count = replaced.count()
                    replaced.delete()
                    device.confirmed = True
                    device.save(update_fields=["confirmed"])
                    audit.record(AuditEntry.Action.SECURITY, request.user, user=request.user,
                                 detail="otp enabled" + (" (replaced previous device)" if replaced_count else ""))
                    request.session.cycle_key()
                    otp_login(request, device)
                    messages.success(request, _("Two-factor authentication is on."))
                    return redirect(safe_next(request))
            audit.record(AuditEntry.Action.LOGIN_FAILED, request.user, user=request.user, detail="otp setup")
            form.add_error("token", _("That code is not valid. Check the time on your phone and try again."))
        return self.render(form, device)

    def render(self, form, device):
        url = device.config_url
        return render(self.request, self.template_name, {
            "form": bootstrap_form(form), "qr_svg": qr_svg(url),
            "secret": base64.b32encode(device.bin_key).decode().rstrip("="),
            "next": self.request.POST.get("next") or self.request.GET.get("next", ""),
            "replacing": has_confirmed_device(self.request.user),
        })


@method_decorator(never_cache, name="dispatch")
class OtpVerifyView(LoginRequiredMixin, View):
    """Second step of sign-in: a current code from a confirmed device. A code works once only
    (TOTPDevice keeps the last accepted time step), and failures are throttled by django-otp."""

    template_name = "core/otp_verify.html"

    def get(self, request):
        if request.user.is_verified():
            return redirect(safe_next(request))
        if not has_confirmed_device(request.user):
            return redirect(_with_next("core:otp_setup", safe_next(request)))
        return self.render(TokenForm())

    def post(self, request):
        user = request.user
        if user.is_verified():
            return redirect(safe_next(request))
        form = TokenForm(request.POST)
        if form.is_valid():
            token = form.cleaned_data["token"]
            with transaction.atomic():
                # Row locks: two requests racing with the same code cannot both succeed.
                for device in devices_for_user(user, confirmed=True, for_verify=True):
                    if device.verify_token(token):
                        request.session.cycle_key()  # new privilege level, new session id
                        otp_login(request, device)
                        audit.record(AuditEntry.Action.SECURITY, user, user=user, detail="otp verified")
                        return redirect(safe_next(request))
            form.add_error("token", _("That code is not valid or has already been used."))
        audit.record(AuditEntry.Action.LOGIN_FAILED, user, user=user, detail="otp")
        return self.render(form)

    def render(self, form):
        return render(self.request, self.template_name, {
            "form": bootstrap_form(form), "next": self.request.POST.get("next") or self.request.GET.get("next", ""),
        })


# --- my account: profile and API tokens -----------------------------------------------------------

class ApiTokenForm(forms.Form):
    EXPIRY_CHOICES = [(30, gettext_lazy("30 days")), (90, gettext_lazy("90 days")),
                      (180, gettext_lazy("180 days")), (365, gettext_lazy("1 year"))]

    name = forms.CharField(label=gettext_lazy("Token name"), max_length=100,
                           help_text=gettext_lazy("What the token is for, e.g. the system that uses it."))
    expires_in = forms.TypedChoiceField(label=gettext_lazy("Valid for"), choices=EXPIRY_CHOICES, coerce=int,
                                        initial=90)


@method_decorator(never_cache, name="dispatch")
class ApiTokenView(LoginRequiredMixin, View):
    """我的账号: who I am, my roles, my second factor and my API tokens (a new key is shown once)."""

    template_name = "core/profile.html"

    def get(self, request):
        return self.render(ApiTokenForm())

    def post(self, request):
        user = request.user
        if "revoke" in request.POST:
            token = get_object_or_404(ApiToken, pk=request.POST.get("revoke") or 0, user=user)
            with transaction.atomic():
                audit.record(AuditEntry.Action.SECURITY, token, user=user, detail="api token revoked")
                token.delete()
            messages.success(request, _("The token has been revoked."))
            return redirect("core:profile")
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            return self.render(form)
        expires_at = timezone.now() + timedelta(days=form.cleaned_data["expires_in"])
        with transaction.atomic():
            token, key = ApiToken.issue(user, form.cleaned_data["name"], expires_at=expires_at)
            audit.record(AuditEntry.Action.SECURITY, token, user=user, detail="api token issued",
                         after={"name": token.name, "prefix": token.prefix, "expires_at": expires_at})
        # The key is rendered in this response only; it is never stored or redirected with.
        return self.render(ApiTokenForm(), new_key=key, new_token=token)

    def render(self, form, **extra):
        user = self.request.user
        roles = [ROLE_LABELS.get(name, name) for name in sorted(user.roles)]
        return render(self.request, self.template_name, {
            "form": bootstrap_form(form), "tokens": user.api_tokens.order_by("-created_at"),
            "roles": roles, "otp_enabled": has_confirmed_device(user), "now": timezone.now(),
            "password_expires_at": (user.password_changed_at + timedelta(days=settings.PASSWORD_MAX_AGE_DAYS))
            if settings.PASSWORD_MAX_AGE_DAYS and user.password_changed_at else None,
            **extra,
        })
