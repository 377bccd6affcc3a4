"""The ticket services: creation, transitions, assignment, replies, the customer's reply,
the survey, attachments, feedback, queues and access."""

from __future__ import annotations

import functools
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone

from crm.exceptions import ApplicationError, StaleObjectError
from crm.models import Event
from service import notifications
from service.models import Feedback, ServiceConfig, Ticket, TicketAssignment, TicketAttachment
from service.selectors import ticket_get_for_user
from service.selectors_queues import customer_service_figures, queue
from service.services import (
    ALLOWED_TRANSITIONS,
    feedback_create,
    feedback_set_status,
    survey_answer,
    ticket_assign,
    ticket_bulk_assign,
    ticket_create,
    ticket_customer_reply,
    ticket_note,
    ticket_reply,
    ticket_take,
    ticket_transition,
    ticket_update,
    validate_attachment,
)
from tests.factories import ContactFactory, CustomerFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

S = Ticket.Status
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


# --- helpers shared by the service test modules ---------------------------------------------
def queued_emails(callbacks) -> list[tuple[str, int, dict]]:
    """The ticket e-mails a block queued for after its commit (kind, ticket id, params)."""
    return [cb.args for cb in callbacks
            if isinstance(cb, functools.partial) and cb.func is notifications.send_later]


def send_queued(callbacks) -> int:
    """Send the queued ticket e-mails here, as the worker's task would."""
    return sum(notifications.send_ticket_email(kind, ticket_id, **params)
               for kind, ticket_id, params in queued_emails(callbacks))


def events(name: str, ticket: Ticket | None = None):
    qs = Event.objects.filter(name=name)
    if ticket is not None:
        qs = qs.filter(subject_id=str(ticket.pk))
    return qs


@pytest.fixture
def desk_customer(support_team, manager):
    return CustomerFactory(name="Delta Pumps", owner=manager, team=support_team)


@pytest.fixture
def contact(desk_customer):
    return ContactFactory(customer=desk_customer, first_name="Dana", last_name="Lee",
                          email="dana@delta.example")


def new_ticket(actor, customer, contact=None, **data) -> Ticket:
    return ticket_create(actor=actor, data={"subject": "Pump leaks",
                                            "description": "Water everywhere",
                                            "customer": customer, "contact": contact, **data})


def moved(ticket: Ticket, actor, *path: str) -> Ticket:
    for status in path:
        ticket = ticket_transition(actor=actor, ticket=ticket, to_status=status)
    return ticket


