"""The product catalogue: services (create, edit with optimistic locking, trash, restore, stock
adjustments that never go below zero) and pages (list, low stock, detail with the ledger,
create, edit, adjust, lookup): access, behaviour and query counts."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.exceptions import ApplicationError, StaleObjectError
from crm.models import Event
from sales import catalog_services as svc
from sales import order_ui
from sales.filters_products import low_stock
from sales.models import Product, StockMovement
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _registered():
    order_ui.register()


@pytest.fixture
def product():
    return ProductFactory(sku="BOLT-10", name="Steel bolt", price=Decimal("2.50"),
                          stock_quantity=8, low_stock_threshold=5)


# --- services -------------------------------------------------------------------------------
def test_it_creates_a_product_with_its_opening_stock(manager):
    product = svc.product_create(actor=manager, data={
        "sku": "NUT-1", "name": "Nut", "price": Decimal("0.30"), "low_stock_threshold": 10,
        "is_active": True}, initial_stock=40)
    assert product.stock_quantity == 40
    assert StockMovement.objects.get(product=product).quantity == 40
    assert Event.objects.filter(name="product.created").exists()
    with pytest.raises(ApplicationError, match="already uses"):
        svc.product_create(actor=manager, data={"sku": "nut-1", "name": "Other",
                                                "price": Decimal("1")})


def test_it_refuses_catalogue_writes_without_the_permission(rep, analyst, product):
    for user in (rep, analyst):
        with pytest.raises(PermissionDenied):
            svc.product_create(actor=user, data={"sku": "X", "name": "X", "price": 1})
        with pytest.raises(PermissionDenied):
            svc.stock_adjust(actor=user, product=product, quantity_delta=1,
                             reason="receipt")


def test_it_edits_with_optimistic_locking(manager, product):
    version = product.version
    product = svc.product_update(actor=manager, product=product,
                                 data={"name": "Bolt M10", "stock_quantity": 999},
                                 expected_version=version)
    assert product.name == "Bolt M10" and product.stock_quantity == 8
    with pytest.raises(StaleObjectError):
        svc.product_update(actor=manager, product=product, data={"name": "Old"},
                           expected_version=version)


def test_it_trashes_and_restores(admin, product):
    svc.product_delete(actor=admin, product=product)
    assert not Product.objects.alive().filter(pk=product.pk).exists()
    svc.product_restore(actor=admin, product=product)
    assert Product.objects.alive().filter(pk=product.pk).exists()


def test_it_adjusts_stock_and_keeps_the_ledger(manager, product):
    svc.stock_adjust(actor=manager, product=product, quantity_delta=12, reason="receipt",
                     note="Delivery 42")
    product = svc.stock_adjust(actor=manager, product=product, quantity_delta=-5,
                               reason="adjustment", note="Count")
    assert product.stock_quantity == 15
    assert list(StockMovement.objects.filter(product=product).order_by("id")
                .values_list("quantity", "reason")) == [(12, "receipt"), (-5, "adjustment")]
    event = Event.objects.filter(name="product.stock_adjusted").latest("id")
    assert event.payload["stock"] == 15


def test_it_refuses_to_take_stock_below_zero(manager, product):
    with pytest.raises(ApplicationError, match="8 in stock"):
        svc.stock_adjust(actor=manager, product=product, quantity_delta=-9,
                         reason="adjustment")
    product.refresh_from_db()
    assert product.stock_quantity == 8 and not StockMovement.objects.exists()
    with pytest.raises(ApplicationError, match="positive"):
        svc.stock_adjust(actor=manager, product=product, quantity_delta=-1, reason="receipt")


def test_it_answers_low_stock_from_its_index(product):
    # A catalogue where few products are low on stock, as in real life.
    Product.objects.bulk_create([
        Product(sku=f"BULK-{i}", name=f"Bulk {i}", price=1, stock_quantity=1000)
        for i in range(3000)])
    qs = low_stock(Product.objects.all()).order_by("stock_quantity", "id")
    sql, params = qs.query.sql_with_params()
    assert '("sales_product"."stock_quantity" - "sales_product"."low_stock_threshold") <= ' \
        in sql
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sales_product")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "product_low_stock" in plan, plan


# --- pages ----------------------------------------------------------------------------------
def test_it_sends_anonymous_users_to_sign_in(client, product):
    for url in [reverse("sales:product_list"), reverse("sales:product_low_stock"),
                reverse("sales:product_create"), reverse("sales:product_lookup"),
                reverse("sales:product_detail", args=[product.uuid]),
                reverse("sales:product_edit", args=[product.uuid]),
                reverse("sales:product_adjust", args=[product.uuid])]:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response.url, url


def test_it_404s_unknown_and_trashed_products(client_for, manager, product):
    client = client_for(manager)
    Product.objects.filter(pk=product.pk).update(deleted_at="2026-01-01T00:00:00Z")
    for name in ("sales:product_detail", "sales:product_edit", "sales:product_adjust"):
        assert client.get(reverse(name, args=[product.uuid])).status_code == 404
    assert client.get(reverse("sales:product_detail",
                              args=["00000000-0000-0000-0000-000000000000"])).status_code == 404


def test_it_forbids_catalogue_writes_to_the_read_only_analyst(client_for, analyst, product):
    client = client_for(analyst)
    assert client.get(reverse("sales:product_list")).status_code == 200
    assert client.get(reverse("sales:product_detail", args=[product.uuid])).status_code == 200
    for url in [reverse("sales:product_create"),
                reverse("sales:product_edit", args=[product.uuid]),
                reverse("sales:product_adjust", args=[product.uuid])]:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {}).status_code == 403, url
    assert client.post(reverse("sales:product_delete", args=[product.uuid])).status_code == 403


def test_it_lists_searches_and_filters_products(client_for, rep, product):
    ProductFactory(sku="NAIL-1", name="Nail", stock_quantity=500)
    ProductFactory(sku="OLD-1", name="Old bolt", is_active=False, stock_quantity=0)
    client = client_for(rep)
    page = client.get(reverse("sales:product_list"), {"q": "bolt"}).content.decode()
    assert "Steel bolt" in page and "Old bolt" in page and "Nail" not in page
    page = client.get(reverse("sales:product_list"), {"q": "ail-"}).content.decode()
    assert "Nail" in page and "Steel bolt" not in page
    page = client.get(reverse("sales:product_list"), {"active": "no"}).content.decode()
    assert "Old bolt" in page and "Steel bolt" not in page
    page = client.get(reverse("sales:product_list"), {"low": "true"}).content.decode()
    assert "Steel bolt" not in page  # 8 in stock, level 5
    Product.objects.filter(pk=product.pk).update(stock_quantity=5)
    page = client.get(reverse("sales:product_list"), {"low": "true"}).content.decode()
    assert "Steel bolt" in page and "Nail" not in page and "Old bolt" not in page
    page = client.get(reverse("sales:product_low_stock")).content.decode()
    assert "Steel bolt" in page and "Nail" not in page
    partial = client.get(reverse("sales:product_list"), {"ordering": "-stock"},
                         HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert "<html" not in body and body.index("Nail") < body.index("Steel bolt")
    bad = client.get(reverse("sales:product_list"), {"ordering": "evil"})
    assert bad.status_code == 200 and "were not valid" in bad.content.decode()


def test_it_pages_the_catalogue_by_keyset(client_for, rep):
    ProductFactory.create_batch(55)
    client = client_for(rep)
    first = client.get(reverse("sales:product_list"))
    assert len(first.context["page"].object_list) == 50
    cursor = first.context["page"].next_cursor
    second = client.get(reverse("sales:product_list"), {"after": cursor})
    assert len(second.context["page"].object_list) == 5


def test_it_creates_edits_and_adjusts_through_the_pages(client_for, manager):
    client = client_for(manager)
    response = client.post(reverse("sales:product_create"), {
        "sku": "CAB-2", "name": "Cable", "price": "12.00", "low_stock_threshold": "3",
        "is_active": "on", "initial_stock": "7"})
    product = Product.objects.get(sku="CAB-2")
    assert response.status_code == 302 and product.stock_quantity == 7
    response = client.post(reverse("sales:product_edit", args=[product.uuid]), {
        "sku": "CAB-2", "name": "Cable 2m", "price": "13.00", "low_stock_threshold": "3",
        "is_active": "on", "version": product.version})
    product.refresh_from_db()
    assert response.status_code == 302 and product.name == "Cable 2m"
    stale = client.post(reverse("sales:product_edit", args=[product.uuid]), {
        "sku": "CAB-2", "name": "Stale", "price": "13.00", "low_stock_threshold": "3",
        "version": product.version - 1})
    assert stale.status_code == 200 and "Someone else changed" in stale.content.decode()
    too_much = client.post(reverse("sales:product_adjust", args=[product.uuid]), {
        "quantity_delta": "-8", "reason": "adjustment"})
    assert too_much.status_code == 200 and "7 in stock" in too_much.content.decode()
    ok = client.post(reverse("sales:product_adjust", args=[product.uuid]), {
        "quantity_delta": "-2", "reason": "adjustment", "note": "Broken"})
    product.refresh_from_db()
    assert ok.status_code == 302 and product.stock_quantity == 5
    detail = client.get(reverse("sales:product_detail", args=[product.uuid])).content.decode()
    assert "Broken" in detail and "Opening stock" in detail


def test_it_looks_up_at_most_twenty_active_products(client_for, rep):
    ProductFactory.create_batch(25, name="Widget")
    ProductFactory(sku="W-OFF", name="Widget retired", is_active=False)
    client = client_for(rep)
    data = json.loads(client.get(reverse("sales:product_lookup"), {"q": "widg"}).content)
    assert len(data["results"]) == 20
    assert all(r["name"] == "Widget" for r in data["results"])
    assert {"sku", "price", "label", "stock"} <= set(data["results"][0])
    assert json.loads(client.get(reverse("sales:product_lookup")).content) == {"results": []}


# --- query counts ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sales:product_list", "sales:product_low_stock"])
def test_it_lists_products_in_a_fixed_number_of_queries(client_for, rep, name,
                                                         django_assert_num_queries):
    client = client_for(rep)
    ProductFactory(stock_quantity=0)
    client.get(reverse(name))  # warm the session and permission caches
    with CaptureQueriesContext(connection) as few:
        client.get(reverse(name))
    assert len(few.captured_queries) <= 12
    ProductFactory.create_batch(30, stock_quantity=0)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(reverse(name))
    assert len(response.context["page"].object_list) == 31


def test_it_shows_a_product_and_its_ledger_in_a_fixed_number_of_queries(
        client_for, manager, product, django_assert_num_queries):
    client = client_for(manager)
    svc.stock_adjust(actor=manager, product=product, quantity_delta=1, reason="receipt")
    url = reverse("sales:product_detail", args=[product.uuid])
    client.get(url)  # warm the session and permission caches
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    assert len(few.captured_queries) <= 12
    for _ in range(10):
        svc.stock_adjust(actor=manager, product=product, quantity_delta=1, reason="receipt")
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.context["ledger"].object_list) == 11


# --- review fixes -------------------------------------------------------------------------------
def test_it_refuses_a_stock_change_past_the_integer_column(manager, product):
    Product.objects.filter(pk=product.pk).update(stock_quantity=svc.MAX_STOCK - 10)
    product.refresh_from_db()
    with pytest.raises(ApplicationError, match="at most 10 can be added"):
        svc.stock_adjust(actor=manager, product=product, quantity_delta=11, reason="receipt")
    with pytest.raises(ApplicationError, match="at most"):
        svc.stock_adjust(actor=manager, product=product, quantity_delta=2**40,
                         reason="receipt")
    product.refresh_from_db()
    assert product.stock_quantity == svc.MAX_STOCK - 10
    assert not StockMovement.objects.filter(product=product, quantity__gt=10).exists()
    svc.stock_adjust(actor=manager, product=product, quantity_delta=10, reason="receipt")
    product.refresh_from_db()
    assert product.stock_quantity == svc.MAX_STOCK


def test_it_answers_a_stock_overflow_on_the_page_with_a_message(client_for, manager, product):
    Product.objects.filter(pk=product.pk).update(stock_quantity=svc.MAX_STOCK - 1)
    response = client_for(manager).post(
        reverse("sales:product_adjust", args=[product.uuid]),
        {"quantity_delta": "999999999", "reason": "receipt", "note": ""}, follow=True)
    assert response.status_code == 200
    assert "Stock cannot go above" in response.content.decode()
    product.refresh_from_db()
    assert product.stock_quantity == svc.MAX_STOCK - 1


def test_it_matches_short_search_terms_exactly(client_for, rep, product):
    ProductFactory(sku="AB", name="Axle")
    ProductFactory(sku="ABC-1", name="Abrasive")
    client = client_for(rep)
    page = client.get(reverse("sales:product_list"), {"q": "ab"}).content.decode()
    assert "Axle" in page and "Abrasive" not in page
    data = json.loads(client.get(reverse("sales:product_lookup"), {"q": "ab"}).content)
    assert [r["sku"] for r in data["results"]] == ["AB"]
    data = json.loads(client.get(reverse("sales:product_lookup"), {"q": "abr"}).content)
    assert [r["sku"] for r in data["results"]] == ["ABC-1"]


def test_the_product_trash_lists_deleted_products_and_restores_them(client_for, admin, pipeline):
    from sales import catalog_services
    from sales.models import Product
    from tests.factories import ProductFactory

    product = ProductFactory(name="Old sensor")
    catalog_services.product_delete(actor=admin, product=product)
    client = client_for(admin)

    page = client.get("/sales/products/trash/")

    assert page.status_code == 200 and "Old sensor" in page.text
    response = client.post(f"/sales/products/{product.uuid}/restore/")
    assert response.status_code == 302
    assert Product.objects.alive().filter(pk=product.pk).exists()


def test_the_product_trash_needs_login_and_the_view_permission(client, client_for, role_groups):
    from accounts import roles
    from tests.factories import UserFactory

    assert client.get("/sales/products/trash/").status_code == 302
    nobody = UserFactory(roles=[roles.MARKETING])  # Marketing sees products
    assert client_for(nobody).get("/sales/products/trash/").status_code == 200
    stranger = UserFactory()  # no role at all
    assert client_for(stranger).get("/sales/products/trash/").status_code == 403


def test_the_product_trash_query_count_does_not_grow(client_for, admin,
                                                     django_assert_max_num_queries):
    from sales import catalog_services
    from tests.factories import ProductFactory

    client = client_for(admin)
    client.get("/sales/products/trash/")

    def measure():
        with django_assert_max_num_queries(12) as captured:
            assert client.get("/sales/products/trash/").status_code == 200
        return len(captured.captured_queries)

    catalog_services.product_delete(actor=admin, product=ProductFactory())
    few = measure()
    for _ in range(15):
        catalog_services.product_delete(actor=admin, product=ProductFactory())
    assert measure() == few
