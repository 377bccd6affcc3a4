"""The contact list's filters: validated query-string input, never raw GET reads."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.dates import MONTHS
from django.utils.translation import gettext_lazy as _

from crm.filters import BootstrapFilterSet
from customers.models import Contact, phone_digits

# Whitelisted sorts: the choice in the query string -> the keyset ordering (ends with the pk).
ORDERINGS = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "name": ("last_name", "first_name", "id"),
    "-name": ("-last_name", "-first_name", "-id"),
}
DEFAULT_ORDERING = "-created"
# Search by substring starts at this many characters: a shorter LIKE pattern holds no trigram,
# so the GIN indexes could not narrow it down.
MIN_SEARCH_LENGTH = 2
MIN_PHONE_DIGITS = 3
MAX_SEARCH_LENGTH = 100
MAX_TERMS = 4
YES, NO = "yes", "no"


class ContactFilter(BootstrapFilterSet):
    q = django_filters.CharFilter(
        method="search", label=_("Search"), max_length=MAX_SEARCH_LENGTH,
    )
    # Only from the query string (the customer's page links here): no widget on the page.
    customer = django_filters.UUIDFilter(method="filter_customer", label=_("Customer"),
                                         widget=forms.HiddenInput)
    consent = django_filters.ChoiceFilter(
        method="filter_consent", label=_("Marketing consent"), empty_label=_("Any"),
        choices=[(YES, _("Agrees to marketing")), (NO, _("No consent"))],
    )
    channel = django_filters.ChoiceFilter(
        field_name="preferred_channel", choices=Contact.Channel.choices,
        label=_("Preferred channel"), empty_label=_("Any channel"),
    )
    birthday_month = django_filters.ChoiceFilter(
        method="filter_birthday_month", label=_("Birthday in"), empty_label=_("Any month"),
        choices=[(str(number), name) for number, name in MONTHS.items()],
    )
    ordering = django_filters.ChoiceFilter(
        method="filter_ordering", label=_("Sort by"), empty_label=None,
        choices=[("-created", _("Newest first")), ("created", _("Oldest first")),
                 ("name", _("Last name A-Z")), ("-name", _("Last name Z-A"))],
    )

    class Meta:
        model = Contact
        fields = []

    def search(self, queryset, name, value):
        """Every word in the first or last name, or the whole text in the e-mail, by substring
        (the trigram indexes on UPPER(col) serve icontains); the phone by its digits, so
        "138-0013" finds "+86 138 0013 8000"."""
        value = " ".join(value.split())
        if len(value) < MIN_SEARCH_LENGTH:
            return queryset
        by_name = Q()
        terms = [t for t in value.split() if len(t) >= MIN_SEARCH_LENGTH][:MAX_TERMS]
        for term in terms:
            by_name &= Q(first_name__icontains=term) | Q(last_name__icontains=term)
        q = by_name | Q(email__icontains=value)
        digits = phone_digits(value)
        if len(digits) >= MIN_PHONE_DIGITS:
            q |= Q(phone_digits__contains=digits)
        return queryset.filter(q)

    def filter_customer(self, queryset, name, value):
        # The view has already fetched the customer through the access path (404 otherwise).
        return queryset.filter(customer__uuid=value)

    def filter_consent(self, queryset, name, value):
        return queryset.filter(marketing_consent=(value == YES))

    def filter_birthday_month(self, queryset, name, value):
        # The choices allow only 1-12. Not served by the birthday index (an expression
        # index on EXTRACT(MONTH FROM birthday) would be); the other filters and the keyset
        # index bound the rows read.
        return queryset.filter(birthday__month=int(value))

    def filter_ordering(self, queryset, name, value):
        return queryset.order_by(*self.keyset_ordering())

    # --- for the view and the template --------------------------------------------------------
    def cleaned(self, name):
        if not self.is_bound:
            return None
        self.errors  # noqa: B018 (validate the form once)
        return self.form.cleaned_data.get(name)

    def in_use(self) -> bool:
        """Whether any filter (not the sort) is in the query string (see crm.pagination:
        without one the pager may trust the planner's estimate of the list's size)."""
        data = self.data or {}
        return any(data.get(name) not in (None, "") for name in self.filters
                   if name != "ordering")

    def keyset_ordering(self) -> tuple[str, ...]:
        return ORDERINGS.get(self.cleaned("ordering") or DEFAULT_ORDERING,
                             ORDERINGS[DEFAULT_ORDERING])
