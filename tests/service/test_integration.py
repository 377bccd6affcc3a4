"""The service desk in the customers module (service.integration): the "Service" panel of the
360 page, timeline describers, merge handlers, GDPR export and erasure, global search."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import search
from crm.models import Event
from customers.gdpr import gdpr_erase, gdpr_export
from customers.merge import customer_merge
from customers.timeline import describe
from service import integration, services
from service.models import Feedback, Ticket, TicketComment
from tests.factories import ContactFactory, CustomerFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _registered(settings, tmp_path, sla_policies):
    """The app registers all of this at start-up (ServiceConfig.ready); again here, idempotent
    by key, and left in place: later test modules expect the registries as a running app
    has them."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    integration.register()


@pytest.fixture
def contact(team_customer):
    return ContactFactory(customer=team_customer, first_name="Lena", last_name="Ng",
                          email="lena@beta.example")


@pytest.fixture
def ticket(manager, team, team_customer, contact):
    """A ticket of Beta Foods (team "Sales East", which `manager` manages)."""
    ticket = services.ticket_create(actor=manager, data={
        "subject": "Freezer alarm", "description": "Lena Ng reports a freezer alarm.",
        "contact": contact, "team": team, "assignee": manager})
    services.ticket_reply(actor=manager, ticket=ticket, body="We are on it, Lena.")
    services.ticket_note(actor=manager, ticket=ticket, body="Internal: call the installer")
    services.ticket_customer_reply(ticket=ticket, body="Call me on 555-0199, Lena Ng")
    ticket.refresh_from_db()
    return ticket


def panel_tickets(html: str) -> str:
    start = html.index('data-testid="customer-tickets"')
    return html[start:html.index("</ul>", start)]


def detail(customer) -> str:
    return reverse("customers:detail", kwargs={"uuid": customer.uuid})


# --- the 360 panel ----------------------------------------------------------------------------
def test_the_panel_shows_figures_tickets_and_feedback(client_for, manager, ticket,
                                                      team_customer):
    services.ticket_transition(actor=manager, ticket=ticket, to_status="resolved")
    ticket.refresh_from_db()
    services.survey_answer(ticket=ticket, score=4, comment="ok")
    services.feedback_create(actor=manager, data={"customer": team_customer,
                                                  "kind": "complaint", "body": "Too slow."})
    html = client_for(manager).get(detail(team_customer)).content.decode()
    assert 'data-testid="customer-service-figures"' in html
    assert 'data-testid="figure-total">1<' in html
    assert 'data-testid="figure-satisfaction">4.0/5<' in html
    assert "Freezer alarm" in html and "Too slow." in html
    assert f"?customer={team_customer.uuid}" in html
    assert 'data-testid="customer-new-ticket"' in html


def test_the_panel_lists_only_tickets_the_user_may_see(client_for, role_groups, team_customer,
                                                       ticket, analyst):
    from accounts import roles
    from tests.factories import UserFactory

    html = client_for(analyst).get(detail(team_customer)).content.decode()
    assert "Freezer alarm" in html
    assert 'data-testid="customer-new-ticket"' not in html  # the analyst may not add
    seller = UserFactory(email="sid.sales@example.com", roles=[roles.SALES])
    team_customer.owner = seller
    team_customer.save(update_fields=["owner"])
    html = client_for(seller).get(detail(team_customer)).content.decode()
    assert 'data-testid="customer-service-figures"' in html
    # The seller is not in the ticket's team: the panel's list leaves it out.
    assert "Freezer alarm" not in panel_tickets(html)
    assert "No tickets." in panel_tickets(html)


def test_the_panel_is_hidden_from_who_may_not_see_tickets(client_for, role_groups,
                                                          team_customer, ticket):
    from accounts import roles
    from tests.factories import UserFactory

    marketer = UserFactory(email="mo.marketing@example.com", roles=[roles.MARKETING])
    html = client_for(marketer).get(detail(team_customer)).content.decode()
    assert 'data-testid="customer-service-figures"' not in html


