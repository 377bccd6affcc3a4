"""The contact list's entry in the top navigation. `register()` is called once at start-up
(CustomersConfig.ready())."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm import navigation


def _sees_contacts(user) -> bool:
    return user.is_admin or user.has_perm("customers.view_contact")


def register() -> None:
    navigation.register(navigation.NavItem(
        key="contacts", label=_("Contacts"), url_name="customers:contact_list",
        icon="person-lines-fill", order=15, visible=_sees_contacts,
    ))
