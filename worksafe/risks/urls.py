from django.urls import path

from worksafe.core.generic import crud_urls
from worksafe.risks import views
from worksafe.risks.models import ControlMeasure, RiskPoint

app_name = "risks"
urlpatterns = [
    path("map/", views.MapView.as_view(), name="map"),
    path("riskpoints/<int:pk>/assess/", views.AssessView.as_view(), name="riskpoint_assess"),
    path("riskpoints/<int:pk>/card.pdf", views.RiskCardPdfView.as_view(), name="riskpoint_card"),
    *crud_urls(RiskPoint, {"list": views.RiskPointListView, "detail": views.RiskPointDetailView,
                           "edit": views.RiskPointEditView, "delete": views.RiskPointDeleteView,
                           "import": views.RiskPointImportView}, importer=True),
    # Assessments are versions: listed and shown, added only by assessing a point (riskpoint_assess).
    path("riskassessments/", views.RiskAssessmentListView.as_view(), name="riskassessment_list"),
    path("riskassessments/<int:pk>/", views.RiskAssessmentDetailView.as_view(), name="riskassessment_detail"),
    *crud_urls(ControlMeasure, views.MEASURE_VIEWS),
]
