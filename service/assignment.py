"""Automatic distribution of new tickets by the assignment rules.

The first active rule (by order, then id) whose category and priority match (blank = any)
picks an agent among its team's ACTIVE members holding the Support or Manager role:
- round_robin: the next agent (by id) after the rule's last_assigned, wrapping round; the rule
  row is locked (SELECT ... FOR UPDATE) so that two tickets created at once never get the same
  "next" agent;
- least_open: the agent with the fewest open tickets, in one grouped query; ties go to the
  first by name, then id. The rule row is locked before counting, for the same reason.
A matching rule whose team has no active agent is passed over for the next matching one (as
lead rules are). No rule with an agent: the ticket stays "new" in the pool.
"""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from accounts import roles

AGENT_ROLES = (roles.SUPPORT, roles.MANAGER)


def matching_rules(ticket) -> QuerySet:
    from service.models import AssignmentRule

    return (
        AssignmentRule.objects.filter(is_active=True)
        .filter(Q(category__isnull=True) | Q(category_id=ticket.category_id))
        .filter(Q(priority="") | Q(priority=ticket.priority))
        .select_related("team")
        .order_by("order", "id")
    )


def matching_rule(ticket):
    return matching_rules(ticket).first()


def team_agents(team) -> QuerySet:
    """Active members of `team` with the Support or Manager role (subqueries, so that no join
    multiplies the rows of an agent holding both roles)."""
    from django.contrib.auth import get_user_model

    from accounts.models import Team

    User = get_user_model()
    members = Team.members.through.objects.filter(team_id=team.pk).values("user_id")
    with_role = User.groups.through.objects.filter(group__name__in=AGENT_ROLES).values("user_id")
    return User.objects.filter(is_active=True, pk__in=members).filter(pk__in=with_role)


def pick_round_robin(rule):
    """The next agent after rule.last_assigned; locks the rule row and moves its pointer."""
    from service.models import AssignmentRule

    locked = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
    agents = team_agents(rule.team).order_by("pk")
    agent = None
    if locked.last_assigned_id is not None:
        agent = agents.filter(pk__gt=locked.last_assigned_id).first()
    agent = agent or agents.first()
    if agent is not None:
        AssignmentRule.objects.filter(pk=rule.pk).update(last_assigned=agent)
    return agent


def pick_least_open(rule):
    """The agent with the fewest open tickets. The rule row is locked first (like
    round_robin): a second ticket created at the same time waits until the first is committed
    with its assignee, so its count (a new statement under READ COMMITTED) sees it and the two
    do not both go to the same agent."""
    from service.models import AssignmentRule, Ticket

    AssignmentRule.objects.select_for_update().filter(pk=rule.pk).values_list("pk").first()
    return (
        team_agents(rule.team)
        .annotate(open_tickets=Count("assigned_tickets",
                                     filter=Q(assigned_tickets__status__in=Ticket.OPEN)))
        .order_by("open_tickets", "first_name", "last_name", "pk")
        .first()
    )


def pick_agent(ticket):
    """(rule, agent) for the ticket; either may be None."""
    from service.models import AssignmentRule

    first = None
    for rule in matching_rules(ticket):
        first = first or rule
        if rule.strategy == AssignmentRule.Strategy.LEAST_OPEN:
            agent = pick_least_open(rule)
        else:
            agent = pick_round_robin(rule)
        if agent is not None:
            return rule, agent
    return first, None
