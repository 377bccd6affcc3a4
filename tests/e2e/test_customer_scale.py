"""Big-list tools in a real browser: the export progress page (a finished background export
with its download) and the owner/tag autocomplete on the customer form, at 1280 and 375 px."""

import pytest
from playwright.sync_api import expect

from customers import transfer_services as services
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db(transaction=True)


def no_sideways_scroll(page, width):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} scrolls sideways at {width}px ({scroll}px wide)"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_the_export_progress_page_offers_the_download(page, phone_page, manager, team,
                                                      password):
    CustomerFactory.create_batch(3, owner=manager, team=team)
    running = services.export_start(actor=manager, fmt="csv", query={})
    done = services.export_start(actor=manager, fmt="xlsx", query={"ordering": ["name"]})
    services.export_run(done.pk)
    for p, width in ((page, 1280), (phone_page, 375)):
        sign_in(p, manager.email, password)
        p.wait_for_url("**/")
        p.goto(f"/customers/transfer/export/{running.uuid}/")
        expect(p.locator("#export-status")).to_have_text("Queued")
        p.goto(f"/customers/transfer/export/{done.uuid}/")
        expect(p.locator("#export-status")).to_have_text("Done")
        expect(p.locator("#export-download")).to_be_visible()
        no_sideways_scroll(p, width)
        screenshot(p, f"customers-export-progress-{width}")
    with page.expect_download() as info:
        page.locator("#export-download").click()
    assert info.value.suggested_filename.endswith(".xlsx")


def test_the_owner_autocomplete_works_with_the_keyboard(page, phone_page, manager, rep, team,
                                                        password):
    customer = CustomerFactory(owner=manager, team=team, name="Keyboard Co")
    TagFactory(name="priority")
    for p, width in ((page, 1280), (phone_page, 375)):
        sign_in(p, manager.email, password)
        p.wait_for_url("**/")
        p.goto(f"/customers/{customer.uuid}/edit/")
        owner = p.get_by_role("combobox", name="Owner")
        owner.fill(rep.first_name[:3])
        listbox = p.locator("[role=listbox]:visible")
        expect(listbox.get_by_role("option")).to_have_count(1)
        owner.press("ArrowDown")
        expect(listbox.get_by_role("option").first).to_have_attribute("aria-selected", "true")
        no_sideways_scroll(p, width)
        screenshot(p, f"customers-autocomplete-open-{width}")
        owner.press("Enter")
        expect(owner).to_have_value(rep.get_full_name() or rep.email)
        assert p.locator("select[name=owner]").input_value() == str(rep.pk)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/customers/{customer.uuid}/")
    customer.refresh_from_db()
    assert customer.owner == rep
