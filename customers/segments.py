"""The segment rule language and its compiler (rules -> one Q object over Customer).

A rule-based Segment stores a tree in `Segment.rules`:

    {"op": "and", "rules": [
        {"field": "status", "operator": "is", "value": "active"},
        {"op": "or", "rules": [
            {"field": "city", "operator": "contains", "value": "Shanghai"},
            {"field": "tags", "operator": "has_any", "value": ["<tag uuid>", ...]},
        ]},
    ]}

Groups nest up to MAX_DEPTH levels (the root group is level 1). Every field is a FieldSpec in a
registry: `register_field(key, label, type, operators, to_q)`. Other apps add theirs at start-up
(the sales module: order count, total spent, last order date), without touching this module:

    from customers.segments import register_field, NUMBER, NUMBER_OPERATORS
    register_field("orders.count", _("Number of orders"), NUMBER, NUMBER_OPERATORS,
                   lambda operator, value: number_q(order_count_expression, operator, value))

`to_q(operator, value)` receives an operator of the spec and a value already cleaned for its type
(see `clean_value`) and returns a Q over Customer. It must build the filter with the ORM only
(Q, Exists/OuterRef, lookups): user input never becomes SQL text. Filters on other tables use
EXISTS semi-joins, so a customer is never repeated and no DISTINCT is needed.

Custom fields (CustomFieldDefinition, entity "customer") are fields named "custom.<key>", read
from the definitions when a tree uses one. Their values are stored in Customer.custom_data as JSON
natives: text and choice as strings, numbers as numbers, dates as "YYYY-MM-DD", yes/no as booleans.

`validate_rules(tree)` returns the cleaned tree or raises RulesError (a ValidationError whose
messages say which rule is wrong and why); `compile_rules(tree)` validates and returns the Q.
"""

from __future__ import annotations

import datetime
import decimal
import uuid as uuid_module
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, JSONField, OuterRef, Q, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    IExact,
    IStartsWith,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_DEPTH = 3  # the root group is level 1
MAX_RULES = 50
MAX_CHOICES = 100
MAX_TEXT = 200
MAX_DAYS = 36_500

# Field types.
TEXT = "text"
NUMBER = "number"
DATE = "date"
CHOICE = "choice"
BOOLEAN = "boolean"
TAGS = "tags"
RECENCY = "recency"

# Operators, by the words the user sees.
OPERATOR_LABELS = {
    "equals": gettext_lazy("equals"),
    "contains": gettext_lazy("contains"),
    "starts_with": gettext_lazy("starts with"),
    "is_empty": gettext_lazy("is empty"),
    "is_not_empty": gettext_lazy("is not empty"),
    "eq": gettext_lazy("is"),
    "lt": gettext_lazy("is less than"),
    "gt": gettext_lazy("is greater than"),
    "before": gettext_lazy("is before"),
    "after": gettext_lazy("is after"),
    "between": gettext_lazy("is between"),
    "in_last_days": gettext_lazy("is in the last … days"),
    "is": gettext_lazy("is"),
    "is_not": gettext_lazy("is not"),
    "any_of": gettext_lazy("is any of"),
    "is_true": gettext_lazy("is yes"),
    "is_false": gettext_lazy("is no"),
    "has_any": gettext_lazy("has any of"),
    "has_none": gettext_lazy("has none of"),
    "within_days": gettext_lazy("within the last … days"),
    "older_than_days": gettext_lazy("more than … days ago"),
    "never": gettext_lazy("never"),
}

TEXT_OPERATORS = ("equals", "contains", "starts_with", "is_empty", "is_not_empty")
NUMBER_OPERATORS = ("eq", "lt", "gt", "between")
DATE_OPERATORS = ("eq", "before", "after", "between", "in_last_days")
CHOICE_OPERATORS = ("is", "is_not", "any_of")
BOOLEAN_OPERATORS = ("is_true", "is_false")
TAGS_OPERATORS = ("has_any", "has_none")
RECENCY_OPERATORS = ("within_days", "older_than_days", "never")

# What each operator expects as a value.
NO_VALUE = frozenset({"is_empty", "is_not_empty", "is_true", "is_false", "never"})
DAYS_VALUE = frozenset({"in_last_days", "within_days", "older_than_days"})
LIST_VALUE = frozenset({"any_of", "has_any", "has_none"})
PAIR_VALUE = frozenset({"between"})

