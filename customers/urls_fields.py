"""Custom fields admin page, at /customers/fields/ (names: customers:field_*)."""

from django.urls import path

from customers.views import fields

urlpatterns = [
    path("", fields.field_list, name="field_list"),
    path("new/", fields.field_create, name="field_create"),
    path("<uuid:uuid>/edit/", fields.field_edit, name="field_edit"),
    path("<uuid:uuid>/active/", fields.field_set_active, name="field_set_active"),
]
