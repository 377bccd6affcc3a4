from django.urls import path

from sales.views import orders

# Mounted at /sales/orders/ (names "sales:order_*").
urlpatterns = [
    path("", orders.order_list, name="order_list"),
    path("new/", orders.order_create, name="order_create"),
    path("<uuid:uuid>/", orders.order_detail, name="order_detail"),
    path("<uuid:uuid>/edit/", orders.order_edit, name="order_edit"),
    path("<uuid:uuid>/delete/", orders.order_delete, name="order_delete"),
    path("<uuid:uuid>/<slug:action>/", orders.order_action, name="order_action"),
]
