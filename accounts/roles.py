"""Roles are Django Groups with seeded permissions.

Each module lists the permissions its roles get here as it lands and seeds them in a data
migration (`sync_role_permissions`), so a fresh database always has every role complete.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ADMIN = "Admin"
MANAGER = "Manager"
SALES = "Sales"
MARKETING = "Marketing"
SUPPORT = "Support"
ANALYST = "Analyst"

ROLES = [ADMIN, MANAGER, SALES, MARKETING, SUPPORT, ANALYST]

ROLE_LABELS = {
    ADMIN: _("Admin"),
    MANAGER: _("Manager"),
    SALES: _("Sales"),
    MARKETING: _("Marketing"),
    SUPPORT: _("Support"),
    ANALYST: _("Analyst"),
}

ROLE_DESCRIPTIONS = {
    ADMIN: _("Manages users, teams, settings and every record."),
    MANAGER: _("Leads teams: sees and reassigns their records, reads reports."),
    SALES: _("Works leads, opportunities and orders of own customers."),
    MARKETING: _("Runs segments, campaigns and automation."),
    SUPPORT: _("Handles service tickets of the team."),
    ANALYST: _("Reads records and reports; changes nothing."),
}

# Admins get every permission of every model; the other roles get what is listed.
# "app_label.codename" strings; modules extend this mapping as they land.
def _crud(app_label: str, model: str, *actions: str) -> list[str]:
    return [f"{app_label}.{action}_{model}" for action in actions]


_READ_CUSTOMERS = [
    *_crud("customers", "customer", "view"),
    *_crud("customers", "contact", "view"),
    *_crud("customers", "interaction", "view"),
    *_crud("customers", "tag", "view"),
    *_crud("customers", "dictionaryentry", "view"),
]

_TASKS = _crud("customers", "task", "view", "add", "change")

_READ_SALES = [
    *_crud("sales", "lead", "view"),
    *_crud("sales", "opportunity", "view"),
    *_crud("sales", "pipelinestage", "view"),
    *_crud("sales", "developmentplan", "view"),
    *_crud("sales", "planstep", "view"),
    *_crud("sales", "product", "view"),
    *_crud("sales", "order", "view"),
    *_crud("sales", "salestarget", "view"),
    *_crud("sales", "customerpurchasestats", "view"),
]

_SELL = [
    *_crud("sales", "lead", "add", "change", "delete"),
    "sales.convert_lead",
    *_crud("sales", "opportunity", "add", "change", "delete"),
    *_crud("sales", "developmentplan", "add", "change"),
    *_crud("sales", "planstep", "add", "change", "delete"),
    *_crud("sales", "order", "add", "change", "delete"),
    "sales.confirm_order",
]

_READ_SERVICE = [
    *_crud("service", "ticket", "view"),
    *_crud("service", "ticketcomment", "view"),
    *_crud("service", "ticketattachment", "view"),
    *_crud("service", "feedback", "view"),
    *_crud("service", "slapolicy", "view"),
]

_SERVE = [
    *_crud("service", "ticket", "add", "change"),
    "service.assign_ticket",
    "service.reply_ticket",
    *_crud("service", "ticketcomment", "add"),
    *_crud("service", "ticketattachment", "add"),
    *_crud("service", "feedback", "add", "change"),
]

# Model permissions say what a role may do at all; the per-app access policies
# (customers/permissions.py, ...) narrow it to the records the user may see.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    ADMIN: ["*"],
    MANAGER: [
        "accounts.view_team",
        *_READ_CUSTOMERS,
        *_crud("customers", "customer", "add", "change", "delete"),
        *_crud("customers", "contact", "add", "change", "delete"),
        *_crud("customers", "interaction", "add", "change"),
        *_crud("customers", "tag", "add", "change"),
        "customers.export_customer",
        "customers.import_customer",
        "customers.merge_customer",
        "customers.erase_customer",
        *_TASKS,
        *_crud("customers", "segment", "view", "add", "change", "delete"),
        *_crud("customers", "importjob", "view", "add"),
        *_crud("customers", "customfielddefinition", "view"),
        *_READ_SALES, *_SELL,
        *_crud("sales", "product", "add", "change"),
        "sales.adjust_stock",
        *_crud("sales", "salestarget", "add", "change", "delete"),
        *_crud("sales", "leadassignmentrule", "view"),
        *_crud("sales", "webform", "view"),
        *_READ_SERVICE, *_SERVE,
        *_crud("service", "assignmentrule", "view"),
    ],
    SALES: [
        *_READ_CUSTOMERS,
        *_crud("customers", "customer", "add", "change"),
        *_crud("customers", "contact", "add", "change", "delete"),
        *_crud("customers", "interaction", "add", "change"),
        *_crud("customers", "tag", "add"),
        *_TASKS,
        *_crud("customers", "segment", "view"),
        *_crud("customers", "customfielddefinition", "view"),
        *_READ_SALES, *_SELL,
        *_READ_SERVICE,
    ],
    MARKETING: [
        *_READ_CUSTOMERS,
        *_crud("customers", "contact", "change"),
        *_crud("customers", "tag", "add", "change"),
        "customers.export_customer",
        "customers.import_customer",
        *_TASKS,
        *_crud("customers", "segment", "view", "add", "change", "delete"),
        *_crud("customers", "importjob", "view", "add"),
        *_crud("customers", "customfielddefinition", "view"),
        *_crud("sales", "lead", "view", "add"),
        *_crud("sales", "webform", "view"),
        *_crud("sales", "product", "view"),
        *_crud("sales", "customerpurchasestats", "view"),
    ],
    SUPPORT: [
        *_READ_CUSTOMERS,
        *_crud("customers", "contact", "change"),
        *_crud("customers", "interaction", "add"),
        *_TASKS,
        *_crud("customers", "segment", "view"),
        *_crud("customers", "customfielddefinition", "view"),
        *_crud("sales", "product", "view"),
        *_crud("sales", "order", "view"),
        *_READ_SERVICE, *_SERVE,
    ],
    ANALYST: [
        "accounts.view_team", *_READ_CUSTOMERS, "customers.export_customer",
        *_crud("customers", "task", "view"),
        *_crud("customers", "segment", "view"),
        *_crud("customers", "customfielddefinition", "view"),
        *_READ_SALES,
        *_READ_SERVICE,
    ],
}


def role_label(name: str) -> str:
    return str(ROLE_LABELS.get(name, name))


def sync_role_permissions(apps, schema_editor=None) -> None:
    """Create the role groups and give each exactly the permissions listed above.

    Usable from a data migration (pass the historical `apps`) and from code (`django.apps.apps`).
    Permissions are created first, since post_migrate has not yet run inside migrations.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # Historical app configs lack models_module, which create_permissions checks.
        app_config.models_module = getattr(app_config, "models_module", None) or True
        create_permissions(app_config, verbosity=0, apps=apps)

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role in ROLES:
        group, _created = Group.objects.get_or_create(name=role)
        wanted = ROLE_PERMISSIONS[role]
        if wanted == ["*"]:
            perms = Permission.objects.all()
        else:
            perms = []
            for item in wanted:
                app_label, codename = item.split(".", 1)
                perms.extend(
                    Permission.objects.filter(
                        content_type__app_label=app_label, codename=codename
                    )
                )
        group.permissions.set(perms)