ALLOWED_OPERATORS = {
    TEXT: frozenset(TEXT_OPERATORS),
    NUMBER: frozenset(NUMBER_OPERATORS),
    DATE: frozenset(DATE_OPERATORS),
    CHOICE: frozenset(CHOICE_OPERATORS),
    BOOLEAN: frozenset(BOOLEAN_OPERATORS),
    TAGS: frozenset(TAGS_OPERATORS),
    RECENCY: frozenset(RECENCY_OPERATORS),
}


class RulesError(ValidationError):
    """The tree is not a valid segment: its messages say which rule is wrong and why."""


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: Any  # a lazy translation
    type: str
    operators: tuple[str, ...]
    to_q: Callable[[str, Any], Q]
    # (value, label) pairs for choice and tag fields; a callable, so it is read only when needed.
    choices: Callable[[], Iterable[tuple[str, str]]] | None = None
    # choice values are UUIDs (owner, team, dictionary entries, tags) rather than fixed codes
    uuid_values: bool = False
    group: Any = field(default=gettext_lazy("Customer"))
    order: int = 100


_registry: dict[str, FieldSpec] = {}


def register_field(
    key: str,
    label,
    type: str,  # noqa: A002 (the documented signature)
    operators: Iterable[str],
    to_q: Callable[[str, Any], Q],
    *,
    choices: Callable[[], Iterable[tuple[str, str]]] | None = None,
    uuid_values: bool = False,
    group=None,
    order: int = 100,
) -> FieldSpec:
    """Add (or replace, by key) a field the rule language offers. Idempotent by key."""
    operators = tuple(operators)
    if type not in ALLOWED_OPERATORS:
        raise ValueError(f"unknown field type {type!r}")
    unknown = set(operators) - ALLOWED_OPERATORS[type]
    if unknown or not operators:
        raise ValueError(f"operators {sorted(unknown)} do not suit a {type} field")
    if key.startswith("custom."):
        raise ValueError("the custom. prefix is reserved for custom fields")
    spec = FieldSpec(key=key, label=label, type=type, operators=operators, to_q=to_q,
                     choices=choices, uuid_values=uuid_values,
                     group=group if group is not None else gettext_lazy("Customer"),
                     order=order)
    _registry[key] = spec
    return spec


def unregister_field(key: str) -> None:
    _registry.pop(key, None)


def _custom_field_specs(keys: Iterable[str] | None = None) -> dict[str, FieldSpec]:
    """Specs for the active customer custom fields (one query; `keys` narrows it)."""
    from customers.models import CustomFieldDefinition

    definitions = CustomFieldDefinition.objects.filter(
        entity=CustomFieldDefinition.Entity.CUSTOMER, is_active=True)
    if keys is not None:
        keys = list(keys)
        if not keys:
            return {}
        definitions = definitions.filter(key__in=keys)
    specs = {}
    for definition in definitions.order_by("order", "label"):
        spec = _custom_spec(definition)
        specs[spec.key] = spec
    return specs


def field_specs(*, keys: Iterable[str] | None = None) -> dict[str, FieldSpec]:
    """Every field the rule language knows: the registry plus the custom fields.

    With `keys`, custom field definitions are read only for those keys (and not at all when none
    of them is a custom field): compiling a tree costs no query unless it uses a custom field.
    """
    ensure_builtins()
    specs = dict(sorted(_registry.items(), key=lambda item: (item[1].order, item[0])))
    if keys is None:
        specs.update(_custom_field_specs())
    else:
        wanted = [k.removeprefix("custom.") for k in keys
                  if isinstance(k, str) and k.startswith("custom.")]
        specs.update(_custom_field_specs(wanted))
    return specs


# --- values -------------------------------------------------------------------------------------
def _days(value) -> int:
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ValueError(_("Enter a whole number of days.")) from exc
    if not 0 < days <= MAX_DAYS:
        raise ValueError(_("Enter a number of days between 1 and %(max)d.") % {"max": MAX_DAYS})
    return days


