from django.urls import path

from worksafe.core.generic import crud_urls
from worksafe.majorhazards import views
from worksafe.majorhazards.models import Change, Custodian, CustodianCheck, MajorHazard, Substance

app_name = "majorhazards"
urlpatterns = [
    path("overdue/", views.OverdueView.as_view(), name="overdue"),
    path("map/", views.MapView.as_view(), name="map"),
    path("catalogue/", views.CatalogueView.as_view(), name="catalogue"),
    path("majorhazards/<int:pk>/assess/", views.AssessView.as_view(), name="majorhazard_assess"),
    path("majorhazards/<int:pk>/file/", views.FilingView.as_view(), name="majorhazard_file"),
    path("majorhazards/<int:pk>/deregister/", views.DeregisterView.as_view(), name="majorhazard_deregister"),
    path("majorhazards/<int:pk>/registration.pdf", views.RegistrationPdfView.as_view(), name="majorhazard_pdf"),
    *crud_urls(MajorHazard, {"list": views.MajorHazardListView, "detail": views.MajorHazardDetailView,
                             "edit": views.MajorHazardEditView, "delete": views.MajorHazardDeleteView,
                             "import": views.MajorHazardImportView}, importer=True),
    *crud_urls(Substance, views.SUBSTANCE_VIEWS),
    *crud_urls(Custodian, views.CUSTODIAN_VIEWS),
    *crud_urls(CustodianCheck, views.CHECK_VIEWS),
    *crud_urls(Change, views.CHANGE_VIEWS),
]
