"""The customer's 360-degree page in a real browser: the htmx quick-add, adding a contact,
and the layout at desktop and phone width."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in
from tests.factories import ContactFactory, InteractionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def no_sideways_scroll(page, width):
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width, f"the page scrolls sideways at {width}px ({overflow}px wide)"


def test_a_rep_logs_a_call_and_adds_a_contact(page, rep, own_customer, password):
    ContactFactory(customer=own_customer, first_name="Dana", last_name="Lee", is_primary=True,
                   title="Head of purchasing", phone="+86 10 1234 5678")
    InteractionFactory(customer=own_customer, user=rep, subject="Introductory meeting",
                       kind="meeting")
    sign_in(page, rep.email, password)
    page.wait_for_url("**/")
    page.goto(f"/customers/{own_customer.uuid}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acme Robotics")
    page.evaluate("window.notReloaded = true")

    form = page.locator("#interaction-form")
    form.get_by_label("Type").select_option("call")
    form.get_by_label("Contact").select_option(label="Dana Lee")
    form.get_by_label("Subject").fill("Called about the renewal")
    form.get_by_label("Details").fill("They asked for a quote by Friday.")
    form.get_by_role("button", name="Add to the log").click()

    timeline = page.locator("#timeline-list")
    expect(timeline.get_by_text("Called about the renewal")).to_be_visible()
    expect(page.locator("#interaction-form .alert-success")).to_contain_text("Call logged")
    expect(form.get_by_label("Subject")).to_have_value("")
    expect(page.get_by_test_id("interaction-count")).to_have_text("2")
    assert page.evaluate("window.notReloaded") is True  # htmx: no page load
    assert timeline.get_by_test_id("timeline-item").first.inner_text().startswith(
        "Called about the renewal")

    # an empty subject: the form shows the error, nothing is logged
    form.get_by_role("button", name="Add to the log").click()
    expect(page.locator("#interaction-form")).to_contain_text("This field is required.")
    expect(page.get_by_test_id("interaction-count")).to_have_text("2")
    screenshot(page, "customer-detail-1280")
    no_sideways_scroll(page, 1280)

    page.get_by_role("link", name="Add contact").click()
    page.get_by_label("First name").fill("Eli")
    page.get_by_label("Last name").fill("Zhang")
    page.get_by_label("E-mail").fill("eli.zhang@acme.example")
    page.get_by_label("Agrees to marketing").check()
    page.get_by_role("button", name="Add contact").click()
    expect(page.locator("#id_consent_method")).to_have_class(re.compile("is-invalid"))
    screenshot(page, "customer-contact-form-1280")
    page.get_by_label("Consent given by").select_option("in_person")
    page.get_by_role("button", name="Add contact").click()
    page.wait_for_url(re.compile(rf"/customers/{own_customer.uuid}/#contacts$"))
    expect(page.get_by_test_id("contact")).to_have_count(2)
    expect(page.locator("#contacts")).to_contain_text("Eli Zhang")
    expect(page.locator("#timeline-list")).to_contain_text("Contact added: Eli Zhang")
    screenshot(page, "customer-detail-after-contact-1280")
    assert page.console_errors == []


def test_the_page_fits_a_phone(phone_page, rep, own_customer, password):
    ContactFactory(customer=own_customer, first_name="Dana", last_name="Lee", is_primary=True,
                   email="dana.lee.with.a.rather.long.address@acme-robotics.example",
                   title="Head of purchasing", phone="+86 10 1234 5678", mobile="+86 138 0013 8000")
    for i in range(5):
        InteractionFactory(customer=own_customer, user=rep, subject=f"Follow-up call {i}",
                           body="A fairly long note " * 8, outcome="Send the quote")
    sign_in(phone_page, rep.email, password)
    phone_page.wait_for_url("**/")
    phone_page.goto(f"/customers/{own_customer.uuid}/")
    phone_page.wait_for_load_state("networkidle")
    form = phone_page.locator("#interaction-form")
    form.get_by_label("Subject").fill("Quick note from the road")
    form.get_by_label("Type").select_option("note")
    form.get_by_role("button", name="Add to the log").click()
    expect(phone_page.locator("#timeline-list")).to_contain_text("Quick note from the road")
    screenshot(phone_page, "customer-detail-375")
    no_sideways_scroll(phone_page, 375)

    phone_page.goto(f"/customers/{own_customer.uuid}/share/")
    screenshot(phone_page, "customer-share-375")
    no_sideways_scroll(phone_page, 375)
