"""Leads in a real browser: a rep creates a lead through the form and sees its score; a
visitor fills a public web-to-lead form at desktop and phone width; the lead arrives assigned
by round-robin (screenshots for a person to look at)."""

import pytest
from playwright.sync_api import expect

from sales.lead_ui import register
from sales.models import Lead, LeadScoreRule, WebForm
from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _nav():
    register()


@pytest.fixture
def setup(rep, manager, team):
    LeadScoreRule.objects.create(label="Has e-mail", field="email", points=10, order=1)
    LeadScoreRule.objects.create(label="Has company", field="company", points=15, order=2)
    return WebForm.objects.create(
        name="Contact us", slug="contact-us", title="Talk to our sales team",
        intro="Leave your details and we will get back to you within a day.",
        fields=["last_name", "company", "phone", "message"], required_fields=["company"],
        consent_text="Send me product news (you can unsubscribe at any time)",
        thank_you_text="Thank you! Someone from our team will contact you shortly.",
        team=team)


def no_sideways_scroll(page, width):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} scrolls sideways at {width}px ({scroll}px wide)"


def test_a_rep_creates_a_lead_and_sees_its_score(page, rep, setup, password):
    sign_in(page, rep.email, password)
    page.wait_for_url("**/")
    page.get_by_test_id("nav-sales").click()  # the top bar's Sales menu
    page.get_by_role("link", name="Leads").first.click()
    page.wait_for_url("**/sales/leads/")
    page.get_by_role("link", name="New lead").click()
    page.wait_for_url("**/sales/leads/new/")
    page.get_by_label("First name").fill("Lina")
    page.get_by_label("Last name").fill("Lead")
    page.get_by_label("Company").fill("Zeta Labs")
    page.get_by_label("E-mail").fill("lina@zeta.example")
    screenshot(page, "leads-form-1280")
    page.get_by_role("button", name="Create lead").click()
    page.wait_for_url("**/sales/leads/*-*/")
    expect(page.get_by_test_id("lead-score")).to_have_text("25")
    expect(page.get_by_test_id("score-breakdown")).to_contain_text("Has company")
    page.get_by_role("button", name="Qualified", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text("Qualified")
    screenshot(page, "leads-detail-1280")

    page.goto("/sales/leads/?q=zeta")
    expect(page.locator("#lead-results tbody tr")).to_have_count(1)
    screenshot(page, "leads-list-1280")
    assert not page.console_errors


def test_a_visitor_fills_the_web_form_and_the_lead_is_assigned(page, phone_page, rep, manager,
                                                              admin, setup, password):
    for done, (browser_page, width, email) in enumerate(
            ((page, 1280, "wendy@web.example"), (phone_page, 375, "pete@phone.example"))):
        browser_page.goto("/forms/contact-us/")
        expect(browser_page.get_by_role("heading", name="Talk to our sales team")).to_be_visible()
        expect(browser_page.get_by_label("Leave this field empty")).to_be_hidden()
        # Bad input first: errors shown, nothing created.
        browser_page.get_by_label("First name").fill("Wendy")
        browser_page.get_by_label("E-mail").fill("not-an-address")
        browser_page.get_by_role("button", name="Send").click()
        expect(browser_page.get_by_test_id("form-errors")).to_be_visible()
        screenshot(browser_page, f"leads-webform-errors-{width}")
        assert Lead.objects.count() == done
        no_sideways_scroll(browser_page, width)

        browser_page.get_by_label("E-mail").fill(email)
        browser_page.get_by_label("Company").fill("Web Co")
        browser_page.get_by_label("Phone").fill("+1 555 0100")
        browser_page.get_by_label("Message").fill("Please call me about pricing.")
        browser_page.get_by_label("Send me product news").check()
        screenshot(browser_page, f"leads-webform-{width}")
        browser_page.get_by_role("button", name="Send").click()
        expect(browser_page.get_by_test_id("thank-you")).to_contain_text("Thank you!")
        screenshot(browser_page, f"leads-webform-thanks-{width}")
        no_sideways_scroll(browser_page, width)

    leads = list(Lead.objects.order_by("created_at"))
    assert len(leads) == 2
    # Round-robin in "Sales East" (manager and rep, by id): one each.
    assert {lead.owner_id for lead in leads} == {manager.pk, rep.pk}

    sign_in(page, manager.email, password)
    page.wait_for_url("**/")
    page.goto(f"/sales/leads/{leads[0].uuid}/")
    expect(page.get_by_test_id("lead-owner")).to_have_text(
        leads[0].owner.get_full_name() or leads[0].owner.email)
    screenshot(page, "leads-web-lead-detail-1280")

    phone_page.goto("/login/")
    sign_in(phone_page, manager.email, password)
    phone_page.wait_for_url("**/")
    phone_page.goto("/sales/leads/")
    expect(phone_page.locator("#lead-results tbody tr")).to_have_count(2)
    screenshot(phone_page, "leads-list-375")
    no_sideways_scroll(phone_page, 375)
    phone_page.goto(f"/sales/leads/{leads[1].uuid}/")
    screenshot(phone_page, "leads-detail-375")
    no_sideways_scroll(phone_page, 375)


def test_an_admin_sees_the_snippets(page, admin, setup, password):
    sign_in(page, admin.email, password)
    page.wait_for_url("**/")
    page.goto("/sales/web-forms/")
    page.get_by_role("link", name="Contact us").click()
    expect(page.locator("#iframe-snippet")).to_contain_text("/forms/contact-us/?embed=1")
    expect(page.locator("#html-snippet")).to_contain_text('name="token"')
    screenshot(page, "leads-webform-admin-1280")
    page.goto("/sales/leads/rules/")
    screenshot(page, "leads-rules-1280")
    assert not page.console_errors
