"""等保 8.1.4.1–8.1.4.3 and 8.1.5: passwords, lockout, sessions, second factor, 三权分立, audit.

Each test names the control it proves (DB-IA-*, DB-AC-*, DB-AU-* in /work/shared/rules/security.md).
"""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
from axes.utils import reset as axes_reset
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from worksafe.core import audit
from worksafe.core import roles as R
from worksafe.core.choices import OrganisationKind
from worksafe.core.middleware import TOUCHED
from worksafe.core.models import ApiToken, AuditEntry, User
from worksafe.core.testing import make_org, make_user

pytestmark = pytest.mark.django_db

PASSWORD = "Xk9#long-enough"
WRONG = "Wrong#Guess-77"
ADMIN_URL_ROLES = [R.SYSTEM_ADMIN, R.SECURITY_ADMIN, R.AUDIT_ADMIN, R.REGULATOR_STAFF]


@pytest.fixture(autouse=True)
def _clean_axes(db):
    axes_reset()
    yield
    axes_reset()


@pytest.fixture
def province(db):
    return make_org("福建省应急管理厅", OrganisationKind.EMERGENCY, "35")


@pytest.fixture
def xiamen(db):
    return make_org("厦门市应急管理局", OrganisationKind.EMERGENCY, "3502")


@pytest.fixture
def fuzhou(db):
    return make_org("福州市应急管理局", OrganisationKind.EMERGENCY, "3501")


@pytest.fixture
def alice(xiamen):
    return make_user("alice", xiamen, [R.REGULATOR_STAFF], password=PASSWORD, full_name="林晓峰")


@pytest.fixture
def sysadmin(province):
    return make_user("sysadmin", province, [R.SYSTEM_ADMIN], password=PASSWORD, full_name="许建平")


@pytest.fixture
def secadmin(province):
    return make_user("secadmin", province, [R.SECURITY_ADMIN], password=PASSWORD, full_name="蔡文静")


@pytest.fixture
def auditadmin(province):
    return make_user("auditadmin", province, [R.AUDIT_ADMIN], password=PASSWORD, full_name="黄振华")


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def login(client, username, password, **extra):
    return client.post(reverse("core:login"), {"username": username, "password": password, **extra})


def login_error(response) -> str:
    match = re.search(r'data-testid="login-error">(.*?)</div>', response.content.decode(), re.S)
    return match.group(1).strip() if match else ""


def current_token(device) -> str:
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


def confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- DB-IA-1: password rules ----------------------------------------------------------------------

def test_strong_password_is_accepted(alice):
    validate_password("Xk9#long-enough-2", alice)


@pytest.mark.parametrize(("_case", "password"), [
    ("one class", "abcdefgh"),
    ("two classes", "abcd1234"),
    ("too short", "Ab1!"),
    ("common", "Aa123456"),
    ("digits only", "12345678901"),
])
def test_weak_password_is_refused(_case, password, alice):
    with pytest.raises(ValidationError):
        validate_password(password, alice)


def test_each_of_the_last_five_passwords_is_refused(alice, settings):
    settings.PASSWORD_HISTORY = 5
    history = [f"Xk9#history-{i}" for i in range(5)]
    for password in history:
        alice.set_password(password)
        alice.save()
    for password in history:
        with pytest.raises(ValidationError) as exc:
            validate_password(password, alice)
        assert "password_reused" in [e.code for e in exc.value.error_list]
    # PASSWORD (set first) has dropped out of the last five: allowed again.
    validate_password(PASSWORD, alice)


