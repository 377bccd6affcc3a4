"""Start-up registrations of the pipeline board and the forecast: their top-navigation entries.

Call `register()` from SalesConfig.ready() (sales/apps.py). Idempotent (by key).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def _sees_opportunities(user) -> bool:
    return user.has_perm("sales.view_opportunity")


def register() -> None:
    from crm import navigation

    navigation.register(navigation.NavItem(
        key="pipeline", label=_("Pipeline"), url_name="sales:board", icon="kanban",
        order=25, visible=_sees_opportunities))
    navigation.register(navigation.NavItem(
        key="forecast", label=_("Forecast"), url_name="sales:forecast", icon="graph-up",
        order=35, visible=_sees_opportunities))
