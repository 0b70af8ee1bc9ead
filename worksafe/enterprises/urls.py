from worksafe.core.generic import crud_urls
from worksafe.enterprises import views
from worksafe.enterprises.models import Enterprise, Licence

app_name = "enterprises"
urlpatterns = [
    *crud_urls(Enterprise, {"list": views.EnterpriseListView, "detail": views.EnterpriseDetailView,
                            "edit": views.EnterpriseEditView, "delete": views.EnterpriseDeleteView,
                            "import": views.EnterpriseImportView}, importer=True),
    *crud_urls(Licence, {"list": views.LicenceListView, "detail": views.LicenceDetailView,
                         "edit": views.LicenceEditView, "delete": views.LicenceDeleteView}),
]