def test_password_change_refuses_weak_and_reused_then_accepts_strong(alice):
    client = as_user(alice)
    url = reverse("core:password_change")
    for new in ("abcd1234", PASSWORD):
        response = client.post(url, {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
        assert response.status_code == 200
        alice.refresh_from_db()
        assert alice.check_password(PASSWORD)
    response = client.post(url, {"old_password": PASSWORD, "new_password1": "Pq7!brand-new-one",
                                 "new_password2": "Pq7!brand-new-one"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("Pq7!brand-new-one")
    assert not alice.must_change_password
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SECURITY, user=alice, detail="password changed").exists()
    assert is_logged_in(client)  # update_session_auth_hash kept the session


def test_repeated_wrong_old_password_ends_the_session(alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = as_user(alice)
    for _attempt in range(3):
        response = client.post(reverse("core:password_change"), {
            "old_password": WRONG, "new_password1": "Pq7!brand-new-one", "new_password2": "Pq7!brand-new-one"})
    assert response.status_code == 302 and not is_logged_in(client)
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_must_change_password_forces_the_change_page(alice):
    alice.must_change_password = True
    alice.save()
    client = as_user(alice)
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 302
    assert response.url == reverse("core:password_change")
    assert client.get(reverse("core:password_change")).status_code == 200
    client.post(reverse("core:password_change"), {"old_password": PASSWORD, "new_password1": "Pq7!brand-new-one",
                                                  "new_password2": "Pq7!brand-new-one"})
    alice.refresh_from_db()
    assert not alice.must_change_password
    assert client.get(reverse("core:user_list")).status_code == 403  # past the gate (no permission here)


def test_expired_password_forces_the_change_page(alice, settings):
    settings.PASSWORD_MAX_AGE_DAYS = 90
    User.objects.filter(pk=alice.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    client = as_user(alice)
    response = client.get(reverse("core:user_list"))
    assert response.status_code == 302 and response.url == reverse("core:password_change")
    # Logging out stays possible.
    assert client.post(reverse("core:logout")).status_code == 302


def test_password_younger_than_max_age_is_not_forced(alice, settings):
    settings.PASSWORD_MAX_AGE_DAYS = 90
    User.objects.filter(pk=alice.pk).update(password_changed_at=timezone.now() - timedelta(days=89))
    response = as_user(alice).get(reverse("core:user_list"))
    assert response.status_code == 403  # reached the view, which refuses a regulator


# --- DB-IA-2: failed sign-ins, lockout, sessions ------------------------------------------------

def test_unknown_user_wrong_password_and_disabled_user_get_the_same_message(alice, settings):
    settings.AXES_ENABLED = True
    make_user("bob", alice.organisation, [R.REGULATOR_STAFF], password=PASSWORD, is_active=False)
    unknown = login(Client(), "nobody", WRONG)
    wrong = login(Client(), "alice", WRONG)
    disabled = login(Client(), "bob", PASSWORD)
    assert unknown.status_code == wrong.status_code == disabled.status_code == 200
    assert login_error(unknown) and login_error(unknown) == login_error(wrong) == login_error(disabled)


def test_successful_login_is_audited_and_lands_on_next(alice):
    client = Client()
    response = login(client, "alice", PASSWORD, next=reverse("core:profile"))
    assert response.status_code == 302 and response.url == reverse("core:profile")
    assert is_logged_in(client)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN, user=alice).exists()


def test_username_is_case_insensitive_for_sign_in_and_lockout(alice, settings):
    settings.AXES_ENABLED = True
    client = Client()
    assert login(client, "ALICE", PASSWORD).status_code == 302 and is_logged_in(client)
    for i, spelling in enumerate(("Alice", "ALICE", "aLiCe", "alicE", "ALIce"), start=1):
        login(Client(REMOTE_ADDR=f"10.0.0.{i}"), spelling, WRONG)
    # Five failures under five spellings (and different addresses) still lock the one account.
    assert login(Client(REMOTE_ADDR="10.1.1.1"), "alice", PASSWORD).status_code == 429


def test_next_pointing_elsewhere_is_ignored(alice, settings):
    settings.LOGIN_REDIRECT_URL = "/"
    response = login(Client(), "alice", PASSWORD, next="https://evil.example/steal")
    assert response.status_code == 302 and response.url == "/"


def test_five_failures_lock_the_account_and_the_right_password_is_refused(alice, settings):
    settings.AXES_ENABLED = True
    client = Client()
    for _attempt in range(5):
        response = login(client, "alice", WRONG)
    assert response.status_code == 429
    assert 'data-testid="locked-out"' in response.content.decode()
    response = login(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert not is_logged_in(client)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN_FAILED, detail="alice").count() >= 5
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SECURITY, detail__contains="locked out").exists()
    # DB-AU-2: no password, right or wrong, in any audit row.
    for entry in AuditEntry.objects.all():
        text = json.dumps([entry.detail, entry.object_repr, entry.before, entry.after, entry.username],
                          ensure_ascii=False)
        assert PASSWORD not in text and WRONG not in text


def test_lockout_of_one_address_does_not_block_another_user_elsewhere(alice, settings):
    settings.AXES_ENABLED = True
    make_user("bob", alice.organisation, [R.REGULATOR_STAFF], password=PASSWORD)
    for _attempt in range(5):
        login(Client(), "alice", WRONG)
    other = Client(REMOTE_ADDR="10.9.8.7")
    response = login(other, "bob", PASSWORD)
    assert response.status_code == 302 and is_logged_in(other)


def test_lockout_page_names_the_lockout_minutes(alice, settings):
    settings.AXES_ENABLED = True
    settings.AXES_COOLOFF_TIME = timedelta(minutes=30)
    for _attempt in range(5):
        response = login(Client(), "alice", WRONG)
    assert "30" in response.content.decode()


def test_security_admin_unlocks_and_the_user_can_sign_in_again(alice, secadmin, settings):
    settings.AXES_ENABLED = True
    for _attempt in range(5):
        login(Client(), "alice", WRONG)
    assert login(Client(), "alice", PASSWORD).status_code == 429
    listing = as_user(secadmin).get(reverse("core:user_list"))
    assert 'data-testid="locked"' in listing.content.decode()
    response = as_user(secadmin).post(reverse("core:user_unlock", args=[alice.pk]))
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SECURITY, object_id=str(alice.pk),
                                     detail__startswith="user unlocked").exists()
    client = Client()
    assert login(client, "alice", PASSWORD).status_code == 302 and is_logged_in(client)


def test_sessions_expire_when_idle(settings):
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_MINUTES * 60


def test_background_polls_do_not_push_the_idle_timeout_back(alice):
    client = Client()
    login(client, "alice", PASSWORD)
    key = client.session.session_key
    soon = timezone.now() + timedelta(seconds=30)
    Session.objects.filter(session_key=key).update(expire_date=soon)
    store = SessionStore(session_key=key)
    store[TOUCHED] -= 61  # last saved over a minute ago
    store.save()
    Session.objects.filter(session_key=key).update(expire_date=soon)
    assert client.get(reverse("core:profile"), HTTP_X_BACKGROUND="1").status_code == 200
    assert Session.objects.get(session_key=key).expire_date == soon  # a poll is not activity
    assert client.get(reverse("core:profile")).status_code == 200
    assert Session.objects.get(session_key=key).expire_date > soon + timedelta(minutes=1)  # a click is


def test_an_unchanged_session_is_saved_at_most_once_a_minute(alice):
    """A page's own data requests (map layers …) come together: one save of the session row is enough."""
    client = Client()
    login(client, "alice", PASSWORD)
    assert client.get(reverse("core:profile")).status_code == 200
    key = client.session.session_key
    soon = timezone.now() + timedelta(seconds=30)
    Session.objects.filter(session_key=key).update(expire_date=soon)
    assert client.get(reverse("core:profile")).status_code == 200
    assert Session.objects.get(session_key=key).expire_date == soon  # saved less than a minute ago: not again
    store = SessionStore(session_key=key)
    store[TOUCHED] -= 61
    store.save()
    Session.objects.filter(session_key=key).update(expire_date=soon)
    assert client.get(reverse("core:profile")).status_code == 200
    assert Session.objects.get(session_key=key).expire_date > soon + timedelta(minutes=1)  # a minute later: saved


def test_idle_session_is_not_accepted(alice):
    client = Client()
    login(client, "alice", PASSWORD)
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("core:profile"))
    assert response.status_code == 302 and response.url.startswith(reverse("core:login"))


def test_session_older_than_the_absolute_limit_is_logged_out(alice, settings):
    client = Client()
    login(client, "alice", PASSWORD)
    session = client.session
    session["login_at"] = time.time() - settings.SESSION_ABSOLUTE_HOURS * 3600 - 60
    session.save()
    response = client.get(reverse("core:profile"))
    assert response.status_code == 302 and response.url.startswith(reverse("core:login"))
    assert not is_logged_in(client)
    assert not Session.objects.filter(session_key=session.session_key).exists()


def test_logout_is_post_only_and_deletes_the_session(alice):
    client = as_user(alice)
    key = client.session.session_key
    assert client.get(reverse("core:logout")).status_code == 405
    response = client.post(reverse("core:logout"))
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.LOGOUT, user=alice).exists()


