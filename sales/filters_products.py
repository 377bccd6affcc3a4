"""The product catalogue's filters: validated query-string input, whitelisted sorts."""

from __future__ import annotations

import django_filters
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from crm.filters import BootstrapFilterSet
from sales.models import Product
from sales.search import like_q

ORDERINGS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "sku": ("sku", "id"),
    "stock": ("stock_quantity", "id"),
    "-stock": ("-stock_quantity", "-id"),
    "-created": ("-created_at", "-id"),
}
DEFAULT_ORDERING = "name"


def low_stock(queryset):
    """Products on sale at or below their low-stock level, written as the expression of the
    product_low_stock index ((stock_quantity - low_stock_threshold) WHERE deleted_at IS NULL
    AND is_active), so PostgreSQL answers it from that index."""
    return queryset.alias(shortfall=F("stock_quantity") - F("low_stock_threshold")).filter(
        shortfall__lte=0, is_active=True, deleted_at__isnull=True)


class ProductFilter(BootstrapFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    active = django_filters.ChoiceFilter(
        method="filter_active", label=_("On sale"), empty_label=_("All products"),
        choices=[("yes", _("On sale")), ("no", _("Not on sale"))])
    low = django_filters.BooleanFilter(method="filter_low", label=_("Low on stock only"),
                                       widget=django_filters.widgets.BooleanWidget())
    ordering = django_filters.ChoiceFilter(
        method="filter_ordering", label=_("Sort by"), empty_label=None,
        choices=[("name", _("Name A-Z")), ("-name", _("Name Z-A")), ("sku", _("SKU")),
                 ("stock", _("Lowest stock first")), ("-stock", _("Highest stock first")),
                 ("-created", _("Newest first"))])

    class Meta:
        model = Product
        fields = []

    def search(self, queryset, name, value):
        """SKU and name by substring: the trigram indexes on UPPER(sku) and UPPER(name) serve
        icontains."""
        value = value.strip()
        if not value:
            return queryset
        # Below three characters a whole-value match (see sales.search).
        return queryset.filter(like_q(value, "sku", "name"))

    def filter_active(self, queryset, name, value):
        if value == "yes":
            return queryset.filter(is_active=True)
        if value == "no":
            return queryset.filter(is_active=False)
        return queryset

    def filter_low(self, queryset, name, value):
        return low_stock(queryset) if value else queryset

    def filter_ordering(self, queryset, name, value):
        return queryset

    def keyset_ordering(self) -> tuple[str, ...]:
        value = None
        if self.is_bound:
            self.errors  # noqa: B018 (validate once)
            value = self.form.cleaned_data.get("ordering")
        return ORDERINGS.get(value or DEFAULT_ORDERING, ORDERINGS[DEFAULT_ORDERING])