# --- creation ---------------------------------------------------------------------------------
def test_it_creates_a_numbered_ticket_with_due_times_and_a_confirmation(
        agent, contact, desk_customer, sla_policies, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        ticket = new_ticket(agent, desk_customer, contact, priority="urgent")
    assert ticket.number.startswith("T-") and len(ticket.number) == 8
    assert ticket.status == S.NEW and ticket.created_by == agent
    assert ticket.requester_email == "dana@delta.example"
    assert ticket.sla_policy == sla_policies["urgent"]
    assert ticket.first_response_due_at == ticket.created_at + timedelta(minutes=60)
    assert ticket.resolution_due_at == ticket.created_at + timedelta(minutes=8 * 60)
    assert queued_emails(callbacks) == [("requester_confirmation", ticket.pk, {})]
    event = events("ticket.created", ticket).get()
    assert event.customer_id == desk_customer.pk and event.actor == agent


def test_it_numbers_tickets_from_the_sequence(agent, desk_customer, sla_policies):
    first = new_ticket(agent, desk_customer)
    second = new_ticket(agent, desk_customer)
    assert int(second.number[2:]) == int(first.number[2:]) + 1


def test_a_public_request_needs_no_user(sla_policies, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        ticket = ticket_create(actor=None, data={
            "subject": "Help", "description": "Broken", "requester_name": "Pat",
            "requester_email": "pat@example.com", "channel": "web"})
    assert ticket.created_by is None and ticket.customer is None
    assert [c[0] for c in queued_emails(callbacks)] == ["requester_confirmation"]
    assert events("ticket.created", ticket).get().payload["public"] is True


def test_it_refuses_a_ticket_without_subject_and_changes_nothing(agent, desk_customer):
    with pytest.raises(ApplicationError):
        ticket_create(actor=agent, data={"subject": " ", "description": "x",
                                         "customer": desk_customer})
    assert not Ticket.objects.exists()


def test_it_refuses_a_bad_priority_with_a_message(agent, desk_customer, sla_policies):
    with pytest.raises(ApplicationError, match="Priority: "):
        new_ticket(agent, desk_customer, priority="whenever")
    assert not Ticket.objects.exists()


def test_it_refuses_a_contact_or_order_of_another_customer(agent, desk_customer, contact):
    other = CustomerFactory()
    with pytest.raises(ApplicationError):
        new_ticket(agent, other, contact)
    with pytest.raises(ApplicationError):
        new_ticket(agent, desk_customer, order=OrderFactory(customer=other))
    assert not Ticket.objects.exists()


def test_staff_must_see_the_customer(agent, other_customer):
    with pytest.raises(PermissionDenied):
        new_ticket(agent, other_customer)


def test_the_analyst_cannot_create_tickets(analyst, desk_customer):
    with pytest.raises(PermissionDenied):
        new_ticket(analyst, desk_customer)


def test_a_given_assignee_makes_it_assigned(agent, manager, desk_customer, support_team,
                                            sla_policies, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        ticket = new_ticket(manager, desk_customer, team=support_team, assignee=agent)
    assert ticket.status == S.ASSIGNED and ticket.assignee == agent
    assert TicketAssignment.objects.get(ticket=ticket).to_user == agent
    assert ("assigned", ticket.pk, {}) in queued_emails(callbacks)
    assert events("ticket.assigned", ticket).count() == 1


def test_it_links_an_order_and_a_product(agent, desk_customer, sla_policies):
    from tests.factories import ProductFactory

    order = OrderFactory(customer=desk_customer)
    product = ProductFactory()
    ticket = new_ticket(agent, desk_customer, order=order, product=product)
    assert (ticket.order, ticket.product) == (order, product)


# --- update -----------------------------------------------------------------------------------
def test_a_new_priority_recomputes_the_due_times(agent, desk_customer, support_team,
                                                 sla_policies):
    ticket = new_ticket(agent, desk_customer, priority="urgent", team=support_team)
    ticket = ticket_update(actor=agent, ticket=ticket, data={"priority": "high"},
                           expected_version=ticket.version)
    assert ticket.sla_policy == sla_policies["high"]
    assert ticket.first_response_due_at == ticket.created_at + timedelta(hours=4)
    assert ticket.resolution_due_at == ticket.created_at + timedelta(hours=24)
    assert events("ticket.updated", ticket).get().payload["fields"] == ["priority"]


def test_a_stale_edit_is_refused(agent, desk_customer, support_team, sla_policies):
    ticket = new_ticket(agent, desk_customer, team=support_team)
    ticket_update(actor=agent, ticket=ticket, data={"subject": "First"},
                  expected_version=ticket.version)
    with pytest.raises(StaleObjectError):
        ticket_update(actor=agent, ticket=ticket, data={"subject": "Second"},
                      expected_version=ticket.version)
    assert Ticket.objects.get(pk=ticket.pk).subject == "First"


# --- transitions ------------------------------------------------------------------------------
ALL_MOVES = [(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets]
PATH_TO = {  # how to reach each status by allowed moves from a new, assigned ticket
    S.NEW: [], S.ASSIGNED: [], S.IN_PROGRESS: [S.IN_PROGRESS],
    S.WAITING: [S.WAITING], S.RESOLVED: [S.RESOLVED], S.CLOSED: [S.RESOLVED, S.CLOSED],
    S.ARCHIVED: [S.RESOLVED, S.CLOSED, S.ARCHIVED],
}


def _ticket_in(status, agent, customer, team) -> Ticket:
    ticket = new_ticket(agent, customer, team=team)
    if status != S.NEW:
        ticket = ticket_take(actor=agent, ticket=ticket)
    return moved(ticket, agent, *PATH_TO[status])


@pytest.mark.parametrize(("from_status", "to_status"), ALL_MOVES)
def test_it_allows_every_listed_move(from_status, to_status, agent, desk_customer,
                                     support_team, sla_policies):
    ticket = _ticket_in(from_status, agent, desk_customer, support_team)
    assert ticket.status == from_status
    ticket = ticket_transition(actor=agent, ticket=ticket, to_status=to_status,
                               expected_version=ticket.version)
    assert Ticket.objects.get(pk=ticket.pk).status == to_status
    event = events("ticket.status_changed", ticket).latest("id")
    assert (event.payload["from"], event.payload["to"]) == (from_status, to_status)
    assert event.customer_id == desk_customer.pk


@pytest.mark.parametrize(("from_status", "to_status"), [
    (S.NEW, S.WAITING), (S.NEW, S.ARCHIVED), (S.ASSIGNED, S.CLOSED), (S.IN_PROGRESS, S.NEW),
    (S.WAITING, S.CLOSED), (S.RESOLVED, S.WAITING), (S.CLOSED, S.IN_PROGRESS),
    (S.IN_PROGRESS, "nonsense"),
])
def test_it_refuses_other_moves_with_a_message(from_status, to_status, agent, desk_customer,
                                              support_team, sla_policies):
    ticket = _ticket_in(from_status, agent, desk_customer, support_team)
    before = Event.objects.count()
    with pytest.raises(ApplicationError, match="cannot be moved"):
        ticket_transition(actor=agent, ticket=ticket, to_status=to_status)
    assert Ticket.objects.get(pk=ticket.pk).status == from_status
    assert Event.objects.count() == before


def test_an_archived_ticket_is_read_only(agent, desk_customer, support_team, sla_policies):
    ticket = _ticket_in(S.ARCHIVED, agent, desk_customer, support_team)
    with pytest.raises(PermissionDenied):
        ticket_reply(actor=agent, ticket=ticket, body="Hello?")
    with pytest.raises(PermissionDenied):
        ticket_update(actor=agent, ticket=ticket, data={"subject": "x"},
                      expected_version=ticket.version)
    with pytest.raises(PermissionDenied):
        ticket_get_for_user(agent, ticket.uuid, "change")
    assert ticket_get_for_user(agent, ticket.uuid) == ticket  # still visible (searchable)


def test_a_stale_transition_is_refused(agent, desk_customer, support_team, sla_policies):
    ticket = _ticket_in(S.ASSIGNED, agent, desk_customer, support_team)
    version = ticket.version
    ticket_note(actor=agent, ticket=ticket, body="bumps the version")
    with pytest.raises(StaleObjectError):
        ticket_transition(actor=agent, ticket=ticket, to_status=S.IN_PROGRESS,
                          expected_version=version)


def test_resolving_records_the_time_and_sends_the_survey_once(
        agent, contact, desk_customer, support_team, sla_policies,
        django_capture_on_commit_callbacks):
    ticket = _ticket_in(S.IN_PROGRESS, agent, desk_customer, support_team)
    ticket.contact = contact
    Ticket.objects.filter(pk=ticket.pk).update(contact=contact)
    with django_capture_on_commit_callbacks() as callbacks:
        ticket = moved(ticket, agent, S.RESOLVED, S.IN_PROGRESS, S.RESOLVED)
    assert ticket.resolved_at is not None and ticket.resolution_seconds is not None
    assert [c for c in queued_emails(callbacks) if c[0] == "survey"] == [
        ("survey", ticket.pk, {})]


# --- assignment -------------------------------------------------------------------------------
def test_reassignment_keeps_history_and_mails_the_new_assignee(
        agent, manager, desk_customer, support_team, sla_policies,
        django_capture_on_commit_callbacks):
    ticket = new_ticket(manager, desk_customer, team=support_team)
    ticket = ticket_assign(actor=manager, ticket=ticket, assignee=agent)
    with django_capture_on_commit_callbacks() as callbacks:
        ticket = ticket_assign(actor=manager, ticket=ticket, assignee=manager, note="Escalated")
    history = list(TicketAssignment.objects.filter(ticket=ticket).order_by("id")
                   .values_list("from_user", "to_user", "note"))
    assert history == [(None, agent.pk, ""), (agent.pk, manager.pk, "Escalated")]
    assert ticket.status == S.ASSIGNED
    # The manager assigned it to himself: nobody to tell.
    assert queued_emails(callbacks) == []
    assert events("ticket.assigned", ticket).count() == 2


def test_only_agents_of_the_team_can_be_assigned(manager, rep, agent, desk_customer,
                                                 support_team, sla_policies):
    ticket = new_ticket(manager, desk_customer, team=support_team)
    with pytest.raises(ApplicationError):
        ticket_assign(actor=manager, ticket=ticket, assignee=rep)  # Sales role
    outsider_agent = UserFactory(roles=["Support"])
    with pytest.raises(ApplicationError, match="not a member"):
        ticket_assign(actor=manager, ticket=ticket, assignee=outsider_agent)
    inactive = UserFactory(roles=["Support"], is_active=False)
    support_team.members.add(inactive)
    with pytest.raises(ApplicationError):
        ticket_assign(actor=manager, ticket=ticket, assignee=inactive)
    assert not TicketAssignment.objects.exists()


def test_an_agent_takes_a_pool_ticket(agent, sla_policies):
    ticket = ticket_create(actor=None, data={"subject": "Help", "description": "x"})
    ticket = ticket_take(actor=agent, ticket=ticket)
    assert (ticket.assignee, ticket.status) == (agent, S.ASSIGNED)


def test_bulk_assign_is_all_or_nothing(manager, agent, rep, desk_customer, support_team,
                                       sla_policies):
    tickets = [new_ticket(manager, desk_customer, team=support_team) for _ in range(3)]
    assert ticket_bulk_assign(actor=manager, tickets=tickets, assignee=agent) == 3
    assert set(Ticket.objects.values_list("assignee", flat=True)) == {agent.pk}
    other_team = new_ticket(manager, desk_customer)  # pool: no team
    from tests.factories import TeamFactory

    Ticket.objects.filter(pk=other_team.pk).update(team=TeamFactory(manager=manager))
    other_team.refresh_from_db()
    # A new request: the access policy cached on the user instance is per request.
    manager = type(manager).objects.get(pk=manager.pk)
    with pytest.raises(ApplicationError):
        ticket_bulk_assign(actor=manager, tickets=[*tickets, other_team], assignee=manager)
    assert set(Ticket.objects.values_list("assignee", flat=True)) == {agent.pk, None}


# --- replies, notes, the customer's reply -----------------------------------------------------
def test_the_first_public_reply_is_the_first_response(
        agent, contact, desk_customer, support_team, sla_policies, mailbox,
        django_capture_on_commit_callbacks, settings):
    ticket = new_ticket(agent, desk_customer, contact, team=support_team)
    with django_capture_on_commit_callbacks() as callbacks:
        comment = ticket_reply(actor=agent, ticket=ticket, body="We are on it.")
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None and ticket.first_response_seconds >= 0
    assert not ticket.first_response_breached
    assert queued_emails(callbacks) == [("public_reply", ticket.pk, {"comment_id": comment.pk})]
    first = ticket.first_responded_at
    ticket_reply(actor=agent, ticket=ticket, body="Still on it.")
    ticket.refresh_from_db()
    assert ticket.first_responded_at == first
    assert events("ticket.replied", ticket).count() == 2


def test_a_late_first_reply_is_flagged(agent, desk_customer, support_team, sla_policies):
    ticket = new_ticket(agent, desk_customer, team=support_team, priority="urgent")
    Ticket.objects.filter(pk=ticket.pk).update(
        first_response_due_at=timezone.now() - timedelta(minutes=1))
    ticket_reply(actor=agent, ticket=ticket, body="Sorry for the wait.")
    assert Ticket.objects.get(pk=ticket.pk).first_response_breached


def test_a_note_stays_internal(agent, contact, desk_customer, support_team, sla_policies,
                               django_capture_on_commit_callbacks):
    ticket = new_ticket(agent, desk_customer, contact, team=support_team)
    with django_capture_on_commit_callbacks() as callbacks:
        note = ticket_note(actor=agent, ticket=ticket, body="Customer is grumpy")
    assert note.is_public is False
    assert queued_emails(callbacks) == []
    assert Ticket.objects.get(pk=ticket.pk).first_responded_at is None
    assert events("ticket.note_added", ticket).count() == 1


def test_an_empty_reply_is_refused(agent, desk_customer, support_team, sla_policies):
    ticket = new_ticket(agent, desk_customer, team=support_team)
    with pytest.raises(ApplicationError):
        ticket_reply(actor=agent, ticket=ticket, body="   ")
    assert not ticket.comments.exists()


@pytest.mark.parametrize(("start", "path"), [
    (S.WAITING, [S.WAITING]), (S.RESOLVED, [S.RESOLVED])])
def test_a_customer_reply_brings_the_ticket_back(start, path, agent, desk_customer,
                                                 support_team, sla_policies,
                                                 django_capture_on_commit_callbacks):
    ticket = moved(ticket_take(actor=agent, ticket=new_ticket(agent, desk_customer,
                                                              team=support_team)), agent, *path)
    assert ticket.status == start
    with django_capture_on_commit_callbacks() as callbacks:
        comment = ticket_customer_reply(ticket=ticket, body="Here is the info.")
    ticket.refresh_from_db()
    assert ticket.status == S.IN_PROGRESS and ticket.paused_at is None
    assert comment.from_customer and comment.author is None
    assert ("customer_replied", ticket.pk, {"comment_id": comment.pk}) in \
        queued_emails(callbacks)
    assert events("ticket.customer_replied", ticket).count() == 1


def test_a_customer_cannot_reply_to_a_closed_ticket(agent, desk_customer, support_team,
                                                    sla_policies):
    ticket = _ticket_in(S.CLOSED, agent, desk_customer, support_team)
    with pytest.raises(ApplicationError):
        ticket_customer_reply(ticket=ticket, body="Hello?")
    assert not ticket.comments.filter(from_customer=True).exists()


# --- survey -----------------------------------------------------------------------------------
def test_the_survey_is_answered_once(agent, contact, desk_customer, support_team,
                                     sla_policies):
    ticket = new_ticket(agent, desk_customer, contact, team=support_team)
    ticket = moved(ticket, agent, S.RESOLVED)
    assert ticket.survey_sent_at is not None
    with pytest.raises(ApplicationError):
        survey_answer(ticket=ticket, score=6, comment="")
    ticket = survey_answer(ticket=ticket, score=4, comment="Quick, thanks")
    assert (ticket.satisfaction_score, ticket.satisfaction_comment) == (4, "Quick, thanks")
    with pytest.raises(ApplicationError, match="already"):
        survey_answer(ticket=ticket, score=1, comment="Changed my mind")
    assert Ticket.objects.get(pk=ticket.pk).satisfaction_score == 4
    assert events("ticket.rated", ticket).get().customer_id == desk_customer.pk


def test_a_survey_needs_a_resolved_ticket(agent, desk_customer, support_team, sla_policies):
    ticket = new_ticket(agent, desk_customer, team=support_team)
    with pytest.raises(ApplicationError):
        survey_answer(ticket=ticket, score=5, comment="")


# --- attachments ------------------------------------------------------------------------------
def test_it_stores_an_allowed_attachment(agent, desk_customer, support_team, sla_policies,
                                         settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path)}}}
    ticket = new_ticket(agent, desk_customer, team=support_team)
    comment = ticket_reply(actor=agent, ticket=ticket, body="See the picture",
                           attachments=[SimpleUploadedFile("shot.png", PNG)])
    attachment = TicketAttachment.objects.get(comment=comment)
    assert (attachment.name, attachment.content_type, attachment.size) == (
        "shot.png", "image/png", len(PNG))


@pytest.mark.parametrize(("name", "content", "message"), [
    ("virus.exe", b"MZ\x90\x00", "not an allowed file type"),
    ("fake.png", b"%PDF-1.4 pretending", "does not look like"),
    ("fake.pdf", PNG, "does not look like"),
    ("binary.txt", b"abc\x00def", "does not look like"),
])
def test_it_refuses_attachments_of_a_wrong_type(name, content, message, db):
    with pytest.raises(ApplicationError, match=message):
        validate_attachment(SimpleUploadedFile(name, content))


def test_it_refuses_too_big_attachments_and_changes_nothing(agent, desk_customer,
                                                            support_team, sla_policies):
    config = ServiceConfig.get()
    config.max_attachment_mb = 1
    config.save()
    ticket = new_ticket(agent, desk_customer, team=support_team)
    big = SimpleUploadedFile("big.pdf", b"%PDF-" + b"x" * (1024 * 1024))
    with pytest.raises(ApplicationError, match="too large"):
        ticket_reply(actor=agent, ticket=ticket, body="Big file", attachments=[big])
    assert not ticket.comments.exists() and not TicketAttachment.objects.exists()


def test_it_accepts_each_allowed_type(db):
    samples = {"a.pdf": b"%PDF-1.7", "a.jpg": b"\xff\xd8\xff\xe0", "a.gif": b"GIF89a..",
               "a.webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ", "a.txt": "héllo".encode(),
               "a.csv": b"a,b\n1,2\n", "a.docx": b"PK\x03\x04", "a.xlsx": b"PK\x03\x04",
               "A.PNG": PNG}
    for name, content in samples.items():
        validate_attachment(SimpleUploadedFile(name, content))


# --- access -----------------------------------------------------------------------------------
def test_an_outsider_can_neither_see_nor_act(agent, outsider, desk_customer, support_team,
                                             sla_policies):
    ticket = new_ticket(agent, desk_customer, team=support_team)
    with pytest.raises(Http404):
        ticket_get_for_user(outsider, ticket.uuid, "change")
    for call in (
        lambda: ticket_transition(actor=outsider, ticket=ticket, to_status=S.IN_PROGRESS),
        lambda: ticket_reply(actor=outsider, ticket=ticket, body="hi"),
        lambda: ticket_note(actor=outsider, ticket=ticket, body="hi"),
        lambda: ticket_take(actor=outsider, ticket=ticket),
        lambda: ticket_update(actor=outsider, ticket=ticket, data={"subject": "x"},
                              expected_version=ticket.version),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert Ticket.objects.get(pk=ticket.pk).version == ticket.version


def test_the_analyst_sees_but_cannot_act(agent, analyst, desk_customer, support_team,
                                         sla_policies):
    ticket = new_ticket(agent, desk_customer, team=support_team)
    assert ticket_get_for_user(analyst, ticket.uuid) == ticket
    for action in ("change", "assign", "reply"):
        with pytest.raises(PermissionDenied):
            ticket_get_for_user(analyst, ticket.uuid, action)
    with pytest.raises(PermissionDenied):
        ticket_transition(actor=analyst, ticket=ticket, to_status=S.IN_PROGRESS)
    with pytest.raises(PermissionDenied):
        ticket_assign(actor=analyst, ticket=ticket, assignee=agent)
    with pytest.raises(PermissionDenied):
        ticket_reply(actor=analyst, ticket=ticket, body="hi")


# --- feedback ---------------------------------------------------------------------------------
def test_it_logs_feedback_and_moves_its_status(agent, contact, desk_customer):
    feedback = feedback_create(actor=agent, data={
        "kind": "complaint", "customer": desk_customer, "contact": contact,
        "channel": "phone", "body": "Delivery was late"})
    event = events("feedback.created").get()
    assert event.customer_id == desk_customer.pk and feedback.logged_by == agent
    feedback = feedback_set_status(actor=agent, feedback=feedback, status="acknowledged")
    assert Feedback.objects.get(pk=feedback.pk).status == "acknowledged"


def test_feedback_is_refused_for_bad_input_and_strangers(agent, analyst, desk_customer,
                                                         other_customer):
    with pytest.raises(ApplicationError):
        feedback_create(actor=agent, data={"kind": "rant", "customer": desk_customer,
                                           "body": "x"})
    with pytest.raises(PermissionDenied):
        feedback_create(actor=agent, data={"kind": "praise", "customer": other_customer,
                                           "body": "x"})
    with pytest.raises(PermissionDenied):
        feedback_create(actor=analyst, data={"kind": "praise", "customer": desk_customer,
                                             "body": "x"})
    assert not Feedback.objects.exists()


# --- queues and figures -----------------------------------------------------------------------
def test_the_queues(agent, manager, desk_customer, support_team, sla_policies):
    mine = ticket_take(actor=agent, ticket=new_ticket(agent, desk_customer, team=support_team))
    pool = ticket_create(actor=None, data={"subject": "Help", "description": "x"})
    late = new_ticket(manager, desk_customer, team=support_team, priority="urgent")
    Ticket.objects.filter(pk=late.pk).update(
        first_response_due_at=timezone.now() - timedelta(minutes=5))
    assert list(queue(agent, "mine")) == [mine]
    assert set(queue(agent, "unassigned")) == {pool, late}
    breaching = list(queue(agent, "breaching"))
    assert breaching[0] == late and mine not in breaching  # normal: business days away
    assert set(queue(agent, "all")) == {mine, pool, late}
    with pytest.raises(Http404):
        queue(agent, "everything")


def test_the_customer_figures_come_in_one_query(agent, desk_customer, support_team,
                                                sla_policies, django_assert_num_queries):
    a = new_ticket(agent, desk_customer, team=support_team)
    b = new_ticket(agent, desk_customer, team=support_team)
    new_ticket(agent, desk_customer, team=support_team)
    Ticket.objects.filter(pk=a.pk).update(status=S.RESOLVED, resolution_seconds=7200,
                                          satisfaction_score=5, resolution_breached=True)
    Ticket.objects.filter(pk=b.pk).update(status=S.CLOSED, resolution_seconds=3600,
                                          satisfaction_score=2)
    with django_assert_num_queries(1):
        figures = customer_service_figures(desk_customer)
    assert figures == {"open": 1, "total": 3, "avg_satisfaction": 3.5,
                       "avg_resolution_hours": 1.5, "breached": 1}


def test_closing_a_resolved_ticket_leaves_the_sla_clock_stopped(agent, support_team,
                                                                sla_policies):
    from service.services import ticket_create, ticket_transition

    ticket = ticket_create(actor=agent, data={
        "subject": "Printer", "description": "Jammed", "team": support_team,
        "assignee": agent, "priority": "urgent"})
    ticket = ticket_transition(actor=agent, ticket=ticket, to_status="in_progress")
    ticket = ticket_transition(actor=agent, ticket=ticket, to_status="resolved")
    due, paused = ticket.resolution_due_at, ticket.paused_seconds

    ticket = ticket_transition(actor=agent, ticket=ticket, to_status="closed")

    assert ticket.status == "closed"
    assert (ticket.resolution_due_at, ticket.paused_seconds) == (due, paused)
