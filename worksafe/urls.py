from django.urls import include, path

from worksafe.api import api
from worksafe.core.views import healthz

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("enterprises/", include("worksafe.enterprises.urls")),
    path("majorhazards/", include("worksafe.majorhazards.urls")),
    path("risks/", include("worksafe.risks.urls")),
    path("hazards/", include("worksafe.hazards.urls")),
    path("checks/", include("worksafe.checks.urls")),
    path("monitoring/", include("worksafe.monitoring.urls", namespace="monitoring")),
    path("", include(("worksafe.core.urls", "core"))),
    path("", include("worksafe.dashboard.urls")),
]
