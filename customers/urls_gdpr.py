"""GDPR tools (customers/views/gdpr.py), under /customers/gdpr/."""

from django.urls import path

from customers.views import gdpr

urlpatterns = [
    path("<uuid:uuid>/", gdpr.gdpr_customer, name="gdpr"),
    path("<uuid:uuid>/export/", gdpr.gdpr_export_view, name="gdpr_export"),
    path("<uuid:uuid>/erase/", gdpr.gdpr_erase_view, name="gdpr_erase"),
    path("<uuid:uuid>/contacts/<uuid:contact_uuid>/export/", gdpr.gdpr_export_view,
         name="gdpr_contact_export"),
    path("<uuid:uuid>/contacts/<uuid:contact_uuid>/erase/", gdpr.gdpr_erase_view,
         name="gdpr_contact_erase"),
    path("<uuid:uuid>/contacts/<uuid:contact_uuid>/consent/", gdpr.consent_history_view,
         name="consent_history"),
]
