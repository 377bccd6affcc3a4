"""Writes of orders: create and edit drafts with their lines, confirm (stock taken in the same
transaction), ship, complete, cancel (stock put back) and delete drafts. Each runs in one
transaction, checks the sales policy, records a business event for the customer's timeline and
keeps the customer's purchase figures current (sales.purchase_stats)."""

from __future__ import annotations

from collections import Counter
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.events import event_record
from crm.exceptions import ApplicationError, StaleObjectError
from customers.selectors import customer_list_for_user
from sales.models import Order, OrderLine, Product, StockMovement
from sales.permissions import sales_policy_for
from sales.purchase_stats import refresh_purchase_stats

ORDER_FIELDS = ["contact", "opportunity", "owner", "team", "currency", "notes"]
MAX_LINES = 200
CENT = Decimal("0.01")
HUNDRED = Decimal("100")

# The status moves order_set_status makes (confirming and cancelling have their own services).
NEXT_STATUS = {
    Order.Status.CONFIRMED: Order.Status.SHIPPED,
    Order.Status.SHIPPED: Order.Status.COMPLETED,
}


def _payload(order: Order) -> dict:
    return {"number": order.number, "total": str(order.total), "currency": order.currency,
            "order": str(order.uuid)}


def _can(actor, action: str, order: Order) -> None:
    if not sales_policy_for(actor).can(action, order, "order"):
        raise PermissionDenied


# NUMERIC(14, 2): the largest amount an order, a line or an opportunity can hold.
MAX_AMOUNT = Decimal("1e12")


