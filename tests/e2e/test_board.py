"""The pipeline board in a real browser: drag a card to another stage (a real mouse drag) and
see it stay there after a reload; a stale card is refused with the message; a lost stage asks
why; the forecast and the targets; all at 1280 and 375 px."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import expect

from sales import board_ui
from sales.forecast import quarter_start
from sales.models import Opportunity, SalesTarget
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import CustomerFactory, OpportunityFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _registered():
    board_ui.register()


def no_sideways_scroll(page, width):
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width, f"the page scrolls sideways at {width}px ({overflow}px wide)"


def column(page, name):
    return page.locator('[data-testid="column"]', has=page.get_by_role("heading", name=name))


def card(page, name):
    return page.locator('[data-testid="card"]', has_text=name)


@pytest.fixture
def book(pipeline, rep, team, own_customer):
    today = datetime.date.today()
    other = CustomerFactory(name="Northwind Traders", owner=rep, team=team)
    mk = OpportunityFactory
    mk(name="Robot arms", customer=own_customer, amount=Decimal("12000"),
       expected_close_date=today + datetime.timedelta(days=20))
    mk(name="Conveyor belts", customer=other, amount=Decimal("8000"),
       expected_close_date=today + datetime.timedelta(days=35))
    mk(name="Spare parts contract", customer=own_customer, stage=pipeline["Qualification"],
       amount=Decimal("3000"), expected_close_date=today + datetime.timedelta(days=10))
    mk(name="Welding cells", customer=other, stage=pipeline["Negotiation"],
       amount=Decimal("45000"), expected_close_date=today + datetime.timedelta(days=50))
    mk(name="Sensors refit", customer=own_customer, stage=pipeline["Won"], amount=Decimal("6000"),
       closed_at=timezone.now())
    SalesTarget.objects.create(user=rep, period="month", period_start=today.replace(day=1),
                               amount=Decimal("20000"))
    SalesTarget.objects.create(team=team, period="quarter", period_start=quarter_start(today),
                               amount=Decimal("150000"))


def drag(page, source, target):
    box = source.bounding_box()
    goal = target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 10, box["y"] + 30, steps=5)
    page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + 40, steps=20)
    page.mouse.up()


def test_a_rep_drags_a_card_to_another_stage(page, rep, pipeline, book, password):
    sign_in(page, rep.email, password)
    page.wait_for_url("**/")
    page.goto("/sales/pipeline/")
    expect(card(page, "Robot arms")).to_be_visible()
    screenshot(page, "board-1280")

    drag(page, card(page, "Robot arms"), column(page, "Proposal").locator("[data-cards]"))
    expect(page.get_by_test_id("board-alert")).to_contain_text("moved to Proposal")
    expect(column(page, "Proposal").locator("[data-count]")).to_have_text("1")
    page.reload()
    expect(column(page, "Proposal")).to_contain_text("Robot arms")
    expect(column(page, "Prospecting")).not_to_contain_text("Robot arms")
    assert Opportunity.objects.get(name="Robot arms").stage == pipeline["Proposal"]

    # Someone else changed "Conveyor belts" since the board was drawn: refused, card stays.
    Opportunity.objects.filter(name="Conveyor belts").update(version=F("version") + 1)
    drag(page, card(page, "Conveyor belts"), column(page, "Negotiation").locator("[data-cards]"))
    expect(page.get_by_test_id("board-alert")).to_contain_text("Someone else changed")
    expect(column(page, "Prospecting")).to_contain_text("Conveyor belts")
    screenshot(page, "board-stale-1280")

    # Lost asks why (the "Move to" menu of the card).
    card(page, "Spare parts contract").locator("[data-move-select]").select_option(label="Lost")
    expect(page.locator("#lost-modal")).to_be_visible()
    page.get_by_label("Lost reason").fill("Went with a competitor")
    screenshot(page, "board-lost-modal-1280")
    page.get_by_role("button", name="Mark as lost").click()
    expect(column(page, "Lost")).to_contain_text("Spare parts contract")
    lost = Opportunity.objects.get(name="Spare parts contract")
    assert lost.stage == pipeline["Lost"] and lost.lost_reason == "Went with a competitor"

    page.goto("/sales/forecast/")
    expect(page.get_by_test_id("total-weighted")).to_be_visible()
    page.wait_for_function("document.querySelector('#forecast-chart').width > 0")
    screenshot(page, "forecast-1280")
    page.goto("/sales/forecast/targets/")
    expect(page.get_by_test_id("target-row").first).to_be_visible()
    screenshot(page, "targets-1280")
    # the refused (409) move is the only error the browser logs
    assert [e for e in page.console_errors if "409" not in e] == []


def test_the_pages_fit_a_phone(phone_page, rep, pipeline, book, password):
    page = phone_page
    sign_in(page, rep.email, password)
    page.wait_for_url("**/")
    page.goto("/sales/pipeline/")
    expect(card(page, "Robot arms")).to_be_visible()
    no_sideways_scroll(page, 375)
    screenshot(page, "board-375")
    # Touch users move a card with its menu.
    card(page, "Robot arms").locator("[data-move-select]").select_option(label="Qualification")
    expect(page.get_by_test_id("board-alert")).to_contain_text("moved to Qualification")
    expect(column(page, "Qualification")).to_contain_text("Robot arms")
    for url, name in (("/sales/forecast/", "forecast-375"),
                      ("/sales/forecast/targets/", "targets-375")):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        no_sideways_scroll(page, 375)
        screenshot(page, name)
