"""Start-up registrations of the orders and products area: the "Orders" and "Products" entries
of the top navigation, the "Purchase history" panel of the customer's 360 page, the timeline
describers of the order.* and product.* events, and the purchase figures as segment fields.

Call `register()` from SalesConfig.ready() (sales/apps.py). Idempotent (by key)."""

from __future__ import annotations

import datetime

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_noop as _n

PANEL_KEY = "sales.purchases"
PANEL_ORDERS = 10


# --- the 360 page panel -------------------------------------------------------------------------
def purchase_panel_context(customer, user) -> dict:
    """Two queries: the figures row (CustomerPurchaseStats) and the customer's last 10 orders
    the user may see (the order_customer index)."""
    from sales.models import CustomerPurchaseStats
    from sales.selectors import order_list_for_user

    stats = CustomerPurchaseStats.objects.filter(customer_id=customer.pk).first()
    # Only what the panel shows: no joined rows.
    orders = list(order_list_for_user(user).filter(customer_id=customer.pk)
                  .select_related(None)
                  .only("id", "uuid", "number", "status", "total", "currency", "ordered_at")
                  .order_by("-ordered_at", "-id")[:PANEL_ORDERS])
    days = None
    if stats is not None and stats.last_order_at is not None:
        days = (timezone.now() - stats.last_order_at).days
    return {"stats": stats, "orders": orders, "orders_html": orders_html(orders),
            "days_since_last": days, "can_add_order": user.has_perm("sales.add_order")}


# The badge of each order status (sales/orders/_status_badge.html; any other: danger).
ORDER_BADGES = {"draft": "text-bg-secondary", "confirmed": "text-bg-primary",
                "shipped": "text-bg-info", "completed": "text-bg-success"}


def orders_html(orders) -> str:
    """The panel's order list items (_customer_purchases.html's loop), built here rather than
    by the template: the same markup, byte for byte, every value escaped and every text
    translated, without a URL lookup, an include and four filters per order."""
    from django.template.defaultfilters import date as date_filter
    from django.template.defaultfilters import floatformat
    from django.utils.html import conditional_escape, escape
    from django.utils.safestring import mark_safe

    from crm.rows import empty_item, url_maker

    if not orders:
        return empty_item(_("No orders yet."))
    detail_url = url_maker("sales:order_detail")
    not_placed = conditional_escape(_("not placed"))
    out = []
    for order in orders:
        if order.ordered_at:
            local = timezone.localtime(order.ordered_at)
            when = (f'<time class="text-nowrap text-body-secondary" datetime="'
                    f'{escape(date_filter(local, "c"))}">'
                    f'{escape(date_filter(local, "SHORT_DATE_FORMAT"))}</time>')
        else:
            when = f'<span class="text-body-secondary text-nowrap">{not_placed}</span>'
        out.append(
            f'\n  <li class="list-group-item d-flex justify-content-between gap-2">'
            f'\n    <div class="text-break">\n      <a href="{escape(detail_url(order.uuid))}" '
            f'class="fw-semibold font-monospace">{escape(order.number)}</a>'
            f'\n      <span class="badge {ORDER_BADGES.get(order.status, "text-bg-danger")}" '
            f'data-testid="order-status">{conditional_escape(order.get_status_display())}'
            f'</span>\n\n      <div class="text-body-secondary">'
            f'{floatformat(order.total, "2g")} {escape(order.currency)}</div>\n    </div>'
            f'\n    {when}\n  </li>\n  ')
    return mark_safe("".join(out))  # noqa: S308 (every value above is escaped)


# --- timeline ----------------------------------------------------------------------------------
def _payload(event) -> dict:
    return event.payload if isinstance(event.payload, dict) else {}


def _order(text: str, bare: str):
    def describe(event) -> str:
        payload = _payload(event)
        number = payload.get("number")
        if not number:
            return _(bare)
        return _(text) % {"number": number, "total": payload.get("total", ""),
                          "currency": payload.get("currency", "")}
    return describe


def _product(text: str, bare: str):
    def describe(event) -> str:
        payload = _payload(event)
        name = payload.get("name")
        if not name:
            return _(bare)
        return _(text) % {"name": name, "sku": payload.get("sku", ""),
                          "change": payload.get("change", ""), "stock": payload.get("stock", "")}
    return describe


