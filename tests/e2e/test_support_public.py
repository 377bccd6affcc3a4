"""The public support pages in a real browser: a customer sends a request, follows it through
the link from the e-mail (a real SMTP server), replies, and answers the survey after the
ticket is resolved; then staff see the feedback list and the 360 "Service" panel. Every page
at 1280 and 375 px, without sideways scrolling on the phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from service import feedback_ui, integration, notifications, services
from service.models import Ticket, TicketComment
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import ContactFactory, DictionaryEntryFactory

pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"https?://[^\s\"<>]+/support/(?:t|survey)/[^\s\"<>]+/")


def no_sideways_scroll(page, width=375):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} scrolls sideways at {width}px ({scroll}px wide)"


def on_phone(phone_page, path, name):
    phone_page.goto(path)
    no_sideways_scroll(phone_page)
    screenshot(phone_page, f"{name}-375")


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def link_in(mailbox, count) -> str:
    message = mailbox.wait_for(count)[count - 1]
    [url] = LINK.findall(mailbox.text_of(message))
    return path_of(url)


@pytest.fixture(autouse=True)
def _registered(settings, tmp_path, sla_policies):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    integration.register()
    feedback_ui.register()


@pytest.fixture
def category(db):
    from customers.models import DictionaryEntry

    return DictionaryEntryFactory(kind=DictionaryEntry.Kind.TICKET_CATEGORY, code="problem",
                                  label="Problem")


def test_a_customer_asks_follows_replies_and_rates(page, phone_page, mailbox, manager,
                                                   password, team, team_customer, category):
    contact = ContactFactory(customer=team_customer, first_name="Lena", last_name="Ng",
                             email="lena@beta.example")

    # --- the request form ---------------------------------------------------------------------
    page.goto("/support/")
    expect(page.get_by_role("heading", name="Contact support")).to_be_visible()
    assert page.locator("nav[aria-label='Main navigation']").count() == 0
    screenshot(page, "support-request-1280")
    on_phone(phone_page, "/support/", "support-request")

    page.get_by_label("Your name").fill("Lena Ng")
    page.get_by_label("Your e-mail address").fill("lena@beta.example")
    page.get_by_label("Topic").select_option(label="Problem")
    page.get_by_label("Subject").fill("Freezer shows E7")
    page.get_by_label("How can we help?").fill("Since this morning the freezer shows E7.")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_test_id("thank-you")).to_be_visible()
    assert "/support/t/" not in page.content()
    screenshot(page, "support-thanks-1280")
    on_phone(phone_page, "/support/thanks/", "support-thanks")

    ticket = Ticket.objects.get(subject="Freezer shows E7")
    assert ticket.contact == contact and ticket.channel == "web"

    # --- the follow link from the e-mail (sent by the worker's task function) -----------------
    notifications.send_ticket_email("requester_confirmation", ticket.pk)
    follow = link_in(mailbox, 1)
    services.ticket_reply(actor=manager, ticket=ticket, body="Please unplug it for a minute.")
    services.ticket_note(actor=manager, ticket=ticket, body="Internal: probably the sensor")
    page.goto(follow)
    expect(page.get_by_test_id("ticket-number")).to_have_text(ticket.number)
    expect(page.get_by_text("Please unplug it for a minute.")).to_be_visible()
    assert "Internal: probably the sensor" not in page.content()

    page.get_by_label("Your reply").fill("Done, E7 is gone but it is noisy now.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_test_id("public-message")).to_contain_text("your reply was sent")
    expect(page.get_by_text("Done, E7 is gone")).to_be_visible()
    assert TicketComment.objects.filter(ticket=ticket, from_customer=True).count() == 1
    screenshot(page, "support-ticket-1280")
    on_phone(phone_page, follow, "support-ticket")

    # --- resolution, then the survey ----------------------------------------------------------
    ticket.refresh_from_db()
    services.ticket_transition(actor=manager, ticket=ticket, to_status="resolved")
    notifications.send_ticket_email("survey", ticket.pk)
    survey = link_in(mailbox, 2)
    page.goto(survey)
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    screenshot(page, "support-survey-1280")
    on_phone(phone_page, survey, "support-survey")
    page.get_by_label("4 – Satisfied").check()
    page.get_by_label("Anything you would like to tell us? (optional)").fill("Quick, thanks.")
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_test_id("survey-thanks")).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.satisfaction_score == 4
    page.goto(survey)
    expect(page.get_by_test_id("survey-already")).to_be_visible()
    screenshot(page, "support-survey-done-1280")
    on_phone(phone_page, survey, "support-survey-done")

    # A tampered link shows nothing.
    page.goto(follow[:-3] + "xx/")
    expect(page.get_by_test_id("invalid-link")).to_be_visible()
    assert "Freezer" not in page.content()

    # --- staff: the feedback list and the 360 panel -------------------------------------------
    services.feedback_create(actor=manager, data={
        "customer": team_customer, "contact": contact, "kind": "complaint",
        "channel": "phone", "body": "The technician came two hours late."})
    sign_in(page, manager.email, password)
    page.wait_for_url("**/")
    page.goto("/service/feedback/")
    expect(page.get_by_role("heading", name="Feedback")).to_be_visible()
    expect(page.get_by_test_id("feedback-row")).to_have_count(1)
    screenshot(page, "feedback-list-1280")
    row = page.get_by_test_id("feedback-row")
    row.get_by_label("Status").select_option("acknowledged")
    row.get_by_role("button", name="Set").click()
    expect(page.get_by_text("The feedback is now “Acknowledged”.")).to_be_visible()

    page.goto(f"/customers/{team_customer.uuid}/")
    panel = page.locator("#panel-servicetickets")
    expect(panel.get_by_test_id("figure-satisfaction")).to_have_text("4.0/5")
    expect(panel.get_by_text("Freezer shows E7")).to_be_visible()
    panel.scroll_into_view_if_needed()
    screenshot(page, "customer-service-panel-1280")
    panel.get_by_test_id("customer-log-feedback").click()
    expect(page.get_by_test_id("feedback-customer")).to_have_text("Beta Foods")
    page.get_by_label("Type").select_option("praise")
    page.locator("#id_body").fill("Lena praised the hotline.")
    page.get_by_role("button", name="Log feedback").click()
    page.wait_for_url(f"**/customers/{team_customer.uuid}/")
    expect(page.locator("#panel-servicetickets")).to_contain_text("Lena praised the hotline.")

    sign_in(phone_page, manager.email, password)
    phone_page.wait_for_url("**/")
    on_phone(phone_page, "/service/feedback/", "feedback-list")
    on_phone(phone_page, f"/customers/{team_customer.uuid}/", "customer-service-panel")
