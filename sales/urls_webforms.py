"""Admin pages for web-to-lead forms (mounted at /sales/web-forms/)."""

from django.urls import path

from sales.views import webforms

urlpatterns = [
    path("", webforms.webform_list, name="webform_list"),
    path("new/", webforms.webform_create, name="webform_create"),
    path("<uuid:uuid>/", webforms.webform_edit, name="webform_edit"),
    path("<uuid:uuid>/toggle/", webforms.webform_toggle, name="webform_toggle"),
]
