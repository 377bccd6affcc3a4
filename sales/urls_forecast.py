from django.urls import path

from sales.views import forecast, targets

# Mounted at /sales/forecast/ by sales/urls.py (names "sales:<name>").
urlpatterns = [
    path("", forecast.forecast, name="forecast"),
    path("drill/", forecast.forecast_drill, name="forecast_drill"),
    path("targets/", targets.target_list, name="target_list"),
    path("targets/new/", targets.target_create, name="target_create"),
    path("targets/<uuid:uuid>/edit/", targets.target_edit, name="target_edit"),
    path("targets/<uuid:uuid>/delete/", targets.target_delete, name="target_delete"),
]
