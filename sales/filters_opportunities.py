"""The opportunity list's filters: validated query-string input, never raw GET reads."""

from __future__ import annotations

from decimal import Decimal

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, Q, Value
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from crm.filters import BootstrapFilterSet
from crm.pagination import COUNT_CAP
from sales.autocomplete import UserFilter
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
# The amounts are NUMERIC(14, 2): a bound past 10^12 is refused (a huge number would fail in
# PostgreSQL or match everything/nothing silently).
MAX_AMOUNT = 10**12
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
    owner = UserFilter(queryset=get_user_model().objects.filter(is_active=True),
                        to_field_name="uuid", label=_("Owner"), empty_label=_("Anyone"))
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), to_field_name="uuid",
                                            label=_("Team"), empty_label=_("Any team"))
    customer = django_filters.CharFilter(method="filter_customer", label=_("Customer"),
                                         max_length=100)
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte",
                                             label=_("Amount from"), min_value=0,
                                             max_value=MAX_AMOUNT)
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte",
                                             label=_("Amount up to"), min_value=0,
                                             max_value=MAX_AMOUNT)
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

    def totals(self, cap: int = COUNT_CAP, *, branches: list[Q] | None = None) -> dict:
        """How many, the amount and the weighted amount of the filtered set, in ONE query:
        a capped count (at most `cap` + 1 index entries per branch, like crm.pagination's
        capped counts) and, only under the cap, the sums (the sum subquery sits in a CASE:
        PostgreSQL runs it only then). Past the cap: {"count": cap, "capped": True} and no
        sums (sums are exact or not shown). `branches`: disjoint filters covering the set
        (sales.selectors.visible_branches) that make each subquery an index range."""
        # One compiled union serves both the count and the sums (compiling the filtered query
        # per branch costs more than the query): the covering indexes answer either.
        rows = self._union(("amount", "probability"), cap + 1, branches)
        if rows is None:  # qs.none(): nothing to add up
            return {"count": 0, "capped": False, "amount": Decimal("0.00"),
                    "weighted": Decimal("0.00")}
        with connection.cursor() as cursor:
            # The ORM's own SQL and parameters, wrapped: nothing of the user's is inlined.
            cursor.execute(
                "SELECT c.n, CASE WHEN c.n <= %s THEN (SELECT ARRAY["  # noqa: S608
                "COALESCE(SUM(t.amount), 0), COALESCE(SUM(t.amount * t.probability), 0) / 100]"
                f" FROM ({rows[0]}) AS t) END FROM (SELECT COUNT(*) AS n FROM "
                f"(SELECT 1 FROM ({rows[0]}) AS u LIMIT %s) AS v) AS c",
                [cap, *rows[1], *rows[1], cap + 1])
            count, sums = cursor.fetchone()
        if count > cap:
            return {"count": cap, "capped": True, "amount": None, "weighted": None}
        amount, weighted = sums
        return {"count": count, "capped": False, "amount": amount,
                "weighted": weighted.quantize(Decimal("0.01"))}

    def _union(self, columns: tuple[str, ...], limit: int,
               branches: list[Q] | None) -> tuple[str, list] | None:
        """`columns` of the filtered set, at most `limit` rows per branch, UNION ALL'd."""
        parts, params = [], []
        for branch in branches or [Q()]:
            inner = self.qs.filter(branch).order_by().values_list(*columns)[:limit]
            try:
                sql, inner_params = inner.query.sql_with_params()
            except EmptyResultSet:
                continue
            parts.append(f"({sql})")
            params += inner_params
        if not parts:
            return None
        return " UNION ALL ".join(parts), params

    def lookups(self) -> tuple[dict, dict]:
        """({stage id: (uuid, name, is_won, is_lost)}, {team id: (uuid, name)}) of every
        stage and team (a few dozen rows), in the order the filter lists them: the list's
        rows name their stage and team from these rather than by two more joins (each costs
        the planner about a millisecond), and load_choices offers them. Read once."""
        if getattr(self, "_lookups", None) is None:
            fields = self.form.fields
            # One query, a UNION ALL: the stages in their order, then the teams by name.
            stages = fields["stage"].queryset.annotate(
                part_=Value(0), order_=F("order"), name_=Value("")).values_list(
                "part_", "order_", "name_", "id", "uuid", "name", "is_won", "is_lost").order_by()
            teams = fields["team"].queryset.annotate(
                part_=Value(1), order_=Value(0), name_=F("name"), won_=Value(False),
                lost_=Value(False)).values_list(
                "part_", "order_", "name_", "id", "uuid", "name", "won_", "lost_").order_by()
            self._lookups = ({}, {})
            for part, _order, _name, pk, uuid, name, won, lost in stages.union(
                    teams, all=True).order_by("part_", "order_", "name_", "id"):
                self._lookups[part][pk] = (uuid, name, won, lost) if part == 0 else (uuid,
                                                                                      name)
        return self._lookups

    def load_choices(self) -> None:
        """Only the full page shows the form: the stage and team lists come from lookups()
        (the owner is an autocomplete: it renders the chosen user only). A stage's and a
        team's str() is its name."""
        form = self.form
        for name, lookup in zip(("stage", "team"), self.lookups(), strict=True):
            field = form.fields[name]
            field.widget.choices = [("", field.empty_label), *(
                (str(row[0]), row[1]) for row in lookup.values())]

    def advanced_in_use(self) -> bool:
        data = self.data or {}
        return any(data.get(name) for name in ADVANCED)
