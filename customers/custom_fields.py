"""Custom fields: the definitions admins make (customers.models.CustomFieldDefinition) turned
into form fields, JSON values, display rows and list filters.

Values live in `Customer.custom_data` / `Contact.custom_data` (JSONB, GIN `jsonb_path_ops`),
keyed by the definition's `key`, serialised so the index and other readers can rely on them:
text and choices as strings, numbers as JSON numbers, dates as ISO strings ("2025-03-01"),
yes/no as true/false. A key whose definition was deactivated stays in the JSON untouched.

Definitions are read once per request, for both entities in one query (or piggybacked on a
query the page runs anyway: see `definitions_json` and `definitions_prime`), and cached on the
request object.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import F, JSONField, Q, Value
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import JSONObject
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from customers.models import CustomFieldDefinition

Entity = CustomFieldDefinition.Entity
FieldType = CustomFieldDefinition.FieldType

# Form and filter fields are named "cf_<key>", apart from the model's own fields.
PREFIX = "cf_"
# Keys: lowercase letters, digits and single underscores, starting with a letter. No "__" (the
# ORM's lookup separator) and no hyphen, so a key is safe in any lookup path and query string.
KEY_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
TEXT_MAX_LENGTH = 500
TRUE, FALSE = "true", "false"
_REQUEST_ATTR = "_custom_field_definitions"
# The columns a definition is rebuilt from when it rides along in another query as JSON.
_COLUMNS = ("id", "entity", "key", "label", "field_type", "choices", "required", "help_text",
            "order", "is_active", "version")


# --- definitions, once per request ----------------------------------------------------------
@dataclass(frozen=True)
class Definitions:
    """The active definitions of both entities, in display order."""

    items: tuple[CustomFieldDefinition, ...] = ()

    def for_entity(self, entity: str) -> list[CustomFieldDefinition]:
        return [d for d in self.items if d.entity == entity]

    @property
    def customer(self) -> list[CustomFieldDefinition]:
        return self.for_entity(Entity.CUSTOMER)

    @property
    def contact(self) -> list[CustomFieldDefinition]:
        return self.for_entity(Entity.CONTACT)


def _sort_key(d: CustomFieldDefinition):
    return (d.entity, d.order, d.label.casefold(), d.pk or 0)


def active_definitions_qs():
    """All active definitions (both entities): a tiny table, read whole."""
    return CustomFieldDefinition.objects.filter(is_active=True).order_by("entity", "order",
                                                                         "label", "id")


def definitions_json() -> JSONObject:
    """A definition row as one JSON value: lets a page fetch the definitions inside a query it
    runs anyway (a UNION, an ARRAY subquery), instead of a query of their own."""
    return JSONObject(**{name: F(name) for name in _COLUMNS})


def definitions_from_json(rows: Iterable[dict]) -> Definitions:
    items = [CustomFieldDefinition(**{k: row[k] for k in _COLUMNS})
             for row in rows if row and row.get("is_active")]
    return Definitions(tuple(sorted(items, key=_sort_key)))


def definitions_prime(request, definitions: Definitions) -> Definitions:
    """Cache definitions a page loaded by itself (see definitions_json) on the request."""
    if request is not None:
        setattr(request, _REQUEST_ATTR, definitions)
    return definitions


def definitions_for(request=None) -> Definitions:
    """The active definitions: cached on `request`; one query the first time per request."""
    cached = getattr(request, _REQUEST_ATTR, None) if request is not None else None
    if cached is not None:
        return cached
    return definitions_prime(request, Definitions(tuple(active_definitions_qs())))


# --- values -----------------------------------------------------------------------------------
def _number_to_json(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def to_json(definition: CustomFieldDefinition, value: Any) -> Any:
    """A cleaned form value as stored in custom_data; None means "no value" (key removed)."""
    if value is None or value == "":
        return None
    kind = definition.field_type
    if kind == FieldType.NUMBER:
        return _number_to_json(Decimal(value))
    if kind == FieldType.DATE:
        return value.isoformat()
    if kind == FieldType.BOOLEAN:
        return value in (True, TRUE)
    return str(value).strip() or None


def from_json(definition: CustomFieldDefinition, raw: Any) -> Any:
    """A stored value as a Python value for forms and display. Tolerant: a value that no
    longer fits (the type was changed since) comes back as it is, never an error."""
    if raw is None:
        return None
    kind = definition.field_type
    try:
        if kind == FieldType.DATE and isinstance(raw, str):
            return datetime.date.fromisoformat(raw)
        if kind == FieldType.NUMBER and isinstance(raw, (int, float)) \
                and not isinstance(raw, bool):
            return Decimal(str(raw))
    except ValueError:
        return raw
    return raw


def display_value(definition: CustomFieldDefinition, raw: Any) -> str:
    value = from_json(definition, raw)
    if value is None or value == "":
        return ""
    kind = definition.field_type
    if kind == FieldType.BOOLEAN and isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if kind == FieldType.DATE and isinstance(value, datetime.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if kind == FieldType.NUMBER and isinstance(value, Decimal):
        return formats.number_format(value.normalize() if value == value.to_integral_value()
                                     else value, use_l10n=True, force_grouping=True)
    return str(value)


@dataclass(frozen=True)
class DisplayRow:
    key: str
    label: str
    value: str


def display_rows(definitions: list[CustomFieldDefinition], data: dict | None) -> list[DisplayRow]:
    """The filled-in values of `data`, labelled, in the definitions' order (inactive keys are
    kept in the JSON but not shown)."""
    data = data or {}
    rows = []
    for definition in definitions:
        text = display_value(definition, data.get(definition.key))
        if text:
            rows.append(DisplayRow(definition.key, definition.label, text))
    return rows


def merge(stored: dict | None, definitions: list[CustomFieldDefinition], cleaned: dict) -> dict:
    """The new custom_data: the active definitions' values from the form (`cleaned`, by field
    name), every other key of `stored` (inactive definitions, older data) untouched."""
    data = dict(stored or {})
    for definition in definitions:
        name = field_name(definition)
        if name not in cleaned:
            continue
        value = to_json(definition, cleaned[name])
        if value is None:
            data.pop(definition.key, None)
        else:
            data[definition.key] = value
    return data


# --- form fields ------------------------------------------------------------------------------
def field_name(definition: CustomFieldDefinition) -> str:
    return f"{PREFIX}{definition.key}"


def _yes_no_choices(required: bool):
    empty = _("Choose…") if required else _("(not set)")
    return [("", empty), (TRUE, _("Yes")), (FALSE, _("No"))]


def form_field(definition: CustomFieldDefinition, current: Any = None) -> forms.Field:
    """The Django form field for a definition. `current` is the stored value: a choice retired
    since stays selectable, so an edit never drops it unasked."""
    common = {"label": definition.label, "required": definition.required,
              "help_text": definition.help_text}
    kind = definition.field_type
    if kind == FieldType.NUMBER:
        return forms.DecimalField(max_digits=18, decimal_places=6, **common)
    if kind == FieldType.DATE:
        return forms.DateField(
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **common)
    if kind == FieldType.BOOLEAN:
        return forms.TypedChoiceField(choices=_yes_no_choices(definition.required),
                                      coerce=lambda v: v == TRUE, empty_value=None, **common)
    if kind == FieldType.CHOICE:
        options = [str(c) for c in definition.choices or []]
        if isinstance(current, str) and current and current not in options:
            options.append(current)
        empty = _("Choose…") if definition.required else _("(not set)")
        return forms.ChoiceField(choices=[("", empty), *((c, c) for c in options)], **common)
    return forms.CharField(max_length=TEXT_MAX_LENGTH, **common)


def initial_value(definition: CustomFieldDefinition, raw: Any) -> Any:
    if definition.field_type == FieldType.BOOLEAN and isinstance(raw, bool):
        return TRUE if raw else FALSE
    return from_json(definition, raw)


def add_form_fields(form: forms.BaseForm, definitions: list[CustomFieldDefinition],
                    stored: dict | None) -> list[str]:
    """Add a field per definition to `form`, with the stored values as initial values; returns
    the names added."""
    stored = stored or {}
    names = []
    for definition in definitions:
        name = field_name(definition)
        raw = stored.get(definition.key)
        form.fields[name] = form_field(definition, raw)
        if not form.is_bound and raw is not None:
            form.initial[name] = initial_value(definition, raw)
        names.append(name)
    return names


# --- filters ----------------------------------------------------------------------------------
FILTERABLE = (FieldType.CHOICE, FieldType.BOOLEAN, FieldType.TEXT)


def filter_field(definition: CustomFieldDefinition) -> forms.Field:
    """The list filter for a definition (choice, yes/no, exact text)."""
    common = {"label": definition.label, "required": False}
    kind = definition.field_type
    if kind == FieldType.BOOLEAN:
        return forms.TypedChoiceField(
            choices=[("", _("Any")), (TRUE, _("Yes")), (FALSE, _("No"))],
            coerce=lambda v: v == TRUE, empty_value=None, **common)
    if kind == FieldType.CHOICE:
        return forms.ChoiceField(
            choices=[("", _("Any")), *((c, c) for c in definition.choices or [])], **common)
    return forms.CharField(max_length=TEXT_MAX_LENGTH, strip=True,
                           help_text=_("Exact value"), **common)


def equals_q(definition: CustomFieldDefinition, value: Any) -> Q:
    """custom_data has `value` under the definition's key.

    `custom_data @> '{"key": value}'` is the containment operator the GIN `jsonb_path_ops`
    index (customer_custom_data / contact_custom_data) serves, so this stays fast at a million
    rows. (`custom_data -> 'key' = value` would not use it.)
    """
    return Q(custom_data__contains={definition.key: to_json(definition, value)})


def range_q(definition: CustomFieldDefinition, low: Any = None, high: Any = None) -> Q:
    """Numbers or dates between `low` and `high` (inclusive; either may be None).

    Not index-served: jsonb_path_ops answers containment (@>) only, not < or >. Use it only
    together with the indexed filters (owner, team, status, tags, an equality above...), which
    cap the rows this one then checks. Numbers compare as JSON numbers; dates are ISO strings,
    which compare in date order.
    """
    if definition.field_type not in (FieldType.NUMBER, FieldType.DATE):
        raise ValueError("range_q needs a number or date field")
    value = KeyTransform(definition.key, "custom_data")
    q = Q()
    # jsonb against jsonb: the bound is passed as a JSON value, not a bare SQL number.
    if low is not None:
        q &= Q(GreaterThanOrEqual(value, Value(to_json(definition, low),
                                               output_field=JSONField())))
    if high is not None:
        q &= Q(LessThanOrEqual(value, Value(to_json(definition, high),
                                            output_field=JSONField())))
    return q
