from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class CRMAdminSite(admin.AdminSite):
    """The Django admin, open to active users with the Admin role only."""

    site_header = _("CRM administration")
    site_title = _("CRM admin")
    index_title = _("Administration")

    def has_permission(self, request):
        user = request.user
        return bool(user.is_active and getattr(user, "is_admin", False))
