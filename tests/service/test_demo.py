"""The service demo builder: the Service Desk team and its agents, rules, tickets in every
status with conversations, breaches, ratings and feedback; a second run changes nothing."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import call_command

from accounts import roles
from accounts.models import Team, User
from crm import demo
from crm.models import Event
from sales import demo as sales_demo
from service import demo as service_demo
from service.models import AssignmentRule, Feedback, Ticket, TicketAssignment, TicketComment

pytestmark = pytest.mark.django_db

MODELS = [Ticket, TicketComment, TicketAssignment, AssignmentRule, Feedback]


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture
def built(monkeypatch, role_groups, pipeline, sla_policies):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-123")
    demo.register(30, "sales", sales_demo.build)
    demo.register(40, "service", service_demo.build)
    started = time.monotonic()
    call_command("demo_data", stdout=io.StringIO())
    return counts(), time.monotonic() - started


def test_it_builds_the_service_demo_once(built):
    before, _seconds = built
    assert before["Ticket"] == 120 and before["Feedback"] == 28
    assert before["AssignmentRule"] == 3 and before["TicketComment"] > 150
    out = io.StringIO()
    service_demo.build(out)
    assert "already there" in out.getvalue()
    call_command("demo_data", stdout=io.StringIO())
    assert counts() == before


def test_the_demo_has_tickets_in_every_status(built):
    statuses = set(Ticket.objects.values_list("status", flat=True))
    assert statuses == set(Ticket.Status.values)


def test_the_demo_team_has_three_agents_who_can_sign_in(built):
    team = Team.objects.get(name=service_demo.TEAM_NAME)
    agents = [u for u in team.members.all() if u.has_role(roles.SUPPORT)]
    assert len(agents) == 3
    assert team.manager.email == "manager@example.com"
    for email, *_rest in service_demo.AGENTS:
        user = User.objects.get(email=email)
        assert user.check_password("demo-password-123") and user.is_active, email
    assert User.objects.filter(email="support2@example.com").exists()


def test_the_demo_tickets_tell_a_story(built):
    tickets = Ticket.objects.filter(number__startswith=service_demo.NUMBER_PREFIX)
    assert tickets.filter(first_response_breached=True).exists()
    assert tickets.filter(resolution_breached=True).exists()
    assert tickets.filter(satisfaction_score__isnull=False).count() >= 20
    assert not tickets.filter(status="new", assignee__isnull=False).exists()
    assert not tickets.exclude(status="new").filter(assignee__isnull=True).exists()
    assert tickets.filter(status="archived", archived_at__isnull=True).count() == 0
    assert TicketComment.objects.filter(is_public=False).exists()
    assert TicketComment.objects.filter(from_customer=True).exists()
    assert Event.objects.filter(name="ticket.created", dispatched_at__isnull=True).count() == 0
    assert Event.objects.filter(name="ticket.created").count() == 120


def test_the_demo_is_fast(built):
    _counts, seconds = built
    assert seconds < 60  # users, customers, sales and service together
