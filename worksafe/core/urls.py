from django.urls import path

from worksafe.core import views
from worksafe.core.account_urls import urlpatterns as account_patterns
from worksafe.core.generic import ImportJobView

urlpatterns = [
    path("imports/<int:pk>/", ImportJobView.as_view(), name="importjob_detail"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    *account_patterns,
]
