"""The ticket queues' filters: validated query-string input, never raw GET reads; and the keyset
pages for the sorts that are not plain columns (priority rank, due time)."""

from __future__ import annotations

import base64
import binascii
import datetime
import json

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import (
    CharField,
    IntegerField,
    Q,
    Value,
)
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from crm import pagination
from crm.filters import BootstrapFilterSet
from customers.autocomplete import UserAutocomplete
from customers.models import DictionaryEntry
from sales.search import like_q
from service.forms import person_label
from service.models import Ticket
from service.models.tickets import DUE_AT, FAR_FUTURE, PRIORITY_RANK  # noqa: F401

OPEN = "open"
# Whitelisted sorts: the choice in the query string -> (annotations, keyset ordering).
ORDERINGS = {
    "-created": ({}, ("-created_at", "-id")),
    "created": ({}, ("created_at", "id")),
    "priority": ({"priority_rank": PRIORITY_RANK}, ("-priority_rank", "-created_at", "-id")),
    "due": ({"due_sort": DUE_AT}, ("due_sort", "id")),
}
ADVANCED = ("category", "team", "assignee", "channel", "customer", "created_after",
            "created_before", "breached")


def _date_widget():
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class PersonFilter(django_filters.ModelChoiceFilter):
    """A user filter as an autocomplete: the page renders the chosen user only."""

    @property
    def field(self):
        field = super().field
        field.label_from_instance = person_label
        if not isinstance(field.widget, UserAutocomplete):
            field.widget = UserAutocomplete(attrs={"class": "form-select"},
                                            placeholder=field.empty_label)
            field.widget.choices = field.choices
        return field


