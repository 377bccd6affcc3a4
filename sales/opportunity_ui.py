"""Start-up wiring of the opportunity pages: the "Opportunities" entry of the top bar.

Call `register()` once at start-up (SalesConfig.ready()); it is idempotent (by key). (The
timeline describers of the lead.converted and plan.* events and the 360 panel live in
sales.integration.)
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm import navigation


def _can_view(user) -> bool:
    return user.has_perm("sales.view_opportunity")


def register() -> None:
    navigation.register(navigation.NavItem(
        key="opportunities", label=_("Opportunities"), url_name="sales:opportunity_list",
        icon="briefcase", order=30, visible=_can_view,
    ))
