"""Segments (customers/views/segments.py), included at /customers/segments/ in the "customers"
namespace: customers:segment_list, customers:segment_detail, ..."""

from django.urls import path

from customers.views import segments

urlpatterns = [
    path("", segments.segment_list, name="segment_list"),
    path("new/", segments.segment_create, name="segment_create"),
    path("builder/", segments.segment_builder, name="segment_builder"),
    path("preview/", segments.segment_preview, name="segment_preview"),
    path("<uuid:uuid>/", segments.segment_detail, name="segment_detail"),
    path("<uuid:uuid>/edit/", segments.segment_edit, name="segment_edit"),
    path("<uuid:uuid>/delete/", segments.segment_delete, name="segment_delete"),
    path("<uuid:uuid>/members/add/", segments.segment_member_add, name="segment_member_add"),
    path("<uuid:uuid>/members/<uuid:customer_uuid>/remove/", segments.segment_member_remove,
         name="segment_member_remove"),
]
