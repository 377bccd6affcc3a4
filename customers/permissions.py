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

import functools
from functools import cached_property

from django.db.models import Q

from accounts import roles
from crm.prepared import Compiled

VIEW_ALL_ROLES = (roles.MARKETING, roles.ANALYST)

# What a user who may see a customer but not change it may still edit on its contacts
# (Marketing and Support keep consent and channel current); nothing else.
CONTACT_CONSENT_FIELDS = frozenset(
    {"marketing_consent", "consent_method", "consent_source", "preferred_channel"}
)


def _reach_query(user_id, *, manager: bool):
    """CustomerPolicy._reach's UNION ALL (with a manager's two parts, or without)."""
    from django.db.models import CharField, Value

    from accounts.models import Team
    from customers.models import CustomerUserObjectPermission

    kind = CharField()
    members = Team.members.through.objects
    teams = members.filter(user_id=user_id).values_list(Value("team", output_field=kind),
                                                        "team_id")
    shares = CustomerUserObjectPermission.objects.filter(
        user_id=user_id, permission__codename__in=["view_customer", "change_customer"],
    ).values_list(Value("share", output_field=kind), "content_object_id")
    parts = [shares]
    if manager:
        parts += [
            Team.objects.filter(manager_id=user_id).order_by().values_list(
                Value("managed", output_field=kind), "id"),
            members.filter(team__manager_id=user_id).values_list(
                Value("member", output_field=kind), "user_id"),
        ]
    return teams.union(*parts, all=True)


# Compiled once per process for each shape and prepared (crm.prepared): the ORM took longer
# to build and compile the UNION than PostgreSQL took to run it, and planning was most of
# that, on every request of every user but an admin.
_REACH = {manager: Compiled(functools.partial(_reach_query, manager=manager))
          for manager in (False, True)}


class CustomerPolicy:
    """The policy for one user, with their team ids cached for the request."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def sees_all(self) -> bool:
        return self.user.is_admin or self.user.has_role(*VIEW_ALL_ROLES)

    @cached_property
    def _reach(self) -> dict[str, list[int]]:
        """The user's team ids, the customers shared with them and, for a manager, the teams
        they manage and those teams' members: one query (a UNION ALL) for all four."""
        reach: dict[str, list[int]] = {"team": [], "share": [], "managed": [], "member": []}
        for what, pk in _REACH[self.user.has_role(roles.MANAGER)].run(self.user.pk)[1]:
            reach[what].append(pk)
        reach["member"] = list(dict.fromkeys(reach["member"]))  # in several managed teams
        return reach

    @cached_property
    def team_ids(self) -> list[int]:
        return self._reach["team"]

    @cached_property
    def managed_team_ids(self) -> list[int]:
        if not self.user.has_role(roles.MANAGER):
            return []
        return self._reach["managed"]

    @cached_property
    def managed_member_ids(self) -> list[int]:
        if not self.managed_team_ids:
            return []
        return self._reach["member"]

    @property
    def shared_ids(self) -> list[int]:
        """Customers shared with the user, as a list: an OR with a subquery would stop the
        planner from using the owner/team indexes on a big table."""
        return self._reach["share"]

    def visible_q(self) -> Q | None:
        """None when everything is visible; otherwise the filter for the visible customers."""
        if self.sees_all:
            return None
        q = Q(owner=self.user)
        if self.team_ids:
            q |= Q(team_id__in=self.team_ids)
        if self.managed_team_ids:
            q |= Q(team_id__in=self.managed_team_ids) | Q(owner_id__in=self.managed_member_ids)
        if self.shared_ids:
            q |= Q(pk__in=self.shared_ids)
        return q

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

    def can_share(self, customer) -> bool:
        """Sharing is for whoever answers for the customer: its owner, their managers, Admins
        (not for a colleague it was shared with)."""
        user = self.user
        if not user.has_perm("customers.change_customer"):
            return False
        return (
            user.is_admin
            or customer.owner_id == user.pk
            or customer.team_id in self.managed_team_ids
            or (customer.owner_id is not None and customer.owner_id in self.managed_member_ids)
        )

    def contact_can(self, action: str, customer) -> bool:
        """May the user add, change or delete contacts of this customer? Adding and deleting
        need the right to change the customer; changing is also open, limited to the consent
        fields (contact_fields_limited), to whoever holds change_contact and sees it."""
        if not (self.user.has_perm(f"customers.{action}_contact") and self.can_view(customer)):
            return False
        return action == "change" or self.can("change", customer)

    def contact_fields_limited(self, customer) -> bool:
        """True when the user may edit only CONTACT_CONSENT_FIELDS of the customer's contacts."""
        return not self.can("change", customer)

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
