"""Start-up registrations of the lead area: call `register()` from SalesConfig.ready()."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm import navigation


def _is_admin(user) -> bool:
    return bool(getattr(user, "is_admin", False))


def register() -> None:
    navigation.register(navigation.NavItem(
        key="leads", label=_("Leads"), url_name="sales:lead_list", icon="person-plus",
        order=20, visible=lambda user: user.has_perm("sales.view_lead")))
    navigation.register(navigation.NavItem(
        key="web_forms", label=_("Web-to-lead forms"), url_name="sales:webform_list",
        icon="ui-checks", order=930, visible=_is_admin, section="admin"))
    navigation.register(navigation.NavItem(
        key="lead_rules", label=_("Lead rules"), url_name="sales:lead_rules",
        icon="sliders", order=931, visible=_is_admin, section="admin"))