# --- DB-IA-4: second factor -----------------------------------------------------------------------

@pytest.fixture
def otp_roles(settings):
    settings.OTP_REQUIRED_ROLES = [R.SYSTEM_ADMIN, R.SECURITY_ADMIN, R.AUDIT_ADMIN, R.REGULATOR_STAFF]


def test_regulator_without_device_is_sent_to_setup(alice, otp_roles):
    client = Client()
    response = login(client, "alice", PASSWORD)
    assert response.status_code == 302 and response.url.startswith(reverse("core:otp_setup"))
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 302 and response.url == reverse("core:otp_setup")


def test_setup_confirms_the_device_with_a_code(alice, otp_roles):
    client = Client()
    login(client, "alice", PASSWORD)
    page = client.get(reverse("core:otp_setup"))
    assert page.status_code == 200 and "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=alice, confirmed=False)
    response = client.post(reverse("core:otp_setup"), {"token": current_token(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SECURITY, user=alice, detail="otp enabled").exists()
    assert client.get(reverse("core:profile")).status_code == 200


def test_setup_refuses_a_wrong_code(alice, otp_roles):
    client = Client()
    login(client, "alice", PASSWORD)
    client.get(reverse("core:otp_setup"))
    response = client.post(reverse("core:otp_setup"), {"token": "000000"})
    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=alice, confirmed=True).exists()


def test_password_only_session_is_sent_to_verify(sysadmin, otp_roles):
    confirmed_device(sysadmin)
    client = Client()
    response = login(client, "sysadmin", PASSWORD)
    assert response.status_code == 302 and response.url.startswith(reverse("core:otp_verify"))
    response = client.get(reverse("core:user_list"))
    assert response.status_code == 302 and response.url.startswith(reverse("core:otp_verify"))
    # An enrolled user cannot enrol another device before passing the second factor.
    response = client.get(reverse("core:otp_setup"))
    assert response.status_code == 302 and response.url.startswith(reverse("core:otp_verify"))


def test_valid_code_passes_and_a_replayed_code_is_refused(sysadmin, otp_roles):
    device = confirmed_device(sysadmin)
    first, second = Client(), Client()
    login(first, "sysadmin", PASSWORD)
    login(second, "sysadmin", PASSWORD)
    token = current_token(device)
    key_before = first.session.session_key
    response = first.post(reverse("core:otp_verify"), {"token": token, "next": reverse("core:user_list")})
    assert response.status_code == 302 and response.url == reverse("core:user_list")
    assert first.get(reverse("core:user_list")).status_code == 200
    assert first.session.session_key != key_before  # session id renewed at the new privilege level
    replay = second.post(reverse("core:otp_verify"), {"token": token})
    assert replay.status_code == 200  # form shown again with an error
    assert second.get(reverse("core:user_list")).status_code == 302
    assert AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN_FAILED, user=sysadmin, detail="otp").exists()


