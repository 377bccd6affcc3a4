"""Who sees and who changes which customer: the one policy every customer read and write asks.

- Admins: every customer.
- Marketing and Analysts: see every customer (segments, campaigns, reports); change none
  (Marketing edits contacts' consent, through the contact rules).
- Managers: the customers of the teams they manage and of those teams' members, and their own;
  they change those.
- Sales and Support: their own customers and their teams' customers; Sales change their own.
- Anyone: customers shared with them by django-guardian (view or change).
The model permission (customers.change_customer, ...) must also be held for any change.
"""

from __future__ import annotations

from functools import cached_property

from django.db.models import Q

from accounts import roles

VIEW_ALL_ROLES = (roles.MARKETING, roles.ANALYST)


class CustomerPolicy:
    """The policy for one user, with their team ids cached for the request."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def sees_all(self) -> bool:
        return self.user.is_admin or self.user.has_role(*VIEW_ALL_ROLES)

    @cached_property
    def team_ids(self) -> list[int]:
        return list(self.user.teams.values_list("id", flat=True))

    @cached_property
    def managed_team_ids(self) -> list[int]:
        if not self.user.has_role(roles.MANAGER):
            return []
        return list(self.user.managed_teams.values_list("id", flat=True))

    @cached_property
    def managed_member_ids(self) -> list[int]:
        from accounts.models import Team

        if not self.managed_team_ids:
            return []
        return list(
            Team.members.through.objects.filter(team_id__in=self.managed_team_ids)
            .values_list("user_id", flat=True)
            .distinct()
        )

    def _shared_ids(self, codenames):
        from customers.models import CustomerUserObjectPermission

        return CustomerUserObjectPermission.objects.filter(
            user=self.user, permission__codename__in=codenames
        ).values("content_object_id")

    def visible_q(self) -> Q | None:
        """None when everything is visible; otherwise the filter for the visible customers."""
        if self.sees_all:
            return None
        q = Q(owner=self.user)
        if self.team_ids:
            q |= Q(team_id__in=self.team_ids)
        if self.managed_team_ids:
            q |= Q(team_id__in=self.managed_team_ids) | Q(owner_id__in=self.managed_member_ids)
        return q | Q(pk__in=self._shared_ids(["view_customer", "change_customer"]))

    def can(self, action: str, customer) -> bool:
        """May the user do `action` ("view", "change", "delete", "export") on this customer?"""
        user = self.user
        if action == "view":
            return self.can_view(customer)
        if not user.has_perm(f"customers.{action}_customer"):
            return action == "change" and self._shared_with(customer, "change_customer")
        if user.is_admin:
            return True
        if action == "export":
            return self.can_view(customer)
        if customer.owner_id == user.pk:
            return True
        if self.managed_team_ids and (
            customer.team_id in self.managed_team_ids
            or customer.owner_id in self.managed_member_ids
        ):
            return True
        return action == "change" and self._shared_with(customer, "change_customer")

    def can_view(self, customer) -> bool:
        if self.sees_all or customer.owner_id == self.user.pk:
            return True
        if customer.team_id is not None and (
            customer.team_id in self.team_ids or customer.team_id in self.managed_team_ids
        ):
            return True
        if customer.owner_id is not None and customer.owner_id in self.managed_member_ids:
            return True
        return self._shared_with(customer, "view_customer", "change_customer")

    def _shared_with(self, customer, *codenames) -> bool:
        from customers.models import CustomerUserObjectPermission

        return CustomerUserObjectPermission.objects.filter(
            user=self.user, content_object=customer, permission__codename__in=codenames
        ).exists()


def policy_for(user) -> CustomerPolicy:
    """One policy object per user per request (cached on the user instance)."""
    policy = getattr(user, "_customer_policy", None)
    if policy is None:
        policy = CustomerPolicy(user)
        user._customer_policy = policy
    return policy
