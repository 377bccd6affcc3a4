"""The customer list's filters: validated query-string input, never raw GET reads."""

from __future__ import annotations

import json

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import CharField, F, IntegerField, Q, Value
from django.db.models.functions import Cast, Concat, JSONObject
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from crm.filters import BootstrapFilterSet
from crm.prepared import Compiled
from customers import custom_fields
from customers.autocomplete import TagAutocompleteMultiple, UserAutocomplete
from customers.models import Customer, CustomerTag, DictionaryEntry, Tag, phone_digits

# Whitelisted sorts: the choice in the query string -> the keyset ordering (ends with the pk).
ORDERINGS = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
}
DEFAULT_ORDERING = "-created"
# Filters tucked away under "More filters" (shown open when one of them is in use).
ADVANCED = ("team", "level", "industry", "source", "region", "tags", "created_after",
            "created_before")
# Phone search starts at this many digits (fewer would match nearly every number).
MIN_PHONE_DIGITS = 3
DICTIONARY_FILTERS = {
    "level": DictionaryEntry.Kind.LEVEL,
    "industry": DictionaryEntry.Kind.INDUSTRY,
    "source": DictionaryEntry.Kind.SOURCE,
    "region": DictionaryEntry.Kind.REGION,
}


def _person_label(user) -> str:
    return user.get_full_name() or user.email


class OwnerFilter(django_filters.ModelChoiceFilter):
    @property
    def field(self):
        field = super().field
        field.label_from_instance = _person_label
        if not isinstance(field.widget, UserAutocomplete):
            field.widget = UserAutocomplete(attrs={"class": "form-select"},
                                            placeholder=field.empty_label)
            field.widget.choices = field.choices
        return field


def _dictionary_filter(kind, label, empty_label):
    return django_filters.ModelChoiceFilter(
        queryset=DictionaryEntry.objects.filter(kind=kind, is_active=True),
        to_field_name="uuid", label=label, empty_label=empty_label,
    )


def _date_widget():
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class CustomFieldFilter(django_filters.Filter):
    """One custom field of the customers (choice, yes/no, exact text) as a list filter.

    Equality through `custom_data @> {key: value}`, which the GIN jsonb_path_ops index
    serves (custom_fields.equals_q)."""

    def __init__(self, *, definition, **kwargs):
        self.definition = definition
        super().__init__(field_name="custom_data", label=definition.label, **kwargs)

    @property
    def field(self):
        if not hasattr(self, "_field"):
            self._field = custom_fields.filter_field(self.definition)
        return self._field

    def filter(self, qs, value):
        if value is None or value == "":
            return qs
        return qs.filter(custom_fields.equals_q(self.definition, value))


# The key of the teams in filter_choices_load()'s answer.
TEAMS = "team"


def _choices_queryset():
    """The filter bar's choice lists (the four dictionary lists and the teams) and the custom
    field definitions as ONE query: a UNION ALL of the three small tables, each row as JSON."""
    dictionary = (
        DictionaryEntry.objects.filter(is_active=True,
                                       kind__in=list(DICTIONARY_FILTERS.values()))
        .annotate(grp=Concat(Value("d:"), F("kind"), output_field=CharField()),
                  row=JSONObject(uuid=Cast("uuid", CharField()), label=F("label")))
        .values_list("grp", "order", "label", "row")
    )
    teams = (
        Team.objects.annotate(grp=Value("t:", output_field=CharField()),
                              position=Value(0, output_field=IntegerField()),
                              row=JSONObject(uuid=Cast("uuid", CharField()), label=F("name")))
        .values_list("grp", "position", "name", "row")
    )
    definitions = (
        custom_fields.active_definitions_qs()
        .annotate(grp=Concat(Value("f:"), F("entity"), output_field=CharField()),
                  row=custom_fields.definitions_json())
        .values_list("grp", "order", "label", "row")
    )
    return dictionary.union(teams, definitions, all=True).order_by("grp", "order", "label")


