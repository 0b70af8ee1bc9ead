from django.urls import path

from worksafe.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("map/counties.json", views.CountyMapDataView.as_view(), name="county_map_data"),
    path("map/fujian_counties.geojson", views.CountyGeoJsonView.as_view(), name="county_geojson"),
]