def _number(value) -> int | float:
    if isinstance(value, bool):
        raise ValueError(_("Enter a number."))
    try:
        number = decimal.Decimal(str(value).strip())
    except (decimal.InvalidOperation, ValueError) as exc:
        raise ValueError(_("Enter a number.")) from exc
    if not number.is_finite() or abs(number) >= 10**15:
        raise ValueError(_("Enter a number."))
    return int(number) if number == number.to_integral_value() else float(number)


def _date(value) -> str:
    try:
        return datetime.date.fromisoformat(str(value).strip()).isoformat()
    except ValueError as exc:
        raise ValueError(_("Enter a date as YYYY-MM-DD.")) from exc


def _text(value) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError(_("Enter a text."))
    text = str(value).strip()
    if not text:
        raise ValueError(_("Enter a value."))
    if len(text) > MAX_TEXT:
        raise ValueError(_("Enter at most %(max)d characters.") % {"max": MAX_TEXT})
    if "\x00" in text:
        raise ValueError(_("Enter a text."))
    return text


def _choice(spec: FieldSpec, value) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value) == "":
        raise ValueError(_("Choose a value."))
    value = str(value).strip()
    if spec.uuid_values:
        try:
            return str(uuid_module.UUID(value))
        except ValueError as exc:
            raise ValueError(_("Choose a value from the list.")) from exc
    if spec.choices is not None and value not in {str(k) for k, _label in spec.choices()}:
        raise ValueError(_("Choose a value from the list."))
    return value


def clean_value(spec: FieldSpec, operator: str, value):
    """The value in its stored form for this field and operator; ValueError with a message."""
    if operator in NO_VALUE:
        return None
    if operator in DAYS_VALUE:
        return _days(value)
    if operator in LIST_VALUE:
        if isinstance(value, (str, int)):
            value = [value]
        if not isinstance(value, list) or not value:
            raise ValueError(_("Choose at least one value."))
        if len(value) > MAX_CHOICES:
            raise ValueError(_("Choose at most %(max)d values.") % {"max": MAX_CHOICES})
        return sorted({_choice(spec, v) for v in value})
    if operator in PAIR_VALUE:
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError(_("Enter both ends of the range."))
        convert = _date if spec.type == DATE else _number
        low, high = convert(value[0]), convert(value[1])
        if (datetime.date.fromisoformat(low) > datetime.date.fromisoformat(high)
                if spec.type == DATE else low > high):
            raise ValueError(_("The first value must not be after the second."))
        return [low, high]
    if spec.type == NUMBER:
        return _number(value)
    if spec.type == DATE:
        return _date(value)
    if spec.type == CHOICE:
        return _choice(spec, value)
    return _text(value)


# --- validation ---------------------------------------------------------------------------------
def _is_group(node) -> bool:
    return isinstance(node, dict) and ("rules" in node or "op" in node)


def rule_fields(tree) -> set[str]:
    """The field keys a tree uses (for loading only the custom fields it needs)."""
    found: set[str] = set()

    def walk(node, depth):
        if depth > MAX_DEPTH + 1 or not isinstance(node, dict):
            return
        if _is_group(node):
            for child in node.get("rules") or []:
                walk(child, depth + 1)
        elif isinstance(node.get("field"), str):
            found.add(node["field"])

    walk(tree, 1)
    return found


def _where(path: tuple[int, ...]) -> str:
    return " › ".join(_("rule %(n)d") % {"n": i + 1} for i in path)


