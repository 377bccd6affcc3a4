from django.urls import path

from service.views import feedback

# Mounted at /service/feedback/ by service/urls.py (app "service").
urlpatterns = [
    path("", feedback.feedback_list, name="feedback_list"),
    path("new/", feedback.feedback_create, name="feedback_create"),
    path("lookup/customers/", feedback.feedback_customer_lookup,
         name="feedback_customer_lookup"),
    path("<uuid:uuid>/status/", feedback.feedback_status, name="feedback_status"),
]
