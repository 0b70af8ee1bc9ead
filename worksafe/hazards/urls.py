from django.urls import path

from worksafe.hazards import report_views, views

app_name = "hazards"
urlpatterns = [
    path("hazards/", views.HazardListView.as_view(), name="hazard_list"),
    path("hazards/add/", views.HazardEditView.as_view(), name="hazard_add"),
    path("hazards/import/", views.HazardImportView.as_view(), name="hazard_import"),
    path("hazards/<int:pk>/", views.HazardDetailView.as_view(), name="hazard_detail"),
    path("hazards/<int:pk>/edit/", views.HazardEditView.as_view(), name="hazard_edit"),
    path("hazards/<int:pk>/delete/", views.HazardDeleteView.as_view(), name="hazard_delete"),
    path("hazards/<int:pk>/assign/", views.AssignView.as_view(), name="hazard_assign"),
    path("hazards/<int:pk>/rectify/", views.RectifyView.as_view(), name="hazard_rectify"),
    path("hazards/<int:pk>/verify/", views.VerifyView.as_view(), name="hazard_verify"),
    path("hazards/<int:pk>/reject/", views.RejectView.as_view(), name="hazard_reject"),
    path("hazards/<int:pk>/list/", views.ListForSupervisionView.as_view(), name="hazard_list_for_supervision"),
    path("listings/", views.ListingListView.as_view(), name="listing_list"),
    path("listings/<int:pk>/", views.ListingDetailView.as_view(), name="listing_detail"),
    path("listings/<int:pk>/notice.pdf", views.ListingNoticePdfView.as_view(), name="listing_pdf"),
    path("escalated/", views.EscalatedView.as_view(), name="escalated"),
    # statistics reports (统计分析表) and the statistics page
    path("reports/", report_views.HazardReportListView.as_view(), name="hazardreport_list"),
    path("reports/generate/", report_views.ReportGenerateView.as_view(), name="report_generate"),
    path("reports/missing/", report_views.MissingReportsView.as_view(), name="report_missing"),
    path("reports/<int:pk>/", report_views.HazardReportDetailView.as_view(), name="hazardreport_detail"),
    path("reports/<int:pk>/submit/", report_views.ReportSubmitView.as_view(), name="report_submit"),
    path("statistics/", report_views.StatisticsView.as_view(), name="statistics"),
]
