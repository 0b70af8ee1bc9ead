from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "worksafe.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self):
        from worksafe.core import roles, signals  # noqa: F401  (connects auth audit handlers)

        post_migrate.connect(roles.sync_roles, dispatch_uid="worksafe.sync_roles")
