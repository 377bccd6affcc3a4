"""The feedback list's filters: validated query-string input, never raw GET reads."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from crm.filters import BootstrapFilterSet
from customers.models import Customer
from service.models import Feedback

ORDERING = ("-created_at", "-id")
ADVANCED = ("created_after", "created_before")


def _date_widget():
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class FeedbackFilter(BootstrapFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Customer"), max_length=100)
    kind = django_filters.ChoiceFilter(choices=Feedback.Kind.choices, label=_("Type"),
                                       empty_label=_("Any type"))
    status = django_filters.ChoiceFilter(choices=Feedback.Status.choices, label=_("Status"),
                                         empty_label=_("Any status"))
    # One customer by its public id (the 360 page's link); the access path still applies.
    customer = django_filters.UUIDFilter(method="filter_customer", label=_("Customer"),
                                         widget=forms.HiddenInput)
    created_after = django_filters.DateFilter(method="filter_created_after",
                                              label=_("Logged from"), widget=_date_widget())
    created_before = django_filters.DateFilter(method="filter_created_before",
                                               label=_("Logged until"), widget=_date_widget())

    class Meta:
        model = Feedback
        fields = []

    def search(self, queryset, name, value):
        """The customer's name (trigram index on UPPER(name)) or code, through a semi-join."""
        value = " ".join(value.split())
        if not value:
            return queryset
        return queryset.filter(customer_id__in=Customer.objects.filter(
            name__icontains=value).values("pk"))

    def filter_customer(self, queryset, name, value):
        return queryset.filter(customer__uuid=value) if value else queryset

    def advanced_in_use(self) -> bool:
        data = self.data or {}
        return any(data.get(name) for name in ADVANCED)
