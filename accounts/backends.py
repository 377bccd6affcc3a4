"""The authentication backend: Django's ModelBackend, loading the signed-in user with their
roles and permissions in one query.

Every page reads all three: the navigation and the access policies ask for roles and
permissions. With ModelBackend they cost three more queries per request after the user's own
(roles, user permissions, group permissions); here they come as arrays on the user's row.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import F, OuterRef, Value
from django.db.models.functions import Concat


def _perm_names(queryset):
    """'app_label.codename' of each permission, as ModelBackend names them."""
    return queryset.order_by().values(
        perm=Concat(F("content_type__app_label"), Value("."), F("codename")))


class UserBackend(ModelBackend):
    def get_user(self, user_id):
        user_model = get_user_model()
        user = (
            user_model._default_manager.filter(pk=user_id)
            .annotate(
                _role_names=ArraySubquery(
                    Group.objects.filter(user=OuterRef("pk")).order_by().values("name")),
                _user_perm_names=ArraySubquery(
                    _perm_names(Permission.objects.filter(user=OuterRef("pk")))),
                _group_perm_names=ArraySubquery(
                    _perm_names(Permission.objects.filter(group__user=OuterRef("pk")))),
            )
            .first()
        )
        if user is None or not self.user_can_authenticate(user):
            return None
        # The caches ModelBackend and User.role_names fill on first use, filled now. A
        # superuser holds every permission: ModelBackend loads those itself, when asked.
        user.__dict__["role_names"] = frozenset(user._role_names)
        if not user.is_superuser:
            user._user_perm_cache = set(user._user_perm_names)
            user._group_perm_cache = set(user._group_perm_names)
            user._perm_cache = user._user_perm_cache | user._group_perm_cache
        return user
