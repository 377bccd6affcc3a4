"""Duplicates and merge (customers/views/dedupe.py), under /customers/duplicates/."""

from django.urls import path

from customers.views import dedupe

urlpatterns = [
    path("", dedupe.duplicate_list, name="duplicates"),
    path("merge/<uuid:source>/into/<uuid:target>/", dedupe.customer_merge_view, name="merge"),
]