# --- DB-AC-2: 三权分立 -----------------------------------------------------------------------------

def test_a_second_admin_role_is_refused_by_the_model_guard(sysadmin):
    with pytest.raises(ValidationError), transaction.atomic():
        sysadmin.groups.add(Group.objects.get(name=R.AUDIT_ADMIN))
    assert set(sysadmin.groups.values_list("name", flat=True)) == {R.SYSTEM_ADMIN}


def test_security_admin_giving_a_system_admin_the_audit_role_sees_a_form_error(sysadmin, secadmin):
    groups = Group.objects.filter(name__in=[R.SYSTEM_ADMIN, R.AUDIT_ADMIN])
    response = as_user(secadmin).post(reverse("core:user_roles", args=[sysadmin.pk]),
                                      {"roles": [g.pk for g in groups]})
    assert response.status_code == 200
    with translation.override("zh-hans"):
        expected = gettext("One person cannot hold two of the system, security and audit administrator roles.")
    assert escape(expected) in response.content.decode()
    assert set(sysadmin.groups.values_list("name", flat=True)) == {R.SYSTEM_ADMIN}


def test_security_admin_assigns_roles_and_it_is_audited(alice, secadmin):
    groups = Group.objects.filter(name__in=[R.REGULATOR_STAFF, R.INSPECTOR])
    response = as_user(secadmin).post(reverse("core:user_roles", args=[alice.pk]),
                                      {"roles": [g.pk for g in groups]})
    assert response.status_code == 302
    assert set(alice.groups.values_list("name", flat=True)) == {R.REGULATOR_STAFF, R.INSPECTOR}
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UPDATE, object_id=str(alice.pk), detail="roles changed")
    assert entry.before == {"roles": [R.REGULATOR_STAFF]}
    assert entry.after == {"roles": sorted([R.INSPECTOR, R.REGULATOR_STAFF])}


