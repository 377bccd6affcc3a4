from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self):
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
        navigation.register(
            navigation.NavItem(
                key="customers", label=_("Customers"), url_name="customers:list",
                icon="building", order=10,
                visible=lambda user: user.is_admin or user.has_perm("customers.view_customer"),
            )
        )
