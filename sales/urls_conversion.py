"""Lead conversion (mounted at /sales/leads/)."""

from django.urls import path

from sales.views import conversion

urlpatterns = [
    path("<uuid:uuid>/convert/", conversion.lead_convert, name="lead_convert"),
]