def test_security_admin_cannot_change_own_roles(secadmin):
    groups = Group.objects.filter(name__in=[R.SECURITY_ADMIN, R.REGULATOR_LEADER])
    response = as_user(secadmin).post(reverse("core:user_roles", args=[secadmin.pk]),
                                      {"roles": [g.pk for g in groups]})
    assert response.status_code == 200
    assert set(secadmin.groups.values_list("name", flat=True)) == {R.SECURITY_ADMIN}


@pytest.mark.parametrize(("role", "method", "url_name", "needs_pk"), [
    (R.SYSTEM_ADMIN, "get", "core:audit_list", False),
    (R.SYSTEM_ADMIN, "post", "core:audit_verify", False),
    (R.SYSTEM_ADMIN, "get", "core:user_roles", True),
    (R.SYSTEM_ADMIN, "post", "core:user_unlock", True),
    (R.AUDIT_ADMIN, "get", "core:user_add", False),
    (R.AUDIT_ADMIN, "get", "core:user_list", False),
    (R.AUDIT_ADMIN, "post", "core:user_toggle", True),
    (R.AUDIT_ADMIN, "get", "core:user_roles", True),
    (R.SECURITY_ADMIN, "get", "core:user_add", False),
    (R.SECURITY_ADMIN, "post", "core:user_toggle", True),
    (R.SECURITY_ADMIN, "get", "core:audit_list", False),
    (R.REGULATOR_STAFF, "get", "core:user_list", False),
    (R.REGULATOR_STAFF, "get", "core:audit_list", False),
])
def test_admin_consoles_refuse_other_roles(role, method, url_name, needs_pk, province, alice):
    user = make_user(f"u_{role}", province, [role])
    url = reverse(url_name, args=[alice.pk]) if needs_pk else reverse(url_name)
    assert getattr(as_user(user), method)(url).status_code == 403


@pytest.mark.parametrize("url_name", ["core:user_list", "core:user_add", "core:audit_list"])
def test_admin_consoles_send_anonymous_users_to_login(url_name):
    response = Client().get(reverse(url_name))
    assert response.status_code == 302 and response.url.startswith(reverse("core:login"))


# --- 系统管理员 console ---------------------------------------------------------------------------

