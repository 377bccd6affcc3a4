from django.contrib import admin
from django.urls import include, path

from accounts.views import home
from crm.health import healthz
from crm.views import favicon

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", home, name="home"),
    path("customers/", include("customers.urls")),
    path("sales/", include("sales.urls")),
    path("service/", include("service.urls")),
    # Public pages (no login): web-to-lead forms, service requests, ticket links and surveys.
    path("forms/", include("sales.urls_public")),
    path("support/", include("service.urls_public")),
    path("search/", include("crm.search_views")),
    path("", include("accounts.urls")),
]