def validate_rules(tree, *, specs: dict[str, FieldSpec] | None = None,
                   allow_empty: bool = False) -> dict:
    """The tree, cleaned (values in their stored form), or RulesError listing every problem."""
    if specs is None:
        specs = field_specs(keys=rule_fields(tree))
    errors: list[str] = []
    count = 0

    def group(node, depth, path) -> dict | None:
        nonlocal count
        where = _where(path)
        if not isinstance(node, dict) or not _is_group(node):
            errors.append(_("The rules must be a group: {\"op\": \"and\", \"rules\": [...]}."))
            return None
        if depth > MAX_DEPTH:
            errors.append(_("%(where)s: groups may be nested at most %(max)d levels deep.")
                          % {"where": where, "max": MAX_DEPTH})
            return None
        op = node.get("op", "and")
        if op not in ("and", "or"):
            errors.append(_("%(where)s: a group combines its rules with “and” or “or”.")
                          % {"where": where or _("top level")})
            op = "and"
        children = node.get("rules", [])
        if not isinstance(children, list):
            errors.append(_("%(where)s: the rules of a group must be a list.")
                          % {"where": where or _("top level")})
            return None
        if not children and not (allow_empty and depth == 1):
            if depth == 1:
                errors.append(_("Add at least one rule."))
            else:
                errors.append(_("%(where)s: this group has no rules.") % {"where": where})
        cleaned = []
        for i, child in enumerate(children):
            if _is_group(child):
                result = group(child, depth + 1, (*path, i))
            else:
                count += 1
                result = rule(child, (*path, i))
            if result is not None:
                cleaned.append(result)
        return {"op": op, "rules": cleaned}

    def rule(node, path) -> dict | None:
        where = _where(path)
        if not isinstance(node, dict):
            errors.append(_("%(where)s: not a rule.") % {"where": where})
            return None
        key = node.get("field")
        if not key:
            errors.append(_("%(where)s: choose a field.") % {"where": where})
            return None
        spec = specs.get(key) if isinstance(key, str) else None
        if spec is None:
            errors.append(_("%(where)s: unknown field “%(field)s”.")
                          % {"where": where, "field": str(key)[:50]})
            return None
        operator = node.get("operator")
        if not isinstance(operator, str) or operator not in spec.operators:
            errors.append(_("%(where)s: “%(operator)s” is not an operator for %(field)s.")
                          % {"where": where, "operator": str(operator)[:30],
                             "field": spec.label})
            return None
        try:
            value = clean_value(spec, operator, node.get("value"))
        except ValueError as exc:
            errors.append(_("%(where)s (%(field)s): %(problem)s")
                          % {"where": where, "field": spec.label, "problem": exc})
            return None
        return {"field": key, "operator": operator, "value": value}

    cleaned = group(tree, 1, ())
    if count > MAX_RULES:
        errors.append(_("A segment may have at most %(max)d rules.") % {"max": MAX_RULES})
    if errors:
        raise RulesError(errors)
    return cleaned


def compile_rules(tree, *, specs: dict[str, FieldSpec] | None = None) -> Q:
    """The tree as one Q over Customer (after validating it; RulesError when invalid)."""
    if specs is None:
        specs = field_specs(keys=rule_fields(tree))
    cleaned = validate_rules(tree, specs=specs, allow_empty=True)
    return _compile(cleaned, specs)


def _compile(node: dict, specs: dict[str, FieldSpec]) -> Q:
    if "rules" in node:
        parts = [_compile(child, specs) for child in node["rules"]]
        if not parts:
            return Q()
        combined = parts[0]
        for part in parts[1:]:
            combined = (combined | part) if node["op"] == "or" else (combined & part)
        return combined
    spec = specs[node["field"]]
    return spec.to_q(node["operator"], node["value"])


# --- building blocks for to_q ---------------------------------------------------------------------
def text_q(name: str, operator: str, value) -> Q:
    """Case-insensitive text filters (served by the trigram indexes on name, code and e-mail)."""
    if operator == "equals":
        return Q(**{f"{name}__iexact": value})
    if operator == "contains":
        return Q(**{f"{name}__icontains": value})
    if operator == "starts_with":
        return Q(**{f"{name}__istartswith": value})
    empty = Q(**{name: ""}) | Q(**{f"{name}__isnull": True})
    if operator == "is_empty":
        return empty
    return ~empty


def number_q(name: str, operator: str, value) -> Q:
    if operator == "eq":
        return Q(**{name: value})
    if operator == "lt":
        return Q(**{f"{name}__lt": value})
    if operator == "gt":
        return Q(**{f"{name}__gt": value})
    return Q(**{f"{name}__gte": value[0], f"{name}__lte": value[1]})


