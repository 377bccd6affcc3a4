"""Who sees and who changes which sales record (leads, opportunities and their plans, orders,
targets). One policy for every record that has an owner and a team:

- Admins: all. Analysts: see all, change none (they hold view permissions only).
- Marketing: see every lead (they run the campaigns that bring them).
- Managers: the records of the teams they manage and of those teams' members, their own, and
  leads nobody owns yet (the unassigned pool).
- Sales: their own records and their teams' records; they change their own.
Products are a shared catalogue: whoever holds view_product sees them all.
The model permission (sales.change_lead, ...) must also be held for any change.
"""

from __future__ import annotations

from django.db.models import Q

from accounts import roles
from customers.permissions import policy_for as customer_policy_for

SEES_ALL = {
    "lead": (roles.ANALYST, roles.MARKETING),
    "opportunity": (roles.ANALYST,),
    "order": (roles.ANALYST,),
    "salestarget": (roles.ANALYST,),
}


class SalesPolicy:
    def __init__(self, user):
        self.user = user
        # The team reach (teams, managed teams and their members) is the customers policy's,
        # cached per request there.
        self.reach = customer_policy_for(user)

    def sees_all(self, model_name: str) -> bool:
        return self.user.is_admin or self.user.has_role(*SEES_ALL.get(model_name, ()))

    def visible_q(self, model_name: str, prefix: str = "") -> Q | None:
        """None when every record is visible; else the filter of the visible ones. `prefix`
        reaches the owned record through a relation ("opportunity__" for plans)."""
        if self.sees_all(model_name):
            return None
        reach = self.reach
        q = Q(**{f"{prefix}owner": self.user})
        if reach.team_ids:
            q |= Q(**{f"{prefix}team_id__in": reach.team_ids})
        if reach.managed_team_ids:
            q |= Q(**{f"{prefix}team_id__in": reach.managed_team_ids})
            q |= Q(**{f"{prefix}owner_id__in": reach.managed_member_ids})
            if model_name == "lead":
                q |= Q(**{f"{prefix}owner__isnull": True, f"{prefix}team__isnull": True})
        return q

    def can_view(self, model_name: str, obj) -> bool:
        if self.sees_all(model_name) or obj.owner_id == self.user.pk:
            return True
        reach = self.reach
        if obj.team_id is not None and (
            obj.team_id in reach.team_ids or obj.team_id in reach.managed_team_ids
        ):
            return True
        if reach.managed_team_ids:
            if obj.owner_id is not None and obj.owner_id in reach.managed_member_ids:
                return True
            if model_name == "lead" and obj.owner_id is None and obj.team_id is None:
                return True
        return False

    def can(self, action: str, obj, model_name: str | None = None) -> bool:
        """May the user do `action` ("change", "delete", "convert", "confirm") on the record?
        The owner, the managers of its team or owner, and Admins may; others only see it."""
        model_name = model_name or obj._meta.model_name
        codename = {
            "convert": "sales.convert_lead",
            "confirm": "sales.confirm_order",
        }.get(action, f"sales.{action}_{model_name}")
        if not self.user.has_perm(codename):
            return False
        if action == "view":
            return self.can_view(model_name, obj)
        if self.user.is_admin or obj.owner_id == self.user.pk:
            return True
        reach = self.reach
        if reach.managed_team_ids and (
            obj.team_id in reach.managed_team_ids
            or (obj.owner_id is not None and obj.owner_id in reach.managed_member_ids)
            or (model_name == "lead" and obj.owner_id is None and obj.team_id is None)
        ):
            return True
        # A lead of the user's team that nobody owns yet may be picked up by its members.
        return (model_name == "lead" and obj.owner_id is None
                and obj.team_id in reach.team_ids)


def sales_policy_for(user) -> SalesPolicy:
    policy = getattr(user, "_sales_policy", None)
    if policy is None:
        policy = SalesPolicy(user)
        user._sales_policy = policy
    return policy