class TicketFilter(BootstrapFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    status = django_filters.ChoiceFilter(
        choices=[(OPEN, _("Open (not resolved)")), *Ticket.Status.choices],
        method="filter_status", label=_("Status"), empty_label=_("Any status"))
    priority = django_filters.ChoiceFilter(choices=Ticket.Priority.choices, label=_("Priority"),
                                           empty_label=_("Any priority"))
    category = django_filters.ModelChoiceFilter(
        queryset=DictionaryEntry.objects.filter(kind=DictionaryEntry.Kind.TICKET_CATEGORY),
        to_field_name="uuid", label=_("Category"), empty_label=_("Any category"))
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.order_by("name"),
                                            to_field_name="uuid", label=_("Team"),
                                            empty_label=_("Any team"))
    assignee = PersonFilter(
        queryset=get_user_model().objects.filter(is_active=True), to_field_name="uuid",
        label=_("Assignee"), empty_label=_("Anyone"))
    channel = django_filters.ChoiceFilter(choices=Ticket.Channel.choices, label=_("Channel"),
                                          empty_label=_("Any channel"))
    customer = django_filters.CharFilter(method="filter_customer", label=_("Customer"))
    created_after = django_filters.DateFilter(method="filter_created_after",
                                              label=_("Created from"), widget=_date_widget())
    created_before = django_filters.DateFilter(method="filter_created_before",
                                               label=_("Created until"), widget=_date_widget())
    breached = django_filters.ChoiceFilter(
        choices=[("yes", _("SLA breached")), ("no", _("Within SLA"))], method="filter_breached",
        label=_("SLA"), empty_label=_("Any"))
    ordering = django_filters.ChoiceFilter(
        method="filter_ordering", label=_("Sort by"), empty_label=_("Default"),
        choices=[("-created", _("Newest first")), ("created", _("Oldest first")),
                 ("priority", _("Priority (urgent first)")), ("due", _("Due soonest"))],
    )

    class Meta:
        model = Ticket
        fields = []

    def __init__(self, data=None, queryset=None, *, default_ordering="-created", **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.default_ordering = default_ordering
        for name in ("q", "customer"):
            self.form.fields[name].widget.attrs["maxlength"] = 100

    # --- filters ------------------------------------------------------------------------------
    def search(self, queryset, name, value):
        """Number, subject and requester e-mail by substring: the trigram indexes on
        UPPER(col) serve icontains."""
        value = value.strip()[:100]
        if not value:
            return queryset
        # Below three characters a whole-value match (see sales.search).
        return queryset.filter(like_q(value, "number", "subject", "requester_email"))

    def filter_status(self, queryset, name, value):
        if value == OPEN:
            return queryset.filter(status__in=Ticket.OPEN)
        return queryset.filter(status=value)

    def filter_customer(self, queryset, name, value):
        value = value.strip()[:100]
        if not value:
            return queryset
        return queryset.filter(like_q(value, "customer__name", "customer__code"))

    def filter_breached(self, queryset, name, value):
        late = Q(first_response_breached=True) | Q(resolution_breached=True)
        return queryset.filter(late if value == "yes" else ~late)

    def filter_ordering(self, queryset, name, value):
        return queryset  # applied by the pagination (keyset_page)

    # --- for the view and the template --------------------------------------------------------
    def ordering_key(self) -> str:
        key = self._clean("ordering") or self.default_ordering
        return key if key in ORDERINGS else "-created"

    def advanced_in_use(self) -> bool:
        return any(self._clean(name) not in (None, "") for name in ADVANCED)

    def load_choices(self) -> None:
        """The categories and teams for the filter bar in ONE query: a UNION ALL of the two
        small lists. Only the widgets get the lists; a chosen value is still validated against
        the field's queryset. The assignee is an autocomplete (never every agent)."""
        kind = CharField()
        categories = DictionaryEntry.objects.filter(
            kind=DictionaryEntry.Kind.TICKET_CATEGORY, is_active=True,
        ).values_list(Value("category", output_field=kind), Cast("uuid", kind), "label",
                      Value("", output_field=kind), Value("", output_field=kind), "order")
        teams = Team.objects.values_list(Value("team", output_field=kind), Cast("uuid", kind),
                                         "name", Value("", output_field=kind),
                                         Value("", output_field=kind),
                                         Value(0, output_field=IntegerField()))
        lists: dict[str, list] = {"category": [], "team": [], "agent": []}
        seen = set()
        for grp, uuid, label, email, _pk, _order in categories.order_by().union(
                teams.order_by(), all=True).order_by():
            if (grp, uuid) in seen:
                continue
            seen.add((grp, uuid))
            lists[grp].append((uuid, (label or "").strip() or email))
        lists["category"].sort(key=lambda c: c[1].lower())
        lists["team"].sort(key=lambda c: c[1].lower())
        form = self.form
        for name, grp in (("category", "category"), ("team", "team")):
            field = form.fields[name]
            field.widget.choices = [("", field.empty_label), *lists[grp]]


# --- keyset pages over annotated sorts ------------------------------------------------------------
def _decode(queryset, ordering, cursor):
    """The sort values in `cursor` converted with each column's field (a model field or an
    annotation); None when absent, tampered or for another sort."""
    if not cursor or len(cursor) > pagination.MAX_CURSOR_LENGTH:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("o") != ",".join(ordering):
        return None
    values = data.get("v")
    if not isinstance(values, list) or len(values) != len(ordering):
        return None
    converted = []
    for name, value in zip(ordering, values, strict=True):
        name = name.lstrip("-")
        if value is None or isinstance(value, (dict, list, bool)):
            return None
        annotation = queryset.query.annotations.get(name)
        field = annotation.output_field if annotation is not None \
            else queryset.model._meta.get_field(name)
        try:
            python = field.to_python(value)
        except (forms.ValidationError, TypeError, ValueError, OverflowError):
            return None
        except Exception:  # noqa: BLE001 (django's ValidationError from model fields)
            return None
        if python is None:
            return None
        if isinstance(python, int) and not -(2**63) <= python < 2**63:
            return None
        if isinstance(python, datetime.datetime) and timezone.is_naive(python):
            return None
        converted.append(python)
    return converted


def keyset_page(queryset, key: str, after: str | None, page_size: int = pagination.PAGE_SIZE,
                count: bool = True, fields=(), carry: tuple[int, bool, str] | None = None):
    """One keyset page of `queryset` in the whitelisted sort `key` (see ORDERINGS); with
    `count` off the caller fills in page.count and page.count_capped, and may give `carry`
    (count, capped, fingerprint) for the "next" cursor to carry (see crm.pagination.carried_count).
    `fields`: read the rows as dicts of these columns (the sort columns are added) instead of
    model instances."""
    annotations, ordering = ORDERINGS[key]
    if not annotations:
        columns = tuple(fields)
        if columns:
            columns += tuple(name.lstrip("-") for name in ordering
                             if name.lstrip("-") not in columns)
        return pagination.keyset_paginate(queryset, ordering=ordering, after=after,
                                          page_size=page_size, count=count, fields=columns,
                                          carry=carry)
    total, capped = pagination.capped_count(queryset) if count else (0, False)
    qs = queryset.annotate(**annotations)
    values = _decode(qs, ordering, after)
    qs = qs.order_by(*ordering)
    if fields:
        sort_columns = [name.lstrip("-") for name in ordering]
        qs = qs.values(*fields, *(name for name in sort_columns if name not in fields))
    if values is not None:
        qs = qs.filter(pagination._after_q(ordering, values))
    rows = list(qs[: page_size + 1])
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        next_cursor = pagination.encode_cursor(ordering, pagination.row_values(last, ordering),
                                               count=carry)
    return pagination.KeysetPage(object_list=rows, next_cursor=next_cursor,
                                 is_first=values is None, count=total, count_capped=capped,
                                 page_size=page_size, ordering=ordering)
