"""Lead pages (mounted at /sales/leads/) and the admin rule pages under leads/rules/."""

from django.urls import path

from sales import autocomplete
from sales.views import leads, webforms

urlpatterns = [
    path("", leads.lead_list, name="lead_list"),
    path("new/", leads.lead_create, name="lead_create"),
    path("trash/", leads.lead_trash, name="lead_trash"),
    path("owners/", autocomplete.owners, name="autocomplete_owners"),
    path("rules/", webforms.rule_list, name="lead_rules"),
    path("rules/<slug:kind>/new/", webforms.rule_create, name="lead_rule_create"),
    path("rules/<slug:kind>/<uuid:uuid>/", webforms.rule_edit, name="lead_rule_edit"),
    path("rules/<slug:kind>/<uuid:uuid>/delete/", webforms.rule_delete,
         name="lead_rule_delete"),
    path("<uuid:uuid>/", leads.lead_detail, name="lead_detail"),
    path("<uuid:uuid>/edit/", leads.lead_edit, name="lead_edit"),
    path("<uuid:uuid>/status/", leads.lead_status, name="lead_status"),
    path("<uuid:uuid>/delete/", leads.lead_delete, name="lead_delete"),
    path("<uuid:uuid>/restore/", leads.lead_restore, name="lead_restore"),
]
