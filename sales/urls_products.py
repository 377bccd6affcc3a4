from django.urls import path

from sales.views import products

# Mounted at /sales/products/ (names "sales:product_*").
urlpatterns = [
    path("", products.product_list, name="product_list"),
    path("new/", products.product_create, name="product_create"),
    path("low-stock/", products.product_low_stock, name="product_low_stock"),
    path("trash/", products.product_trash, name="product_trash"),
    path("lookup/", products.product_lookup, name="product_lookup"),
    path("<uuid:uuid>/", products.product_detail, name="product_detail"),
    path("<uuid:uuid>/edit/", products.product_edit, name="product_edit"),
    path("<uuid:uuid>/stock/", products.product_adjust, name="product_adjust"),
    path("<uuid:uuid>/delete/", products.product_delete, name="product_delete"),
    path("<uuid:uuid>/restore/", products.product_restore, name="product_restore"),
]