def _day_start(iso: str) -> datetime.datetime:
    day = datetime.date.fromisoformat(iso)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def datetime_q(name: str, operator: str, value) -> Q:
    """Date rules on a datetime column, as index-friendly ranges in the current time zone."""
    if operator == "in_last_days":
        return Q(**{f"{name}__gte": timezone.now() - datetime.timedelta(days=value)})
    if operator == "between":
        start, end = value
    else:
        start = end = value
    low = _day_start(start)
    high = _day_start(end) + datetime.timedelta(days=1)
    if operator == "before":
        return Q(**{f"{name}__lt": low})
    if operator == "after":
        return Q(**{f"{name}__gte": high})
    return Q(**{f"{name}__gte": low, f"{name}__lt": high})


def choice_q(name: str, operator: str, value) -> Q:
    """is / is not / is any of on a column (is not keeps the rows where it is empty)."""
    if operator == "is":
        return Q(**{name: value})
    if operator == "any_of":
        return Q(**{f"{name}__in": value})
    return ~Q(**{name: value})


def related_choice_q(column: str, queryset_for: Callable[[list[str]], Any]) -> Callable:
    """Choice rules whose values are UUIDs of rows the customer points to (owner, team, ...):
    a semi-join `column IN (SELECT id ... WHERE uuid IN ...)` inside the same query."""

    def to_q(operator: str, value) -> Q:
        values = value if isinstance(value, list) else [value]
        q = Q(**{f"{column}__in": queryset_for(values).values("pk")})
        return ~q if operator == "is_not" else q

    return to_q


# --- the built-in fields ------------------------------------------------------------------------
def _user_choices():
    from accounts.models import User

    return [(str(u.uuid), u.get_full_name() or u.email)
            for u in User.objects.filter(is_active=True).order_by("first_name", "last_name",
                                                                    "email")]


def _team_choices():
    from accounts.models import Team

    return [(str(t.uuid), t.name) for t in Team.objects.order_by("name")]


def _dictionary_choices(kind: str):
    def choices():
        from customers.models import DictionaryEntry

        return [(str(e.uuid), e.label)
                for e in DictionaryEntry.objects.filter(kind=kind, is_active=True)]

    return choices


def _tag_choices():
    from customers.models import Tag

    return [(str(t.uuid), t.name) for t in Tag.objects.order_by("name")]


def _users(values):
    from accounts.models import User

    return User.objects.filter(uuid__in=values)


def _teams(values):
    from accounts.models import Team

    return Team.objects.filter(uuid__in=values)


def _entries(kind: str):
    def rows(values):
        from customers.models import DictionaryEntry

        return DictionaryEntry.objects.filter(kind=kind, uuid__in=values)

    return rows


def _tags_q(operator: str, value) -> Q:
    from customers.models import CustomerTag

    # EXISTS on customer_tag_once (customer, tag): one probe per customer, no duplicate rows.
    exists = Exists(CustomerTag.objects.filter(customer=OuterRef("pk"),
                                               tag__uuid__in=value))
    return Q(exists) if operator == "has_any" else ~Q(exists)


def _contacts(**filters):
    from customers.models import Contact

    return Contact.objects.filter(customer=OuterRef("pk"), deleted_at__isnull=True, **filters)


def _consent_q(operator: str, value) -> Q:
    exists = Q(Exists(_contacts(marketing_consent=True)))
    return exists if operator == "is_true" else ~exists


def _birthday_month_q(operator: str, value) -> Q:
    months = [int(v) for v in (value if isinstance(value, list) else [value])]
    exists = Q(Exists(_contacts(birthday__month__in=months)))
    return ~exists if operator == "is_not" else exists


def _recency_q(operator: str, value) -> Q:
    """Last interaction: EXISTS probes on interaction_timeline (customer, -occurred_at)."""
    from customers.models import Interaction

    def interactions(**filters):
        return Exists(Interaction.objects.filter(customer=OuterRef("pk"), **filters))

    if operator == "never":
        return ~Q(interactions())
    recent = interactions(occurred_at__gte=timezone.now() - datetime.timedelta(days=value))
    if operator == "within_days":
        return Q(recent)
    return Q(interactions()) & ~Q(recent)  # older_than_days: contacted, but not lately


def _month_choices():
    from django.utils.dates import MONTHS

    return [(str(i), str(MONTHS[i])) for i in range(1, 13)]


