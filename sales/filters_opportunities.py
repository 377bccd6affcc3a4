"""The opportunity list's filters: validated query-string input, never raw GET reads."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Coalesce, Upper
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from crm.filters import BootstrapFilterSet
from sales.models import Opportunity, PipelineStage

# Whitelisted sorts: the choice in the query string -> the keyset ordering (ends with the pk;
# every column NOT NULL).
ORDERINGS = {
    "-created": ("-created_at", "-id"),
    "close": ("expected_close_date", "id"),
    "-close": ("-expected_close_date", "-id"),
    "-amount": ("-amount", "-id"),
    "amount": ("amount", "id"),
    "name": ("name", "id"),
}
ORDERING_CHOICES = [
    ("-created", _("Newest first")),
    ("close", _("Closing soonest")),
    ("-close", _("Closing latest")),
    ("-amount", _("Largest amount")),
    ("amount", _("Smallest amount")),
    ("name", _("Name")),
]
DEFAULT_ORDERING = "-created"
OPEN, WON, LOST = "open", "won", "lost"
ADVANCED = ("team", "customer", "amount_min", "amount_max", "close_after", "close_before")
# Below this many characters a LIKE pattern holds no trigram: the GIN index can't help.
MIN_LIKE_LENGTH = 3


def _person_label(user) -> str:
    return user.get_full_name() or user.email


class OwnerFilter(django_filters.ModelChoiceFilter):
    @property
    def field(self):
        field = super().field
        field.label_from_instance = _person_label
        return field


def _date_widget():
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class OpportunityFilter(BootstrapFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=100)
    stage = django_filters.ModelChoiceFilter(
        queryset=PipelineStage.objects.all(), to_field_name="uuid", label=_("Stage"),
        empty_label=_("Any stage"))
    state = django_filters.ChoiceFilter(
        method="filter_state", label=_("Open / won / lost"), empty_label=_("All"),
        choices=[(OPEN, _("Open")), (WON, _("Won")), (LOST, _("Lost"))])
    owner = OwnerFilter(queryset=get_user_model().objects.filter(is_active=True),
                        to_field_name="uuid", label=_("Owner"), empty_label=_("Anyone"))
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), to_field_name="uuid",
                                            label=_("Team"), empty_label=_("Any team"))
    customer = django_filters.CharFilter(method="filter_customer", label=_("Customer"),
                                         max_length=100)
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte",
                                             label=_("Amount from"), min_value=0)
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte",
                                             label=_("Amount up to"), min_value=0)
    close_after = django_filters.DateFilter(field_name="expected_close_date",
                                            lookup_expr="gte", label=_("Closing from"),
                                            widget=_date_widget())
    close_before = django_filters.DateFilter(field_name="expected_close_date",
                                             lookup_expr="lte", label=_("Closing until"),
                                             widget=_date_widget())
    ordering = django_filters.ChoiceFilter(method="filter_ordering", label=_("Sort by"),
                                           choices=ORDERING_CHOICES, empty_label=None)

    class Meta:
        model = Opportunity
        fields = []

    # --- filters ------------------------------------------------------------------------------
    def search(self, queryset, name, value):
        """The name, typos allowed: trigram similarity (`%`) or, from three characters, a
        substring; both served by the trigram GIN index on UPPER(name)."""
        value = value.strip()
        if not value:
            return queryset
        q = Q(name_upper__trigram_similar=value.upper())
        if len(value) >= MIN_LIKE_LENGTH:
            q |= Q(name__icontains=value)
        return queryset.annotate(name_upper=Upper("name")).filter(q)

    def filter_customer(self, queryset, name, value):
        """The customer's name or code by substring (trigram indexes on UPPER(col))."""
        value = value.strip()
        if not value:
            return queryset
        if len(value) < MIN_LIKE_LENGTH:
            return queryset.filter(Q(customer__code__iexact=value)
                                   | Q(customer__name__iexact=value))
        return queryset.filter(Q(customer__name__icontains=value)
                               | Q(customer__code__icontains=value))

    def filter_state(self, queryset, name, value):
        if value == OPEN:
            return queryset.filter(stage__is_won=False, stage__is_lost=False)
        if value == WON:
            return queryset.filter(stage__is_won=True)
        if value == LOST:
            return queryset.filter(stage__is_lost=True)
        return queryset

    def filter_ordering(self, queryset, name, value):
        return queryset.order_by(*self.keyset_ordering())

    # --- for the view and the template --------------------------------------------------------
    def keyset_ordering(self) -> tuple[str, ...]:
        choice = None
        if self.is_bound:
            self.errors  # noqa: B018 (validate the form once)
            choice = self.form.cleaned_data.get("ordering")
        return ORDERINGS.get(choice or DEFAULT_ORDERING, ORDERINGS[DEFAULT_ORDERING])

    def totals(self) -> dict:
        """How many, the amount and the weighted amount of the whole filtered set: ONE
        aggregate query."""
        weighted = ExpressionWrapper(F("amount") * F("probability") / Value(100),
                                     output_field=DecimalField(max_digits=20, decimal_places=2))
        zero = Value(0, output_field=DecimalField(max_digits=20, decimal_places=2))
        row = self.qs.order_by().aggregate(
            total_count=Count("id"),
            total_amount=Coalesce(Sum("amount"), zero),
            total_weighted=Coalesce(Sum(weighted), zero),
        )
        return {"count": row["total_count"], "amount": row["total_amount"],
                "weighted": row["total_weighted"]}

    def load_choices(self) -> None:
        """Only the full page shows the form: read the stage, owner and team lists once."""
        form = self.form
        for name, label in (("stage", str), ("owner", _person_label), ("team", str)):
            field = form.fields[name]
            field.widget.choices = [("", field.empty_label),
                                    *[(str(o.uuid), label(o)) for o in field.queryset]]

    def advanced_in_use(self) -> bool:
        data = self.data or {}
        return any(data.get(name) for name in ADVANCED)
