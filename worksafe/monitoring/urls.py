from django.urls import path

from worksafe.core.generic import crud_urls
from worksafe.monitoring import board, quality_views, views
from worksafe.monitoring.models import Gateway, Point

app_name = "monitoring"
urlpatterns = [
    *board.urlpatterns,  # live board, SSE stream, trend data
    *quality_views.urlpatterns,  # data-quality scores, warning levels, inbox
    *crud_urls(Gateway, {"list": views.GatewayListView, "detail": views.GatewayDetailView,
                         "edit": views.GatewayEditView, "delete": views.GatewayDeleteView}),
    path("gateways/<int:pk>/token/", views.IssueTokenView.as_view(), name="gateway_token"),
    *crud_urls(Point, {"list": views.PointListView, "detail": views.PointDetailView, "edit": views.PointEditView,
                       "delete": views.PointDeleteView, "import": views.PointImportView}, importer=True),
    path("alarms/", views.AlarmListView.as_view(), name="alarm_list"),
    path("alarms/<int:pk>/", views.AlarmDetailView.as_view(), name="alarm_detail"),
    path("alarms/<int:pk>/acknowledge/", views.AcknowledgeView.as_view(), name="alarm_acknowledge"),
    path("alarms/<int:pk>/assign/", views.AssignView.as_view(), name="alarm_assign"),
    path("alarms/<int:pk>/comment/", views.CommentView.as_view(), name="alarm_comment"),
    path("quality-events/", views.QualityEventListView.as_view(), name="qualityevent_list"),
    path("quality-events/<int:pk>/", views.QualityEventDetailView.as_view(), name="qualityevent_detail"),
    path("rejected/", views.DeadLetterListView.as_view(), name="deadletter_list"),
    path("rejected/<int:pk>/", views.DeadLetterDetailView.as_view(), name="deadletter_detail"),
]
