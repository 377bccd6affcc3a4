from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self):
        from crm import navigation as _navigation

        # The top bar's "Customers" menu gathers every main entry under "customers:" URLs.
        _navigation.register_group(_navigation.NavGroup(
            key="customers", label=_("Customers"), icon="building", order=10))

        from auditlog.registry import auditlog

        from crm import demo, navigation
        from customers.demo import build as build_demo
        from customers.models import Contact, Customer, DictionaryEntry, Interaction, Tag

        auditlog.register(Customer, exclude_fields=["updated_at", "phone_digits"],
                          m2m_fields={"tags"})
        auditlog.register(Contact, exclude_fields=["updated_at", "phone_digits"],
                          mask_fields=["national_id", "private_notes"])
        auditlog.register(Interaction, exclude_fields=["updated_at"])
        auditlog.register(Tag, exclude_fields=["updated_at"])
        auditlog.register(DictionaryEntry, exclude_fields=["updated_at"])

        demo.register(20, "customers", build_demo)

        # Each area registers its search providers, panels, describers and nav entries.
        from customers import contacts_ui, dedupe_ui, segment_ui, task_ui
        from customers import search as customer_search

        customer_search.register()
        contacts_ui.register()
        dedupe_ui.register()
        task_ui.register()
        segment_ui.register()
        navigation.register(
            navigation.NavItem(
                key="customers", label=_("Customers"), url_name="customers:list",
                icon="building", order=10,
                visible=lambda user: user.is_admin or user.has_perm("customers.view_customer"),
            )
        )
