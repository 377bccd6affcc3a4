"""Who sees and who works which ticket.

- Admins: all. Analysts: see all, change none (view permissions only).
- Support agents: tickets of their teams, tickets assigned to them, and the shared pool
  (tickets with no team yet) so that somebody can take them.
- Managers: tickets of the teams they manage and those assigned to their members, the pool.
- Others (Sales): tickets of their teams, and those assigned to them.
Archived tickets are read-only for everybody. The model permission (service.change_ticket,
service.assign_ticket, service.reply_ticket) must also be held.
"""

from __future__ import annotations

from django.db.models import Q

from accounts import roles
from customers.permissions import policy_for as customer_policy_for


class TicketPolicy:
    def __init__(self, user):
        self.user = user
        self.reach = customer_policy_for(user)

    @property
    def sees_all(self) -> bool:
        return self.user.is_admin or self.user.has_role(roles.ANALYST)

    @property
    def sees_pool(self) -> bool:
        return self.user.has_role(roles.SUPPORT, roles.MANAGER)

    def visible_q(self, prefix: str = "") -> Q | None:
        if self.sees_all:
            return None
        reach = self.reach
        q = Q(**{f"{prefix}assignee": self.user})
        teams = [*reach.team_ids, *reach.managed_team_ids]
        if teams:
            q |= Q(**{f"{prefix}team_id__in": teams})
        if reach.managed_member_ids:
            q |= Q(**{f"{prefix}assignee_id__in": reach.managed_member_ids})
        if self.sees_pool:
            q |= Q(**{f"{prefix}team__isnull": True})
        return q

    def visible_branches(self) -> list[Q] | None:
        """The set visible_q() describes as DISJOINT filters, each of which one index answers
        alone (for capped counts: a UNION ALL of index-only scans instead of an OR that reads
        the table); None when every ticket is visible."""
        if self.sees_all:
            return None
        reach = self.reach
        teams = sorted({*reach.team_ids, *reach.managed_team_ids})
        branches = []
        assigned = Q(assignee_id__in=sorted({self.user.pk, *reach.managed_member_ids}))
        if teams:
            branches.append(Q(team_id__in=teams))
            assigned &= Q(team__isnull=True) | ~Q(team_id__in=teams)
        if self.sees_pool:
            branches.append(Q(team__isnull=True))
            assigned &= Q(team__isnull=False)
        branches.append(assigned)
        return branches

    def can_view(self, ticket) -> bool:
        if self.sees_all or ticket.assignee_id == self.user.pk:
            return True
        reach = self.reach
        if ticket.team_id is None:
            return self.sees_pool
        if ticket.team_id in reach.team_ids or ticket.team_id in reach.managed_team_ids:
            return True
        return ticket.assignee_id is not None and ticket.assignee_id in reach.managed_member_ids

    def can(self, action: str, ticket) -> bool:
        """May the user do `action` ("change", "assign", "reply") on this visible ticket?"""
        if ticket.status == ticket.Status.ARCHIVED:
            return False
        codename = {"assign": "service.assign_ticket",
                    "reply": "service.reply_ticket"}.get(action, f"service.{action}_ticket")
        return self.user.has_perm(codename) and self.can_view(ticket)


def ticket_policy_for(user) -> TicketPolicy:
    policy = getattr(user, "_ticket_policy", None)
    if policy is None:
        policy = TicketPolicy(user)
        user._ticket_policy = policy
    return policy
