"""The customer list in a real browser: create through the form, filter in place with htmx,
and the list, form and trash at desktop and phone width (screenshots for a person to look at)."""

import pytest
from playwright.sync_api import expect

from customers import services
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def book(rep, manager, team):
    """A few of the rep's customers, tagged, and one in the trash."""
    vip = TagFactory(name="VIP", color="danger")
    hot = TagFactory(name="Hot lead", color="warning")
    CustomerFactory(name="Acme Robotics", owner=rep, team=team, tags=[vip, hot],
                    phone="+86 138-0013 8000")
    CustomerFactory(name="Beta Foods International Holdings", owner=manager, team=team,
                    tags=[hot], status="at_risk")
    CustomerFactory(name="Gamma Textiles", owner=rep, status="churned")
    gone = CustomerFactory(name="Omega Old Co", owner=rep, team=team)
    services.customer_soft_delete(actor=manager, customer=gone)


def no_sideways_scroll(page, width):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} scrolls sideways at {width}px ({scroll}px wide)"


def test_a_rep_creates_a_customer_and_filters_the_list_in_place(page, rep, book, password):
    sign_in(page, rep.email, password)
    page.wait_for_url("**/")
    page.goto("/customers/")
    rows = page.locator("#customer-results tbody tr")
    assert rows.count() == 3
    screenshot(page, "customers-list-1280")

    page.get_by_role("link", name="New customer").click()
    page.wait_for_url("**/customers/new/")
    screenshot(page, "customers-form-1280")
    page.get_by_label("Name").fill("Delta Systems")
    page.get_by_label("E-mail").fill("hello@delta.example")
    page.get_by_label("Phone").fill("+86 21 5555-0100")
    # Tags are an autocomplete (the page never renders every tag): type, then pick.
    page.get_by_role("combobox", name="Tags").fill("VI")
    page.get_by_role("option", name="VIP").click()
    page.get_by_role("button", name="Create customer").click()
    page.wait_for_url("**/customers/*-*/")  # the customer's page

    page.goto("/customers/")
    assert rows.count() == 4
    page.evaluate("() => { window.__kept = true; }")  # survives only an in-place update
    page.get_by_label("Search").fill("delta")
    page.wait_for_url("**/customers/?*q=delta*")
    expect(rows).to_have_count(1)
    assert "Delta Systems" in page.locator("#customer-results").inner_text()
    assert page.evaluate("window.__kept") is True  # htmx swapped the results, no reload
    # A phone number typed with other separators finds it too.
    page.get_by_label("Search").fill("21 5555 0100")
    page.wait_for_url("**q=21%205555%200100*")
    expect(page.locator("#customer-results")).to_contain_text("Delta Systems")
    # The status filter submits on change, still in place.
    page.get_by_label("Search").fill("")
    expect(rows).to_have_count(4)
    page.get_by_label("Status").select_option("at_risk")
    page.wait_for_url("**status=at_risk*")
    expect(rows).to_have_count(1)
    assert "Beta Foods" in page.locator("#customer-results").inner_text()
    assert page.evaluate("window.__kept") is True

    page.get_by_role("link", name="Trash").click()
    page.wait_for_url("**/customers/trash/")
    assert "Omega Old Co" in page.locator("table").inner_text()
    screenshot(page, "customers-trash-1280")
    assert page.console_errors == []


def test_the_pages_fit_a_phone(phone_page, rep, book, password):
    page = phone_page
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, rep.email, password)
    page.wait_for_url("**/")
    for path, name in [("/customers/", "customers-list-375"),
                       ("/customers/new/", "customers-form-375"),
                       ("/customers/trash/", "customers-trash-375")]:
        response = page.goto(path)
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        screenshot(page, name)
        no_sideways_scroll(page, 375)
    page.goto("/customers/")
    page.get_by_role("button", name="More filters").click()
    page.wait_for_selector("#more-filters.show")
    screenshot(page, "customers-list-filters-375")
    no_sideways_scroll(page, 375)
    assert errors == []


@pytest.mark.parametrize("width", [1280, 375])
def test_a_manager_tags_in_bulk_and_restores_from_the_trash(browser, live_server, manager,
                                                             book, password, width):
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="en-US",
                                  base_url=live_server.url)
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, manager.email, password)
    page.wait_for_url("**/")
    page.goto("/customers/")
    page.get_by_label("Select Acme Robotics").check()
    page.get_by_label("Select Beta Foods International Holdings").check()
    page.locator("#bulk_action").select_option("add_tag")
    page.get_by_role("combobox", name="Tag", exact=True).fill("VI")
    page.get_by_role("option", name="VIP").click()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".messages")).to_contain_text(
        "1 customer changed (of 2 selected).")  # Acme had it already
    screenshot(page, f"customers-list-bulk-{width}")
    no_sideways_scroll(page, width)

    page.goto("/customers/trash/")
    screenshot(page, f"customers-trash-manager-{width}")
    no_sideways_scroll(page, width)
    page.get_by_role("button", name="Restore").click()
    expect(page.locator(".messages")).to_contain_text("“Omega Old Co” was restored.")
    expect(page.locator("table")).to_contain_text("The trash is empty.")
    context.close()
    assert errors == []


def test_select_all_ticks_every_customer_on_the_page(page, manager, rep, team, password):
    for n in range(3):
        CustomerFactory(name=f"Select me {n}", owner=rep, team=team)
    sign_in(page, manager.email, password)
    page.wait_for_url("**/")
    page.goto("/customers/")
    page.get_by_label("Select all customers on this page").check()
    boxes = page.locator('input[name="selected"]')
    assert boxes.count() == 3
    assert all(boxes.nth(i).is_checked() for i in range(3))
