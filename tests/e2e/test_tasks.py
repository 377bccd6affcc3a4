"""Tasks in a real browser: add a task from the customer's 360 page, tick tasks off on "My
tasks" (htmx, no reload), the month calendar, and both pages at phone width."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from customers.models import Task
from customers.task_ui import register
from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _registered():
    register()


def no_sideways_scroll(page, width):
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width, f"the page scrolls sideways at {width}px ({overflow}px wide)"


def seed(rep, customer):
    now = timezone.now()
    Task.objects.create(title="Chase the unpaid invoice", assignee=rep, created_by=rep,
                        customer=customer, due_at=now - timedelta(days=2),
                        remind_at=now - timedelta(days=2), priority="high")
    Task.objects.create(title="Prepare the quarterly review with a rather long title",
                        assignee=rep, created_by=rep, due_at=now + timedelta(days=4),
                        remind_at=now + timedelta(days=4))
    Task.objects.create(title="Sent the brochure", assignee=rep, created_by=rep,
                        due_at=now - timedelta(days=1), status="done", done_at=now)


def test_a_rep_adds_a_task_from_the_customer_and_ticks_tasks_off(page, rep, own_customer,
                                                                password):
    seed(rep, own_customer)
    sign_in(page, rep.email, password)
    page.wait_for_url("**/")

    page.goto(f"/customers/{own_customer.uuid}/")
    panel = page.locator("#panel-customerstasks")
    expect(panel).to_contain_text("Chase the unpaid invoice")
    panel.get_by_role("link", name="Add task").click()
    expect(page.get_by_test_id("task-customer")).to_contain_text("Acme Robotics")
    page.get_by_label("Title").fill("Book the site visit")
    due = timezone.localtime(timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Due").fill(due)
    page.get_by_label("Priority").select_option("high")
    screenshot(page, "task-form-1280")
    page.get_by_role("button", name="Add task").click()
    page.wait_for_url(re.compile(rf"/customers/{own_customer.uuid}/"))
    expect(page.locator("#panel-customerstasks")).to_contain_text("Book the site visit")
    expect(page.locator("#timeline-list")).to_contain_text("Task added: Book the site visit")
    page.locator("#panel-customerstasks").screenshot(path=str(
        screenshot(page, "customer-tasks-panel-1280").with_name("customer-tasks-panel-only.png")))

    page.get_by_role("link", name="My tasks").click()
    page.wait_for_url("**/customers/tasks/")
    overdue = page.get_by_test_id("section-overdue")
    expect(overdue).to_contain_text("Chase the unpaid invoice")
    expect(overdue.locator("tr.table-danger")).to_have_count(1)
    expect(page.get_by_test_id("section-done")).to_contain_text("Sent the brochure")
    page.evaluate("window.notReloaded = true")

    row = page.locator("tr", has_text="Chase the unpaid invoice")
    row.get_by_test_id("mark-done").click()
    expect(row).to_have_attribute("data-status", "done")
    expect(row).to_contain_text("Done.")
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the row only
    row.get_by_test_id("mark-open").click()
    expect(row).to_have_attribute("data-status", "open")
    assert Task.objects.get(title="Chase the unpaid invoice").status == "open"
    screenshot(page, "tasks-list-1280")
    no_sideways_scroll(page, 1280)

    page.get_by_role("link", name="Calendar").click()
    expect(page.get_by_test_id("calendar-grid")).to_be_visible()
    expect(page.get_by_test_id("calendar-grid")).to_contain_text("Book the site visit")
    screenshot(page, "tasks-calendar-1280")
    no_sideways_scroll(page, 1280)
    assert page.console_errors == []


def test_the_task_pages_fit_a_phone(phone_page, rep, own_customer, password):
    seed(rep, own_customer)
    sign_in(phone_page, rep.email, password)
    phone_page.wait_for_url("**/")

    phone_page.goto("/customers/tasks/")
    expect(phone_page.get_by_test_id("section-overdue")).to_contain_text(
        "Chase the unpaid invoice")
    screenshot(phone_page, "tasks-list-375")
    no_sideways_scroll(phone_page, 375)

    phone_page.goto("/customers/tasks/calendar/")
    expect(phone_page.get_by_test_id("calendar-grid")).to_be_hidden()
    expect(phone_page.get_by_test_id("calendar-list")).to_be_visible()
    screenshot(phone_page, "tasks-calendar-375")
    no_sideways_scroll(phone_page, 375)

    phone_page.goto("/customers/tasks/calendar/?month=garbage")
    expect(phone_page.locator("main")).to_contain_text("is not a month like 2026-11")
    no_sideways_scroll(phone_page, 375)
