from django.urls import include, path

app_name = "sales"

# Each area keeps its routes in its own module (names stay "sales:<name>").
urlpatterns = [
    path("leads/", include("sales.urls_leads")),
    path("leads/", include("sales.urls_conversion")),
    path("web-forms/", include("sales.urls_webforms")),
    path("opportunities/", include("sales.urls_opportunities")),
    path("pipeline/", include("sales.urls_board")),
    path("forecast/", include("sales.urls_forecast")),
    path("products/", include("sales.urls_products")),
    path("orders/", include("sales.urls_orders")),
]
