"""Writes of the product catalogue and its stock: create, edit (optimistic locking), soft
delete and restore, and manual stock adjustments. Each runs in one transaction, checks the
model permission and records a business event; every stock change writes a StockMovement (the
ledger), and stock never goes below zero (checked here, and by the table's constraint)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.events import event_record
from crm.exceptions import ApplicationError
from crm.services import model_update
from sales.models import Product, StockMovement

# The stock is an INTEGER column (at most 2,147,483,647): keep a round margin below it, so an
# order's returned stock can never overflow it either.
MAX_STOCK = 2_000_000_000

PRODUCT_FIELDS = ["sku", "name", "description", "price", "currency", "low_stock_threshold",
                  "is_active"]


def _require(actor, perm: str) -> None:
    if not (getattr(actor, "is_authenticated", False) and actor.has_perm(perm)):
        raise PermissionDenied


def _payload(product: Product) -> dict:
    return {"sku": product.sku, "name": product.name, "product": str(product.uuid)}


def _check_sku(sku: str, exclude_pk: int | None = None) -> None:
    qs = Product.objects.annotate(usku=Upper("sku")).filter(usku=(sku or "").upper())
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    if qs.exists():
        raise ApplicationError(_("Another product already uses the SKU “%(sku)s”.")
                               % {"sku": sku})


@transaction.atomic
def product_create(*, actor, data: dict, initial_stock: int = 0) -> Product:
    """A new product; an opening stock is booked as a receipt in the ledger."""
    _require(actor, "sales.add_product")
    data = {k: v for k, v in data.items() if k in PRODUCT_FIELDS}
    if initial_stock < 0:
        raise ApplicationError(_("The opening stock cannot be negative."))
    _check_sku(data.get("sku", ""))
    product = Product(**data, stock_quantity=initial_stock)
    product.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:  # a concurrent create took the SKU
        raise ApplicationError(_("Another product already uses the SKU “%(sku)s”.")
                               % {"sku": product.sku}) from exc
    if initial_stock:
        StockMovement.objects.create(product=product, quantity=initial_stock,
                                     reason=StockMovement.Reason.RECEIPT, user=actor,
                                     note=_("Opening stock"))
    event_record(name="product.created", actor=actor, subject=product,
                 payload=_payload(product))
    return product


@transaction.atomic
def product_update(*, actor, product: Product, data: dict,
                   expected_version: int | None) -> Product:
    """Edit the catalogue fields (never the stock: that moves through stock_adjust and
    orders)."""
    _require(actor, "sales.change_product")
    data = {k: v for k, v in data.items() if k in PRODUCT_FIELDS}
    if "sku" in data:
        _check_sku(data["sku"], exclude_pk=product.pk)
    product, changed = model_update(instance=product, data=data,
                                    expected_version=expected_version)
    if changed:
        event_record(name="product.updated", actor=actor, subject=product,
                     payload={**_payload(product), "fields": changed})
    return product


@transaction.atomic
def product_delete(*, actor, product: Product) -> Product:
    _require(actor, "sales.delete_product")
    updated = Product.objects.filter(pk=product.pk, deleted_at__isnull=True).update(
        deleted_at=timezone.now(), version=F("version") + 1)
    if not updated:
        raise ApplicationError(_("This product is already in the trash."))
    product.refresh_from_db()
    event_record(name="product.deleted", actor=actor, subject=product,
                 payload=_payload(product))
    return product


@transaction.atomic
def product_restore(*, actor, product: Product) -> Product:
    _require(actor, "sales.delete_product")
    if product.deleted_at is None:
        raise ApplicationError(_("This product is not in the trash."))
    _check_sku(product.sku, exclude_pk=product.pk)
    Product.objects.filter(pk=product.pk).update(deleted_at=None, version=F("version") + 1)
    product.refresh_from_db()
    event_record(name="product.restored", actor=actor, subject=product,
                 payload=_payload(product))
    return product


@transaction.atomic
def stock_adjust(*, actor, product: Product, quantity_delta: int, reason: str,
                 note: str = "") -> Product:
    """Add (goods received, a count found more) or remove stock by hand, with the reason in
    the ledger. One conditional UPDATE: refused, with nothing changed, when it would take the
    stock below zero."""
    _require(actor, "sales.adjust_stock")
    if reason not in (StockMovement.Reason.RECEIPT, StockMovement.Reason.ADJUSTMENT):
        raise ApplicationError(_("Choose why the stock changes: goods received or a stock "
                                 "count adjustment."))
    try:
        quantity_delta = int(quantity_delta)
    except (TypeError, ValueError) as exc:
        raise ApplicationError(_("Enter a whole number of units.")) from exc
    if quantity_delta == 0:
        raise ApplicationError(_("Enter a change other than zero."))
    if reason == StockMovement.Reason.RECEIPT and quantity_delta < 0:
        raise ApplicationError(_("Goods received add stock: enter a positive number."))
    if abs(quantity_delta) > MAX_STOCK:
        raise ApplicationError(_("Enter a change of at most %(max)d units.")
                               % {"max": MAX_STOCK})
    # Bounded both ways, so the INTEGER column can neither go below zero nor overflow.
    bound = (Q(stock_quantity__lte=MAX_STOCK - quantity_delta) if quantity_delta > 0
             else Q(stock_quantity__gte=-quantity_delta))
    updated = Product.objects.filter(bound, pk=product.pk, deleted_at__isnull=True).update(
        stock_quantity=F("stock_quantity") + quantity_delta, version=F("version") + 1)
    if not updated:
        current = Product.objects.filter(pk=product.pk).values(
            "stock_quantity", "deleted_at").first()
        if current is None or current["deleted_at"] is not None:
            raise ApplicationError(_("This product is in the trash."))
        if quantity_delta > 0:
            raise ApplicationError(
                _("Stock cannot go above %(max)d units: %(name)s has %(available)d in stock, "
                  "so at most %(room)d can be added.")
                % {"max": MAX_STOCK, "name": product.name,
                   "available": current["stock_quantity"],
                   "room": MAX_STOCK - current["stock_quantity"]})
        raise ApplicationError(
            _("Stock cannot go below zero: %(name)s has %(available)d in stock, so at most "
              "%(available)d can be taken off.")
            % {"name": product.name, "available": current["stock_quantity"]})
    StockMovement.objects.create(product=product, quantity=quantity_delta, reason=reason,
                                 note=(note or "")[:200], user=actor)
    product.refresh_from_db()
    event_record(name="product.stock_adjusted", actor=actor, subject=product,
                 payload={**_payload(product), "change": quantity_delta, "reason": reason,
                          "stock": product.stock_quantity})
    return product
