"""The tickets' entry in the top navigation. `register()` is called once at start-up
(ServiceConfig.ready())."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm import navigation


def _sees_tickets(user) -> bool:
    return user.has_perm("service.view_ticket")


def register() -> None:
    navigation.register(navigation.NavItem(
        key="tickets", label=_("Tickets"), url_name="service:ticket_list",
        icon="life-preserver", order=50, visible=_sees_tickets,
    ))
