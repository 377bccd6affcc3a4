from django.urls import include, path

app_name = "service"

# Each area keeps its routes in its own module (names stay "service:<name>").
urlpatterns = [
    path("tickets/", include("service.urls_tickets")),
    path("feedback/", include("service.urls_feedback")),
]
