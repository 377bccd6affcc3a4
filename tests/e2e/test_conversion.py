"""Converting leads in a real browser: once into a new customer + contact + opportunity, once
linked to the existing customer it matches; then the opportunity's list and page, at desktop
and phone width."""

import datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from sales import opportunity_ui, pipeline_services, plan_services
from sales.models import Lead
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import CustomerFactory, LeadFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _registered():
    opportunity_ui.register()


def no_sideways_scroll(page, width):
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width, f"the page scrolls sideways at {width}px ({overflow}px wide)"


def convert_path(lead):
    return f"/sales/leads/{lead.uuid}/convert/"


def test_a_rep_converts_leads_without_duplicating_customers(page, phone_page, rep, team,
                                                            password, pipeline):
    existing = CustomerFactory(name="Omega Precision Tools", owner=rep, team=team,
                               email="buy@omega-tools.example", phone="+86 21 5555 0101")
    fresh = LeadFactory(first_name="Hui", last_name="Zhang", company="Kappa Solar",
                        email="hui.zhang@kappa.example", phone="+86 10 6666 0202",
                        owner=rep, team=team)
    duplicate = LeadFactory(first_name="Wei", last_name="Chen",
                            company="Omega Precision Tools Co.",
                            email="buy@omega-tools.example", phone="", owner=rep, team=team)

    sign_in(page, rep.email, password)
    page.wait_for_url("**/")

    # 1. A lead with no match: a new customer, contact and opportunity.
    page.goto(convert_path(fresh))
    expect(page.get_by_role("heading", level=1)).to_have_text("Convert Hui Zhang")
    expect(page.get_by_test_id("no-matches")).to_be_visible()
    expect(page.locator("#target-new")).to_be_checked()
    expect(page.locator("#id_name")).to_have_value("Kappa Solar")
    page.locator("#id_opportunity_name").fill("Kappa rooftop pilot")
    page.locator("#id_amount").fill("48000")
    page.get_by_role("button", name="Convert lead").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Kappa rooftop pilot")
    expect(page.get_by_test_id("customer-link")).to_have_text("Kappa Solar")
    fresh.refresh_from_db()
    assert fresh.status == Lead.Status.CONVERTED
    assert fresh.converted_contact.email == "hui.zhang@kappa.example"

    # 2. A lead that matches an existing customer by e-mail and name: link, don't duplicate.
    customers = Customer.objects.count()
    page.goto(convert_path(duplicate))
    match = page.get_by_test_id("match")
    expect(match).to_have_count(1)
    expect(match).to_contain_text("Link to Omega Precision Tools")
    expect(match).to_contain_text("same e-mail")
    expect(match.locator("input[type=radio]")).to_be_checked()
    screenshot(page, "lead-convert-1280")
    no_sideways_scroll(page, 1280)

    phone_page.context.add_cookies(page.context.cookies())
    phone_page.goto(convert_path(duplicate))
    expect(phone_page.get_by_test_id("match")).to_have_count(1)
    screenshot(phone_page, "lead-convert-375")
    no_sideways_scroll(phone_page, 375)

    page.locator("#id_opportunity_name").fill("Omega spindle retrofit")
    page.locator("#id_amount").fill("12500")
    page.get_by_role("button", name="Convert lead").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Omega spindle retrofit")
    expect(page.get_by_test_id("customer-link")).to_have_text("Omega Precision Tools")
    assert Customer.objects.count() == customers
    duplicate.refresh_from_db()
    assert duplicate.converted_customer == existing

    # The opportunity page with a stage history and a development plan.
    opportunity = duplicate.converted_opportunity
    opportunity = pipeline_services.opportunity_move(
        actor=rep, opportunity=opportunity, stage=pipeline["Proposal"],
        expected_version=opportunity.version)
    plan = plan_services.plan_create(actor=rep, opportunity=opportunity,
                                     title="Win the retrofit")
    plan_services.step_add(actor=rep, plan=plan, action="Site survey",
                           planned_date=datetime.date.today() - datetime.timedelta(days=3))
    page.reload()
    expect(page.get_by_test_id("history-row")).to_have_count(2)
    expect(page.get_by_test_id("plan")).to_contain_text("1 overdue")
    expect(page.get_by_test_id("weighted")).to_contain_text("6,250.00")
    screenshot(page, "opportunity-detail-1280")
    no_sideways_scroll(page, 1280)
    phone_page.goto(f"/sales/opportunities/{opportunity.uuid}/")
    expect(phone_page.get_by_test_id("history-row")).to_have_count(2)
    screenshot(phone_page, "opportunity-detail-375")
    no_sideways_scroll(phone_page, 375)

    # Move to Lost without a reason: refused with a message.
    page.locator("#id_stage").select_option(label="Lost")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator(".alert-dismissible")).to_contain_text("Say why the opportunity was lost.")
    expect(page.get_by_test_id("stage")).to_have_text("Proposal")

    # The list with both opportunities and their totals.
    page.get_by_test_id("nav-sales").click()  # the top bar's Sales menu
    page.get_by_role("link", name="Opportunities").first.click()
    expect(page.get_by_test_id("opportunity-row")).to_have_count(2)
    expect(page.get_by_test_id("total-amount")).to_contain_text("60,500.00")
    # htmx (a deferred script) must be listening before the search box is typed into.
    page.wait_for_load_state("networkidle")
    page.locator("#id_q").fill("retrofit")
    expect(page.get_by_test_id("opportunity-row")).to_have_count(1)
    screenshot(page, "opportunity-list-1280")
    no_sideways_scroll(page, 1280)
    phone_page.goto("/sales/opportunities/")
    expect(phone_page.get_by_test_id("opportunity-row")).to_have_count(2)
    screenshot(phone_page, "opportunity-list-375")
    no_sideways_scroll(phone_page, 375)
    assert opportunity.amount == Decimal("12500.00")
