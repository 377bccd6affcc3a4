"""The order list's filters: validated query-string input, never raw GET reads."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from crm.filters import BootstrapFilterSet, end_of_day, start_of_day
from customers.models import Customer
from sales.autocomplete import UserFilter
from sales.models import Order
from sales.search import like_q

ORDERINGS = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "-total": ("-total", "-id"),
    "total": ("total", "id"),
}
DEFAULT_ORDERING = "-created"
ADVANCED = ("team", "customer", "ordered_after", "ordered_before", "total_min", "total_max")
# Totals are NUMERIC(14, 2): bounds past 10^12 are refused with a form error.
MAX_AMOUNT = 10**12


def _person_label(user) -> str:
    return user.get_full_name() or user.email


def _date_widget():
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class OrderFilter(BootstrapFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    status = django_filters.ChoiceFilter(choices=Order.Status.choices, label=_("Status"),
                                         empty_label=_("Any status"))
    owner = UserFilter(
        queryset=get_user_model().objects.filter(is_active=True).order_by(
            "first_name", "last_name", "email"),
        to_field_name="uuid", label=_("Owner"), empty_label=_("Anyone"))
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.order_by("name"), to_field_name="uuid", label=_("Team"),
        empty_label=_("Any team"))
    # The customer by its public id (the 360 page's "all orders" link); the list's access
    # path already limits the orders to visible ones.
    customer = django_filters.UUIDFilter(method="filter_customer", label=_("Customer"),
                                         widget=forms.HiddenInput)
    ordered_after = django_filters.DateFilter(method="filter_ordered_after",
                                              label=_("Ordered from"), widget=_date_widget())
    ordered_before = django_filters.DateFilter(method="filter_ordered_before",
                                               label=_("Ordered until"), widget=_date_widget())
    total_min = django_filters.NumberFilter(field_name="total", lookup_expr="gte",
                                            label=_("Total from"), min_value=0,
                                            max_value=MAX_AMOUNT)
    total_max = django_filters.NumberFilter(field_name="total", lookup_expr="lte",
                                            label=_("Total up to"), min_value=0,
                                            max_value=MAX_AMOUNT)
    ordering = django_filters.ChoiceFilter(
        method="filter_ordering", label=_("Sort by"), empty_label=None,
        choices=[("-created", _("Newest first")), ("created", _("Oldest first")),
                 ("-total", _("Largest total")), ("total", _("Smallest total"))])

    class Meta:
        model = Order
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer_obj = None

    def search(self, queryset, name, value):
        """Order number (trigram index on UPPER(number)) or customer name (the customers'
        trigram index on UPPER(name), through a semi-join)."""
        value = value.strip()
        if not value:
            return queryset
        # Below three characters a whole-value match (see sales.search).
        return queryset.filter(
            like_q(value, "number")
            | Q(customer_id__in=Customer.objects.filter(like_q(value, "name")).values("pk")))

    def filter_customer(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(customer__uuid=value)

    def filter_ordered_after(self, queryset, name, value):
        start = start_of_day(value)
        return queryset if start is None else queryset.filter(ordered_at__gte=start)

    def filter_ordered_before(self, queryset, name, value):
        end = end_of_day(value)
        return queryset if end is None else queryset.filter(ordered_at__lt=end)

    def filter_ordering(self, queryset, name, value):
        return queryset

    def keyset_ordering(self) -> tuple[str, ...]:
        value = None
        if self.is_bound:
            self.errors  # noqa: B018 (validate once)
            value = self.form.cleaned_data.get("ordering")
        return ORDERINGS.get(value or DEFAULT_ORDERING, ORDERINGS[DEFAULT_ORDERING])

    def in_use(self) -> bool:
        """Whether any filter (not the sort) is in the query string (the view may then trust
        the planner's estimate of the list's size)."""
        data = self.data or {}
        return any(data.get(name) not in (None, "") for name in self.filters
                   if name != "ordering")

    def advanced_in_use(self) -> bool:
        data = self.data or {}
        return any(data.get(name) for name in ADVANCED if name != "customer")
