"""The per-customer purchase figures: kept current by confirm / cancel / delete, equal to a
from-scratch aggregate, rebuilt for everyone by the nightly task; and the segment fields that
read them (one SQL query, customers without figures count as 0 / never)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Avg, Count, Max, Min, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Customer
from customers.segments import compile_rules
from sales import order_services as svc
from sales import order_ui
from sales.models import CustomerPurchaseStats, Order
from sales.purchase_stats import rebuild_all_purchase_stats, refresh_purchase_stats
from sales.tasks import rebuild_purchase_stats_task
from tests.factories import CustomerFactory, OrderFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _registered():
    order_ui.register()


@pytest.fixture
def product():
    return ProductFactory(price=Decimal("10.00"), stock_quantity=1000)


def _place(actor, customer, product, quantity, *, confirm=True):
    order = svc.order_create(actor=actor, customer=customer, data={}, lines=[
        {"product": product, "quantity": quantity, "unit_price": product.price}])
    if confirm:
        order = svc.order_confirm(actor=actor, order=order, expected_version=order.version)
    return order


def _from_scratch() -> dict:
    """The figures recomputed with the ORM from the orders, per customer."""
    rows = (Order.objects.filter(status__in=Order.PLACED, deleted_at__isnull=True)
            .values("customer_id")
            .annotate(n=Count("id"), spent=Sum("total"), first=Min("ordered_at"),
                      last=Max("ordered_at"), avg=Avg("total")))
    return {r["customer_id"]: (r["n"], r["spent"], r["first"], r["last"],
                               r["avg"].quantize(Decimal("0.01"))) for r in rows}


def _stored() -> dict:
    return {s.customer_id: (s.order_count, s.total_spent, s.first_order_at, s.last_order_at,
                            s.average_order_value)
            for s in CustomerPurchaseStats.objects.all()}


def test_it_keeps_the_figures_current_through_confirm_cancel_and_delete(
        rep, own_customer, team_customer, product):
    first = _place(rep, own_customer, product, 2)
    second = _place(rep, own_customer, product, 5)
    _place(rep, team_customer, product, 1)
    draft = _place(rep, own_customer, product, 9, confirm=False)
    stats = CustomerPurchaseStats.objects.get(customer=own_customer)
    assert stats.order_count == 2
    assert stats.total_spent == Decimal("70.00")
    assert stats.average_order_value == Decimal("35.00")
    assert stats.first_order_at == first.ordered_at and stats.last_order_at == second.ordered_at
    assert _stored() == _from_scratch()

    svc.order_cancel(actor=rep, order=second, expected_version=second.version)
    svc.order_delete(actor=rep, order=draft)
    stats.refresh_from_db()
    assert (stats.order_count, stats.total_spent, stats.last_order_at) == (
        1, Decimal("20.00"), first.ordered_at)
    assert _stored() == _from_scratch()

    first.refresh_from_db()
    svc.order_cancel(actor=rep, order=first, expected_version=first.version)
    assert not CustomerPurchaseStats.objects.filter(customer=own_customer).exists()
    assert _stored() == _from_scratch()


def test_it_refreshes_many_customers_in_two_statements(rep, team, product):
    customers = CustomerFactory.create_batch(5, owner=rep, team=team)
    now = timezone.now()
    for i, customer in enumerate(customers):
        for _ in range(i):
            OrderFactory(customer=customer, status=Order.Status.CONFIRMED, ordered_at=now,
                         total=Decimal("12.50"))
    with CaptureQueriesContext(connection) as queries:
        refresh_purchase_stats([c.pk for c in customers])
    statements = [q["sql"] for q in queries.captured_queries
                  if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 2
    assert _stored() == _from_scratch()
    assert not CustomerPurchaseStats.objects.filter(customer=customers[0]).exists()


def test_it_rebuilds_every_customer_from_scratch(rep, own_customer, team_customer, product):
    _place(rep, own_customer, product, 3)
    _place(rep, team_customer, product, 4)
    # Drift: a stale row for a customer without orders, a wrong count, a missing row.
    lonely = CustomerFactory()
    CustomerPurchaseStats.objects.create(customer=lonely, order_count=7)
    CustomerPurchaseStats.objects.filter(customer=own_customer).update(order_count=99)
    CustomerPurchaseStats.objects.filter(customer=team_customer).delete()
    rebuild_all_purchase_stats()
    assert _stored() == _from_scratch()
    assert set(_stored()) == {own_customer.pk, team_customer.pk}


def test_it_runs_the_rebuild_as_a_task(rep, own_customer, product):
    _place(rep, own_customer, product, 3)
    CustomerPurchaseStats.objects.all().delete()
    rebuild_purchase_stats_task.apply().get()
    assert _stored() == _from_scratch()
    assert rebuild_purchase_stats_task.name == "sales.rebuild_purchase_stats"


# --- segment fields -------------------------------------------------------------------------
@pytest.fixture
def buyers(rep, team):
    """big: 3 orders (300 spent, last 5 days ago); small: 1 order of 20 (last 100 days ago);
    none: never ordered."""
    now = timezone.now()
    big, small, none = (CustomerFactory(name=n, owner=rep, team=team)
                        for n in ("Big Buyer", "Small Buyer", "No Buyer"))
    for days in (40, 20, 5):
        OrderFactory(customer=big, status=Order.Status.COMPLETED, total=Decimal("100.00"),
                     ordered_at=now - datetime.timedelta(days=days))
    OrderFactory(customer=small, status=Order.Status.CONFIRMED, total=Decimal("20.00"),
                 ordered_at=now - datetime.timedelta(days=100))
    OrderFactory(customer=none, status=Order.Status.CANCELLED, total=Decimal("500.00"),
                 ordered_at=now - datetime.timedelta(days=1))
    rebuild_all_purchase_stats()
    return {"big": big, "small": small, "none": none}


def _select(rule, django_assert_num_queries) -> set[str]:
    q = compile_rules({"op": "and", "rules": [rule]})
    with django_assert_num_queries(1):
        names = set(Customer.objects.filter(q).values_list("name", flat=True))
    return names & {"Big Buyer", "Small Buyer", "No Buyer"}


@pytest.mark.parametrize("rule, expected", [
    ({"field": "purchases.order_count", "operator": "gt", "value": 1}, {"Big Buyer"}),
    ({"field": "purchases.order_count", "operator": "lt", "value": 2},
     {"Small Buyer", "No Buyer"}),
    ({"field": "purchases.order_count", "operator": "eq", "value": 0}, {"No Buyer"}),
    ({"field": "purchases.total_spent", "operator": "between", "value": [10, 250]},
     {"Small Buyer"}),
    ({"field": "purchases.total_spent", "operator": "between", "value": [0, 50]},
     {"Small Buyer", "No Buyer"}),
    ({"field": "purchases.average_order_value", "operator": "gt", "value": 50}, {"Big Buyer"}),
    ({"field": "purchases.days_since_last_order", "operator": "within_days", "value": 30},
     {"Big Buyer"}),
    ({"field": "purchases.days_since_last_order", "operator": "older_than_days", "value": 30},
     {"Small Buyer"}),
    ({"field": "purchases.days_since_last_order", "operator": "never"}, {"No Buyer"}),
    ({"field": "purchases.first_order", "operator": "in_last_days", "value": 60},
     {"Big Buyer"}),
])
def test_it_selects_customers_by_purchase_figures_in_one_query(
        buyers, rule, expected, django_assert_num_queries):
    assert _select(rule, django_assert_num_queries) == expected


def test_it_combines_purchase_rules_with_customer_rules(buyers, django_assert_num_queries):
    tree = {"op": "or", "rules": [
        {"field": "purchases.order_count", "operator": "gt", "value": 2},
        {"field": "name", "operator": "contains", "value": "Small"},
    ]}
    q = compile_rules(tree)
    with django_assert_num_queries(1):
        names = set(Customer.objects.filter(q).values_list("name", flat=True))
    assert names == {"Big Buyer", "Small Buyer"}


def test_it_dates_the_last_order(buyers, django_assert_num_queries):
    day = (timezone.localtime() - datetime.timedelta(days=100)).date().isoformat()
    rule = {"field": "purchases.last_order", "operator": "eq", "value": day}
    assert _select(rule, django_assert_num_queries) == {"Small Buyer"}