def _register_builtins() -> None:
    from customers.models import Customer, DictionaryEntry

    contact = gettext_lazy("Contacts")
    activity = gettext_lazy("Activity")

    def static(choices):
        return lambda: [(str(k), str(v)) for k, v in choices]

    register_field("name", gettext_lazy("Name"), TEXT, TEXT_OPERATORS,
                   lambda o, v: text_q("name", o, v), order=10)
    register_field("code", gettext_lazy("Customer code"), TEXT, TEXT_OPERATORS,
                   lambda o, v: text_q("code", o, v), order=11)
    register_field("kind", gettext_lazy("Type"), CHOICE, CHOICE_OPERATORS,
                   lambda o, v: choice_q("kind", o, v),
                   choices=static(Customer.Kind.choices), order=12)
    register_field("status", gettext_lazy("Status"), CHOICE, CHOICE_OPERATORS,
                   lambda o, v: choice_q("status", o, v),
                   choices=static(Customer.Status.choices), order=13)
    register_field("email", gettext_lazy("E-mail"), TEXT, TEXT_OPERATORS,
                   lambda o, v: text_q("email", o, v), order=14)
    register_field("city", gettext_lazy("City"), TEXT, TEXT_OPERATORS,
                   lambda o, v: text_q("city", o, v), order=15)
    register_field("country", gettext_lazy("Country"), TEXT, TEXT_OPERATORS,
                   lambda o, v: text_q("country", o, v), order=16)
    register_field("created_at", gettext_lazy("Created"), DATE, DATE_OPERATORS,
                   lambda o, v: datetime_q("created_at", o, v), order=17)
    register_field("owner", gettext_lazy("Owner"), CHOICE, CHOICE_OPERATORS,
                   related_choice_q("owner_id", _users), choices=_user_choices,
                   uuid_values=True, order=20)
    register_field("team", gettext_lazy("Team"), CHOICE, CHOICE_OPERATORS,
                   related_choice_q("team_id", _teams), choices=_team_choices,
                   uuid_values=True, order=21)
    for order, (key, label) in enumerate([
        ("industry", gettext_lazy("Industry")),
        ("source", gettext_lazy("Source")),
        ("level", gettext_lazy("Level")),
        ("region", gettext_lazy("Region")),
    ]):
        kind = getattr(DictionaryEntry.Kind, key.upper())
        register_field(key, label, CHOICE, CHOICE_OPERATORS,
                       related_choice_q(f"{key}_id", _entries(kind)),
                       choices=_dictionary_choices(kind), uuid_values=True, order=22 + order)
    register_field("tags", gettext_lazy("Tags"), TAGS, TAGS_OPERATORS, _tags_q,
                   choices=_tag_choices, uuid_values=True, order=30)
    register_field("contact.marketing_consent",
                   gettext_lazy("Has a contact who agrees to marketing"), BOOLEAN,
                   BOOLEAN_OPERATORS, _consent_q, group=contact, order=40)
    register_field("contact.birthday_month", gettext_lazy("Contact birthday month"), CHOICE,
                   CHOICE_OPERATORS, _birthday_month_q, choices=_month_choices, group=contact,
                   order=41)
    register_field("last_interaction", gettext_lazy("Last interaction"), RECENCY,
                   RECENCY_OPERATORS, _recency_q, group=activity, order=50)


# --- custom fields ------------------------------------------------------------------------------
def _json_typeof(key: str):
    from django.db.models import CharField, Func

    return Func(KeyTransform(key, "custom_data"), function="jsonb_typeof",
                output_field=CharField())


