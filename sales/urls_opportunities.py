"""Opportunity pages and their development plans (mounted at /sales/opportunities/)."""

from django.urls import path

from sales.views import opportunities, plans

urlpatterns = [
    path("", opportunities.opportunity_list, name="opportunity_list"),
    path("new/", opportunities.opportunity_create, name="opportunity_create"),
    path("trash/", opportunities.opportunity_trash, name="opportunity_trash"),
    path("<uuid:uuid>/", opportunities.opportunity_detail, name="opportunity_detail"),
    path("<uuid:uuid>/edit/", opportunities.opportunity_edit, name="opportunity_edit"),
    path("<uuid:uuid>/move/", opportunities.opportunity_move, name="opportunity_move"),
    path("<uuid:uuid>/delete/", opportunities.opportunity_delete, name="opportunity_delete"),
    path("<uuid:uuid>/restore/", opportunities.opportunity_restore,
         name="opportunity_restore"),
    path("<uuid:uuid>/plans/new/", plans.plan_create, name="plan_create"),
    path("plans/<uuid:uuid>/", plans.plan_detail, name="plan_detail"),
    path("plans/<uuid:uuid>/steps/", plans.step_add, name="plan_step_add"),
    path("plans/<uuid:uuid>/steps/<uuid:step_uuid>/result/", plans.step_result,
         name="plan_step_result"),
    path("plans/<uuid:uuid>/steps/<uuid:step_uuid>/reopen/", plans.step_reopen,
         name="plan_step_reopen"),
    path("plans/<uuid:uuid>/close/", plans.plan_close, name="plan_close"),
]
