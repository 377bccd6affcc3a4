from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class CRMAdminSite(admin.AdminSite):
    """The Django admin, open to active users with the Admin role only."""

    site_header = _("CRM administration")
    site_title = _("CRM admin")
    index_title = _("Administration")

    def has_permission(self, request):
        user = request.user
        return bool(user.is_active and getattr(user, "is_admin", False))

    def login(self, request, extra_context=None):
        """One sign-in page for the whole app (throttled, two-factor): the admin has none.

        A signed-in user without the Admin role is refused (403) instead of being offered a
        second sign-in form.
        """
        if request.user.is_authenticated:
            raise PermissionDenied
        return redirect_to_login(request.GET.get("next", reverse("admin:index")))
