"""Password validators for 等保 8.1.4.1 a: character classes and history."""

import re

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_CLASSES = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"[0-9]"), re.compile(r"[^a-zA-Z0-9]"))


def character_classes(password: str) -> int:
    """How many of lower case, upper case, digits and symbols the password uses."""
    return sum(1 for pattern in _CLASSES if pattern.search(password))


class CharacterClassValidator:
    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password, user=None):
        if character_classes(password) < self.min_classes:
            raise ValidationError(
                _("The password must use at least {n} of: lower-case letters, upper-case letters, digits, "
                  "symbols.").format(n=self.min_classes),
                code="password_too_simple",
            )

    def get_help_text(self):
        return _("Use at least {n} of: lower-case letters, upper-case letters, digits, symbols.").format(
            n=self.min_classes)


class HistoryValidator:
    """Refuses any of the user's last PASSWORD_HISTORY passwords."""

    def validate(self, password, user=None):
        if user is None or user.pk is None:
            return
        recent = user.password_history.values_list("password", flat=True)[: settings.PASSWORD_HISTORY]
        if any(check_password(password, encoded) for encoded in recent):
            raise ValidationError(
                _("You used this password recently; choose one you have not used in your last {n}.").format(
                    n=settings.PASSWORD_HISTORY),
                code="password_reused",
            )

    def get_help_text(self):
        return _("It must differ from your last {n} passwords.").format(n=settings.PASSWORD_HISTORY)