@pytest.mark.parametrize(("admin", "url_name", "needs_pk"), [
    ("sysadmin", "core:user_list", False), ("sysadmin", "core:user_add", False),
    ("secadmin", "core:user_list", False), ("secadmin", "core:user_roles", True),
    ("auditadmin", "core:audit_list", False),
])
def test_admin_pages_open_for_their_own_role(admin, url_name, needs_pk, request, alice):
    user = request.getfixturevalue(admin)
    url = reverse(url_name, args=[alice.pk]) if needs_pk else reverse(url_name)
    assert as_user(user).get(url).status_code == 200


def test_system_admin_creates_a_user_with_a_one_time_password(sysadmin, xiamen):
    response = as_user(sysadmin).post(reverse("core:user_add"), {
        "username": "new_officer", "full_name": "陈立新", "phone": "0592-1234567", "email": "",
        "organisation": xiamen.pk,
    })
    assert response.status_code == 200
    password = re.search(r'data-testid="initial-password">(.*?)</code>', response.content.decode()).group(1)
    created = User.objects.get(username="new_officer")
    assert created.must_change_password and created.check_password(password)
    assert not created.groups.exists()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CREATE, object_id=str(created.pk))
    assert created.password not in json.dumps(entry.after) and password not in json.dumps(entry.after)
    # First sign-in leads to the change-password page.
    client = Client()
    login(client, "new_officer", password)
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 302 and response.url == reverse("core:password_change")


def test_usernames_are_unique_ignoring_case(sysadmin, xiamen, alice):
    response = as_user(sysadmin).post(reverse("core:user_add"), {
        "username": "ALICE", "full_name": "重复", "organisation": xiamen.pk})
    assert response.status_code == 200
    assert User.objects.filter(username__iexact="alice").count() == 1


def test_city_system_admin_cannot_create_users_in_another_city(xiamen, fuzhou):
    xm_admin = make_user("xm_admin", xiamen, [R.SYSTEM_ADMIN])
    response = as_user(xm_admin).post(reverse("core:user_add"), {
        "username": "fz_new", "full_name": "外市", "organisation": fuzhou.pk})
    assert response.status_code == 200
    assert not User.objects.filter(username="fz_new").exists()


def test_user_list_is_scoped_and_filtered(xiamen, fuzhou, alice):
    xm_admin = make_user("xm_admin", xiamen, [R.SYSTEM_ADMIN])
    make_user("fz_person", fuzhou, [R.REGULATOR_STAFF])
    client = as_user(xm_admin)
    content = client.get(reverse("core:user_list")).content.decode()
    assert "alice" in content and "fz_person" not in content
    content = client.get(reverse("core:user_list"), {"q": "xm_adm"}).content.decode()
    assert "xm_admin" in content and "alice" not in content


def test_disabling_a_user_ends_their_sessions(sysadmin, alice):
    victim = as_user(alice)
    key = victim.session.session_key
    response = as_user(sysadmin).post(reverse("core:user_toggle", args=[alice.pk]))
    assert response.status_code == 302
    alice.refresh_from_db()
    assert not alice.is_active
    assert not Session.objects.filter(session_key=key).exists()
    response = victim.get(reverse("core:profile"))
    assert response.status_code == 302 and response.url.startswith(reverse("core:login"))
    assert AuditEntry.objects.filter(action=AuditEntry.Action.UPDATE, object_id=str(alice.pk),
                                     detail__startswith="user disabled").exists()
    as_user(sysadmin).post(reverse("core:user_toggle", args=[alice.pk]))
    alice.refresh_from_db()
    assert alice.is_active


def test_system_admin_cannot_disable_a_user_outside_their_scope(xiamen, fuzhou):
    xm_admin = make_user("xm_admin", xiamen, [R.SYSTEM_ADMIN])
    other = make_user("fz_person", fuzhou, [R.REGULATOR_STAFF])
    assert as_user(xm_admin).post(reverse("core:user_toggle", args=[other.pk])).status_code == 404
    other.refresh_from_db()
    assert other.is_active


