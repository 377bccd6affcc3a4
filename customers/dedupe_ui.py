"""Start-up wiring of the duplicates and GDPR tools: the nav entry, the 360-page panel with the
"Find duplicates" and "Personal data (GDPR)" actions, and the timeline's words for their
events. Call `register()` from CustomersConfig.ready(); it is idempotent (keys)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


def _can_merge(user) -> bool:
    return user.has_perm("customers.merge_customer")


def _can_gdpr(user) -> bool:
    return user.has_perm("customers.erase_customer")


def _panel_context(customer, user) -> dict:
    from customers.gdpr import gdpr_allowed

    return {"can_merge": _can_merge(user), "can_gdpr": gdpr_allowed(user, customer)}


def _merged(event) -> str:
    source = (event.payload or {}).get("source") or {}
    name, code = source.get("name"), source.get("code")
    if name:
        return _("Merged with the duplicate %(name)s (%(code)s)") % {"name": name,
                                                                     "code": code or ""}
    return _("Merged with a duplicate")


def _merged_away(event) -> str:
    payload = event.payload or {}
    name = payload.get("into_name")
    return (_("Merged into %(name)s and moved to the trash") % {"name": name} if name
            else _("Merged into another customer and moved to the trash"))


def _exported(event) -> str:
    if (event.payload or {}).get("scope") == "contact":
        return _("A contact's personal data was exported (GDPR)")
    return _("Personal data exported (GDPR)")


def _erased(event) -> str:
    if (event.payload or {}).get("scope") == "contact":
        return _("A contact's personal data was erased (GDPR)")
    return _("Personal data erased (GDPR)")


def register() -> None:
    from crm import navigation
    from customers import panels
    from customers.timeline import register_describer

    navigation.register(navigation.NavItem(
        key="customers.duplicates", label=gettext_lazy("Duplicates"),
        url_name="customers:duplicates", icon="intersect", order=15, visible=_can_merge,
    ))
    panels.register(
        "customers.data_tools", gettext_lazy("Data tools"), "customers/dedupe/_panel.html",
        context=_panel_context, order=90,
        visible=lambda user: _can_merge(user) or _can_gdpr(user),
    )
    register_describer("customer.merged", _merged)
    register_describer("customer.merged_away", _merged_away)
    register_describer("gdpr.exported", _exported)
    register_describer("gdpr.erased", _erased)
