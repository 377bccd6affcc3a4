"""SLA clock: business-hours arithmetic across nights and weekends, pause and resume, and
the breach sweep (flags, notices once, events)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from service import sla
from service.models import SLANotice, SLAPolicy, Ticket
from service.services import ticket_take, ticket_transition
from tests.factories import CustomerFactory
from tests.service.test_services import events, new_ticket, queued_emails

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def desk_customer(support_team, manager):
    return CustomerFactory(name="Delta Pumps", owner=manager, team=support_team)


@pytest.fixture
def shanghai(settings):
    settings.TIME_ZONE = "Asia/Shanghai"


def business(**kwargs) -> SLAPolicy:
    return SLAPolicy(name="B", priority="normal", first_response_minutes=60,
                     resolution_minutes=540, business_hours_only=True,
                     business_start="09:00", business_end="18:00",
                     business_days=[1, 2, 3, 4, 5], **kwargs)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


# 2025-01-03 is a Friday, 2025-01-06 the Monday after.
def test_it_adds_business_minutes_within_a_day(shanghai):
    assert sla.add_business_minutes(at(2025, 1, 6, 10), 90, business()) == at(2025, 1, 6, 11, 30)


def test_it_carries_over_the_night(shanghai):
    assert sla.add_business_minutes(at(2025, 1, 6, 17), 120, business()) == at(2025, 1, 7, 10)


def test_it_carries_over_the_weekend(shanghai):
    assert sla.add_business_minutes(at(2025, 1, 3, 17), 120, business()) == at(2025, 1, 6, 10)


def test_it_starts_at_opening_time_when_created_outside_hours(shanghai):
    policy = business()
    assert sla.add_business_minutes(at(2025, 1, 4, 15), 30, policy) == at(2025, 1, 6, 9, 30)
    assert sla.add_business_minutes(at(2025, 1, 6, 7), 30, policy) == at(2025, 1, 6, 9, 30)
    assert sla.add_business_minutes(at(2025, 1, 6, 20), 30, policy) == at(2025, 1, 7, 9, 30)


def test_a_target_ending_at_closing_time_is_due_then(shanghai):
    assert sla.add_business_minutes(at(2025, 1, 6, 9), 540, business()) == at(2025, 1, 6, 18)


def test_three_business_days_span_a_weekend(shanghai):
    # Thursday 14:00 + 27 business hours = Thu 4h, Fri 9h, Mon 9h, Tue 5h -> Tue 14:00.
    assert sla.add_business_minutes(at(2025, 1, 2, 14), 27 * 60, business()) \
        == at(2025, 1, 7, 14)


def test_it_counts_business_seconds_between(shanghai):
    policy = business()
    assert sla.business_seconds_between(at(2025, 1, 3, 17), at(2025, 1, 6, 10), policy) \
        == 2 * 3600
    assert sla.business_seconds_between(at(2025, 1, 4, 10), at(2025, 1, 5, 20), policy) == 0
    assert sla.business_seconds_between(at(2025, 1, 6, 10), at(2025, 1, 6, 9), policy) == 0


def test_the_zone_is_the_sites(shanghai):
    # 01:00 UTC on Monday is 09:00 in Shanghai: the business day has just begun.
    start = datetime(2025, 1, 6, 1, tzinfo=ZoneInfo("UTC"))
    assert sla.add_business_minutes(start, 60, business()) == at(2025, 1, 6, 10)


def test_calendar_policies_count_every_minute(shanghai):
    policy = SLAPolicy(name="C", priority="urgent", first_response_minutes=60,
                       resolution_minutes=480)
    assert sla.add_business_minutes(at(2025, 1, 4, 23), 120, policy) == at(2025, 1, 5, 1)
    assert sla.business_seconds_between(at(2025, 1, 4, 23), at(2025, 1, 5, 1), policy) == 7200


def test_business_days_and_hours_are_the_policys(shanghai):
    policy = business()
    policy.business_days = [6]  # Saturdays only
    policy.business_start, policy.business_end = "10:00", "12:00"
    assert sla.add_business_minutes(at(2025, 1, 3, 9), 180, policy) == at(2025, 1, 11, 11)


# --- tickets ----------------------------------------------------------------------------------
def test_a_business_hours_ticket_gets_business_due_times(shanghai, agent, desk_customer,
                                                         support_team, sla_policies):
    ticket = new_ticket(agent, desk_customer, team=support_team, priority="normal")
    policy = sla_policies["normal"]
    assert ticket.first_response_due_at == sla.add_business_minutes(
        ticket.created_at, policy.first_response_minutes, policy)
    assert ticket.resolution_due_at == sla.add_business_minutes(
        ticket.created_at, 27 * 60, policy)


def test_waiting_pauses_and_resuming_moves_the_due_times(shanghai, agent, desk_customer,
                                                         support_team, sla_policies):
    ticket = ticket_take(actor=agent, ticket=new_ticket(agent, desk_customer,
                                                        team=support_team, priority="normal"))
    # Created on a Friday afternoon; waiting from Friday 17:00 to Monday 11:00 pauses it for
    # 1 + 2 business hours.
    created = at(2025, 1, 3, 15)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=created)
    ticket.refresh_from_db()
    sla.compute_due_times(ticket)
    due_first, due_resolution = ticket.first_response_due_at, ticket.resolution_due_at
    assert due_first == at(2025, 1, 6, 14)  # 8 business hours: Fri 3 h, Mon 5 h
    Ticket.objects.filter(pk=ticket.pk).update(first_response_due_at=due_first,
                                               resolution_due_at=due_resolution)
    ticket.refresh_from_db()

    ticket = ticket_transition(actor=agent, ticket=ticket, to_status="waiting")
    assert ticket.paused_at is not None
    Ticket.objects.filter(pk=ticket.pk).update(paused_at=at(2025, 1, 3, 17))
    ticket.refresh_from_db()
    sla.resume(ticket, now=at(2025, 1, 6, 11))
    assert ticket.paused_seconds == 3 * 3600 and ticket.paused_at is None
    assert ticket.first_response_due_at == at(2025, 1, 6, 17)  # Mon 14:00 + 3 business h
    assert ticket.resolution_due_at == sla.add_business_minutes(due_resolution, 180,
                                                                sla_policies["normal"])


def test_leaving_waiting_through_the_service_moves_the_due_times(agent, desk_customer,
                                                                 support_team, sla_policies):
    ticket = ticket_take(actor=agent, ticket=new_ticket(agent, desk_customer,
                                                        team=support_team, priority="urgent"))
    due = ticket.resolution_due_at
    ticket = ticket_transition(actor=agent, ticket=ticket, to_status="waiting")
    Ticket.objects.filter(pk=ticket.pk).update(
        paused_at=timezone.now() - timedelta(minutes=30))
    ticket.refresh_from_db()
    ticket = ticket_transition(actor=agent, ticket=ticket, to_status="in_progress")
    assert 1799 <= ticket.paused_seconds <= 1802
    assert ticket.resolution_due_at - due == timedelta(seconds=ticket.paused_seconds)


def test_measured_times_exclude_the_pause(agent, desk_customer, support_team, sla_policies):
    ticket = ticket_take(actor=agent, ticket=new_ticket(agent, desk_customer,
                                                        team=support_team, priority="urgent"))
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=timezone.now() - timedelta(hours=3), paused_seconds=3600)
    ticket.refresh_from_db()
    ticket = ticket_transition(actor=agent, ticket=ticket, to_status="resolved")
    assert 2 * 3600 - 2 <= ticket.resolution_seconds <= 2 * 3600 + 2


# --- the sweep --------------------------------------------------------------------------------
def _due(ticket, *, first=None, resolution=None):
    Ticket.objects.filter(pk=ticket.pk).update(
        first_response_due_at=first or ticket.first_response_due_at,
        resolution_due_at=resolution or ticket.resolution_due_at)


def test_the_sweep_flags_and_notifies_each_breach_once(agent, desk_customer, support_team,
                                                       sla_policies,
                                                       django_capture_on_commit_callbacks):
    now = timezone.now()
    late = ticket_take(actor=agent, ticket=new_ticket(agent, desk_customer, team=support_team,
                                                      priority="urgent"))
    _due(late, first=now - timedelta(minutes=1))
    fine = new_ticket(agent, desk_customer, team=support_team, priority="urgent")

    with django_capture_on_commit_callbacks() as callbacks:
        assert sla.sla_sweep(now=now) == 1
    late.refresh_from_db()
    fine.refresh_from_db()
    assert late.first_response_breached and not late.resolution_breached
    assert not fine.first_response_breached
    [(kind, ticket_id, params)] = queued_emails(callbacks)
    assert (kind, ticket_id, params["target"], params["level"]) == (
        "sla_notice", late.pk, "first_response", "breach")
    assert events("ticket.sla_breached", late).get().customer_id == desk_customer.pk

    with django_capture_on_commit_callbacks() as callbacks:
        assert sla.sla_sweep(now=now + timedelta(minutes=2)) == 0
    assert queued_emails(callbacks) == []
    assert SLANotice.objects.count() == 1


def test_the_sweep_warns_near_a_breach(agent, desk_customer, support_team, sla_policies):
    ticket = new_ticket(agent, desk_customer, team=support_team, priority="urgent")
    # 80 % of the 60 minutes have passed: warn, once.
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=ticket.created_at - timedelta(minutes=50),
        first_response_due_at=ticket.first_response_due_at - timedelta(minutes=50))
    assert sla.sla_sweep() == 1
    notice = SLANotice.objects.get()
    assert (notice.target, notice.level) == ("first_response", "near")
    assert not Ticket.objects.get(pk=ticket.pk).first_response_breached
    assert sla.sla_sweep() == 0


def test_the_sweep_skips_waiting_answered_and_closed_tickets(agent, desk_customer,
                                                             support_team, sla_policies):
    past = timezone.now() - timedelta(hours=1)
    waiting = ticket_transition(actor=agent, ticket=ticket_take(
        actor=agent, ticket=new_ticket(agent, desk_customer, team=support_team)),
        to_status="waiting")
    resolved = ticket_transition(actor=agent, ticket=new_ticket(
        agent, desk_customer, team=support_team), to_status="resolved")
    for t in (waiting, resolved):
        _due(t, first=past, resolution=past)
    assert sla.sla_sweep() == 0
    assert not Ticket.objects.filter(first_response_breached=True).exists()


def test_a_moved_due_time_warns_again(agent, desk_customer, support_team, sla_policies):
    ticket = new_ticket(agent, desk_customer, team=support_team, priority="urgent")
    _due(ticket, first=timezone.now() - timedelta(minutes=1))
    assert sla.sla_sweep() == 1
    _due(ticket, first=timezone.now() - timedelta(seconds=5))
    assert sla.sla_sweep() == 1
    assert SLANotice.objects.count() == 2
