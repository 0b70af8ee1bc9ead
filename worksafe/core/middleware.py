"""Request id, audit context, idle/absolute session limits, password expiry and second-factor gate."""

from __future__ import annotations

import time
import uuid

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from worksafe.core import audit


def client_ip(request) -> str | None:
    """The client address; behind TRUSTED_PROXY_COUNT proxies, taken from X-Forwarded-For."""
    count = getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0)
    if count:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


class RequestIdMiddleware:
    """Gives every request an id (X-Request-ID) and exposes it to the audit writer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.id = str(uuid.uuid4())
        info = audit.RequestInfo(request_id=request.id, ip=client_ip(request))
        request.audit_info = info
        token = audit.set_request(info)
        try:
            response = self.get_response(request)
        finally:
            audit.reset_request(token)
        response["X-Request-ID"] = request.id
        patch_vary_headers(response, ("HX-Request",))  # the same URL answers a table partial to HTMX
        return response


# Paths a half-authenticated user (password expired / second factor pending) may still reach.
_OPEN_PREFIXES = ("/static/", "/accounts/logout/", "/accounts/password/", "/accounts/otp/", "/i18n/",
                  "/accounts/login/", "/healthz")


class SecurityPolicyMiddleware:
    """Session limits, forced password change and required second factor (等保 DB-IA-1/2/4)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if getattr(request, "audit_info", None) is not None and user.is_authenticated:
            request.audit_info.user = user
        if user.is_authenticated and getattr(request, "session", None) is not None:
            response = self._enforce(request, user)
            if response is not None:
                return response
        return self.get_response(request)

    def _enforce(self, request, user):
        now = time.time()
        started = request.session.get("login_at")
        if started is None:
            request.session["login_at"] = now
        elif now - started > settings.SESSION_ABSOLUTE_HOURS * 3600:
            logout(request)
            return redirect(f"{reverse('core:login')}?next={request.path}")
        privileged_expiry(request.session, user)
        if request.path.startswith(_OPEN_PREFIXES) or request.path.startswith("/api/"):
            return None
        if user.must_change_password or password_expired(user):
            return redirect("core:password_change")
        if otp_required(user) and not user.is_verified():
            from django_otp import devices_for_user

            if any(True for _ in devices_for_user(user, confirmed=True)):
                return redirect(f"{reverse('core:otp_verify')}?next={request.path}")
            return redirect("core:otp_setup")
        return None


def privileged_expiry(session, user) -> None:
    """Privileged users (三员 and leaders) time out sooner; set once, as setting it marks the session changed."""
    if user.roles & set(settings.PRIVILEGED_ROLES):
        idle = settings.SESSION_IDLE_MINUTES_PRIVILEGED * 60
        if session.get("_session_expiry") != idle:
            session.set_expiry(idle)


def password_expired(user) -> bool:
    days = settings.PASSWORD_MAX_AGE_DAYS
    if not days or user.password_changed_at is None:
        return False
    return (timezone.now() - user.password_changed_at).days >= days


def otp_required(user) -> bool:
    return bool(user.roles & set(settings.OTP_REQUIRED_ROLES))


BACKGROUND_HEADER = "X-Background"  # set by pages' own polls (inbox badge, live board values and map)


TOUCHED = "_touched"  # session key: when the session row was last saved (epoch s)
TOUCH_EVERY_S = 60


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, except that background polls do not save the session, and an unchanged
    session is saved at most once a minute.

    A page left open polls every few seconds; that is not the user doing anything, so it must not push the
    idle timeout back (SESSION_SAVE_EVERY_REQUEST would). And a page with a map loads its data with a few
    requests at once: saving the same session row from each of them is wasted writes, and on SQLite they
    collided ("database table is locked") and one of them failed. Refreshing the idle timeout once a minute
    keeps it accurate to a minute.
    """

    def process_response(self, request, response):
        session = getattr(request, "session", None)
        if request.headers.get(BACKGROUND_HEADER):
            return self._unsaved(session, response)
        if session is not None and settings.SESSION_SAVE_EVERY_REQUEST and not session.is_empty():
            now = time.time()
            if not session.modified and now - session.get(TOUCHED, 0) < TOUCH_EVERY_S:
                return self._unsaved(session, response)
            session[TOUCHED] = now
        return super().process_response(request, response)

    @staticmethod
    def _unsaved(session, response):
        """The response without saving the session; it still varies on the cookie if the session was read."""
        if session is not None and session.accessed:
            patch_vary_headers(response, ("Cookie",))
        return response
