"""Custom fields in a real browser: an admin defines a choice field, fills it in on a customer,
sees it on the 360 page and filters the list by it; the pages at desktop and phone width."""

import pytest
from playwright.sync_api import expect

from customers.models import Customer, CustomFieldDefinition
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


def no_sideways_scroll(page, width):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} scrolls sideways at {width}px ({scroll}px wide)"


@pytest.fixture
def book(admin):
    CustomerFactory(name="Acme Robotics", owner=admin)
    CustomerFactory(name="Beta Foods", owner=admin, custom_data={"contract_type": "Monthly"})
    CustomFieldDefinition.objects.create(
        entity="contact", key="shoe_size", label="Shoe size", field_type="number", order=1)
    CustomFieldDefinition.objects.create(
        entity="customer", key="legacy_ref", label="Legacy reference with a long label",
        field_type="text", is_active=False)


def test_an_admin_defines_a_field_fills_it_in_and_filters_by_it(page, admin, book, password):
    sign_in(page, admin.email, password)
    page.wait_for_url("**/")
    page.goto("/customers/fields/")
    screenshot(page, "custom-fields-list-before-1280")
    page.get_by_role("link", name="New custom field").click()
    page.wait_for_url("**/customers/fields/new/")
    page.get_by_label("For").select_option("customer")
    page.get_by_label("Key").fill("contract_type")
    page.get_by_label("Label").fill("Contract type")
    page.get_by_label("Type").select_option("choice")
    page.get_by_label("Choices").fill("Annual\nMonthly")
    page.get_by_label("Help text").fill("As signed")
    screenshot(page, "custom-fields-form-1280")
    page.get_by_role("button", name="Create field").click()
    page.wait_for_url("**/customers/fields/")
    expect(page.locator('[data-testid="fields-customer"]')).to_contain_text("Contract type")
    screenshot(page, "custom-fields-list-1280")

    acme = Customer.objects.get(name="Acme Robotics")
    page.goto(f"/customers/{acme.uuid}/edit/")
    expect(page.locator("legend", has_text="Custom fields")).to_be_visible()
    page.get_by_label("Contract type").select_option("Annual")
    screenshot(page, "custom-fields-customer-form-1280")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/customers/{acme.uuid}/")
    expect(page.locator('[data-testid="custom-contract_type"]')).to_have_text("Annual")
    screenshot(page, "custom-fields-detail-1280")
    assert Customer.objects.get(pk=acme.pk).custom_data == {"contract_type": "Annual"}

    page.goto("/customers/")
    page.get_by_role("button", name="More filters").click()
    page.get_by_label("Contract type").select_option("Monthly")
    page.wait_for_url("**cf_contract_type=Monthly*")
    rows = page.locator("#customer-results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Beta Foods")
    screenshot(page, "custom-fields-list-filter-1280")
    assert page.console_errors == []


def test_the_pages_fit_a_phone(phone_page, admin, book, password):
    page = phone_page
    definition = CustomFieldDefinition.objects.create(
        entity="customer", key="contract_type", label="Contract type", field_type="choice",
        choices=["Annual", "Monthly"], help_text="As signed")
    beta = Customer.objects.get(name="Beta Foods")
    beta.contacts.create(first_name="Dana", last_name="Lee", custom_data={"shoe_size": 42})
    sign_in(page, admin.email, password)
    page.wait_for_url("**/")
    for path, name in [
        ("/customers/fields/", "custom-fields-list-375"),
        ("/customers/fields/new/", "custom-fields-form-375"),
        (f"/customers/fields/{definition.uuid}/edit/", "custom-fields-edit-375"),
        (f"/customers/{beta.uuid}/edit/", "custom-fields-customer-form-375"),
        (f"/customers/{beta.uuid}/", "custom-fields-detail-375"),
        ("/customers/?cf_contract_type=Monthly", "custom-fields-list-filter-375"),
    ]:
        page.goto(path)
        screenshot(page, name)
        no_sideways_scroll(page, 375)
    expect(page.locator("#customer-results tbody tr")).to_have_count(1)
