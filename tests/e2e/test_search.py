"""Global search and the contact list in a real browser: the navbar box with its htmx dropdown
(Ctrl/Cmd-K, arrow keys, Escape), the results page, and both at desktop and phone width."""

import pytest
from playwright.sync_api import expect

from customers import contacts_ui
from customers import search as customer_search
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def book(rep, manager, team, outsider):
    customer_search.register()
    contacts_ui.register()
    acme = CustomerFactory(name="Acme Robotics", owner=rep, team=team, city="Shanghai")
    CustomerFactory(name="Acme Robotics International Holdings Group", owner=manager, team=team)
    CustomerFactory(name="Acme Secret Outsider Co", owner=outsider)
    ContactFactory(customer=acme, first_name="Ada", last_name="Acmeson", title="Buyer",
                   email="ada@acme.example", phone="+86 21 5555 0101", marketing_consent=True)
    ContactFactory(customer=acme, first_name="Grace", last_name="Hopper",
                   email="grace.hopper.with.a.really.long.address@acme-robotics.example")
    return acme


def no_sideways_scroll(page, width):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} scrolls sideways at {width}px ({scroll}px wide)"


def test_a_rep_finds_a_customer_from_the_navbar(page, rep, book, password):
    sign_in(page, rep.email, password)
    page.wait_for_url("**/")
    box = page.locator("#global-search-q")
    menu = page.locator("#global-search-dropdown")

    page.keyboard.press("Control+k")
    expect(box).to_be_focused()
    page.keyboard.type("Acme Robtics")  # a typo
    dropdown = page.get_by_test_id("search-dropdown")
    expect(dropdown).to_be_visible()
    expect(dropdown).to_contain_text("Customers")
    expect(dropdown).to_contain_text("Acme Robotics")
    expect(dropdown).not_to_contain_text("Outsider")  # not the rep's to see
    screenshot(page, "search-dropdown-1280")

    # The arrow keys walk the results; Escape closes the dropdown.
    page.keyboard.press("ArrowDown")
    first = dropdown.locator("[data-search-item]").first
    expect(first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(dropdown.locator("[data-search-item]").nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(box).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()

    # Contacts come in their own group.
    box.fill("acmeson")
    expect(dropdown.locator("h2", has_text="Contacts")).to_be_visible()
    expect(dropdown).to_contain_text("Ada Acmeson")

    # Enter opens the full results page.
    box.fill("acme")
    expect(dropdown).to_contain_text("Acme Robotics International")
    box.press("Enter")
    page.wait_for_url("**/search/?q=acme")
    results = page.locator("#search-results")
    expect(results.locator("#search-group-customers")).to_be_visible()
    expect(results.locator("#search-group-contacts")).to_be_visible()
    assert "Outsider" not in results.inner_text()
    screenshot(page, "search-page-1280")

    # From the dropdown to the customer's page.
    box.fill("Acme Robotics")
    dropdown.locator("[data-search-item]").first.click()
    page.wait_for_url(f"**/customers/{book.uuid}/")
    assert page.console_errors == []


def test_the_contact_list_filters_in_place(page, rep, book, password):
    sign_in(page, rep.email, password)
    page.wait_for_url("**/")
    page.get_by_test_id("nav-customers").click()  # the top bar's Customers menu
    page.get_by_role("link", name="Contacts").click()
    page.wait_for_url("**/customers/contacts/")
    rows = page.locator("#contact-results tbody tr")
    expect(rows).to_have_count(2)
    screenshot(page, "contacts-list-1280")
    page.evaluate("() => { window.__kept = true; }")
    page.get_by_label("Search").fill("21 5555 0101")
    page.wait_for_url("**q=21*")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ada Acmeson")
    page.get_by_label("Search").fill("")
    expect(rows).to_have_count(2)
    page.get_by_label("Marketing consent").select_option("yes")
    page.wait_for_url("**consent=yes*")
    expect(rows).to_have_count(1)
    assert page.evaluate("window.__kept") is True  # htmx swapped the results in place
    rows.first.get_by_role("link", name="Ada Acmeson").click()
    page.wait_for_url(f"**/customers/{book.uuid}/#contacts")
    assert page.console_errors == []


def test_search_and_contacts_fit_a_phone(phone_page, rep, book, password):
    page = phone_page
    sign_in(page, rep.email, password)
    page.wait_for_url("**/")
    box = page.locator("#global-search-q")
    expect(box).to_be_hidden()  # inside the collapsed menu
    page.get_by_role("button", name="Toggle navigation").click()
    expect(box).to_be_visible()
    box.fill("acme")
    dropdown = page.get_by_test_id("search-dropdown")
    expect(dropdown).to_contain_text("Acme Robotics")
    no_sideways_scroll(page, 375)
    screenshot(page, "search-dropdown-375")

    box.press("Enter")
    page.wait_for_url("**/search/?q=acme")
    no_sideways_scroll(page, 375)
    screenshot(page, "search-page-375")

    page.goto("/customers/contacts/")
    expect(page.locator("#contact-results tbody tr")).to_have_count(2)
    no_sideways_scroll(page, 375)
    screenshot(page, "contacts-list-375")
