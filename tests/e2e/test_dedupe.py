"""Duplicates and GDPR tools in a real browser: find a pair, merge it choosing values, then
erase a contact's personal data; the pages at desktop and phone width."""

import re

import pytest
from playwright.sync_api import expect

from customers import dedupe_ui
from customers.models import Contact, Customer
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import ContactFactory, CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _registered():
    dedupe_ui.register()


def no_sideways_scroll(page, width):
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width, f"the page scrolls sideways at {width}px ({overflow}px wide)"


@pytest.fixture
def duplicates(manager, team):
    older = CustomerFactory(name="Upsilon Medical Devices", owner=manager, team=team,
                            email="office@upsilon.example", phone="(0571) 8765-4321",
                            city="")
    newer = CustomerFactory(name="Upsilon Medical Devices Co., Ltd.", owner=manager,
                            team=team, email="OFFICE@upsilon.example", phone="0571-87654321",
                            city="Hangzhou", address="88 Wensan Road, Xihu District")
    ContactFactory(customer=newer, first_name="Meiling", last_name="Guo", is_primary=True,
                   email="meiling.guo@upsilon.example", national_id="330106198801012345")
    InteractionFactory(customer=newer, subject="Asked for the price list", user=manager)
    return newer, older


def test_a_manager_merges_duplicates_and_erases_a_contact(page, manager, password,
                                                          duplicates):
    newer, older = duplicates
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, manager.email, password)
    page.wait_for_url("**/")
    page.get_by_test_id("nav-customers").click()  # the top bar's Customers menu
    page.get_by_role("link", name="Duplicates").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Possible duplicates")
    pair = page.get_by_test_id("duplicate-pair")
    expect(pair).to_have_count(1)
    expect(pair).to_contain_text("Same e-mail")
    expect(pair).to_contain_text("Same phone")
    screenshot(page, "dedupe-list-1280")
    no_sideways_scroll(page, 1280)

    pair.get_by_role("link", name="Compare and merge").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare and merge")
    # the older record is kept; take the newer one's city (the default) and its longer name
    expect(page.locator("#city-source")).to_be_checked()
    page.locator("#name-source").check()
    screenshot(page, "dedupe-merge-1280")
    no_sideways_scroll(page, 1280)
    page.get_by_role("button", name="Merge").click()
    page.wait_for_url(re.compile(rf"/customers/{older.uuid}/$"))
    expect(page.locator(".alert-success")).to_contain_text("was merged into")
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Upsilon Medical Devices Co., Ltd.")
    expect(page.locator("#contacts")).to_contain_text("Meiling Guo")
    expect(page.locator("#timeline-list")).to_contain_text("Merged with the duplicate")
    older.refresh_from_db()
    assert older.city == "Hangzhou"
    assert Customer.objects.deleted().filter(pk=newer.pk).exists()

    page.get_by_role("link", name="Personal data (GDPR)").click()
    expect(page.get_by_test_id("gdpr-contact")).to_contain_text("Meiling Guo")
    screenshot(page, "gdpr-privacy-1280")
    page.get_by_test_id("gdpr-contact").get_by_role("link", name="Erase").click()
    page.get_by_label("Type “Meiling Guo” to confirm").fill("Meiling")
    page.get_by_role("button", name="Erase personal data").click()
    expect(page.locator("form .alert-danger")).to_contain_text("Type the name exactly")
    page.get_by_label("Type “Meiling Guo” to confirm").fill("Meiling Guo")
    screenshot(page, "gdpr-erase-1280")
    page.get_by_role("button", name="Erase personal data").click()
    expect(page.locator(".alert-success")).to_contain_text("personal data was erased")
    expect(page.get_by_test_id("gdpr-contact")).to_contain_text("Erased")
    contact = Contact.objects.get(customer=older)
    assert contact.first_name == "Erased" and contact.national_id == ""
    assert page.console_errors == []


def test_the_pages_fit_a_phone(phone_page, manager, password, duplicates):
    newer, older = duplicates
    sign_in(phone_page, manager.email, password)
    phone_page.wait_for_url("**/")
    contact = Contact.objects.get(customer=newer)
    for name, path in [
        ("dedupe-list-375", "/customers/duplicates/"),
        ("dedupe-merge-375", f"/customers/duplicates/merge/{newer.uuid}/into/{older.uuid}/"),
        ("gdpr-privacy-375", f"/customers/gdpr/{newer.uuid}/"),
        ("gdpr-erase-375", f"/customers/gdpr/{newer.uuid}/contacts/{contact.uuid}/erase/"),
        ("gdpr-consent-375", f"/customers/gdpr/{newer.uuid}/contacts/{contact.uuid}/consent/"),
    ]:
        phone_page.goto(path)
        expect(phone_page.get_by_role("heading", level=1)).to_be_visible()
        screenshot(phone_page, name)
        no_sideways_scroll(phone_page, 375)