def _custom_spec(definition) -> FieldSpec:
    from customers.models import CustomFieldDefinition

    types = CustomFieldDefinition.FieldType
    key = definition.key
    text = KeyTextTransform(key, "custom_data")

    def contains(value) -> Q:
        # JSON containment is served by the customer_custom_data GIN (jsonb_path_ops) index.
        return Q(custom_data__contains={key: value})

    def typed(kind: str) -> Q:
        return Q(Exact(_json_typeof(key), Value(kind)))

    if definition.field_type == types.NUMBER:
        # Compared as jsonb (never cast: a stray text in the field can't fail the query), and
        # only where the value is a JSON number (jsonb orders other types apart).
        number = KeyTransform(key, "custom_data")

        def json(value):
            return Value(value, output_field=JSONField())

        def to_q(operator, value):
            if operator == "eq":
                return contains(value)
            if operator == "lt":
                return typed("number") & Q(LessThan(number, json(value)))
            if operator == "gt":
                return typed("number") & Q(GreaterThan(number, json(value)))
            return typed("number") & Q(GreaterThanOrEqual(number, json(value[0]))) & Q(
                LessThanOrEqual(number, json(value[1])))

        field_type, operators = NUMBER, NUMBER_OPERATORS
    elif definition.field_type == types.DATE:
        # ISO dates ("YYYY-MM-DD") compare correctly as text.
        def to_q(operator, value):
            if operator == "in_last_days":
                since = (timezone.localdate() - datetime.timedelta(days=value)).isoformat()
                return typed("string") & Q(GreaterThanOrEqual(text, Value(since)))
            if operator == "eq":
                return contains(value)
            if operator == "before":
                return typed("string") & Q(LessThan(text, Value(value)))
            if operator == "after":
                return typed("string") & Q(GreaterThan(text, Value(value)))
            return typed("string") & Q(GreaterThanOrEqual(text, Value(value[0]))) & Q(
                LessThanOrEqual(text, Value(value[1])))

        field_type, operators = DATE, DATE_OPERATORS
    elif definition.field_type == types.CHOICE:
        def to_q(operator, value):
            if operator == "is":
                return contains(value)
            if operator == "is_not":
                return ~contains(value)
            q = Q()
            for item in value:
                q |= contains(item)
            return q

        field_type, operators = CHOICE, CHOICE_OPERATORS
    elif definition.field_type == types.BOOLEAN:
        def to_q(operator, value):
            if operator == "is_true":
                return contains(True)
            return ~contains(True)

        field_type, operators = BOOLEAN, BOOLEAN_OPERATORS
    else:
        def to_q(operator, value):
            if operator == "equals":
                return Q(IExact(text, Value(value)))
            if operator == "contains":
                return Q(IContains(text, Value(value)))
            if operator == "starts_with":
                return Q(IStartsWith(text, Value(value)))
            empty = ~Q(custom_data__has_key=key) | Q(Exact(text, Value("")))
            return empty if operator == "is_empty" else ~empty

        field_type, operators = TEXT, TEXT_OPERATORS

    raw_choices = definition.choices if isinstance(definition.choices, list) else []
    choice_pairs = [(str(c), str(c)) if not isinstance(c, (list, tuple)) else
                    (str(c[0]), str(c[-1])) for c in raw_choices]
    return FieldSpec(
        key=f"custom.{key}", label=definition.label, type=field_type, operators=operators,
        to_q=to_q, choices=(lambda: choice_pairs) if field_type == CHOICE else None,
        group=gettext_lazy("Custom fields"), order=1000 + definition.order,
    )


_register_builtins_done = False


def ensure_builtins() -> None:
    """Register the built-in fields once (lazily: the models must be loaded first)."""
    global _register_builtins_done
    if not _register_builtins_done:
        _register_builtins()
        _register_builtins_done = True


# --- access and reads -----------------------------------------------------------------------------
# Visibility: every user holding customers.view_segment sees every (not deleted) segment; what a
# segment *returns* is always cut down to the customers that user may see. Changing or deleting
# one needs the model permission and being its owner, a Manager, Marketing or an Admin.
def segment_can(user, action: str, segment=None) -> bool:
    """May `user` do `action` ("view", "add", "change", "delete") on segments / this one?"""
    from accounts import roles

    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return False
    if not user.has_perm(f"customers.{action}_segment"):
        return False
    if action in ("view", "add"):
        return True
    return bool(user.is_admin or user.has_role(roles.MANAGER, roles.MARKETING)
                or (segment is not None and segment.owner_id == user.pk))


def segment_list_for_user(user):
    """The segments `user` may see (all live ones, with view_segment), owner joined."""
    from customers.models import Segment

    if not segment_can(user, "view"):
        return Segment.objects.none()
    return Segment.objects.filter(deleted_at__isnull=True).select_related("owner")


