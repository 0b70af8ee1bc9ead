from django.urls import path

from worksafe.core.account_urls import urlpatterns as account_patterns
from worksafe.core.generic import ImportJobView

urlpatterns = [
    path("imports/<int:pk>/", ImportJobView.as_view(), name="importjob_detail"),
    *account_patterns,
]
