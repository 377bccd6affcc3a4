"""Automatic distribution: rule matching, round-robin, fewest open tickets, the pool."""

from __future__ import annotations

from collections import Counter

import pytest

from accounts import roles
from customers.models import DictionaryEntry
from service.models import AssignmentRule, Ticket, TicketAssignment
from service.services import ticket_create
from tests.factories import DictionaryEntryFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(role_groups, sla_policies):
    """A team of three agents (one inactive member and one Sales member do not count)."""
    agents = [UserFactory(first_name=name, roles=[roles.SUPPORT]) for name in ("Ann", "Ben",
                                                                               "Cat")]
    idle = UserFactory(first_name="Idle", roles=[roles.SUPPORT], is_active=False)
    seller = UserFactory(first_name="Sid", roles=[roles.SALES])
    team = TeamFactory(name="Desk", members=[*agents, idle, seller])
    return team, agents


def public_ticket(**data) -> Ticket:
    return ticket_create(actor=None, data={"subject": "Help", "description": "x", **data})


def test_round_robin_rotates_through_the_active_agents(desk):
    team, agents = desk
    rule = AssignmentRule.objects.create(name="All", team=team)
    tickets = [public_ticket() for _ in range(7)]
    assert [t.assignee for t in tickets] == [*agents, *agents, agents[0]]
    assert all(t.status == Ticket.Status.ASSIGNED and t.team == team for t in tickets)
    history = TicketAssignment.objects.filter(ticket=tickets[0]).get()
    assert (history.rule, history.by, history.to_user) == (rule, None, agents[0])
    rule.refresh_from_db()
    assert rule.last_assigned == agents[0]


def test_least_open_picks_the_agent_with_the_fewest_open_tickets(desk):
    team, (ann, ben, cat) = desk
    AssignmentRule.objects.create(name="Fair", team=team,
                                  strategy=AssignmentRule.Strategy.LEAST_OPEN)
    from tests.factories import TicketFactory

    TicketFactory.create_batch(2, assignee=ann, status="in_progress")
    TicketFactory(assignee=ben, status="assigned")
    TicketFactory.create_batch(5, assignee=cat, status="closed")  # closed do not count
    picks = [public_ticket().assignee for _ in range(4)]
    # cat 0 -> cat(1); ben 1 vs cat 1 -> ben by name; then cat 1 < ann/ben 2 -> cat; then
    # all at 2 -> ann by name.
    assert picks == [cat, ben, cat, ann]
    assert Counter(t.assignee for t in Ticket.objects.filter(status__in=Ticket.OPEN)) == {
        ann: 3, ben: 2, cat: 2}


def test_the_first_matching_rule_wins(desk, manager):
    team, agents = desk
    billing = DictionaryEntryFactory(kind=DictionaryEntry.Kind.TICKET_CATEGORY, code="billing")
    other_team = TeamFactory(name="Urgent desk", members=[manager])
    AssignmentRule.objects.create(name="Urgent", order=1, priority="urgent", team=other_team)
    AssignmentRule.objects.create(name="Billing", order=2, category=billing, team=team)
    AssignmentRule.objects.create(name="Off", order=0, team=other_team, is_active=False)
    assert public_ticket(priority="urgent", category=billing).assignee == manager
    assert public_ticket(category=billing).assignee == agents[0]
    # Nothing matches: the pool.
    pooled = public_ticket(priority="low")
    assert (pooled.status, pooled.assignee, pooled.team) == ("new", None, None)


def test_a_rule_without_agents_leaves_the_ticket_in_the_pool(desk, manager):
    empty = TeamFactory(name="Empty", members=[UserFactory(roles=[roles.SALES])])
    AssignmentRule.objects.create(name="Nobody", team=empty)
    ticket = public_ticket()
    assert (ticket.status, ticket.assignee) == ("new", None)
    assert not TicketAssignment.objects.exists()


# --- review fixes -------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_least_open_serializes_concurrent_picks_on_the_rule_row(desk):
    """The first creation holds the rule row until it commits: the second waits, then counts
    the first's ticket and picks another agent (without the lock both got the same one)."""
    import threading

    from django.db import connection, transaction

    team, (ann, ben, cat) = desk
    AssignmentRule.objects.create(name="Fair", team=team,
                                  strategy=AssignmentRule.Strategy.LEAST_OPEN)
    picked = {}

    def second():
        try:
            picked["second"] = public_ticket().assignee
        finally:
            connection.close()

    with transaction.atomic():
        picked["first"] = public_ticket().assignee
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive(), "the second pick did not wait for the rule row lock"
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert picked["first"] == ann and picked["second"] == ben


def test_a_rule_whose_team_has_no_agent_passes_the_ticket_to_the_next_rule(desk):
    team, agents = desk
    empty = TeamFactory(name="Night shift")
    AssignmentRule.objects.create(name="Nights", team=empty, order=1)
    AssignmentRule.objects.create(name="Desk", team=team, order=2)

    ticket = public_ticket()

    assert ticket.assignee == agents[0] and ticket.team == team
    assert TicketAssignment.objects.get(ticket=ticket).rule.name == "Desk"