# --- 审计管理员 console ----------------------------------------------------------------------------

def test_reading_the_audit_log_is_audited(auditadmin, alice):
    audit.record(AuditEntry.Action.SECURITY, alice, detail="marker")
    response = as_user(auditadmin).get(reverse("core:audit_list"), {"username": "", "action": "security"})
    assert response.status_code == 200
    assert "marker" in response.content.decode()
    assert AuditEntry.objects.filter(user=auditadmin, detail__startswith="audit log read").exists()


def test_audit_log_export_is_an_audited_excel_download(auditadmin):
    response = as_user(auditadmin).get(reverse("core:audit_list"), {"export": "xlsx", "action": "login"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT, user=auditadmin,
                                     object_type="core.auditentry").exists()


def test_verify_chain_reports_an_intact_chain(auditadmin):
    client = as_user(auditadmin)
    response = client.post(reverse("core:audit_verify"))
    assert response.status_code == 302
    assert AuditEntry.objects.filter(detail="audit chain verified: intact").exists()
    page = client.get(reverse("core:audit_list")).content.decode()
    assert 'data-testid="broken-ids"' not in page


# --- 我的账号: API tokens ---------------------------------------------------------------------------

def test_api_token_is_shown_once_and_stored_hashed(alice):
    client = as_user(alice)
    response = client.post(reverse("core:profile"), {"name": "data bridge", "expires_in": "90"})
    assert response.status_code == 200
    key = re.search(r'data-testid="token-key">(.*?)</code>', response.content.decode()).group(1)
    token = ApiToken.objects.get(user=alice)
    assert token.key_hash == ApiToken.hash(key) and key not in json.dumps(
        list(ApiToken.objects.values("name", "prefix", "key_hash")))
    assert key not in client.get(reverse("core:profile")).content.decode()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SECURITY, detail="api token issued").exists()
    response = client.post(reverse("core:profile"), {"revoke": token.pk})
    assert response.status_code == 302 and not ApiToken.objects.exists()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SECURITY, detail="api token revoked").exists()


def test_another_users_token_cannot_be_revoked(alice, xiamen):
    bob = make_user("bob", xiamen, [R.REGULATOR_STAFF])
    token, _key = ApiToken.issue(bob, "bob's")
    assert as_user(alice).post(reverse("core:profile"), {"revoke": token.pk}).status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_user_list_filters_by_jurisdiction_subtree_and_organisation(client, world):
    # given the system administrator at the province
    client.force_login(world.system_admin)
    # when filtering by 厦门 (3502)
    response = client.get(reverse("core:user_list"), {"jurisdiction": "3502"})
    # then only accounts of organisations in 厦门 are listed
    assert response.status_code == 200
    listed = {u.username for u in response.context["page"].object_list}
    assert listed and all(User.objects.get(username=n).organisation.jurisdiction_id.startswith("3502")
                          for n in listed)
    assert "fz_officer" not in listed and "xm_officer" in listed
    # and the organisation filter offers the government organisations in scope
    response = client.get(reverse("core:user_list"), {"organisation": world.fz_org.pk})
    assert {u.username for u in response.context["page"].object_list} == {"fz_officer"}


def test_regulators_time_out_sooner_than_enterprise_users(client, world, settings):
    # given the idle limits: 30 minutes in general, 15 for administrators and regulators
    settings.SESSION_IDLE_MINUTES_PRIVILEGED = 15
    client.force_login(world.xm_officer)
    client.get(reverse("dashboard:home"))
    assert client.session.get_expiry_age() == 15 * 60
    client.force_login(world.ent_xm_staff)
    client.get(reverse("dashboard:home"))
    assert client.session.get_expiry_age() == settings.SESSION_IDLE_MINUTES * 60


@pytest.mark.django_db
def test_a_fresh_install_has_no_account_at_all():
    # DB-AC-1: no default account with a known password; only `worksafe demo` creates accounts
    assert not User.objects.exists()
