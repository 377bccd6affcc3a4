from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "crm"
    label = "core"
    verbose_name = _("Core")


class CRMAdminConfig(AdminConfig):
    default_site = "crm.admin_site.CRMAdminSite"
