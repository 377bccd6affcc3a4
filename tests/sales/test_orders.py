"""Order services: drafts with lines and totals, confirmation taking stock, cancellation putting
it back, status moves, deletes; permissions and bad input."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from crm.exceptions import ApplicationError, StaleObjectError
from crm.models import Event
from sales import order_services as svc
from sales.models import Order, OrderLine, Product, StockMovement
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def widget():
    return ProductFactory(sku="W-1", name="Widget", price=Decimal("19.99"), stock_quantity=10)


@pytest.fixture
def gadget():
    return ProductFactory(sku="G-1", name="Gadget", price=Decimal("5.00"), stock_quantity=3)


def _line(product, quantity, price=None, discount="0"):
    return {"product": product, "quantity": quantity,
            "unit_price": price if price is not None else product.price,
            "discount_percent": Decimal(discount)}


def _draft(actor, customer, *lines):
    return svc.order_create(actor=actor, customer=customer, data={}, lines=list(lines))


def test_it_creates_a_numbered_draft_with_rounded_totals(rep, own_customer, widget, gadget):
    order = _draft(rep, own_customer, _line(widget, 3, discount="12.5"), _line(gadget, 2))
    assert re.fullmatch(r"SO-\d{6}", order.number)
    assert order.status == Order.Status.DRAFT
    assert order.owner == rep and order.team_id == own_customer.team_id
    totals = sorted(OrderLine.objects.filter(order=order).values_list("line_total", flat=True))
    # 3 x 19.99 = 59.97, less 12.5 % = 52.47375 -> 52.47
    assert totals == [Decimal("10.00"), Decimal("52.47")]
    assert order.total == Decimal("62.47")
    event = Event.objects.get(name="order.created")
    assert event.customer_id == own_customer.pk
    assert event.payload["number"] == order.number and event.payload["total"] == "62.47"
    second = _draft(rep, own_customer, _line(widget, 1))
    assert int(second.number[3:]) == int(order.number[3:]) + 1


def test_it_refuses_a_customer_the_actor_cannot_see(outsider, own_customer, widget):
    with pytest.raises(ApplicationError, match="customer you can see"):
        _draft(outsider, own_customer, _line(widget, 1))
    assert not Order.objects.exists()


def test_it_refuses_an_analyst(analyst, own_customer, widget):
    with pytest.raises(PermissionDenied):
        _draft(analyst, own_customer, _line(widget, 1))


@pytest.mark.parametrize("line, message", [
    ({"quantity": 0}, "at least 1"),
    ({"discount_percent": Decimal("150")}, "between 0 and 100"),
    ({"unit_price": Decimal("-1")}, "unit price"),
    ({"quantity": "many"}, "whole quantity"),
])
def test_it_refuses_bad_lines_and_creates_nothing(rep, own_customer, widget, line, message):
    with pytest.raises(ApplicationError, match=message):
        _draft(rep, own_customer, {**_line(widget, 1), **line})
    assert not Order.objects.exists() and not OrderLine.objects.exists()


def test_it_refuses_a_product_no_longer_on_sale(rep, own_customer, widget):
    Product.objects.filter(pk=widget.pk).update(is_active=False)
    widget.refresh_from_db()
    with pytest.raises(ApplicationError, match="no longer on sale"):
        _draft(rep, own_customer, _line(widget, 1))


def test_it_updates_a_draft_and_refuses_a_stale_form(rep, own_customer, widget, gadget):
    order = _draft(rep, own_customer, _line(widget, 1))
    version = order.version
    order = svc.order_update(actor=rep, order=order, data={"notes": "rush"},
                             lines=[_line(gadget, 2), _line(widget, 2)],
                             expected_version=version)
    assert order.version == version + 1
    assert order.total == Decimal("49.98")
    assert order.lines.count() == 2
    with pytest.raises(StaleObjectError):
        svc.order_update(actor=rep, order=order, data={}, lines=[_line(widget, 5)],
                         expected_version=version)
    order.refresh_from_db()
    assert order.total == Decimal("49.98")


def test_it_confirms_and_takes_the_stock(rep, own_customer, widget, gadget):
    order = _draft(rep, own_customer, _line(widget, 4), _line(gadget, 1), _line(widget, 1))
    order = svc.order_confirm(actor=rep, order=order, expected_version=order.version)
    assert order.status == Order.Status.CONFIRMED and order.ordered_at is not None
    widget.refresh_from_db()
    gadget.refresh_from_db()
    assert (widget.stock_quantity, gadget.stock_quantity) == (5, 2)
    moves = dict(StockMovement.objects.filter(order=order).values_list("product_id", "quantity"))
    assert moves == {widget.pk: -5, gadget.pk: -1}
    assert Event.objects.filter(name="order.confirmed", customer_id=own_customer.pk).exists()
    with pytest.raises(ApplicationError, match="draft"):
        svc.order_update(actor=rep, order=order, data={}, lines=[_line(widget, 1)],
                         expected_version=order.version)


def test_it_refuses_to_confirm_beyond_the_stock_and_changes_nothing(rep, own_customer, widget,
                                                                     gadget):
    order = _draft(rep, own_customer, _line(widget, 2), _line(gadget, 5))
    with pytest.raises(ApplicationError) as caught:
        svc.order_confirm(actor=rep, order=order, expected_version=order.version)
    message = caught.value.message
    assert "Gadget" in message and "3 in stock" in message and "Widget" not in message
    widget.refresh_from_db()
    gadget.refresh_from_db()
    order.refresh_from_db()
    assert (widget.stock_quantity, gadget.stock_quantity) == (10, 3)
    assert order.status == Order.Status.DRAFT
    assert not StockMovement.objects.exists()


def test_it_refuses_an_empty_or_stale_confirmation(rep, own_customer, widget):
    empty = _draft(rep, own_customer)
    with pytest.raises(ApplicationError, match="at least one line"):
        svc.order_confirm(actor=rep, order=empty, expected_version=empty.version)
    order = _draft(rep, own_customer, _line(widget, 1))
    with pytest.raises(StaleObjectError):
        svc.order_confirm(actor=rep, order=order, expected_version=order.version - 1 or 99)


def test_it_cancels_a_placed_order_and_restocks(rep, own_customer, widget, gadget):
    order = _draft(rep, own_customer, _line(widget, 4), _line(gadget, 3))
    order = svc.order_confirm(actor=rep, order=order, expected_version=order.version)
    order = svc.order_set_status(actor=rep, order=order, status=Order.Status.SHIPPED,
                                 expected_version=order.version)
    order = svc.order_cancel(actor=rep, order=order, expected_version=order.version)
    assert order.status == Order.Status.CANCELLED and order.cancelled_at is not None
    widget.refresh_from_db()
    gadget.refresh_from_db()
    assert (widget.stock_quantity, gadget.stock_quantity) == (10, 3)
    back = dict(StockMovement.objects.filter(order=order, reason="cancel")
                .values_list("product_id", "quantity"))
    assert back == {widget.pk: 4, gadget.pk: 3}
    with pytest.raises(ApplicationError):
        svc.order_cancel(actor=rep, order=order, expected_version=order.version)


def test_it_cancels_a_draft_without_touching_stock(rep, own_customer, widget):
    order = _draft(rep, own_customer, _line(widget, 4))
    svc.order_cancel(actor=rep, order=order, expected_version=order.version)
    widget.refresh_from_db()
    assert widget.stock_quantity == 10 and not StockMovement.objects.exists()


def test_it_moves_status_only_forward_one_step(rep, own_customer, widget):
    order = _draft(rep, own_customer, _line(widget, 1))
    with pytest.raises(ApplicationError, match="cannot be marked"):
        svc.order_set_status(actor=rep, order=order, status=Order.Status.SHIPPED,
                             expected_version=order.version)
    order = svc.order_confirm(actor=rep, order=order, expected_version=order.version)
    with pytest.raises(ApplicationError):
        svc.order_set_status(actor=rep, order=order, status=Order.Status.COMPLETED,
                             expected_version=order.version)
    order = svc.order_set_status(actor=rep, order=order, status=Order.Status.SHIPPED,
                                 expected_version=order.version)
    order = svc.order_set_status(actor=rep, order=order, status=Order.Status.COMPLETED,
                                 expected_version=order.version)
    assert order.status == Order.Status.COMPLETED
    names = list(Event.objects.filter(name__startswith="order.").order_by("id")
                 .values_list("name", flat=True))
    assert names == ["order.created", "order.confirmed", "order.shipped", "order.completed"]
    with pytest.raises(ApplicationError, match="cannot be cancelled"):
        svc.order_cancel(actor=rep, order=order, expected_version=order.version)


def test_it_deletes_only_drafts(rep, own_customer, widget):
    draft = _draft(rep, own_customer, _line(widget, 1))
    svc.order_delete(actor=rep, order=draft)
    draft.refresh_from_db()
    assert draft.deleted_at is not None
    placed = _draft(rep, own_customer, _line(widget, 1))
    placed = svc.order_confirm(actor=rep, order=placed, expected_version=placed.version)
    with pytest.raises(ApplicationError, match="cancel"):
        svc.order_delete(actor=rep, order=placed)


def test_it_lets_only_those_who_answer_for_the_order_confirm(rep, outsider, analyst,
                                                            own_customer, widget):
    order = _draft(rep, own_customer, _line(widget, 1))
    for user in (outsider, analyst):
        with pytest.raises(PermissionDenied):
            svc.order_confirm(actor=user, order=order, expected_version=order.version)
