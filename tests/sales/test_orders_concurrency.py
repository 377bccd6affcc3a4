"""Two people confirm two orders for the last unit at the same moment: exactly one wins, the
other gets the clear stock message, and the stock never goes below zero."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from crm.exceptions import ApplicationError
from sales import order_services as svc
from sales.models import CustomerPurchaseStats, Order, StockMovement
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _confirm_together(actor, orders):
    barrier = threading.Barrier(len(orders))
    results = {}

    def run(order):
        try:
            barrier.wait(timeout=10)
            svc.order_confirm(actor=actor, order=order, expected_version=order.version)
            results[order.pk] = "ok"
        except ApplicationError as exc:
            results[order.pk] = exc.message
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_it_sells_the_last_unit_only_once(rep, own_customer):
    product = ProductFactory(name="Last One", price=Decimal("50.00"), stock_quantity=1)
    orders = [svc.order_create(actor=rep, customer=own_customer, data={}, lines=[
        {"product": product, "quantity": 1, "unit_price": product.price}]) for _ in range(2)]
    results = _confirm_together(rep, orders)
    assert sorted(results.values(), key=lambda v: v != "ok")[0] == "ok"
    assert list(results.values()).count("ok") == 1
    refused = next(v for v in results.values() if v != "ok")
    assert "Last One" in refused and "0 in stock" in refused
    product.refresh_from_db()
    assert product.stock_quantity == 0
    assert StockMovement.objects.filter(product=product).count() == 1
    assert Order.objects.filter(status=Order.Status.CONFIRMED).count() == 1
    assert Order.objects.filter(status=Order.Status.DRAFT).count() == 1
    assert CustomerPurchaseStats.objects.get(customer=own_customer).order_count == 1


def test_it_never_deadlocks_on_products_ordered_in_opposite_orders(rep, own_customer):
    first = ProductFactory(name="Alpha", price=Decimal("1.00"), stock_quantity=10)
    second = ProductFactory(name="Beta", price=Decimal("1.00"), stock_quantity=10)

    def line(product):
        return {"product": product, "quantity": 3, "unit_price": product.price}

    orders = [
        svc.order_create(actor=rep, customer=own_customer, data={},
                         lines=[line(first), line(second)]),
        svc.order_create(actor=rep, customer=own_customer, data={},
                         lines=[line(second), line(first)]),
    ]
    results = _confirm_together(rep, orders)
    assert list(results.values()) == ["ok", "ok"]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.stock_quantity, second.stock_quantity) == (4, 4)
