"""The staff ticket page, create and edit, replies and notes, status buttons, assignment,
attachment downloads (service/views/tickets.py, service/views/attachments.py)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import roles
from crm.models import Event
from service import services, ticket_ui
from service.models import Ticket, TicketAssignment, TicketAttachment, TicketComment
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    DictionaryEntryFactory,
    OrderFactory,
    ProductFactory,
    TeamFactory,
    TicketFactory,
    UserFactory,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%fake\n"

pytestmark = pytest.mark.django_db


# --- fixtures (the queue tests import them) -----------------------------------------------------
@pytest.fixture(autouse=True)
def _ui(settings, tmp_path):
    ticket_ui.register()
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def desk_customer(support_team, agent):
    """A customer of the "Service Desk" team: the agent and its manager see it."""
    return CustomerFactory(name="Delta Care", owner=agent, team=support_team)


@pytest.fixture
def desk_contact(desk_customer):
    return ContactFactory(customer=desk_customer, first_name="Dora", last_name="Diaz",
                          email="dora@delta.example")


@pytest.fixture
def category(db):
    from customers.models import DictionaryEntry

    return DictionaryEntryFactory(kind=DictionaryEntry.Kind.TICKET_CATEGORY, code="billing",
                                  label="Billing")


@pytest.fixture
def make_ticket(agent, support_team, desk_customer, desk_contact, sla_policies):
    """make_ticket(**data): a real ticket of the Service Desk, created by the agent."""

    def make(actor=None, **data):
        values = {"subject": "Printer jams", "description": "It jams on page 2.",
                  "customer": desk_customer, "contact": desk_contact, "team": support_team,
                  "priority": "normal", "channel": "phone"}
        values.update(data)
        return services.ticket_create(actor=actor or agent, data=values)

    return make


@pytest.fixture
def ticket(make_ticket):
    return make_ticket()


def _url(name, ticket, **extra):
    return reverse(f"service:{name}", kwargs={"uuid": ticket.uuid, **extra})


# --- access ---------------------------------------------------------------------------------------
OBJECT_GETS = ["ticket_detail", "ticket_edit"]
OBJECT_POSTS = [
    ("ticket_edit", {}),
    ("ticket_reply", {"kind": "public", "body": "Hello"}),
    ("ticket_transition", {"to_status": "in_progress", "version": 1}),
    ("ticket_assign", {"assignee": "", "version": 1}),
    ("ticket_take", {}),
]


@pytest.mark.parametrize("name", [*OBJECT_GETS, *[n for n, _ in OBJECT_POSTS]])
def test_it_sends_anonymous_users_to_the_login_page(client, ticket, name):
    response = client.get(_url(name, ticket))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("name", ["ticket_list", "ticket_create", "ticket_bulk_assign",
                                  "ticket_contact_options"])
def test_it_sends_anonymous_users_to_the_login_page_for_pages(client, db, name):
    response = client.get(reverse(f"service:{name}"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_sends_anonymous_users_to_the_login_page_for_downloads(client, agent, ticket):
    services.ticket_note(actor=agent, ticket=ticket, body="Photo",
                         attachments=[SimpleUploadedFile("a.png", PNG)])
    attachment = TicketAttachment.objects.get()
    response = client.get(_url("ticket_attachment", ticket, att_uuid=attachment.uuid))
    assert response.status_code == 302


@pytest.mark.parametrize("name", OBJECT_GETS)
def test_it_hides_tickets_from_outsiders(client_for, outsider, ticket, name):
    assert client_for(outsider).get(_url(name, ticket)).status_code == 404


@pytest.mark.parametrize(("name", "data"), OBJECT_POSTS)
def test_it_hides_tickets_from_outsiders_on_writes(client_for, outsider, ticket, name, data):
    before = Ticket.objects.get(pk=ticket.pk).version
    assert client_for(outsider).post(_url(name, ticket), data).status_code == 404
    assert Ticket.objects.get(pk=ticket.pk).version == before


@pytest.mark.parametrize(("name", "data"), OBJECT_POSTS)
def test_it_refuses_writes_to_the_read_only_analyst(client_for, analyst, ticket, name, data):
    before = Ticket.objects.get(pk=ticket.pk).version
    assert client_for(analyst).post(_url(name, ticket), data).status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).version == before
    assert not TicketComment.objects.exists()


def test_it_refuses_the_edit_page_to_the_analyst(client_for, analyst, ticket):
    assert client_for(analyst).get(_url("ticket_edit", ticket)).status_code == 403


def test_it_shows_the_ticket_read_only_to_the_analyst(client_for, analyst, ticket):
    response = client_for(analyst).get(_url("ticket_detail", ticket))
    assert response.status_code == 200
    assert "reply_form" not in response.context
    assert response.context["transitions"] == []
    assert "assign_form" not in response.context


def test_it_refuses_create_to_the_analyst_and_outsider(client_for, analyst, outsider, db):
    assert client_for(analyst).get(reverse("service:ticket_create")).status_code == 403
    assert client_for(outsider).post(reverse("service:ticket_create"),
                                     {"subject": "x"}).status_code == 403
    assert not Ticket.objects.exists()


def test_it_refuses_the_lookups_to_the_analyst(client_for, analyst, db):
    c = client_for(analyst)
    assert c.get(reverse("service:ticket_lookup", kwargs={"kind": "customer"}),
                 {"q": "De"}).status_code == 403
    assert c.get(reverse("service:ticket_contact_options")).status_code == 403


# --- the ticket page ----------------------------------------------------------------------------
def test_it_shows_the_ticket_header_and_sla(client_for, agent, ticket, desk_customer):
    response = client_for(agent).get(_url("ticket_detail", ticket))
    html = response.content.decode()
    assert response.status_code == 200
    assert ticket.number in html and "Printer jams" in html
    assert reverse("customers:detail", kwargs={"uuid": desk_customer.uuid}) in html
    assert "First response due" in html and "Resolution due" in html
    assert "dora@delta.example" in html
    assert [s for s, _label in response.context["transitions"]] == list(
        services.ALLOWED_TRANSITIONS[ticket.status])


def test_it_styles_replies_notes_and_customer_replies_differently(client_for, agent, ticket):
    services.ticket_reply(actor=agent, ticket=ticket, body="We are on it.")
    services.ticket_note(actor=agent, ticket=ticket, body="Check the firmware.")
    services.ticket_customer_reply(ticket=ticket, body="Thanks!")
    html = client_for(agent).get(_url("ticket_detail", ticket)).content.decode()
    assert html.count('data-comment="public"') == 1
    assert html.count('data-comment="note"') == 1
    assert html.count('data-comment="customer"') == 1
    assert "Check the firmware." in html


def test_it_adds_a_public_reply_with_an_attachment(client_for, agent, ticket):
    response = client_for(agent).post(_url("ticket_reply", ticket), {
        "kind": "public", "body": "Here is the manual.",
        "attachments": [SimpleUploadedFile("manual.pdf", PDF, content_type="application/pdf")],
    })
    assert response.status_code == 302
    comment = TicketComment.objects.get()
    assert comment.is_public and comment.author == agent
    assert comment.attachments.get().name == "manual.pdf"
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None
    assert Event.objects.filter(name="ticket.replied").exists()


def test_it_adds_an_internal_note(client_for, agent, ticket):
    response = client_for(agent).post(_url("ticket_reply", ticket),
                                      {"kind": "note", "body": "Internal only."})
    assert response.status_code == 302
    comment = TicketComment.objects.get()
    assert not comment.is_public
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None


def test_it_refuses_a_bad_attachment_and_adds_nothing(client_for, agent, ticket):
    response = client_for(agent).post(_url("ticket_reply", ticket), {
        "kind": "public", "body": "See file",
        "attachments": [SimpleUploadedFile("evil.html", b"<script>x</script>",
                                           content_type="text/html")],
    })
    assert response.status_code == 400
    assert "not an allowed file type" in response.content.decode()
    assert not TicketComment.objects.exists() and not TicketAttachment.objects.exists()


def test_it_refuses_an_empty_reply(client_for, agent, ticket):
    response = client_for(agent).post(_url("ticket_reply", ticket), {"kind": "public",
                                                                     "body": ""})
    assert response.status_code == 400
    assert not TicketComment.objects.exists()


def test_it_moves_the_status_with_a_button(client_for, agent, ticket):
    ticket.refresh_from_db()
    response = client_for(agent).post(_url("ticket_transition", ticket), {
        "to_status": "in_progress", "version": ticket.version}, follow=True)
    ticket.refresh_from_db()
    assert ticket.status == "in_progress"
    assert "In progress" in response.content.decode()
    assert Event.objects.filter(name="ticket.status_changed",
                                payload__to="in_progress").exists()


def test_it_refuses_a_bad_transition_with_a_message_and_changes_nothing(client_for, agent,
                                                                        ticket):
    ticket.refresh_from_db()
    before = (ticket.status, ticket.version, ticket.updated_at)
    events = Event.objects.count()
    response = client_for(agent).post(_url("ticket_transition", ticket), {
        "to_status": "archived", "version": ticket.version}, follow=True)
    html = response.content.decode()
    assert "cannot be moved to" in html
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version, ticket.updated_at) == before
    assert Event.objects.count() == events


def test_it_refuses_a_stale_transition(client_for, agent, ticket):
    ticket.refresh_from_db()
    stale = ticket.version
    services.ticket_note(actor=agent, ticket=ticket, body="x")
    services.ticket_transition(actor=agent, ticket=ticket, to_status="in_progress")
    response = client_for(agent).post(_url("ticket_transition", ticket), {
        "to_status": "waiting", "version": stale}, follow=True)
    assert "Someone else changed this record" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "in_progress"


def test_it_assigns_and_keeps_the_history(client_for, manager, agent, ticket, support_team):
    other = UserFactory(email="tia@example.com", first_name="Tia", roles=[roles.SUPPORT])
    support_team.members.add(other)
    ticket.refresh_from_db()
    c = client_for(manager)
    response = c.post(_url("ticket_assign", ticket), {
        "assignee": str(other.uuid), "note": "Tia knows printers", "version": ticket.version})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == other and ticket.status == "assigned"
    html = c.get(_url("ticket_detail", ticket)).content.decode()
    assert "Tia knows printers" in html
    assert TicketAssignment.objects.filter(ticket=ticket).count() >= 1


def test_it_refuses_an_assignee_outside_the_team_with_a_message(client_for, manager, ticket):
    stranger = UserFactory(email="sid@example.com", first_name="Sid", roles=[roles.SUPPORT])
    ticket.refresh_from_db()
    before = ticket.version
    response = client_for(manager).post(_url("ticket_assign", ticket), {
        "assignee": str(stranger.uuid), "version": ticket.version}, follow=True)
    assert "is not a member of the team" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.version == before and ticket.assignee_id is None


def test_it_lets_an_agent_take_the_ticket(client_for, agent, ticket):
    assert client_for(agent).post(_url("ticket_take", ticket)).status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == agent


def test_it_shows_the_satisfaction_result(client_for, agent, ticket):
    services.ticket_transition(actor=agent, ticket=ticket, to_status="resolved")
    ticket.refresh_from_db()
    services.survey_answer(ticket=ticket, score=4, comment="Quick and kind")
    html = client_for(agent).get(_url("ticket_detail", ticket)).content.decode()
    assert 'data-testid="satisfaction"' in html and "Quick and kind" in html


def test_it_shows_archived_tickets_read_only(client_for, agent, admin, ticket):
    for status in ("resolved", "closed", "archived"):
        ticket.refresh_from_db()
        services.ticket_transition(actor=admin, ticket=ticket, to_status=status)
    response = client_for(agent).get(_url("ticket_detail", ticket))
    html = response.content.decode()
    assert 'data-testid="archived-notice"' in html
    assert "<form" not in html.split('id="main"')[1].split("</main>")[0].replace(
        'method="post" action="/accounts/logout/"', "")
    assert client_for(agent).post(_url("ticket_reply", ticket),
                                  {"kind": "note", "body": "x"}).status_code == 403


def test_it_keeps_the_ticket_page_queries_bounded(client_for, agent, manager, make_ticket,
                                                  support_team):
    c = client_for(agent)
    few = make_ticket()
    c.get(_url("ticket_detail", few))  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as small:
        assert c.get(_url("ticket_detail", few)).status_code == 200
    many = make_ticket(subject="Many")
    others = [UserFactory(email=f"a{i}@example.com", roles=[roles.SUPPORT]) for i in range(3)]
    support_team.members.add(*others)
    for i in range(12):
        services.ticket_reply(actor=agent, ticket=many, body=f"reply {i}",
                              attachments=[SimpleUploadedFile(f"r{i}.png", PNG)])
        services.ticket_note(actor=agent, ticket=many, body=f"note {i}",
                             attachments=[SimpleUploadedFile(f"n{i}.txt", b"hello")])
        services.ticket_customer_reply(ticket=many, body=f"customer {i}")
        services.ticket_assign(actor=manager, ticket=many, assignee=others[i % 3])
    with CaptureQueriesContext(connection) as large:
        response = c.get(_url("ticket_detail", many))
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="attachment"') == 24
    assert len(large.captured_queries) == len(small.captured_queries), [
        q["sql"] for q in large.captured_queries]
    assert len(large.captured_queries) <= 14


# --- attachments ------------------------------------------------------------------------------
def test_it_downloads_an_attachment_as_a_file(client_for, agent, ticket):
    services.ticket_note(actor=agent, ticket=ticket, body="Photo",
                         attachments=[SimpleUploadedFile("photo.png", PNG)])
    attachment = TicketAttachment.objects.get()
    response = client_for(agent).get(_url("ticket_attachment", ticket,
                                          att_uuid=attachment.uuid))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert "photo.png" in response["Content-Disposition"]
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG


def test_it_hides_attachments_from_outsiders(client_for, agent, outsider, ticket):
    services.ticket_note(actor=agent, ticket=ticket, body="Photo",
                         attachments=[SimpleUploadedFile("photo.png", PNG)])
    attachment = TicketAttachment.objects.get()
    url = _url("ticket_attachment", ticket, att_uuid=attachment.uuid)
    assert client_for(outsider).get(url).status_code == 404


def test_it_refuses_a_download_without_the_attachment_permission(client_for, agent, ticket):
    """Someone who sees the ticket but may not read its files (no view_ticketattachment)."""
    from django.contrib.auth.models import Permission

    services.ticket_note(actor=agent, ticket=ticket, body="Photo",
                         attachments=[SimpleUploadedFile("photo.png", PNG)])
    attachment = TicketAttachment.objects.get()
    limited = UserFactory(email="lim@example.com", roles=[])
    limited.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    ticket.refresh_from_db()
    Ticket.objects.filter(pk=ticket.pk).update(assignee=limited)
    url = _url("ticket_attachment", ticket, att_uuid=attachment.uuid)
    assert client_for(limited).get(url).status_code == 403


def test_it_lets_the_analyst_download_but_not_an_attachment_of_another_ticket(
        client_for, agent, analyst, make_ticket):
    one, two = make_ticket(), make_ticket(subject="Other")
    services.ticket_note(actor=agent, ticket=one, body="Photo",
                         attachments=[SimpleUploadedFile("photo.png", PNG)])
    attachment = TicketAttachment.objects.get()
    c = client_for(analyst)
    assert c.get(_url("ticket_attachment", one, att_uuid=attachment.uuid)).status_code == 200
    assert c.get(_url("ticket_attachment", two, att_uuid=attachment.uuid)).status_code == 404


# --- create --------------------------------------------------------------------------------------
def test_it_creates_a_ticket_for_a_customer(client_for, agent, desk_customer, desk_contact,
                                            category, sla_policies):
    response = client_for(agent).post(reverse("service:ticket_create"), {
        "subject": "Cannot log in", "description": "Since Monday.",
        "customer": str(desk_customer.uuid), "contact": str(desk_contact.uuid),
        "category": str(category.uuid), "priority": "high", "channel": "phone",
        "attachments": [SimpleUploadedFile("screen.png", PNG)],
    })
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert response["Location"] == _url("ticket_detail", ticket)
    assert (ticket.customer, ticket.contact, ticket.category) == (desk_customer, desk_contact,
                                                                   category)
    assert ticket.priority == "high" and ticket.first_response_due_at is not None
    assert ticket.number.startswith("T-")
    assert ticket.attachments.get().name == "screen.png"
    assert Event.objects.filter(name="ticket.created", customer_id=desk_customer.pk).exists()


def test_it_prefills_the_customer(client_for, agent, desk_customer, desk_contact):
    response = client_for(agent).get(reverse("service:ticket_create"),
                                     {"customer": str(desk_customer.uuid)})
    html = response.content.decode()
    assert f'value="{desk_customer.uuid}" checked' in html
    assert str(desk_contact.uuid) in html


def test_it_refuses_a_customer_the_user_cannot_see(client_for, agent, other_customer,
                                                   sla_policies):
    response = client_for(agent).post(reverse("service:ticket_create"), {
        "subject": "x", "description": "y", "customer": str(other_customer.uuid),
        "priority": "normal", "channel": "phone"})
    assert response.status_code == 400
    assert "Choose a customer from the search results." in response.content.decode()
    assert not Ticket.objects.exists()


def test_it_refuses_a_contact_of_another_customer(client_for, agent, desk_customer,
                                                  support_team, sla_policies):
    stranger = ContactFactory(customer=CustomerFactory(team=support_team))
    response = client_for(agent).post(reverse("service:ticket_create"), {
        "subject": "x", "description": "y", "customer": str(desk_customer.uuid),
        "contact": str(stranger.uuid), "priority": "normal", "channel": "phone"})
    assert response.status_code == 400
    assert "Choose a contact of the selected customer." in response.content.decode()
    assert not Ticket.objects.exists()


def test_it_refuses_a_bad_attachment_on_create(client_for, agent, desk_customer, sla_policies):
    response = client_for(agent).post(reverse("service:ticket_create"), {
        "subject": "x", "description": "y", "customer": str(desk_customer.uuid),
        "priority": "normal", "channel": "phone",
        "attachments": [SimpleUploadedFile("fake.png", b"not a png")]})
    assert response.status_code == 400
    assert "does not look like" in response.content.decode()
    assert not Ticket.objects.exists()


def test_it_finds_customers_orders_and_products_for_the_form(client_for, agent, desk_customer,
                                                             other_customer):
    OrderFactory(customer=desk_customer, number="SO-4711")
    OrderFactory(customer=other_customer, number="SO-4712")
    ProductFactory(sku="PRN-100", name="Printer")
    c = client_for(agent)
    html = c.get(reverse("service:ticket_lookup", kwargs={"kind": "customer"}),
                 {"q": "delta"}).content.decode()
    assert "Delta Care" in html
    assert "Gamma" not in c.get(reverse("service:ticket_lookup", kwargs={"kind": "customer"}),
                                {"q": "gamma"}).content.decode()
    html = c.get(reverse("service:ticket_lookup", kwargs={"kind": "order"}),
                 {"q": "SO-47"}).content.decode()
    assert "SO-4711" in html and "SO-4712" not in html
    html = c.get(reverse("service:ticket_lookup", kwargs={"kind": "product"}),
                 {"q": "prn"}).content.decode()
    assert "PRN-100" in html
    assert c.get(reverse("service:ticket_lookup", kwargs={"kind": "user"}),
                 {"q": "xx"}).status_code == 404


def test_it_limits_the_lookup_to_twenty_rows(client_for, agent, support_team):
    for i in range(25):
        CustomerFactory(name=f"Echo {i:02d}", team=support_team)
    html = client_for(agent).get(reverse("service:ticket_lookup", kwargs={"kind": "customer"}),
                                 {"q": "echo"}).content.decode()
    assert html.count('type="radio" name="customer"') == 21  # 20 and "no customer"


def test_it_reloads_the_contacts_of_the_chosen_customer(client_for, agent, desk_customer,
                                                        desk_contact, other_customer):
    ContactFactory(customer=other_customer, first_name="Hidden")
    c = client_for(agent)
    html = c.get(reverse("service:ticket_contact_options"),
                 {"customer": str(desk_customer.uuid)}).content.decode()
    assert "Dora" in html
    html = c.get(reverse("service:ticket_contact_options"),
                 {"customer": str(other_customer.uuid)}).content.decode()
    assert "Hidden" not in html and "Choose a customer first" in html


# --- edit ----------------------------------------------------------------------------------------
def _edit_data(ticket, **changes):
    data = {"subject": ticket.subject, "description": ticket.description,
            "priority": ticket.priority, "channel": ticket.channel, "version": ticket.version,
            "customer": str(ticket.customer.uuid) if ticket.customer_id else "",
            "contact": str(ticket.contact.uuid) if ticket.contact_id else ""}
    data.update(changes)
    return data


def test_it_edits_a_ticket(client_for, agent, ticket):
    ticket.refresh_from_db()
    c = client_for(agent)
    assert c.get(_url("ticket_edit", ticket)).status_code == 200
    response = c.post(_url("ticket_edit", ticket), _edit_data(ticket, subject="Jams daily",
                                                               priority="urgent"))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.subject == "Jams daily" and ticket.priority == "urgent"
    assert Event.objects.filter(name="ticket.updated").exists()


def test_it_refuses_a_stale_edit(client_for, agent, ticket):
    ticket.refresh_from_db()
    stale = _edit_data(ticket, subject="Mine")
    services.ticket_update(actor=agent, ticket=ticket, data={"subject": "Theirs"},
                           expected_version=ticket.version)
    response = client_for(agent).post(_url("ticket_edit", ticket), stale)
    assert response.status_code == 400
    assert "Someone else changed this record" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.subject == "Theirs"


def test_it_refuses_an_order_of_another_customer_on_edit(client_for, agent, ticket,
                                                         support_team):
    foreign = OrderFactory(customer=CustomerFactory(team=support_team), number="SO-9")
    ticket.refresh_from_db()
    response = client_for(agent).post(_url("ticket_edit", ticket),
                                      _edit_data(ticket, order=str(foreign.uuid)))
    assert response.status_code == 400
    assert "This order belongs to another customer." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.order_id is None


def test_it_registers_the_nav_entry(client_for, agent, analyst, rep, db):
    from crm import navigation

    assert any(i.key == "tickets" and i.order == 50 for i in navigation.items_for(agent))
    marketer = UserFactory(email="mo@example.com", roles=[roles.MARKETING])
    assert not any(i.key == "tickets" for i in navigation.items_for(marketer))
    team = TeamFactory(name="x")  # noqa: F841 (teams do not matter for the entry)


# --- review fixes -------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", "x" * 40, None, 17])
def test_the_selectors_answer_404_to_malformed_ids(agent, ticket, bad):
    from django.http import Http404

    from customers.selectors import customer_get_for_user
    from service.selectors import feedback_get_for_user, ticket_get_for_user

    for get in (ticket_get_for_user, feedback_get_for_user, customer_get_for_user):
        with pytest.raises(Http404):
            get(agent, bad)


def test_it_answers_404_to_a_malformed_customer_of_the_contact_options(client_for, agent):
    response = client_for(agent).get(reverse("service:ticket_contact_options"),
                                     {"customer": "not-a-uuid"})
    assert response.status_code == 200  # "no customer": an empty select, not a 500


def test_it_names_fields_by_their_verbose_name_in_service_errors(agent, support_team):
    from crm.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as caught:
        services.ticket_create(actor=agent, data={"subject": "x" * 500, "description": "d",
                                                  "team": support_team})
    message = str(caught.value.message)
    label = str(Ticket._meta.get_field("subject").verbose_name)
    assert message.startswith(label[0].upper() + label[1:] + ":")


def test_it_matches_short_lookup_terms_exactly(client_for, agent, support_team):
    CustomerFactory(name="Ox", team=support_team)
    CustomerFactory(name="Oxford Mills", team=support_team)
    lookup = reverse("service:ticket_lookup", kwargs={"kind": "customer"})
    response = client_for(agent).get(lookup, {"q": "ox"})
    assert [c.name for c in response.context["rows"]] == ["Ox"]
    response = client_for(agent).get(lookup, {"q": "oxf"})
    assert [c.name for c in response.context["rows"]] == ["Oxford Mills"]


def test_it_renders_the_assignee_as_an_agent_autocomplete(client_for, manager, ticket, agent):
    UserFactory(first_name="Zebedee", roles=[roles.SUPPORT])
    html = client_for(manager).get(_url("ticket_detail", ticket)).content.decode()
    assert 'data-autocomplete-url="/service/tickets/lookup/agents/' in html
    assert "Zebedee" not in html


def test_the_agent_autocomplete_offers_agents_only(client, client_for, agent, support_team,
                                                   rep):
    url = reverse("service:ticket_agent_options")
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    other = UserFactory(first_name="Agnes", roles=[roles.SUPPORT])
    c = client_for(agent)
    found = {r["id"] for r in c.get(url).json()["results"]}
    assert str(agent.uuid) in found and str(other.uuid) in found
    assert str(rep.uuid) not in found  # Sales: may not hold tickets
    found = {r["id"] for r in c.get(url, {"team": str(support_team.uuid)}).json()["results"]}
    assert str(agent.uuid) in found and str(other.uuid) not in found
    assert c.get(url, {"team": "not-a-uuid"}).status_code == 200
    assert client_for(rep).get(url).status_code in (200, 403)


def test_it_assigns_through_the_autocomplete_value(client_for, manager, ticket, agent):
    response = client_for(manager).post(_url("ticket_assign", ticket), {
        "assignee": str(agent.uuid), "version": ticket.version, "note": ""})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == agent


def test_it_counts_the_visible_tickets_branch_by_branch(client_for, agent, manager, rep,
                                                         outsider, support_team, team,
                                                         desk_customer):
    """The queue's count is a UNION ALL of index-friendly branches (the teams' tickets, the
    pool, then the assignees' outside those): the figure of the access path, each ticket once,
    and the queue's own conditions apply."""
    from sales.selectors import capped_count_of_branches
    from service.permissions import ticket_policy_for
    from service.selectors import ticket_list_for_user

    TicketFactory(customer=desk_customer, team=support_team, assignee=agent, status="assigned")
    TicketFactory(customer=desk_customer, team=support_team, status="closed")
    TicketFactory(customer=desk_customer, team=None)  # the pool
    TicketFactory(customer=desk_customer, team=team, assignee=rep)  # the sales team's
    TicketFactory(customer=desk_customer, team=TeamFactory(name="Elsewhere"), assignee=agent)
    TicketFactory(customer=desk_customer, team=TeamFactory(name="Far"), assignee=outsider)
    for user in (agent, manager, rep, outsider):
        expected = ticket_list_for_user(user).count()
        branches = ticket_policy_for(user).visible_branches()
        assert capped_count_of_branches(Ticket.objects.all(), branches) == (expected, False)
        page = client_for(user).get(reverse("service:ticket_list"),
                                    {"queue": "all"}).context["page"]
        assert page.count == len(page.object_list) == expected
    assert [ticket_list_for_user(u).count() for u in (agent, manager, rep, outsider)] == [
        4, 5, 1, 1]
    mine = client_for(agent).get(reverse("service:ticket_list"), {"queue": "mine"})
    assert mine.context["page"].count == 2
    assert capped_count_of_branches(Ticket.objects.all(),
                                    ticket_policy_for(manager).visible_branches(),
                                    cap=3) == (3, True)
