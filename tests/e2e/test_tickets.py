"""The whole life of a ticket in the browser: an agent creates it for a customer, the manager
assigns it, the agent replies, adds a note, waits on the customer, works on it, resolves it and
closes it. Screenshots of the queue, the ticket page and the create form at 1280 and 375 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from service import ticket_ui
from service.models import Ticket
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import PASSWORD, ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def desk(agent, manager, support_team, sla_policies, settings, tmp_path):
    ticket_ui.register()
    settings.MEDIA_ROOT = str(tmp_path / "media")
    customer = CustomerFactory(name="Delta Care", owner=agent, team=support_team)
    contact = ContactFactory(customer=customer, first_name="Dora", last_name="Diaz",
                             email="dora@delta.example")
    return customer, contact


def _no_sideways_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def _set_status(page, status: str, label: str) -> None:
    page.locator(f'[data-testid="status-buttons"] button[data-status="{status}"]').click()
    expect(page.get_by_test_id("ticket-status").first).to_have_text(label)


def test_it_runs_the_whole_life_of_a_ticket(page, phone_page, agent, manager, desk):
    customer, contact = desk
    # The agent creates the ticket for the customer, found through the search field.
    sign_in(page, agent.email, PASSWORD)
    page.goto("/service/tickets/new/")
    page.get_by_label("Subject").fill("Printer jams on page 2")
    page.get_by_label("Description").fill("Since the update, every second page jams.")
    page.locator("#customer-search").fill("Delta")
    page.get_by_role("radio", name="Delta Care").check()
    contact_select = page.get_by_test_id("contact-select")
    expect(contact_select).to_be_enabled()
    contact_select.select_option(str(contact.uuid))
    page.get_by_label("Priority").select_option("high")
    screenshot(page, "tickets-create-1280")
    page.get_by_role("button", name="Create ticket").click()
    expect(page.locator(".alert-success")).to_contain_text("was created")
    ticket = Ticket.objects.get()
    assert (ticket.customer_id, ticket.contact_id, ticket.priority) == (customer.pk, contact.pk,
                                                                        "high")
    expect(page.get_by_test_id("ticket-status")).to_have_text("New")

    # The manager assigns it to the agent.
    page.context.clear_cookies()
    sign_in(page, manager.email, PASSWORD)
    page.goto("/service/tickets/?queue=unassigned")
    expect(page.locator(f'tr[data-ticket="{ticket.number}"]')).to_be_visible()
    page.goto(f"/service/tickets/{ticket.uuid}/")
    # "Assign to" is an autocomplete (the page renders the chosen agent only): type, pick.
    assign_to = page.get_by_role("combobox", name="Assign to")
    assign_to.fill("Sam")
    page.get_by_role("option", name=agent.get_full_name()).click()
    page.get_by_label("Note (optional)").fill("Sam knows these printers")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_test_id("assignee")).to_contain_text("Sam")
    expect(page.get_by_test_id("ticket-status")).to_have_text("Assigned")
    expect(page.get_by_test_id("assignment-history")).to_contain_text("Sam knows these printers")

    # The agent works it: a public reply, an internal note, waiting, in progress, resolved.
    page.context.clear_cookies()
    sign_in(page, agent.email, PASSWORD)
    page.goto("/service/tickets/")
    row = page.locator(f'tr[data-ticket="{ticket.number}"]')
    expect(row).to_be_visible()
    screenshot(page, "tickets-queue-1280")
    row.get_by_role("link").click()
    page.get_by_label("Message").fill("Please update the firmware and tell us if it helps.")
    page.get_by_role("button", name="Add").click()
    expect(page.locator('[data-comment="public"]')).to_contain_text("update the firmware")
    page.get_by_label("Internal note (staff only)").check()
    page.get_by_label("Message").fill("Known issue with firmware 2.1.")
    page.get_by_role("button", name="Add").click()
    expect(page.locator('[data-comment="note"]')).to_contain_text("firmware 2.1")
    _set_status(page, "waiting", "Waiting on customer")
    expect(page.get_by_test_id("paused-since")).to_be_visible()
    _set_status(page, "in_progress", "In progress")
    screenshot(page, "tickets-detail-1280")
    _set_status(page, "resolved", "Resolved")
    _set_status(page, "closed", "Closed")
    ticket.refresh_from_db()
    assert ticket.status == "closed" and ticket.first_responded_at is not None
    assert ticket.resolved_at is not None and ticket.assignee_id == agent.pk
    assert not page.console_errors

    # The same pages on a phone: readable, no sideways scroll.
    sign_in(phone_page, agent.email, PASSWORD)
    for url, name in [("/service/tickets/?queue=all", "tickets-queue-375"),
                      (f"/service/tickets/{ticket.uuid}/", "tickets-detail-375"),
                      (f"/service/tickets/new/?customer={customer.uuid}",
                       "tickets-create-375")]:
        phone_page.goto(url)
        expect(phone_page.locator("h1")).to_be_visible()
        screenshot(phone_page, name)
        assert _no_sideways_scroll(phone_page), name


def test_it_refuses_a_bad_transition_in_the_browser(page, agent, desk):
    customer, contact = desk
    from service import services

    ticket = services.ticket_create(actor=agent, data={
        "subject": "Refund", "description": "Please refund.", "customer": customer,
        "contact": contact})
    sign_in(page, agent.email, PASSWORD)
    page.goto(f"/service/tickets/{ticket.uuid}/")
    buttons = page.locator('[data-testid="status-buttons"] button')
    expect(buttons).to_have_count(len(services.ALLOWED_TRANSITIONS[ticket.status]))
    # Another tab moved it on: the button from the old page is refused with a message.
    services.ticket_transition(actor=agent, ticket=ticket, to_status="resolved")
    page.locator('button[data-status="in_progress"]').click()
    expect(page.locator(".alert-danger.alert-dismissible")).to_contain_text(
        "Someone else changed this record")
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
