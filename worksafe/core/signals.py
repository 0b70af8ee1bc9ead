"""Auth events go to the audit log; the 三权分立 guard on role assignment."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import ValidationError
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.utils.translation import gettext as _

from worksafe.core import audit
from worksafe.core.models import AuditEntry, User
from worksafe.core.roles import ADMIN_ROLES


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        import time

        from worksafe.core.middleware import TOUCHED, privileged_expiry

        # Everything the session middleware would otherwise add on the first request (and save again for).
        now = time.time()
        request.session["login_at"] = now
        request.session[TOUCHED] = now
        privileged_expiry(request.session, user)
    audit.record(AuditEntry.Action.LOGIN, user, user=user)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    # The username typed is recorded, never the password.
    audit.record(AuditEntry.Action.LOGIN_FAILED, detail=str(credentials.get("username", ""))[:150],
                 object_type="core.user")


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record(AuditEntry.Action.LOGOUT, user, user=user)


@receiver(m2m_changed, sender=User.groups.through)
def _separate_admin_duties(sender, instance, action, pk_set, reverse, model, **kwargs):
    """三权分立: refuse any change that would give one person two administrator roles."""
    if action != "pre_add" or reverse or not pk_set:
        return
    adding = set(model.objects.filter(pk__in=pk_set).values_list("name", flat=True))
    held = set(instance.groups.values_list("name", flat=True))
    if len((adding | held) & ADMIN_ROLES) > 1:
        raise ValidationError(_("One person cannot hold two of the system, security and audit administrator "
                                "roles."), code="separation_of_duties")