def line_total(quantity: int, unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    """quantity x unit price less the discount, rounded to the cent (half up)."""
    gross = Decimal(quantity) * Decimal(unit_price)
    return (gross * (HUNDRED - Decimal(discount_percent)) / HUNDRED).quantize(
        CENT, rounding=ROUND_HALF_UP)


def _decimal(value, default: Decimal | None = None) -> Decimal:
    if value in (None, "") and default is not None:
        return default
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError from exc
    if not number.is_finite():
        raise ValueError
    return number


def _clean_lines(lines, currency: str) -> list[OrderLine]:
    """The lines as unsaved OrderLines with their totals; ApplicationError naming the line
    and what is wrong with it otherwise. Each line: a dict with product (a Product), quantity,
    unit_price, and optionally discount_percent and description."""
    lines = list(lines or [])
    if len(lines) > MAX_LINES:
        raise ApplicationError(_("An order may have at most %(max)d lines.") % {"max": MAX_LINES})
    cleaned, errors = [], []
    for n, line in enumerate(lines, start=1):
        product = line.get("product")
        try:
            quantity = int(line.get("quantity"))
            unit_price = _decimal(line.get("unit_price"))
            discount = _decimal(line.get("discount_percent"), Decimal("0"))
        except (TypeError, ValueError):
            errors.append(_("Line %(n)d: enter a whole quantity, a price and a discount.")
                          % {"n": n})
            continue
        if not isinstance(product, Product) or product.deleted_at is not None:
            errors.append(_("Line %(n)d: choose a product from the catalogue.") % {"n": n})
            continue
        if not product.is_active:
            errors.append(_("Line %(n)d: %(name)s is no longer on sale.")
                          % {"n": n, "name": product.name})
        if product.currency != currency:
            errors.append(_("Line %(n)d: %(name)s is priced in %(cur)s, the order in %(order)s.")
                          % {"n": n, "name": product.name, "cur": product.currency,
                             "order": currency})
        if quantity < 1:
            errors.append(_("Line %(n)d: the quantity must be at least 1.") % {"n": n})
        if unit_price < 0 or unit_price >= Decimal("1e12") or unit_price != unit_price.quantize(
                CENT):
            errors.append(_("Line %(n)d: enter a unit price of 0 or more, in cents at most.")
                          % {"n": n})
        if not Decimal("0") <= discount <= HUNDRED or discount != discount.quantize(CENT):
            errors.append(_("Line %(n)d: the discount is a percentage between 0 and 100.")
                          % {"n": n})
        if quantity > 1_000_000:
            errors.append(_("Line %(n)d: the quantity is too large.") % {"n": n})
        cleaned.append(OrderLine(
            product=product, quantity=quantity, unit_price=unit_price,
            discount_percent=discount, description=(line.get("description") or "")[:200],
            line_total=line_total(quantity, unit_price, discount) if quantity >= 1 else CENT * 0,
        ))
    if not errors:
        # The amounts are NUMERIC(14, 2): a total past that would fail in the database.
        for n, line in enumerate(cleaned, start=1):
            if line.line_total >= MAX_AMOUNT:
                errors.append(_("Line %(n)d: the line total is too large.") % {"n": n})
        if not errors and sum((line.line_total for line in cleaned),
                              Decimal("0.00")) >= MAX_AMOUNT:
            errors.append(_("The order total is too large: split it into several orders."))
    if errors:
        raise ApplicationError(" ".join(errors), extra={"lines": errors})
    return cleaned


def _check_relations(actor, order: Order) -> None:
    customer = order.customer
    if customer.deleted_at is not None or not customer_list_for_user(actor).filter(
            pk=customer.pk).exists():
        raise ApplicationError(_("Choose a customer you can see."))
    if order.contact_id is not None and order.contact.customer_id != customer.pk:
        raise ApplicationError(_("The contact must belong to the order's customer."))
    if order.opportunity_id is not None and order.opportunity.customer_id != customer.pk:
        raise ApplicationError(_("The opportunity must belong to the order's customer."))


def _next_number() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('sales_order_number_seq')")
        (value,) = cursor.fetchone()
    return f"SO-{value:06d}"


@transaction.atomic
def order_create(*, actor, customer, data: dict | None = None, lines=()) -> Order:
    """A draft order for `customer` (who must be visible to the actor), numbered from the
    database sequence, with its lines and total."""
    if not actor.has_perm("sales.add_order"):
        raise PermissionDenied
    data = {k: v for k, v in (data or {}).items() if k in ORDER_FIELDS}
    data.setdefault("currency", settings.CRM_CURRENCY)
    order = Order(customer=customer, status=Order.Status.DRAFT, **data)
    if order.owner_id is None:
        order.owner = actor
    if order.team_id is None:
        order.team_id = customer.team_id
    _check_relations(actor, order)
    cleaned = _clean_lines(lines, order.currency)
    order.total = sum((line.line_total for line in cleaned), Decimal("0.00"))
    order.number = _next_number()
    try:
        order.full_clean(validate_constraints=False, validate_unique=False)
    except ValidationError as exc:
        raise ApplicationError("; ".join(exc.messages)) from exc
    order.save()
    for line in cleaned:
        line.order = order
    OrderLine.objects.bulk_create(cleaned)
    event_record(name="order.created", actor=actor, customer_id=order.customer_id,
                 subject=order, payload=_payload(order))
    return order


def _lock(order: Order, expected_version: int | None) -> Order:
    current = Order.objects.select_for_update(of=("self",)).select_related("customer").get(
        pk=order.pk)
    if expected_version is not None and current.version != expected_version:
        raise StaleObjectError(_(
            "Someone else changed this order since the page was loaded. Nothing was saved: "
            "reload the page to see the order as it is now."))
    if current.deleted_at is not None:
        raise ApplicationError(_("This order has been deleted."))
    return current


def _line_key(line: OrderLine) -> tuple:
    return (line.product_id, line.quantity, line.unit_price, line.discount_percent,
            line.description)


@transaction.atomic
def order_update(*, actor, order: Order, data: dict, lines, expected_version: int | None
                 ) -> Order:
    """Edit a draft: its fields and all its lines at once (the lines replace the old ones)."""
    _can(actor, "change", order)
    current = _lock(order, expected_version)
    if current.status != Order.Status.DRAFT:
        raise ApplicationError(_("Only draft orders can be edited; this one is %(status)s.")
                               % {"status": current.get_status_display()})
    data = {k: v for k, v in data.items() if k in ORDER_FIELDS}
    changed = []
    for name, value in data.items():
        field = Order._meta.get_field(name)
        new = value.pk if field.is_relation and value is not None else value
        if getattr(current, field.attname) != new:
            setattr(current, name, value)
            changed.append(name)
    _check_relations(actor, current)
    cleaned = _clean_lines(lines, current.currency)
    old_lines = list(current.lines.order_by("id"))
    if [_line_key(line) for line in old_lines] != [_line_key(line) for line in cleaned]:
        OrderLine.objects.filter(order=current).delete()
        for line in cleaned:
            line.order = current
        OrderLine.objects.bulk_create(cleaned)
        changed.append("lines")
    total = sum((line.line_total for line in cleaned), Decimal("0.00"))
    if total != current.total:
        current.total = total
        changed.append("total")
    if changed:
        current.version += 1
        fields = [f for f in changed if f != "lines"]
        current.save(update_fields=[*fields, "version", "updated_at"])
        event_record(name="order.updated", actor=actor, customer_id=current.customer_id,
                     subject=current, payload={**_payload(current), "fields": changed})
    return current


@transaction.atomic
def order_confirm(*, actor, order: Order, expected_version: int | None) -> Order:
    """Place a draft: take its stock and count it in the customer's figures, all or nothing.

    The order's products are locked in id order (two confirmations never wait on each other
    in a cycle), then each product's stock drops with one conditional UPDATE (... WHERE
    stock_quantity >= q). If any product is short, nothing changes and the error names every
    product short of stock with the quantity available."""
    _can(actor, "confirm", order)
    current = _lock(order, expected_version)
    if current.status != Order.Status.DRAFT:
        raise ApplicationError(_("Only a draft order can be confirmed; this one is "
                                 "%(status)s.") % {"status": current.get_status_display()})
    lines = list(current.lines.all())
    if not lines:
        raise ApplicationError(_("Add at least one line before confirming the order."))
    wanted = Counter()
    for line in lines:
        wanted[line.product_id] += line.quantity
    products = {p.pk: p for p in Product.objects.select_for_update().filter(
        pk__in=wanted).order_by("id")}
    unavailable = [p.name for p in products.values() if p.deleted_at is not None
                   or not p.is_active]
    if unavailable:
        raise ApplicationError(_("No longer on sale: %(names)s. Remove these lines first.")
                               % {"names": ", ".join(sorted(unavailable))})
    short = []
    for pk in sorted(wanted):
        quantity = wanted[pk]
        taken = Product.objects.filter(pk=pk, stock_quantity__gte=quantity).update(
            stock_quantity=F("stock_quantity") - quantity, version=F("version") + 1)
        if not taken:
            short.append((products[pk], quantity))
    if short:
        details = "; ".join(
            _("%(name)s (%(sku)s): %(wanted)d ordered, %(available)d in stock")
            % {"name": p.name, "sku": p.sku, "wanted": q, "available": p.stock_quantity}
            for p, q in short)
        # Raising rolls back the stock already taken for the other products.
        raise ApplicationError(
            _("Not enough stock to confirm this order: %(details)s. Nothing was changed.")
            % {"details": details},
            extra={"short": [{"product": str(p.uuid), "available": p.stock_quantity,
                              "wanted": q} for p, q in short]})
    now = timezone.now()
    StockMovement.objects.bulk_create([
        StockMovement(product_id=pk, quantity=-quantity, reason=StockMovement.Reason.ORDER,
                      order=current, user=actor, created_at=now,
                      note=current.number)
        for pk, quantity in sorted(wanted.items())
    ])
    current.status = Order.Status.CONFIRMED
    current.ordered_at = now
    current.version += 1
    current.save(update_fields=["status", "ordered_at", "version", "updated_at"])
    refresh_purchase_stats([current.customer_id])
    event_record(name="order.confirmed", actor=actor, customer_id=current.customer_id,
                 subject=current, payload=_payload(current))
    return current


@transaction.atomic
def order_cancel(*, actor, order: Order, expected_version: int | None) -> Order:
    """Cancel a draft, confirmed or shipped order; a placed one gives its stock back (with
    ledger rows) and leaves the customer's figures."""
    _can(actor, "confirm", order)
    current = _lock(order, expected_version)
    cancellable = (Order.Status.DRAFT, Order.Status.CONFIRMED, Order.Status.SHIPPED)
    if current.status not in cancellable:
        raise ApplicationError(_("A %(status)s order cannot be cancelled.")
                               % {"status": current.get_status_display().lower()})
    was_placed = current.is_placed
    now = timezone.now()
    if was_placed:
        back = Counter()
        for line in current.lines.all():
            back[line.product_id] += line.quantity
        # Same lock order as confirming: no deadlock between the two.
        list(Product.objects.select_for_update().filter(pk__in=back).order_by("id")
             .values_list("id", flat=True))
        for pk in sorted(back):
            Product.objects.filter(pk=pk).update(
                stock_quantity=F("stock_quantity") + back[pk], version=F("version") + 1)
        StockMovement.objects.bulk_create([
            StockMovement(product_id=pk, quantity=quantity, reason=StockMovement.Reason.CANCEL,
                          order=current, user=actor, created_at=now, note=current.number)
            for pk, quantity in sorted(back.items())
        ])
    current.status = Order.Status.CANCELLED
    current.cancelled_at = now
    current.version += 1
    current.save(update_fields=["status", "cancelled_at", "version", "updated_at"])
    if was_placed:
        refresh_purchase_stats([current.customer_id])
    event_record(name="order.cancelled", actor=actor, customer_id=current.customer_id,
                 subject=current, payload={**_payload(current), "restocked": was_placed})
    return current


@transaction.atomic
def order_set_status(*, actor, order: Order, status: str, expected_version: int | None
                     ) -> Order:
    """Move a placed order on: confirmed -> shipped -> completed."""
    _can(actor, "confirm", order)
    current = _lock(order, expected_version)
    if NEXT_STATUS.get(current.status) != status:
        labels = dict(Order.Status.choices)
        raise ApplicationError(
            _("A %(current)s order cannot be marked %(new)s.")
            % {"current": current.get_status_display().lower(),
               "new": str(labels.get(status, status)).lower()})
    current.status = status
    current.version += 1
    current.save(update_fields=["status", "version", "updated_at"])
    event_record(name=f"order.{status}", actor=actor, customer_id=current.customer_id,
                 subject=current, payload=_payload(current))
    return current


@transaction.atomic
def order_delete(*, actor, order: Order, expected_version: int | None = None) -> Order:
    """Delete a draft (soft: it stays in the database, out of every list). Placed orders are
    cancelled instead, so the stock and the figures stay right."""
    _can(actor, "delete", order)
    current = _lock(order, expected_version)
    if current.status != Order.Status.DRAFT:
        raise ApplicationError(_("Only draft orders can be deleted; cancel this one instead."))
    current.deleted_at = timezone.now()
    current.version += 1
    current.save(update_fields=["deleted_at", "version", "updated_at"])
    event_record(name="order.deleted", actor=actor, customer_id=current.customer_id,
                 subject=current, payload=_payload(current))
    return current