def test_the_panel_runs_three_queries_whatever_the_rows(manager, team, team_customer, ticket):
    integration.service_panel_context(team_customer, manager)  # warms the user's reach
    with CaptureQueriesContext(connection) as few:
        integration.service_panel_context(team_customer, manager)
    for n in range(9):
        TicketFactory(customer=team_customer, team=team, assignee=manager,
                      subject=f"Extra {n}", satisfaction_score=5)
        Feedback.objects.create(kind="other", customer=team_customer, body=f"F{n}")
    with CaptureQueriesContext(connection) as many:
        context = integration.service_panel_context(team_customer, manager)
    assert len(few) == len(many) == 3
    assert len(context["tickets"]) == 5 and context["more_tickets"]
    assert len(context["feedback"]) == 3
    assert context["service_figures"]["total"] == 10


def test_the_360_page_query_count_does_not_grow_with_tickets(client_for, manager, team,
                                                             team_customer, ticket):
    client = client_for(manager)
    client.get(detail(team_customer))
    with CaptureQueriesContext(connection) as few:
        client.get(detail(team_customer))
    for n in range(10):
        TicketFactory(customer=team_customer, team=team, assignee=manager, subject=f"T{n}")
        Feedback.objects.create(kind="praise", customer=team_customer, body=f"P{n}")
    with CaptureQueriesContext(connection) as many:
        client.get(detail(team_customer))
    assert len(many) == len(few)


# --- timeline ---------------------------------------------------------------------------------
def test_it_describes_ticket_and_feedback_events(manager, ticket, team_customer):
    services.ticket_transition(actor=manager, ticket=ticket, to_status="resolved")
    ticket.refresh_from_db()
    services.survey_answer(ticket=ticket, score=5, comment="")
    feedback = services.feedback_create(actor=manager, data={
        "customer": team_customer, "kind": "praise", "body": "Friendly staff."})
    services.feedback_set_status(actor=manager, feedback=feedback, status="closed")
    texts = {e.name: describe(e) for e in Event.objects.filter(customer_id=team_customer.pk)}
    number = ticket.number
    assert texts["ticket.created"] == f"Ticket opened: {number} Freezer alarm"
    assert texts["ticket.assigned"].startswith(f"Ticket {number} Freezer alarm assigned to")
    assert texts["ticket.replied"] == f"Reply sent on ticket {number} Freezer alarm"
    assert texts["ticket.note_added"] == f"Internal note on ticket {number} Freezer alarm"
    assert texts["ticket.customer_replied"] == \
        f"Customer replied on ticket {number} Freezer alarm"
    assert texts["ticket.rated"] == f"Satisfaction 5/5 for ticket {number} Freezer alarm"
    assert texts["feedback.created"] == "Praise logged: Friendly staff."
    assert texts["feedback.status_changed"] == "Feedback marked “Closed”"
    moved = Event.objects.filter(name="ticket.status_changed",
                                 payload__to="resolved").first()
    assert describe(moved) == f"Ticket {number} Freezer alarm moved from “Assigned” to " \
                              "“Resolved”"


def test_unknown_ticket_events_and_bad_payloads_still_read_well(team_customer):
    odd = Event.objects.create(name="ticket.teleported", customer_id=team_customer.pk,
                               payload={"number": "T-1", "subject": "X"})
    broken = Event.objects.create(name="ticket.status_changed", customer_id=team_customer.pk,
                                  payload=["not", "a", "dict"])
    assert describe(odd) == "Ticket T-1 X"
    assert describe(broken) == "Ticket status changed"


# --- merge ------------------------------------------------------------------------------------
def test_it_moves_tickets_and_feedback_when_customers_merge(manager, ticket, team_customer,
                                                            own_customer):
    services.feedback_create(actor=manager, data={"customer": team_customer,
                                                  "kind": "other", "body": "Moved along."})
    customer_merge(actor=manager, source=team_customer, target=own_customer, choices={},
                   source_version=team_customer.version, target_version=own_customer.version)
    ticket.refresh_from_db()
    assert ticket.customer == own_customer
    assert Feedback.objects.get(body="Moved along.").customer == own_customer


