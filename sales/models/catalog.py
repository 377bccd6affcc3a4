"""The product catalogue, with stock kept by orders in the same transaction."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import BaseModel
from customers.models import SoftDeleteQuerySet


class Product(BaseModel):
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2,
                                validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(_("currency"), max_length=3, default=settings.CRM_CURRENCY)
    stock_quantity = models.IntegerField(_("in stock"), default=0)
    low_stock_threshold = models.PositiveIntegerField(_("low-stock level"), default=5)
    is_active = models.BooleanField(_("on sale"), default=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        permissions = [("adjust_stock", _("Can adjust stock"))]
        constraints = [
            models.UniqueConstraint(Upper("sku"), name="product_sku_ci"),
            # Stock never goes below zero, whatever path changes it.
            models.CheckConstraint(condition=Q(stock_quantity__gte=0), name="product_stock_gte_0"),
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_gte_0"),
        ]
        indexes = [
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="product_name_trgm"),
            GinIndex(OpClass(Upper("sku"), name="gin_trgm_ops"), name="product_sku_trgm"),
            models.Index(fields=["name", "id"], name="product_name_order",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(F("stock_quantity") - F("low_stock_threshold"), name="product_low_stock",
                         condition=Q(deleted_at__isnull=True, is_active=True)),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    @property
    def is_low_on_stock(self) -> bool:
        return self.stock_quantity <= self.low_stock_threshold


class StockMovement(models.Model):
    """Every change of a product's stock, with why: the stock ledger."""

    class Reason(models.TextChoices):
        ORDER = "order", _("Order confirmed")
        CANCEL = "cancel", _("Order cancelled")
        RECEIPT = "receipt", _("Goods received")
        ADJUSTMENT = "adjustment", _("Stock count adjustment")

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="movements",
                                db_index=False)
    quantity = models.IntegerField(_("change"))
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices)
    order = models.ForeignKey("sales.Order", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="stock_movements")
    note = models.CharField(_("note"), max_length=200, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        indexes = [models.Index(fields=["product", "-created_at"], name="stock_by_product")]

    def __str__(self) -> str:
        return f"{self.product_id} {self.quantity:+d}"