# Compiled once per process and prepared (crm.prepared): it never changes, and compiling the
# three-way UNION took the ORM longer (~2 ms) than PostgreSQL took to run it.
_CHOICES = Compiled(lambda _none: _choices_queryset())


def filter_choices_load(request) -> dict[str, list[tuple[str, str]]]:
    """The filter bar's choice lists and the request's custom field definitions (cached on
    the request for the filters and the page), in one query (_choices_queryset). Returns
    {dictionary kind or TEAMS: [(uuid, label), ...]}."""
    _names, rows = _CHOICES.run(None)
    entries: dict[str, list] = {}
    fields = []
    for grp, _order, _label, row in rows:
        row = json.loads(row) if isinstance(row, str | bytes) else row
        if grp.startswith("d:"):
            entries.setdefault(grp[2:], []).append((row["uuid"], row["label"]))
        elif grp == "t:":
            entries.setdefault(TEAMS, []).append((row["uuid"], row["label"]))
        else:
            fields.append(row)
    custom_fields.definitions_prime(request, custom_fields.definitions_from_json(fields))
    return entries


class CustomerFilter(BootstrapFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    status = django_filters.ChoiceFilter(choices=Customer.Status.choices, label=_("Status"),
                                         empty_label=_("Any status"))
    owner = OwnerFilter(
        queryset=get_user_model().objects.filter(is_active=True).order_by(
            "first_name", "last_name", "email"),
        to_field_name="uuid", label=_("Owner"), empty_label=_("Anyone"),
    )
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.order_by("name"), to_field_name="uuid", label=_("Team"),
        empty_label=_("Any team"),
    )
    level = _dictionary_filter(DictionaryEntry.Kind.LEVEL, _("Level"), _("Any level"))
    industry = _dictionary_filter(DictionaryEntry.Kind.INDUSTRY, _("Industry"),
                                  _("Any industry"))
    source = _dictionary_filter(DictionaryEntry.Kind.SOURCE, _("Source"), _("Any source"))
    region = _dictionary_filter(DictionaryEntry.Kind.REGION, _("Region"), _("Any region"))
    tags = django_filters.ModelMultipleChoiceFilter(
        queryset=Tag.objects.order_by("name"), to_field_name="uuid", method="filter_tags",
        label=_("Tags (any of)"),
        widget=TagAutocompleteMultiple(attrs={"class": "form-select"}),
    )
    created_after = django_filters.DateFilter(method="filter_created_after",
                                              label=_("Created from"), widget=_date_widget())
    created_before = django_filters.DateFilter(method="filter_created_before",
                                               label=_("Created until"), widget=_date_widget())
    ordering = django_filters.ChoiceFilter(
        method="filter_ordering", label=_("Sort by"), empty_label=None,
        choices=[("-created", _("Newest first")), ("created", _("Oldest first")),
                 ("name", _("Name A-Z")), ("-name", _("Name Z-A"))],
    )

    class Meta:
        model = Customer
        fields = []

    def __init__(self, data=None, queryset=None, *, definitions=None, **kwargs):
        """`definitions`: the active customer field definitions (the list view passes those
        it loaded for the request; None loads them): the filterable ones become filters
        "cf_<key>" under "More filters"."""
        super().__init__(data, queryset, **kwargs)
        if definitions is None:
            definitions = custom_fields.definitions_for(self.request).customer
        self.custom_definitions = [d for d in definitions
                                   if d.field_type in custom_fields.FILTERABLE]
        for definition in self.custom_definitions:
            custom = CustomFieldFilter(definition=definition)
            custom.model, custom.parent = self.queryset.model, self
            self.filters[custom_fields.field_name(definition)] = custom

    # --- filters ------------------------------------------------------------------------------
    def search(self, queryset, name, value):
        """Name, code and e-mail by substring (trigram indexes on UPPER(col) serve icontains),
        and the phone by its digits, so "+86 138-0013" finds "+8613800138000"."""
        value = value.strip()
        if not value:
            return queryset
        q = Q(name__icontains=value) | Q(code__icontains=value) | Q(email__icontains=value)
        digits = phone_digits(value)
        if len(digits) >= MIN_PHONE_DIGITS:
            q |= Q(phone_digits__contains=digits)
        return queryset.filter(q)

    def filter_tags(self, queryset, name, value):
        if not value:
            return queryset
        # A semi-join: no DISTINCT over the customer table, whatever the number of tags.
        return queryset.filter(
            pk__in=CustomerTag.objects.filter(tag__in=value).values("customer_id")
        )

    def filter_ordering(self, queryset, name, value):
        return queryset.order_by(*self.keyset_ordering())

    # --- for the view and the template --------------------------------------------------------
    def keyset_ordering(self) -> tuple[str, ...]:
        return ORDERINGS.get(self._clean("ordering") or DEFAULT_ORDERING,
                             ORDERINGS[DEFAULT_ORDERING])

    def in_use(self) -> bool:
        """Whether any filter (not the sort) is in the query string: without one, the list is
        only the visibility rule, and the pager may trust the planner's estimate of its size."""
        data = self.data or {}
        return any(data.get(name) not in (None, "") for name in self.filters
                   if name != "ordering")

    def load_choices(self, dictionary: dict[str, list] | None = None) -> None:
        """Fill the choice lists for display with as few queries as possible: the four
        dictionary lists (and the teams) come from one query; owners and tags are kept for the
        bulk form too.
        (Only the widgets get the lists; a chosen value is still validated against the
        field's queryset.) Only the full page
        calls this: the htmx results fragment shows no filter form. `dictionary`: the lists
        filter_choices_load() already read (with the custom field definitions); with them the
        bar has a fingerprint, and {% filter_bar %} may reuse its HTML while unbound. The
        lists reach the widgets when the form is built (prepare_form), if it ever is."""
        entries: dict[str, list] = dictionary if dictionary is not None else {}
        if dictionary is None:
            for entry in DictionaryEntry.objects.filter(
                is_active=True, kind__in=list(DICTIONARY_FILTERS.values())
            ).only("uuid", "label", "kind"):
                entries.setdefault(entry.kind, []).append((str(entry.uuid), entry.label))
        else:
            self.choices_fingerprint = (
                tuple((name, tuple(rows)) for name, rows in sorted(dictionary.items())),
                repr([(d.pk, d.version, d.key, d.label, d.field_type, d.choices, d.help_text)
                      for d in self.custom_definitions]),
            )
        self._choice_lists = (entries, dictionary is not None)
        if hasattr(self, "_form"):
            self.prepare_form(self._form)

    def prepare_form(self, form) -> None:
        lists = getattr(self, "_choice_lists", None)
        if lists is None:
            return
        entries, with_teams = lists
        for name, kind in DICTIONARY_FILTERS.items():
            field = form.fields[name]
            field.widget.choices = [("", field.empty_label), *entries.get(kind, [])]
        if with_teams:
            # The teams came with the lists (in name order, as the field's queryset): the
            # widget does not run its own query.
            field = form.fields["team"]
            field.widget.choices = [("", field.empty_label), *entries.get(TEAMS, [])]
        # Owner and tags are autocompletes (customers.autocomplete): their widgets render the
        # chosen values only, never every user or tag.
        for name in ("owner", "tags"):
            field = form.fields[name]
            field.widget.choices = field.choices

    def custom_fields_bound(self) -> list:
        """The custom field filters' bound fields, for the template."""
        form = self.form
        return [form[custom_fields.field_name(d)] for d in self.custom_definitions]

    def advanced_in_use(self) -> bool:
        data = self.data or {}
        names = [*ADVANCED, *(custom_fields.field_name(d) for d in self.custom_definitions)]
        return any(data.get(name) for name in names)