DESCRIBERS = {
    "order.created": _order(_n("Order %(number)s drafted (%(total)s %(currency)s)"),
                            _n("Order drafted")),
    "order.updated": _order(_n("Order %(number)s changed (%(total)s %(currency)s)"),
                            _n("Order changed")),
    "order.confirmed": _order(_n("Order %(number)s placed: %(total)s %(currency)s"),
                              _n("Order placed")),
    "order.shipped": _order(_n("Order %(number)s shipped"), _n("Order shipped")),
    "order.completed": _order(_n("Order %(number)s completed"), _n("Order completed")),
    "order.cancelled": _order(_n("Order %(number)s cancelled (%(total)s %(currency)s)"),
                              _n("Order cancelled")),
    "order.deleted": _order(_n("Draft order %(number)s deleted"), _n("Draft order deleted")),
    "product.stock_adjusted": _product(
        _n("Stock of %(name)s changed by %(change)s (now %(stock)s)"), _n("Stock adjusted")),
    "product.created": _product(_n("Product %(name)s added"), _n("Product added")),
    "product.updated": _product(_n("Product %(name)s changed"), _n("Product changed")),
    "product.deleted": _product(_n("Product %(name)s moved to the trash"),
                                _n("Product moved to the trash")),
    "product.restored": _product(_n("Product %(name)s restored"), _n("Product restored")),
}


# --- segment fields -----------------------------------------------------------------------------
def _stats(**filters):
    from sales.models import CustomerPurchaseStats

    return CustomerPurchaseStats.objects.filter(customer=OuterRef("pk"), **filters)


def _number_field(column: str):
    """A number rule on a figure; a customer without a figures row has 0. One EXISTS probe on
    the figures' primary key: when 0 satisfies the rule, "no row with the figure outside it",
    else "a row with the figure inside it"."""
    from customers.segments import number_q

    def holds_for_zero(operator, value) -> bool:
        if operator == "eq":
            return value == 0
        if operator == "lt":
            return 0 < value
        if operator == "gt":
            return 0 > value
        return value[0] <= 0 <= value[1]

    def to_q(operator, value) -> Q:
        inside = number_q(column, operator, value)
        if holds_for_zero(operator, value):
            return ~Q(Exists(_stats().exclude(inside)))
        return Q(Exists(_stats().filter(inside)))

    return to_q


def _date_field(column: str):
    """A date rule on the first / last order: customers who never ordered match none."""
    from customers.segments import datetime_q

    def to_q(operator, value) -> Q:
        return Q(Exists(_stats().filter(datetime_q(column, operator, value))))

    return to_q


def _last_order_q(operator, value) -> Q:
    """Days since the last order: within / more than N days ago / never."""
    if operator == "never":
        return ~Q(Exists(_stats(order_count__gt=0)))
    since = timezone.now() - datetime.timedelta(days=value)
    if operator == "within_days":
        return Q(Exists(_stats(last_order_at__gte=since)))
    return Q(Exists(_stats(last_order_at__lt=since)))


def register_segment_fields() -> None:
    from customers import segments as s

    group = gettext_lazy("Purchases")
    s.register_field("purchases.order_count", gettext_lazy("Number of orders"), s.NUMBER,
                     s.NUMBER_OPERATORS, _number_field("order_count"), group=group, order=60)
    s.register_field("purchases.total_spent", gettext_lazy("Total spent"), s.NUMBER,
                     s.NUMBER_OPERATORS, _number_field("total_spent"), group=group, order=61)
    s.register_field("purchases.average_order_value", gettext_lazy("Average order value"),
                     s.NUMBER, s.NUMBER_OPERATORS, _number_field("average_order_value"),
                     group=group, order=62)
    s.register_field("purchases.first_order", gettext_lazy("First order date"), s.DATE,
                     s.DATE_OPERATORS, _date_field("first_order_at"), group=group, order=63)
    s.register_field("purchases.last_order", gettext_lazy("Last order date"), s.DATE,
                     s.DATE_OPERATORS, _date_field("last_order_at"), group=group, order=64)
    s.register_field("purchases.days_since_last_order",
                     gettext_lazy("Days since the last order"), s.RECENCY,
                     s.RECENCY_OPERATORS, _last_order_q, group=group, order=65)


# --- registration -------------------------------------------------------------------------------
def register() -> None:
    from crm import navigation
    from customers import panels
    from customers.timeline import register_describer

    navigation.register(navigation.NavItem(
        key="sales.orders", label=gettext_lazy("Orders"), url_name="sales:order_list",
        icon="receipt", order=40, visible=lambda user: user.has_perm("sales.view_order")))
    navigation.register(navigation.NavItem(
        key="sales.products", label=gettext_lazy("Products"), url_name="sales:product_list",
        icon="box-seam", order=45, visible=lambda user: user.has_perm("sales.view_product")))
    panels.register(
        PANEL_KEY, gettext_lazy("Purchase history"), "sales/_customer_purchases.html",
        context=purchase_panel_context, order=25,
        visible=lambda user: user.has_perm("sales.view_order"))
    for name, describer in DESCRIBERS.items():
        register_describer(name, describer)
    register_segment_fields()
