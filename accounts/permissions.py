"""Who may manage accounts: the one policy the account views and services ask."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


def can_manage_users(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_admin)


def require_admin(user) -> None:
    """Managing users and teams is for Admins: anyone else gets 403."""
    if not can_manage_users(user):
        raise PermissionDenied
