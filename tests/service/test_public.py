"""The public service pages (service/views/public.py): the request form, the follow page of a
ticket reached by its signed link, and the satisfaction survey. No login anywhere; nothing
beyond the one ticket of the link is ever shown."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail, signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from service import notifications, services
from service import signing as ticket_signing
from service.models import Ticket, TicketComment
from service.views import public
from tests.factories import ContactFactory, CustomerFactory, DictionaryEntryFactory

pytestmark = pytest.mark.django_db

REQUEST_URL = "/support/"
PRIVATE_HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex",
                   "Cache-Control": "private, no-store"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path, sla_policies):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def category(db):
    from customers.models import DictionaryEntry

    return DictionaryEntryFactory(kind=DictionaryEntry.Kind.TICKET_CATEGORY, code="billing-q",
                                  label="Billing question")


@pytest.fixture
def desk_customer(support_team, agent):
    return CustomerFactory(name="Delta Care", owner=agent, team=support_team)


@pytest.fixture
def desk_contact(desk_customer):
    return ContactFactory(customer=desk_customer, first_name="Dora", last_name="Diaz",
                          email="dora@delta.example")


@pytest.fixture
def ticket(agent, support_team, desk_contact):
    """A ticket of Dora's, assigned to the agent, with a public reply, an internal note and a
    reply of hers."""
    ticket = services.ticket_create(actor=agent, data={
        "subject": "Printer jams", "description": "It jams on every page.",
        "contact": desk_contact, "team": support_team, "assignee": agent})
    services.ticket_reply(actor=agent, ticket=ticket, body="Please send a photo.")
    services.ticket_note(actor=agent, ticket=ticket, body="SECRET internal: key account")
    services.ticket_customer_reply(ticket=ticket, body="Here is the photo.")
    ticket.refresh_from_db()
    return ticket


def follow_url(ticket) -> str:
    return reverse("service_public:ticket", args=[ticket_signing.ticket_token(ticket)])


def survey_url(ticket) -> str:
    return reverse("service_public:survey", args=[ticket_signing.survey_token(ticket)])


def request_data(**overrides) -> dict:
    data = {"name": "Nina Novak", "email": "nina@novak.example", "subject": "Broken hinge",
            "description": "The door hinge broke after a week.", "website": "",
            "form_token": public.form_token()}
    data.update(overrides)
    return data


def assert_private(response):
    for name, value in PRIVATE_HEADERS.items():
        assert response.headers[name] == value, name


# --- the request form -------------------------------------------------------------------------
def test_it_shows_the_request_form_without_login_or_staff_navigation(client, category):
    response = client.get(REQUEST_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Billing question" in html and 'name="website"' in html
    assert "Main navigation" not in html and 'href="/customers/' not in html
    assert_private(response)


def test_it_offers_only_active_ticket_categories(client, category):
    from customers.models import DictionaryEntry

    DictionaryEntryFactory(kind=DictionaryEntry.Kind.TICKET_CATEGORY, code="old",
                           label="Retired topic", is_active=False)
    DictionaryEntryFactory(kind=DictionaryEntry.Kind.INDUSTRY, code="mining", label="Mining")
    html = client.get(REQUEST_URL).content.decode()
    assert "Billing question" in html
    assert "Retired topic" not in html and "Mining" not in html


def test_it_creates_a_web_ticket_for_the_matching_contact(client, category, desk_contact):
    response = client.post(REQUEST_URL, request_data(email="dora@delta.example",
                                                     category=category.pk))
    assert response.status_code == 302
    assert response.url == reverse("service_public:thanks")
    ticket = Ticket.objects.get(subject="Broken hinge")
    assert ticket.channel == Ticket.Channel.WEB
    assert ticket.contact == desk_contact and ticket.customer == desk_contact.customer
    assert ticket.requester_email == "dora@delta.example"
    assert ticket.requester_name == "Nina Novak"
    assert ticket.category == category and ticket.created_by is None


def test_it_matches_the_most_recent_contact_when_several_share_the_address(client):
    older = ContactFactory(email="shared@example.org")
    newer = ContactFactory(email="shared@example.org")
    client.post(REQUEST_URL, request_data(email="shared@example.org"))
    ticket = Ticket.objects.get()
    assert ticket.contact == newer and ticket.contact != older


def test_it_falls_back_to_the_customer_with_that_address(client):
    CustomerFactory(name="Old Co", email="desk@firm.example")
    newest = CustomerFactory(name="New Co", email="desk@firm.example")
    client.post(REQUEST_URL, request_data(email="desk@firm.example"))
    ticket = Ticket.objects.get()
    assert ticket.customer == newest and ticket.contact is None


def test_it_creates_an_unlinked_ticket_for_an_unknown_address(client):
    client.post(REQUEST_URL, request_data())
    ticket = Ticket.objects.get()
    assert ticket.customer is None and ticket.contact is None
    assert ticket.requester_email == "nina@novak.example"


def test_the_thank_you_page_never_shows_the_ticket_link(client):
    response = client.post(REQUEST_URL, request_data(), follow=True)
    html = response.content.decode()
    ticket = Ticket.objects.get()
    assert "we received your request" in html
    assert ticket_signing.ticket_token(ticket) not in html
    assert "/support/t/" not in html and ticket.number not in html
    assert_private(response)


def test_it_rerenders_bad_input_and_creates_nothing(client, category):
    response = client.post(REQUEST_URL, request_data(email="not-an-address", subject="  ",
                                                     category="999999"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was sent yet" in html
    assert "Enter a valid email address." in html
    assert "Please give your request a subject." in html or "This field is required." in html
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize("token", ["", "forged", "expired"])
def test_a_post_without_a_valid_form_token_creates_nothing(client, token, monkeypatch):
    if token == "expired":
        token = public.form_token()
        monkeypatch.setattr(public, "FORM_TOKEN_MAX_AGE", -1)
    response = client.post(REQUEST_URL, request_data(form_token=token))
    assert response.status_code == 400
    assert "Nothing was sent: please send it again." in response.content.decode()
    assert Ticket.objects.count() == 0


def test_the_public_forms_work_without_a_csrf_cookie_and_origin_null(ticket):
    """No Referer means browsers post with "Origin: null": the pages do not rely on CSRF."""
    from django.test import Client

    strict = Client(enforce_csrf_checks=True, headers={"Origin": "null"})
    assert strict.post(REQUEST_URL, request_data()).status_code == 302
    assert strict.post(follow_url(ticket), {"body": "From the browser"}).status_code == 302
    assert TicketComment.objects.filter(body="From the browser").exists()


def test_it_refuses_a_disallowed_attachment_and_creates_nothing(client):
    evil = SimpleUploadedFile("run.exe", b"MZ\x90\x00", content_type="application/octet-stream")
    response = client.post(REQUEST_URL, {**request_data(), "attachment": evil})
    assert response.status_code == 400
    assert "not an allowed file type" in response.content.decode()
    assert Ticket.objects.count() == 0


def test_it_stores_an_allowed_attachment(client):
    pdf = SimpleUploadedFile("invoice.pdf", b"%PDF-1.4\n%demo\n", content_type="application/pdf")
    client.post(REQUEST_URL, {**request_data(), "attachment": pdf})
    ticket = Ticket.objects.get()
    assert [a.name for a in ticket.attachments.all()] == ["invoice.pdf"]


def test_a_filled_honeypot_creates_nothing_but_looks_fine(client):
    response = client.post(REQUEST_URL, request_data(website="http://spam.example"))
    assert response.status_code == 302 and response.url == reverse("service_public:thanks")
    assert Ticket.objects.count() == 0


def test_it_rate_limits_requests_per_address(client):
    for n in range(public.REQUEST_LIMIT):
        assert client.post(REQUEST_URL, request_data(subject=f"Request {n}")).status_code == 302
    response = client.post(REQUEST_URL, request_data(subject="One too many"))
    assert response.status_code == 429
    assert "sent too often from your network" in response.content.decode()
    assert_private(response)
    assert Ticket.objects.count() == public.REQUEST_LIMIT
    # Another address is not affected.
    other = client.post(REQUEST_URL, request_data(subject="Elsewhere"), REMOTE_ADDR="10.9.8.7")
    assert other.status_code == 302


def test_the_confirmation_mail_carries_the_follow_link(client, desk_contact):
    client.post(REQUEST_URL, request_data(email="dora@delta.example"))
    ticket = Ticket.objects.get()
    notifications.send_ticket_email("requester_confirmation", ticket.pk)
    [message] = mail.outbox
    assert message.to == ["dora@delta.example"]
    # The link is signed with a timestamp: the one in the mail may be a second older.
    head = ticket_signing.ticket_link(ticket).rsplit(":", 2)[0]
    [link] = re.findall(re.escape(head) + r":\S+/", message.body)
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert client.get("/" + path).status_code == 200


# --- the follow page --------------------------------------------------------------------------
def test_the_follow_page_shows_the_ticket_and_its_public_conversation(client, ticket):
    response = client.get(follow_url(ticket))
    assert response.status_code == 200
    html = response.content.decode()
    assert ticket.number in html and "Printer jams" in html
    assert "Please send a photo." in html and "Here is the photo." in html
    assert_private(response)


def test_the_follow_page_never_shows_internal_notes_or_staff_addresses(client, ticket, agent):
    services.ticket_transition(actor=agent, ticket=ticket, to_status="waiting",
                               note="SECRET transition note")
    html = client.get(follow_url(ticket)).content.decode()
    assert "SECRET" not in html
    assert agent.email not in html
    assert "Main navigation" not in html


def test_the_follow_page_shows_nothing_of_other_tickets(client, ticket, agent, support_team,
                                                        desk_contact):
    other = services.ticket_create(actor=agent, data={
        "subject": "Another matter entirely", "description": "Elsewhere.",
        "contact": desk_contact, "team": support_team})
    html = client.get(follow_url(ticket)).content.decode()
    assert "Another matter entirely" not in html and other.number not in html


def test_a_tampered_token_is_a_404(client, ticket, agent, support_team, desk_contact):
    other = services.ticket_create(actor=agent, data={
        "subject": "Someone else's", "description": "x", "contact": desk_contact,
        "team": support_team})
    token = ticket_signing.ticket_token(ticket)
    value, signature = token.split(":", 1)
    # The other ticket's uuid with this ticket's signature.
    forged_value = signing.dumps(str(other.uuid), salt="nope", compress=False).split(":", 1)[0]
    for bad in (f"{forged_value}:{signature}", token[:-2] + "xx", "nonsense",
                ticket_signing.survey_token(ticket)):
        response = client.get(reverse("service_public:ticket", args=[bad]))
        assert response.status_code == 404, bad
        html = response.content.decode()
        assert "Printer jams" not in html and "Someone else" not in html
        assert_private(response)


def test_the_requester_replies_through_the_link(client, ticket, agent):
    services.ticket_transition(actor=agent, ticket=ticket, to_status="waiting")
    response = client.post(follow_url(ticket), {"body": "It works again, thanks."})
    assert response.status_code == 302
    comment = TicketComment.objects.get(body="It works again, thanks.")
    assert comment.from_customer and comment.is_public and comment.author is None
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.IN_PROGRESS
    html = client.get(follow_url(ticket)).content.decode()
    assert "Thank you, your reply was sent." in html and "It works again" in html


def test_an_empty_reply_is_refused_and_changes_nothing(client, ticket):
    before = TicketComment.objects.count()
    response = client.post(follow_url(ticket), {"body": "   "})
    assert response.status_code == 400
    assert "Please write a message." in response.content.decode()
    assert TicketComment.objects.count() == before


def test_a_closed_ticket_takes_no_replies(client, ticket, agent):
    services.ticket_transition(actor=agent, ticket=ticket, to_status="resolved")
    ticket.refresh_from_db()
    services.ticket_transition(actor=agent, ticket=ticket, to_status="closed")
    before = TicketComment.objects.count()
    page = client.get(follow_url(ticket)).content.decode()
    assert "This request is closed" in page and 'data-testid="reply-form"' not in page
    response = client.post(follow_url(ticket), {"body": "Hello?"})
    assert response.status_code == 400
    assert "cannot take replies" in response.content.decode()
    assert TicketComment.objects.count() == before


def test_a_reply_with_the_honeypot_filled_changes_nothing(client, ticket):
    before = TicketComment.objects.count()
    response = client.post(follow_url(ticket), {"body": "Buy pills", "website": "x"})
    assert response.status_code == 302
    assert TicketComment.objects.count() == before


def test_replies_are_rate_limited(client, ticket):
    for n in range(public.REPLY_LIMIT):
        client.post(follow_url(ticket), {"body": f"Reply {n}"})
    response = client.post(follow_url(ticket), {"body": "One too many"})
    assert response.status_code == 429
    assert not TicketComment.objects.filter(body="One too many").exists()


def test_the_follow_page_query_count_does_not_grow_with_replies(client, ticket, agent):
    url = follow_url(ticket)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(8):
        services.ticket_reply(actor=agent, ticket=ticket, body=f"Update {n}")
        services.ticket_note(actor=agent, ticket=ticket, body=f"Note {n}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(many) == len(few)
    assert "Update 7" in response.content.decode()


# --- the survey -------------------------------------------------------------------------------
@pytest.fixture
def resolved(ticket, agent):
    services.ticket_transition(actor=agent, ticket=ticket, to_status="resolved")
    ticket.refresh_from_db()
    assert ticket.survey_sent_at is not None
    return ticket


def test_the_survey_offers_five_labelled_scores(client, resolved):
    response = client.get(survey_url(resolved))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('type="radio" name="score"') == 5
    assert "Very satisfied" in html and "Very dissatisfied" in html
    assert_private(response)


def test_the_survey_is_answered_once(client, resolved):
    response = client.post(survey_url(resolved), {"score": "4", "comment": "Quick help."})
    assert response.status_code == 200
    assert "Thank you for your feedback" in response.content.decode()
    resolved.refresh_from_db()
    assert resolved.satisfaction_score == 4 and resolved.satisfaction_comment == "Quick help."
    again = client.get(survey_url(resolved))
    assert "already been answered" in again.content.decode()
    second = client.post(survey_url(resolved), {"score": "1", "comment": "Changed my mind"})
    assert "already been answered" in second.content.decode()
    resolved.refresh_from_db()
    assert resolved.satisfaction_score == 4 and resolved.satisfaction_comment == "Quick help."


def test_a_bad_score_is_refused_and_saves_nothing(client, resolved):
    for score in ("0", "6", "", "five"):
        response = client.post(survey_url(resolved), {"score": score})
        assert response.status_code == 400
    resolved.refresh_from_db()
    assert resolved.satisfaction_score is None


def test_a_survey_with_the_honeypot_filled_saves_nothing(client, resolved):
    client.post(survey_url(resolved), {"score": "5", "website": "bot"})
    resolved.refresh_from_db()
    assert resolved.satisfaction_score is None


def test_a_ticket_without_a_sent_survey_has_no_survey_to_answer(client, ticket):
    response = client.get(survey_url(ticket))
    assert "This survey is not open" in response.content.decode()
    client.post(survey_url(ticket), {"score": "5"})
    ticket.refresh_from_db()
    assert ticket.satisfaction_score is None


def test_the_survey_link_does_not_open_the_follow_page_and_back(client, resolved):
    assert client.get(reverse("service_public:survey", args=[
        ticket_signing.ticket_token(resolved)])).status_code == 404
    assert client.get(reverse("service_public:ticket", args=[
        ticket_signing.survey_token(resolved)])).status_code == 404


def test_an_expired_survey_link_is_a_404(client, resolved, monkeypatch):
    url = survey_url(resolved)
    later = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(days=200)
    monkeypatch.setattr(signing.time, "time", lambda: later.timestamp())
    assert client.get(url).status_code == 404


def test_survey_posts_are_rate_limited(client, resolved):
    for _n in range(public.SURVEY_LIMIT):
        client.post(survey_url(resolved), {"score": "9"})
    assert client.post(survey_url(resolved), {"score": "5"}).status_code == 429
    resolved.refresh_from_db()
    assert resolved.satisfaction_score is None
