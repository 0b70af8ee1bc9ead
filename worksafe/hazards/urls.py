from django.urls import path

from worksafe.hazards import views

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
]
