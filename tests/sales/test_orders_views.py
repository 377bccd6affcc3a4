"""Order pages: list (filters, search, keyset pages, htmx results), detail with the status
actions and the stock error, create from a customer and edit with the lines formset, delete;
the 360 page's purchase history panel and the timeline. Access and query counts for each."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import Event
from customers.timeline import describe
from sales import order_services as svc
from sales import order_ui
from sales.models import Order, OrderLine
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _registered():
    order_ui.register()


@pytest.fixture
def widget():
    return ProductFactory(sku="W-1", name="Widget", price=Decimal("19.99"), stock_quantity=10)


@pytest.fixture
def gadget():
    return ProductFactory(sku="G-1", name="Gadget", price=Decimal("5.00"), stock_quantity=3)


@pytest.fixture
def order(rep, own_customer, widget):
    return svc.order_create(actor=rep, customer=own_customer, data={}, lines=[
        {"product": widget, "quantity": 2, "unit_price": widget.price}])


def _lines_post(*lines, version=None, customer=None):
    data = {"lines-TOTAL_FORMS": str(len(lines)), "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "200", "notes": ""}
    for i, (product, quantity, price, discount) in enumerate(lines):
        data.update({f"lines-{i}-product": product, f"lines-{i}-quantity": str(quantity),
                     f"lines-{i}-unit_price": str(price),
                     f"lines-{i}-discount_percent": str(discount)})
    if version is not None:
        data["version"] = str(version)
    if customer is not None:
        data["customer"] = str(customer.uuid)
    return data


def _object_urls(order):
    return [reverse("sales:order_detail", args=[order.uuid]),
            reverse("sales:order_edit", args=[order.uuid])]


def _write_urls(order):
    return [reverse("sales:order_edit", args=[order.uuid]),
            reverse("sales:order_delete", args=[order.uuid]),
            *(reverse("sales:order_action", args=[order.uuid, a])
              for a in ("confirm", "ship", "complete", "cancel"))]


# --- access ---------------------------------------------------------------------------------
def test_it_sends_anonymous_users_to_sign_in(client, order):
    urls = [reverse("sales:order_list"), reverse("sales:order_create"), *_object_urls(order)]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response.url, url
    for url in _write_urls(order):
        response = client.post(url, {"version": order.version})
        assert response.status_code == 302 and "/login/" in response.url, url


def test_it_hides_orders_from_outsiders(client_for, outsider, order, own_customer):
    client = client_for(outsider)
    for url in _object_urls(order):
        assert client.get(url).status_code == 404, url
    for url in _write_urls(order):
        assert client.post(url, {"version": order.version}).status_code == 404, url
    create = reverse("sales:order_create") + f"?customer={own_customer.uuid}"
    assert client.get(create).status_code == 404
    page = client.get(reverse("sales:order_list")).content.decode()
    assert order.number not in page
    order.refresh_from_db()
    assert order.status == Order.Status.DRAFT and order.deleted_at is None


def test_it_forbids_writes_to_the_read_only_analyst(client_for, analyst, order, own_customer):
    client = client_for(analyst)
    assert client.get(reverse("sales:order_detail", args=[order.uuid])).status_code == 200
    assert order.number in client.get(reverse("sales:order_list")).content.decode()
    for url in _write_urls(order):
        assert client.post(url, {"version": order.version}).status_code == 403, url
    assert client.get(reverse("sales:order_edit", args=[order.uuid])).status_code == 403
    create = reverse("sales:order_create") + f"?customer={own_customer.uuid}"
    assert client.get(create).status_code == 403
    order.refresh_from_db()
    assert order.status == Order.Status.DRAFT and order.deleted_at is None


# --- list -----------------------------------------------------------------------------------
def test_it_filters_and_searches_orders(client_for, manager, rep, own_customer, team_customer,
                                        widget, order):
    other = svc.order_create(actor=manager, customer=team_customer, data={}, lines=[
        {"product": widget, "quantity": 10, "unit_price": widget.price}])
    other = svc.order_confirm(actor=manager, order=other, expected_version=other.version)
    client = client_for(manager)
    url = reverse("sales:order_list")

    def numbers(**params):
        response = client.get(url, params, HTTP_HX_REQUEST="true")
        return {o["number"] for o in response.context["page"].object_list}

    assert numbers() == {order.number, other.number}
    assert numbers(status="confirmed") == {other.number}
    assert numbers(owner=str(rep.uuid)) == {order.number}
    assert numbers(q=order.number[-4:]) == {order.number}
    assert numbers(q="Beta Foo") == {other.number}
    assert numbers(customer=str(own_customer.uuid)) == {order.number}
    assert numbers(total_min="100") == {other.number}
    assert numbers(total_max="100") == {order.number}
    today = other.ordered_at.date().isoformat()
    assert numbers(ordered_after=today, ordered_before=today) == {other.number}
    assert numbers(team=str(own_customer.team.uuid)) == {order.number, other.number}
    bad = client.get(url, {"total_min": "lots", "status": "nope"})
    assert bad.status_code == 200 and "were not valid" in bad.content.decode()


def test_it_pages_orders_by_keyset(client_for, rep, own_customer, widget):
    for _ in range(52):
        svc.order_create(actor=rep, customer=own_customer, data={}, lines=[])
    client = client_for(rep)
    first = client.get(reverse("sales:order_list"))
    assert len(first.context["page"].object_list) == 50
    second = client.get(reverse("sales:order_list"),
                        {"after": first.context["page"].next_cursor})
    assert len(second.context["page"].object_list) == 2


def test_it_lists_orders_in_a_fixed_number_of_queries(client_for, manager, rep, own_customer,
                                                       widget):
    client = client_for(manager)
    svc.order_create(actor=rep, customer=own_customer, data={}, lines=[])
    url = reverse("sales:order_list")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    assert len(few.captured_queries) <= 12
    for i in range(20):
        customer = CustomerFactory(owner=rep, team=own_customer.team, name=f"Customer {i}")
        svc.order_create(actor=rep, customer=customer, data={}, lines=[])
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(response.context["page"].object_list) == 21
    assert len(many.captured_queries) == len(few.captured_queries)


# --- detail and actions ---------------------------------------------------------------------
def test_it_confirms_ships_completes_from_the_order_page(client_for, rep, order, widget):
    client = client_for(rep)
    page = client.get(reverse("sales:order_detail", args=[order.uuid])).content.decode()
    assert "Confirm order" in page and "39.98" in page
    for action, status in (("confirm", "confirmed"), ("ship", "shipped"),
                           ("complete", "completed")):
        response = client.post(reverse("sales:order_action", args=[order.uuid, action]),
                               {"version": order.version}, follow=True)
        order.refresh_from_db()
        assert order.status == status
        assert f"is now {status}" in response.content.decode()
    widget.refresh_from_db()
    assert widget.stock_quantity == 8


def test_it_shows_the_stock_error_clearly(client_for, rep, own_customer, widget, gadget):
    order = svc.order_create(actor=rep, customer=own_customer, data={}, lines=[
        {"product": gadget, "quantity": 4, "unit_price": gadget.price}])
    client = client_for(rep)
    response = client.post(reverse("sales:order_action", args=[order.uuid, "confirm"]),
                           {"version": order.version}, follow=True)
    body = response.content.decode()
    assert "Not enough stock" in body and "Gadget" in body and "3 in stock" in body
    order.refresh_from_db()
    gadget.refresh_from_db()
    assert order.status == Order.Status.DRAFT and gadget.stock_quantity == 3


def test_it_refuses_a_stale_action(client_for, rep, order):
    client = client_for(rep)
    response = client.post(reverse("sales:order_action", args=[order.uuid, "confirm"]),
                           {"version": order.version + 5}, follow=True)
    assert "Someone else changed this order" in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.DRAFT


def test_it_cancels_and_restocks_from_the_order_page(client_for, rep, order, widget):
    order = svc.order_confirm(actor=rep, order=order, expected_version=order.version)
    client = client_for(rep)
    client.post(reverse("sales:order_action", args=[order.uuid, "cancel"]),
                {"version": order.version})
    order.refresh_from_db()
    widget.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and widget.stock_quantity == 10


def test_it_shows_an_order_in_a_fixed_number_of_queries(client_for, rep, own_customer,
                                                         widget):
    few_order = svc.order_create(actor=rep, customer=own_customer, data={}, lines=[
        {"product": widget, "quantity": 1, "unit_price": widget.price}])
    products = ProductFactory.create_batch(15)
    many_order = svc.order_create(actor=rep, customer=own_customer, data={}, lines=[
        {"product": p, "quantity": 1, "unit_price": p.price} for p in products])
    client = client_for(rep)
    client.get(reverse("sales:order_detail", args=[few_order.uuid]))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("sales:order_detail", args=[few_order.uuid]))
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("sales:order_detail", args=[many_order.uuid]))
    assert len(response.context["lines"]) == 15
    assert len(few.captured_queries) == len(many.captured_queries) <= 12


def test_it_deletes_a_draft_from_its_page(client_for, rep, order):
    client = client_for(rep)
    response = client.post(reverse("sales:order_delete", args=[order.uuid]))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.deleted_at is not None
    assert client.get(reverse("sales:order_detail", args=[order.uuid])).status_code == 404


# --- create and edit ------------------------------------------------------------------------
def test_it_creates_an_order_for_a_customer_with_lines(client_for, rep, own_customer, widget,
                                                       gadget):
    client = client_for(rep)
    url = reverse("sales:order_create")
    page = client.get(url, {"customer": str(own_customer.uuid)})
    assert page.status_code == 200 and own_customer.name in page.content.decode()
    response = client.post(url, _lines_post(("W-1 — Widget", 3, "19.99", "10"),
                                            ("g-1", 1, "5.00", ""), customer=own_customer))
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get()
    assert order.customer == own_customer and order.status == Order.Status.DRAFT
    assert order.total == Decimal("58.97")  # 3 x 19.99 less 10 % = 53.973 -> 53.97, + 5.00
    assert OrderLine.objects.filter(order=order).count() == 2


def test_it_rerenders_bad_lines_with_clear_errors(client_for, rep, own_customer, widget):
    client = client_for(rep)
    response = client.post(reverse("sales:order_create"), _lines_post(
        ("NOPE-1", 1, "1.00", "0"), ("W-1", 0, "19.99", "0"), customer=own_customer))
    body = response.content.decode()
    assert response.status_code == 200
    assert "No product on sale has the SKU" in body
    assert "greater than or equal to 1" in body
    assert not Order.objects.exists()
    empty = client.post(reverse("sales:order_create"), _lines_post(customer=own_customer))
    assert "Add at least one line" in empty.content.decode()


def test_it_offers_a_customer_search_without_a_customer(client_for, rep, own_customer,
                                                         other_customer):
    client = client_for(rep)
    page = client.get(reverse("sales:order_create"), {"q": "a"}).content.decode()
    assert own_customer.name in page and other_customer.name not in page


def test_it_edits_a_draft_and_refuses_a_stale_form(client_for, rep, order, gadget):
    client = client_for(rep)
    url = reverse("sales:order_edit", args=[order.uuid])
    page = client.get(url).content.decode()
    assert "W-1 — Widget" in page
    response = client.post(url, _lines_post(("W-1", 1, "19.99", "0"), ("G-1", 2, "4.00", "0"),
                                            version=order.version))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.total == Decimal("27.99") and order.lines.count() == 2
    stale = client.post(url, _lines_post(("W-1", 9, "19.99", "0"), version=order.version - 1))
    assert "Someone else changed this order" in stale.content.decode()
    order.refresh_from_db()
    assert order.total == Decimal("27.99")


def test_it_does_not_edit_a_placed_order(client_for, rep, order):
    order = svc.order_confirm(actor=rep, order=order, expected_version=order.version)
    response = client_for(rep).get(reverse("sales:order_edit", args=[order.uuid]))
    assert response.status_code == 302


# --- the 360 page and the timeline ----------------------------------------------------------
def test_it_shows_the_purchase_history_on_the_360_page(client_for, rep, own_customer, order):
    svc.order_confirm(actor=rep, order=order, expected_version=order.version)
    client = client_for(rep)
    page = client.get(reverse("customers:detail", args=[own_customer.uuid])).content.decode()
    assert "Purchase history" in page and order.number in page
    assert f"?customer={own_customer.uuid}" in page
    assert 'data-testid="purchase-count">1<' in page
    assert "39.98" in page


def test_it_draws_the_360_page_in_a_fixed_number_of_queries(client_for, rep, own_customer,
                                                             widget):
    client = client_for(rep)
    url = reverse("customers:detail", args=[own_customer.uuid])
    first = svc.order_create(actor=rep, customer=own_customer, data={}, lines=[
        {"product": widget, "quantity": 1, "unit_price": widget.price}])
    svc.order_confirm(actor=rep, order=first, expected_version=first.version)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(12):
        svc.order_create(actor=rep, customer=own_customer, data={}, lines=[])
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.content.decode().count('data-testid="order-status"') == 10
    assert len(many.captured_queries) == len(few.captured_queries)


def test_it_describes_order_events_on_the_timeline(rep, order):
    svc.order_confirm(actor=rep, order=order, expected_version=order.version)
    texts = {e.name: describe(e) for e in Event.objects.filter(name__startswith="order.")}
    assert texts["order.created"] == f"Order {order.number} drafted (39.98 CNY)"
    assert texts["order.confirmed"] == f"Order {order.number} placed: 39.98 CNY"


def test_it_offers_the_nav_entries_by_permission(client_for, rep):
    from crm.navigation import items_for

    keys = [item.key for item in items_for(rep)]
    assert "sales.orders" in keys and "sales.products" in keys


# --- review fixes -------------------------------------------------------------------------------
ORDERS = reverse("sales:order_list")


@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", "x" * 40])
def test_it_answers_404_to_a_malformed_customer_on_create(client_for, rep, bad):
    client = client_for(rep)
    create = reverse("sales:order_create")
    assert client.get(create, {"customer": bad}).status_code == 404
    assert client.post(create + f"?customer={bad}", {"notes": ""}).status_code == 404


def test_it_refuses_an_unknown_action_after_the_permission(client_for, analyst, rep, order):
    unknown = reverse("sales:order_action", args=[order.uuid, "explode"])
    # The read-only analyst is refused whatever the action; the owner gets 404 for nonsense.
    assert client_for(analyst).post(unknown, {"version": order.version}).status_code == 403
    assert client_for(rep).post(unknown, {"version": order.version}).status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.DRAFT


@pytest.mark.parametrize("value", ["1e200000", "1000000000001"])
def test_it_refuses_absurd_total_bounds_with_a_form_error(client_for, rep, order, value):
    for name in ("total_min", "total_max"):
        response = client_for(rep).get(ORDERS, {name: value})
        assert response.status_code == 200
        assert "less than or equal to" in response.content.decode()


def test_it_refuses_an_order_total_past_the_column_with_a_clear_message(rep, own_customer,
                                                                         widget, gadget):
    from crm.exceptions import ApplicationError

    with pytest.raises(ApplicationError, match="too large"):
        svc.order_create(actor=rep, customer=own_customer, lines=[
            {"product": widget, "quantity": 1_000_000, "unit_price": Decimal("999999999")}])
    with pytest.raises(ApplicationError, match="order total is too large"):
        svc.order_create(actor=rep, customer=own_customer, lines=[
            {"product": widget, "quantity": 1, "unit_price": Decimal("999999999999")},
            {"product": gadget, "quantity": 1, "unit_price": Decimal("999999999999")}])
    assert not Order.objects.exists()


def test_it_matches_short_search_terms_exactly(client_for, rep, own_customer, widget):
    CustomerFactory(name="Ab", owner=rep, team=own_customer.team)
    named = CustomerFactory(name="Ab", owner=rep, team=own_customer.team)
    other = CustomerFactory(name="Abacus", owner=rep, team=own_customer.team)
    exact = svc.order_create(actor=rep, customer=named, lines=[
        {"product": widget, "quantity": 1, "unit_price": widget.price}])
    svc.order_create(actor=rep, customer=other, lines=[
        {"product": widget, "quantity": 1, "unit_price": widget.price}])
    response = client_for(rep).get(ORDERS, {"q": "ab"})
    assert [o["number"] for o in response.context["page"].object_list] == [exact.number]
    response = client_for(rep).get(ORDERS, {"q": "aba"})
    assert len(response.context["page"].object_list) == 1


def test_it_renders_the_owner_filter_as_an_autocomplete(client_for, rep, order):
    from tests.factories import UserFactory

    UserFactory(first_name="Zebedee")
    html = client_for(rep).get(ORDERS).content.decode()
    assert 'data-autocomplete-url="/customers/autocomplete/users/' in html
    assert "Zebedee" not in html


def test_it_passes_the_translated_stock_text_to_the_script(client_for, rep, own_customer):
    from django.utils import translation

    html = client_for(rep).get(reverse("sales:order_create"),
                               {"customer": own_customer.uuid}).content.decode()
    assert 'data-stock-text="%(stock)s in stock"' in html
    with translation.override("de"):
        assert translation.gettext("%(stock)s in stock")  # a msgid the catalogues can carry
    script = (Path(__file__).resolve().parents[2] / "static/js/orders.js").read_text()
    assert "in stock" not in script.replace("%(stock)s in stock", "")


def test_it_counts_the_visible_orders_branch_by_branch(client_for, manager, rep, outsider,
                                                       own_customer, other_customer):
    """The list's count is a UNION ALL of index-friendly branches (the teams' orders, then the
    owners' outside those teams): the same figure as the OR of the access path, each order
    once, capped."""
    from sales.selectors import capped_count_of_branches, visible_branches
    from tests.factories import OrderFactory, TeamFactory

    OrderFactory(customer=own_customer)  # the rep's, in the team
    OrderFactory(customer=own_customer, team=None)  # the rep's, no team
    OrderFactory(customer=own_customer, team=TeamFactory(name="West"))  # the rep's, elsewhere
    OrderFactory(customer=other_customer)  # the outsider's
    for user, expected in ((rep, 3), (manager, 3), (outsider, 1)):
        counted = capped_count_of_branches(Order.objects.alive(), visible_branches(user, "order"))
        assert counted == (expected, False)
        assert Order.objects.filter(pk__in=order_list_ids(user)).count() == expected
    assert capped_count_of_branches(
        Order.objects.alive(), visible_branches(manager, "order"), cap=2) == (2, True)
    client = client_for(manager)
    page = client.get(reverse("sales:order_list"), HTTP_HX_REQUEST="true").context["page"]
    assert (page.count, page.count_capped) == (3, False)
    filtered = client.get(reverse("sales:order_list"), {"owner": str(rep.uuid)},
                          HTTP_HX_REQUEST="true").context["page"]
    assert filtered.count == len(filtered.object_list) == 3
    assert client_for(outsider).get(reverse("sales:order_list")).context["page"].count == 1


def order_list_ids(user):
    from sales.selectors import order_list_for_user

    return order_list_for_user(user).values("pk")
