"""Orders with their lines (the purchase history) and the per-customer purchase figures
kept current by the order services, so segments, churn checks and reports read one row."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from crm.models import BaseModel
from customers.models import SoftDeleteQuerySet


class Order(BaseModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        CONFIRMED = "confirmed", _("Confirmed")
        SHIPPED = "shipped", _("Shipped")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    # Statuses whose orders count as purchases (stock taken, figures counted).
    PLACED = (Status.CONFIRMED, Status.SHIPPED, Status.COMPLETED)

    number = models.CharField(_("order number"), max_length=32, unique=True)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"),
                                 on_delete=models.PROTECT, related_name="orders", db_index=False)
    contact = models.ForeignKey("customers.Contact", verbose_name=_("contact"), null=True,
                                blank=True, on_delete=models.SET_NULL, related_name="+")
    opportunity = models.ForeignKey("sales.Opportunity", verbose_name=_("opportunity"),
                                    null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="orders")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True,
                              blank=True, on_delete=models.SET_NULL, related_name="orders")
    team = models.ForeignKey("accounts.Team", verbose_name=_("team"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="orders")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.DRAFT)
    currency = models.CharField(_("currency"), max_length=3, default=settings.CRM_CURRENCY)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2,
                                default=Decimal("0"))
    ordered_at = models.DateTimeField(_("ordered"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        permissions = [("confirm_order", _("Can confirm and cancel orders"))]
        indexes = [
            GinIndex(OpClass(Upper("number"), name="gin_trgm_ops"), name="order_number_trgm"),
            models.Index(fields=["-created_at", "-id"], name="order_created",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["owner", "-created_at", "-id"], name="order_owner",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["team", "-created_at", "-id"], name="order_team",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["customer", "-ordered_at", "-id"], name="order_customer"),
            models.Index(fields=["status", "-created_at"], name="order_status"),
            models.Index(fields=["total", "id"], name="order_total_order",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["-ordered_at"], name="order_ordered",
                         condition=Q(ordered_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_placed(self) -> bool:
        return self.status in self.PLACED

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT and self.deleted_at is None


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    product = models.ForeignKey("sales.Product", verbose_name=_("product"),
                                on_delete=models.PROTECT, related_name="order_lines",
                                db_index=False)
    description = models.CharField(_("description"), max_length=200, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2,
                                     validators=[MinValueValidator(Decimal("0"))])
    discount_percent = models.DecimalField(_("discount %"), max_digits=5, decimal_places=2,
                                           default=Decimal("0"))
    line_total = models.DecimalField(_("line total"), max_digits=14, decimal_places=2,
                                     default=Decimal("0"))

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_gte_1"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100),
                name="order_line_discount_range"),
        ]
        indexes = [
            models.Index(fields=["order", "id"], name="order_line_order"),
            models.Index(fields=["product"], name="order_line_product"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.quantity} x {self.product_id}"


class CustomerPurchaseStats(models.Model):
    """A customer's purchase figures, recomputed by the order services in the transaction that
    places or cancels an order (one indexed aggregate over that customer's orders)."""

    customer = models.OneToOneField("customers.Customer", primary_key=True,
                                    on_delete=models.CASCADE, related_name="purchase_stats")
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    total_spent = models.DecimalField(_("total spent"), max_digits=16, decimal_places=2,
                                      default=Decimal("0"))
    average_order_value = models.DecimalField(_("average order value"), max_digits=16,
                                              decimal_places=2, default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("purchase figures")
        verbose_name_plural = _("purchase figures")
        indexes = [
            models.Index(fields=["last_order_at"], name="purchase_last_order"),
            models.Index(fields=["total_spent"], name="purchase_total"),
            models.Index(fields=["order_count"], name="purchase_count"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.order_count}"