def segment_get_for_user(user, uuid, action: str = "view"):
    """The segment, or 404 when it is not there (deleted, unknown, or the user may not see
    segments at all), or 403 when visible but `action` is not allowed."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from customers.models import Segment

    try:
        segment = segment_list_for_user(user).get(uuid=uuid)
    except (Segment.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc
    if action != "view" and not segment_can(user, action, segment):
        raise PermissionDenied
    return segment


def rules_queryset(tree, user):
    """The customers `user` may see that match the rule `tree` (unsaved rules: the preview).
    RulesError when the tree is invalid."""
    from customers.selectors import customer_list_for_user

    return customer_list_for_user(user).filter(compile_rules(tree))


def segment_queryset(segment, user):
    """The customers of `segment` that `user` may see: ONE queryset, evaluated as one SQL query.

    The reusable entry point for campaigns, workflows, reports and exports. It starts from
    customers.selectors.customer_list_for_user(user), so it honours the access policy (and
    leaves out trashed customers), and adds:
    - a rule-based segment: its rules compiled to one WHERE clause (EXISTS semi-joins for tags,
      contacts and interactions, IN-subqueries for owner/team/dictionary UUIDs);
    - a static list: a semi-join on SegmentMember (`id IN (SELECT customer_id ...)`).
    A deleted segment returns no customers. Rules stored with an error (a custom field removed
    since, say) raise RulesError; callers that run unattended should catch it.

    The queryset keeps the selector's select_related and tags prefetch: counting or `.values()`
    stays one query; iterating model rows adds the one prefetch query for tags (drop it with
    `.prefetch_related(None)`). No ordering is imposed: order it yourself (keyset pagination:
    ("name", "id") or ("-created_at", "-id")).
    """
    from customers.models import Segment, SegmentMember
    from customers.selectors import customer_list_for_user

    customers = customer_list_for_user(user)
    if segment.deleted_at is not None:
        return customers.none()
    if segment.kind == Segment.Kind.STATIC:
        return customers.filter(
            pk__in=SegmentMember.objects.filter(segment_id=segment.pk).values("customer_id"))
    return customers.filter(compile_rules(segment.rules or {"op": "and", "rules": []}))


# --- rules in words -----------------------------------------------------------------------------
def describe_rules(tree, *, specs: dict[str, FieldSpec] | None = None) -> str:
    """The tree as a sentence: Status is Active and (City contains “Shanghai” or ...).

    Choice values are shown by their labels (one read of each used field's choices)."""
    if specs is None:
        specs = field_specs(keys=rule_fields(tree))
    labels: dict[str, dict[str, str]] = {}

    def label_of(spec: FieldSpec, value) -> str:
        if spec.choices is None:
            return str(value)
        if spec.key not in labels:
            labels[spec.key] = {str(k): str(v) for k, v in spec.choices()}
        return labels[spec.key].get(str(value), _("(removed)"))

    def words(node, depth) -> str:
        if isinstance(node, dict) and _is_group(node):
            joiner = f" {_('or') if node.get('op') == 'or' else _('and')} "
            parts = [words(child, depth + 1) for child in node.get("rules") or []]
            text = joiner.join(p for p in parts if p)
            return f"({text})" if depth > 1 and len(parts) > 1 else text
        if not isinstance(node, dict):
            return ""
        spec = specs.get(node.get("field"))
        if spec is None:
            return _("(unknown field “%(field)s”)") % {"field": str(node.get("field"))[:50]}
        operator = node.get("operator")
        value = node.get("value")
        op_label = str(OPERATOR_LABELS.get(operator, operator))
        if operator in NO_VALUE:
            return f"{spec.label} {op_label}"
        if operator in DAYS_VALUE:
            return f"{spec.label} {op_label.replace('…', str(value))}"
        if operator in LIST_VALUE:
            values = value if isinstance(value, list) else [value]
            shown = ", ".join(label_of(spec, v) for v in values)
            return f"{spec.label} {op_label} {shown}"
        if operator in PAIR_VALUE and isinstance(value, list) and len(value) == 2:
            return _("%(field)s is between %(low)s and %(high)s") % {
                "field": spec.label, "low": value[0], "high": value[1]}
        shown = label_of(spec, value) if spec.type == CHOICE else f"“{value}”"
        return f"{spec.label} {op_label} {shown}"

    return words(tree, 1) or _("(no rules)")
