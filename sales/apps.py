from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = _("Sales")

    def ready(self):
        from crm import navigation as _navigation

        # The top bar's "Sales" menu gathers every main entry under "sales:" URLs.
        _navigation.register_group(_navigation.NavGroup(
            key="sales", label=_("Sales"), icon="graph-up-arrow", order=20))

        from auditlog.registry import auditlog

        from sales import models as m

        excluded = ["updated_at", "phone_digits"]
        for model in (m.Lead, m.Opportunity, m.Order, m.Product, m.PipelineStage, m.WebForm,
                      m.DevelopmentPlan, m.PlanStep, m.SalesTarget, m.LeadAssignmentRule,
                      m.LeadScoreRule):
            auditlog.register(model, exclude_fields=excluded)
        auditlog.register(m.OrderLine)

        from crm import demo
        from sales import integration
        from sales.demo import build as build_demo

        integration.register()
        from sales import board_ui, lead_ui, opportunity_ui, order_ui

        board_ui.register()
        opportunity_ui.register()
        lead_ui.register()
        order_ui.register()
        demo.register(30, "sales", build_demo)  # after customers (20), which it builds on
