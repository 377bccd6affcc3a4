"""Segments in a real browser: build rules with the htmx rule builder and its live preview,
save, read the detail page; a static list with members added by code and removed per row; the
pages at desktop and phone width (screenshots for a person to look at)."""

import pytest
from playwright.sync_api import expect

from customers import segment_ui
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _registered():
    segment_ui.register()


@pytest.fixture
def book(manager, rep, team):
    CustomerFactory(name="Acme Robotics", code="C0000101", owner=rep, team=team,
                    city="Shanghai", status="at_risk")
    CustomerFactory(name="Beta Foods International Holdings", code="C0000102", owner=manager,
                    team=team, city="Shanghai")
    CustomerFactory(name="Gamma Textiles", code="C0000103", owner=rep, team=team,
                    city="Beijing", status="at_risk")


def no_sideways_scroll(page, width):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} scrolls sideways at {width}px ({scroll}px wide)"


def settled(page, new_row):
    """Wait for the builder's new rows (`new_row`: a selector only they match) to be wired by
    htmx: fresh content answers its triggers once it has settled."""
    expect(page.locator(new_row)).to_be_attached()
    expect(page.locator("#rule-builder[data-builder-ready]")).to_be_attached()


def build_rules(page):
    """Status is At risk, and (City equals Shanghai or City equals Beijing)."""
    preview = page.locator("#segment-preview")
    page.get_by_role("button", name="Add rule").click()
    settled(page, "#rb-r-0-field")
    page.locator("#rb-r-0-field").select_option(label="Status")
    expect(page.locator("#rb-r-0-operator")).to_have_value("is")
    settled(page, "#rb-r-0-value")
    page.locator("#rb-r-0-value").select_option(label="At risk")
    expect(preview).to_contain_text("2 customers match")
    page.get_by_role("button", name="Add group").click()
    settled(page, "#rb-r-1-op")
    page.locator("#rb-r-1-op").select_option("or")
    page.locator("#rb-r-1-0-field").select_option(label="City")
    settled(page, "#rb-r-1-0-value")
    page.locator("#rb-r-1-0-value").fill("Shanghai")
    expect(preview).to_contain_text("1 customer matches")
    page.locator("[data-group-path='r.1']").get_by_role("button", name="Add rule").click()
    expect(page.locator("#rb-r-1-1-field")).to_be_focused()
    settled(page, "#rb-r-1-1-field")
    page.locator("#rb-r-1-1-field").select_option(label="City")
    settled(page, "#rb-r-1-1-value")
    page.locator("#rb-r-1-1-value").fill("Beijing")
    expect(preview).to_contain_text("2 customers match")
    expect(preview).to_contain_text("Gamma Textiles")


def test_a_manager_builds_a_segment_with_a_live_preview(page, manager, book, password):
    sign_in(page, manager.email, password)
    page.wait_for_url("**/")
    page.get_by_test_id("nav-customers").click()  # the top bar's Customers menu
    page.get_by_role("link", name="Segments").first.click()
    page.wait_for_url("**/customers/segments/")
    page.get_by_role("link", name="New segment").click()
    page.wait_for_url("**/customers/segments/new/")
    page.get_by_label("Name").fill("At risk in our cities")
    page.evaluate("() => { window.__kept = true; }")  # survives only in-place updates
    build_rules(page)
    assert page.evaluate("window.__kept") is True
    screenshot(page, "segments-form-1280")
    no_sideways_scroll(page, 1280)

    # A rule with a bad value: the preview says what is wrong instead of a count.
    page.get_by_role("button", name="Add rule").last.click()
    settled(page, "#rb-r-2-field")
    page.locator("#rb-r-2-field").select_option(label="Created")
    settled(page, "#rb-r-2-operator:not([disabled])")
    page.locator("#rb-r-2-operator").select_option("in_last_days")
    settled(page, "[data-rule-path='r.2'] .input-group-text")
    page.locator("#rb-r-2-value").fill("0")
    expect(page.get_by_test_id("preview-errors")).to_contain_text("between 1 and")
    page.locator("[data-rule-path='r.2']").get_by_role("button", name="Remove this rule").click()
    expect(page.locator("#segment-preview")).to_contain_text("2 customers match")

    page.get_by_role("button", name="Create segment").click()
    page.wait_for_url("**/customers/segments/*-*/")
    expect(page.get_by_test_id("segment-rules")).to_have_text(
        "Status is At risk and (City equals “Shanghai” or City equals “Beijing”)")
    expect(page.get_by_test_id("segment-count")).to_have_text("2")
    expect(page.locator("#member-results")).to_contain_text("Acme Robotics")
    screenshot(page, "segments-detail-1280")

    page.locator("main").get_by_role("link", name="Segments").first.click()
    expect(page.get_by_test_id("segment-size")).to_have_text("2")
    screenshot(page, "segments-list-1280")
    assert page.console_errors == [], page.console_errors[:3]


def test_a_manager_keeps_a_static_list(page, manager, book, password):
    sign_in(page, manager.email, password)
    page.wait_for_url("**/")
    page.goto("/customers/segments/new/")
    page.get_by_label("Name").fill("Trade fair leads")
    page.get_by_label("Static list").check()
    expect(page.locator("[data-rules-section]")).to_be_hidden()
    page.get_by_role("button", name="Create segment").click()
    page.wait_for_url("**/customers/segments/*-*/")
    page.get_by_label("Add a customer by code").fill("c0000102")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("was added to the list")
    page.get_by_label("Add a customer by code").fill("C0000101")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_test_id("segment-count")).to_have_text("2")
    screenshot(page, "segments-static-1280")
    page.get_by_role("button", name="Remove Acme Robotics from the list").click()
    expect(page.locator(".messages")).to_contain_text("was removed from the list")
    expect(page.get_by_test_id("segment-count")).to_have_text("1")
    assert page.console_errors == [], page.console_errors[:3]


def test_the_segment_pages_fit_a_phone(phone_page, manager, book, password):
    page = phone_page
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, manager.email, password)
    page.wait_for_url("**/")
    page.goto("/customers/segments/new/")
    page.get_by_label("Name").fill("Phone segment")
    build_rules(page)
    screenshot(page, "segments-form-375")
    no_sideways_scroll(page, 375)
    page.get_by_role("button", name="Create segment").click()
    page.wait_for_url("**/customers/segments/*-*/")
    expect(page.get_by_test_id("segment-count")).to_have_text("2")
    screenshot(page, "segments-detail-375")
    no_sideways_scroll(page, 375)
    page.goto("/customers/segments/")
    screenshot(page, "segments-list-375")
    no_sideways_scroll(page, 375)
    assert errors == []