# --- GDPR -------------------------------------------------------------------------------------
def test_the_export_holds_tickets_public_replies_satisfaction_and_feedback(manager, ticket,
                                                                           team_customer,
                                                                           contact):
    services.ticket_transition(actor=manager, ticket=ticket, to_status="resolved")
    ticket.refresh_from_db()
    services.survey_answer(ticket=ticket, score=3, comment="Average.")
    services.feedback_create(actor=manager, data={"customer": team_customer,
                                                  "contact": contact, "kind": "suggestion",
                                                  "body": "More updates please."})
    data = gdpr_export(actor=manager, customer=team_customer, contact=contact)
    service = data["modules"]["service"]
    [exported] = service["tickets"]
    assert exported["number"] == ticket.number
    assert exported["satisfaction"] == {"score": 3, "comment": "Average.",
                                        "answered_at": exported["satisfaction"]["answered_at"]}
    texts = [r["text"] for r in exported["replies"]]
    assert "We are on it, Lena." in texts and "Call me on 555-0199, Lena Ng" in texts
    assert not any("Internal" in t for t in texts)
    assert [f["text"] for f in service["feedback"]] == ["More updates please."]


def test_erasing_a_contact_anonymizes_its_tickets_but_keeps_the_record(manager, ticket,
                                                                       team_customer, contact):
    services.ticket_transition(actor=manager, ticket=ticket, to_status="resolved")
    ticket.refresh_from_db()
    services.survey_answer(ticket=ticket, score=2, comment="Lena was unhappy")
    counts = gdpr_erase(actor=manager, customer=team_customer, contact=contact,
                        confirmation="Lena Ng")
    assert counts["service"] >= 1
    ticket.refresh_from_db()
    assert ticket.requester_name == "Erased" and ticket.requester_email == ""
    assert ticket.satisfaction_comment == "[erased]" and ticket.satisfaction_score == 2
    assert ticket.number and ticket.status == "resolved" and ticket.resolved_at
    assert "Lena" not in ticket.description
    customer_comment = TicketComment.objects.get(ticket=ticket, from_customer=True)
    assert customer_comment.body == "[erased]" and "Lena" not in customer_comment.author_name
    staff_reply = TicketComment.objects.get(ticket=ticket, is_public=True, from_customer=False)
    assert "Lena" not in staff_reply.body
    rated = Event.objects.get(name="ticket.rated")
    assert "unhappy" not in str(rated.payload)


# --- search -----------------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["Freezer", "freezer alarm", "lena@beta", "T-0"])
def test_it_finds_tickets_by_number_subject_or_requester(manager, ticket, query):
    if query == "T-0":
        query = ticket.number
    results = search.search(manager, query, 5)
    group = next(g for g in results if g.kind == "tickets")
    assert group.results[0].title == f"{ticket.number} Freezer alarm"
    assert group.results[0].url == reverse("service:ticket_detail",
                                           kwargs={"uuid": ticket.uuid})


def test_archived_tickets_stay_searchable(manager, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(status="archived")
    group = next(g for g in search.search(manager, "Freezer", 5) if g.kind == "tickets")
    assert "Archived" in group.results[0].subtitle


def test_search_finds_only_visible_tickets_and_caps_them(manager, outsider, team,
                                                         team_customer, ticket):
    assert not [g for g in search.search(outsider, "Freezer", 5) if g.kind == "tickets"]
    for n in range(8):
        TicketFactory(customer=team_customer, team=team, subject=f"Freezer alarm {n}")
    group = next(g for g in search.search(manager, "Freezer", 5) if g.kind == "tickets")
    assert len(group.results) == 5 and group.may_have_more


def test_the_search_provider_runs_one_query(manager, ticket, django_assert_num_queries):
    integration._tickets_for(manager, "warm", 5)
    with django_assert_num_queries(1):
        integration._tickets_for(manager, "Freezer", 5)


def test_a_customer_without_the_feature_has_no_search_results(analyst, ticket):
    CustomerFactory(name="Nothing here")
    assert integration._tickets_for(analyst, "zzzz-none", 5) == []
