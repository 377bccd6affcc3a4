"""Placing an order in a real browser: from the customer's 360 page, two lines picked by SKU
(the unit price filled in from the product), confirm, and the stock goes down; an order for
more than is in stock is refused with a clear message. Screenshots at 1280 and 375 px of the
catalogue, the low-stock list, the order list, the order form, the order and the 360 panel."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from sales import order_ui
from sales.models import Order, Product
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _registered():
    order_ui.register()


def no_sideways_scroll(page, width):
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width, f"the page scrolls sideways at {width}px ({overflow}px wide)"


@pytest.fixture
def catalogue(db):
    ProductFactory(sku="W-100", name="Widget", price=Decimal("19.99"), stock_quantity=10)
    ProductFactory(sku="G-200", name="Gadget", price=Decimal("5.00"), stock_quantity=6,
                   low_stock_threshold=5)
    ProductFactory(sku="S-300", name="Sprocket", price=Decimal("2.00"), stock_quantity=1)


def _fill_line(page, index, sku, quantity):
    product = page.locator(f"#id_lines-{index}-product")
    product.fill(sku)
    price = page.locator(f"#id_lines-{index}-unit_price")
    expect(price).not_to_have_value("", timeout=5000)
    page.locator(f"#id_lines-{index}-quantity").fill(str(quantity))


def test_it_places_an_order_and_takes_the_stock(page, phone_page, rep, own_customer, password,
                                                catalogue):
    sign_in(page, rep.email, password)
    page.goto(f"/customers/{own_customer.uuid}/")
    panel = page.locator("#panel-salespurchases")
    expect(panel).to_contain_text("No orders yet.")
    panel.get_by_test_id("customer-new-order").click()

    expect(page.get_by_role("heading", name="New order")).to_be_visible()
    _fill_line(page, 0, "W-100", 3)
    expect(page.locator("#id_lines-0-unit_price")).to_have_value("19.99")
    page.get_by_role("button", name="Add line").click()
    _fill_line(page, 1, "G-200", 2)
    expect(page.locator("#id_lines-1-unit_price")).to_have_value("5.00")
    expect(page.locator("[data-order-total]")).to_have_text("69.97")
    screenshot(page, "orders-form-1280")
    page.get_by_role("button", name="Create draft order").click()

    expect(page.get_by_test_id("order-status")).to_have_text("Draft")
    expect(page.get_by_test_id("order-total")).to_contain_text("69.97")
    page.get_by_test_id("confirm-order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Confirmed")
    screenshot(page, "orders-detail-1280")
    assert dict(Product.objects.values_list("sku", "stock_quantity")) == {
        "W-100": 7, "G-200": 4, "S-300": 1}

    # More than is in stock: a clear message, nothing changes.
    page.goto(f"/sales/orders/new/?customer={own_customer.uuid}")
    _fill_line(page, 0, "S-300", 5)
    page.get_by_role("button", name="Create draft order").click()
    page.get_by_test_id("confirm-order").click()
    alert = page.locator(".alert", has_text="Not enough stock")
    expect(alert).to_contain_text("Sprocket (S-300): 5 ordered, 1 in stock")
    expect(page.get_by_test_id("order-status")).to_have_text("Draft")
    screenshot(page, "orders-stock-error-1280")
    assert Product.objects.get(sku="S-300").stock_quantity == 1
    assert Order.objects.filter(status="confirmed").count() == 1

    # The stock went down on the product page, and low stock lists the Gadget now.
    page.goto("/sales/products/")
    expect(page.get_by_test_id("product-row")).to_have_count(3)
    screenshot(page, "products-list-1280")
    page.goto("/sales/products/low-stock/")
    expect(page.get_by_test_id("product-row")).to_have_count(2)
    screenshot(page, "products-low-stock-1280")
    page.goto("/sales/orders/")
    expect(page.get_by_test_id("order-row")).to_have_count(2)
    screenshot(page, "orders-list-1280")
    page.goto(f"/customers/{own_customer.uuid}/")
    expect(panel.get_by_test_id("purchase-count")).to_have_text("1")
    panel.scroll_into_view_if_needed()
    screenshot(page, "orders-customer-panel-1280")
    assert not page.console_errors, page.console_errors

    # The same pages on a phone.
    sign_in(phone_page, rep.email, password)
    order = Order.objects.get(status="confirmed")
    for name, url in [
        ("products-list", "/sales/products/"),
        ("products-low-stock", "/sales/products/low-stock/"),
        ("orders-list", "/sales/orders/"),
        ("orders-form", f"/sales/orders/new/?customer={own_customer.uuid}"),
        ("orders-detail", f"/sales/orders/{order.uuid}/"),
        ("orders-customer-panel", f"/customers/{own_customer.uuid}/"),
    ]:
        phone_page.goto(url)
        if name == "orders-form":
            _fill_line(phone_page, 0, "W-100", 1)
        no_sideways_scroll(phone_page, 375)
        screenshot(phone_page, f"{name}-375")
