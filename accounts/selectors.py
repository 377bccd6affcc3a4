"""Reads of the accounts app: the access path for users and teams."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db.models import Count, Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from accounts import roles
from accounts.models import Team, User
from accounts.permissions import require_admin


def user_list_for_user(viewer: User) -> QuerySet[User]:
    """Users an Admin manages; groups and teams prefetched (2 extra queries)."""
    require_admin(viewer)
    return User.objects.prefetch_related(
        Prefetch("groups", queryset=Group.objects.only("id", "name")),
        Prefetch("teams", queryset=Team.objects.only("id", "name", "uuid")),
    )


def user_get_for_user(viewer: User, uuid) -> User:
    require_admin(viewer)
    return get_object_or_404(User.objects.prefetch_related("groups", "teams"), uuid=uuid)


def team_list_for_user(viewer: User) -> QuerySet[Team]:
    require_admin(viewer)
    return (
        Team.objects.select_related("manager")
        .annotate(member_count=Count("members"))
        .order_by("name", "id")
    )


def team_get_for_user(viewer: User, uuid) -> Team:
    require_admin(viewer)
    return get_object_or_404(
        Team.objects.select_related("manager").prefetch_related("members"), uuid=uuid
    )


def role_groups() -> QuerySet[Group]:
    """The role groups in their fixed order."""
    order = {name: i for i, name in enumerate(roles.ROLES)}
    return sorted(Group.objects.filter(name__in=roles.ROLES), key=lambda g: order[g.name])


def active_admin_count() -> int:
    return User.objects.filter(is_active=True, groups__name=roles.ADMIN).distinct().count()


def workspace_for_user(user: User) -> dict:
    """What the home page shows a signed-in user: their roles, teams and colleagues."""
    teams = list(
        Team.objects.filter(members=user)
        .select_related("manager")
        .prefetch_related(Prefetch("members", queryset=User.objects.filter(is_active=True)))
    )
    managed = list(
        Team.objects.filter(manager=user).annotate(member_count=Count("members")).order_by("name")
    )
    order = {name: i for i, name in enumerate(roles.ROLES)}
    data = {
        "teams": teams,
        "managed_teams": managed,
        "roles": [roles.role_label(name)
                  for name in sorted(user.role_names, key=lambda n: order.get(n, 99))],
    }
    if user.is_admin:
        counts = dict(
            Group.objects.filter(name__in=roles.ROLES, user__is_active=True)
            .annotate(n=Count("user"))
            .values_list("name", "n")
        )
        data["role_counts"] = [(roles.role_label(r), counts.get(r, 0)) for r in roles.ROLES]
        data["user_totals"] = {
            "active": User.objects.filter(is_active=True).count(),
            "inactive": User.objects.filter(is_active=False).count(),
            "invited": User.objects.filter(invited_at__isnull=False, password__startswith="!")
            .count(),
        }
    return data
