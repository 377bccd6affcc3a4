from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "service"
    verbose_name = _("Service")

    def ready(self):
        from crm import navigation as _navigation

        # The top bar's "Service" menu gathers every main entry under "service:" URLs.
        _navigation.register_group(_navigation.NavGroup(
            key="service", label=_("Service"), icon="headset", order=30))

        from auditlog.registry import auditlog

        from service import models as m

        for model in (m.Ticket, m.TicketComment, m.Feedback, m.SLAPolicy, m.AssignmentRule,
                      m.ServiceConfig):
            auditlog.register(model, exclude_fields=["updated_at"])

        from crm import demo
        from service import feedback_ui, integration, ticket_ui
        from service.demo import build as build_demo

        ticket_ui.register()
        feedback_ui.register()
        integration.register()
        demo.register(40, "service", build_demo)  # after sales (30), which it builds on
