"""The customer's timeline: the communication log and the business events, as one stream.

Two indexed queries per page (interactions on `interaction_timeline`, events on
`event_customer_timeline`), each LIMIT limit+1, merged in Python. Items are ordered newest
first by the key (timestamp, source rank, id); the cursor is the key of the last item shown,
handed to the browser as opaque base64 JSON. A cursor that does not decode is ignored.

Events are described in words by `describe(event)`; modules above customers register their
own describers in AppConfig.ready():

    from customers.timeline import register_describer
    register_describer("ticket.*", lambda event: _("Ticket opened: %s") % ...)
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.models import Event
from customers.models import Contact, Customer, Interaction

logger = logging.getLogger(__name__)

# The source ranks: at an equal timestamp an interaction sorts before an event.
INTERACTION = "i"
EVENT = "e"
_RANK = {EVENT: 0, INTERACTION: 1}

EVENTS_KIND = "events"
INTERACTION_KINDS = tuple(Interaction.Kind.values)
KINDS = (*INTERACTION_KINDS, EVENTS_KIND)

# The interaction is on the timeline itself; its event would say the same thing twice.
HIDDEN_EVENTS = ("interaction.logged",)

KIND_ICONS = {
    Interaction.Kind.CALL: "telephone",
    Interaction.Kind.EMAIL: "envelope",
    Interaction.Kind.MEETING: "people",
    Interaction.Kind.MESSAGE: "chat-dots",
    Interaction.Kind.NOTE: "journal-text",
}


@dataclass(frozen=True)
class Cursor:
    timestamp: datetime
    source: str
    id: int

    def key(self) -> tuple:
        return (self.timestamp, _RANK[self.source], self.id)

    def encode(self) -> str:
        raw = json.dumps({"t": self.timestamp.isoformat(), "s": self.source, "i": self.id},
                         separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str | None) -> Cursor | None:
        """The cursor, or None for anything that is not one we made (ignored, never a 500)."""
        if not value or len(value) > 200:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            data = json.loads(raw)
            timestamp = parse_datetime(data["t"])
            source, pk = data["s"], data["i"]
        except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
            return None
        if (timestamp is None or timestamp.tzinfo is None or source not in _RANK
                or not isinstance(pk, int) or isinstance(pk, bool) or pk < 0):
            return None
        return cls(timestamp=timestamp, source=source, id=pk)


@dataclass(frozen=True)
class TimelineItem:
    source: str
    timestamp: datetime
    obj: Any  # an Interaction or an Event

    @property
    def id(self) -> int:
        return self.obj.pk

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.timestamp, self.source, self.obj.pk)

    @property
    def is_interaction(self) -> bool:
        return self.source == INTERACTION

    @property
    def icon(self) -> str:
        if self.is_interaction:
            return KIND_ICONS.get(self.obj.kind, "chat")
        return "clock-history"

    @property
    def actor(self):
        return self.obj.user if self.is_interaction else self.obj.actor

    @property
    def text(self) -> str:
        return self.obj.subject if self.is_interaction else describe(self.obj)


@dataclass(frozen=True)
class TimelinePage:
    items: list[TimelineItem]
    next_cursor: str | None


def _after(cursor: Cursor | None, source: str, time_field: str) -> Q:
    """Rows of `source` that sort after the cursor in (timestamp, rank, id) descending order."""
    if cursor is None:
        return Q()
    rank, cursor_rank = _RANK[source], _RANK[cursor.source]
    if rank < cursor_rank:
        return Q(**{f"{time_field}__lte": cursor.timestamp})
    if rank > cursor_rank:
        return Q(**{f"{time_field}__lt": cursor.timestamp})
    return Q(**{f"{time_field}__lt": cursor.timestamp}) | Q(
        **{time_field: cursor.timestamp, "id__lt": cursor.id}
    )


def clean_kinds(kinds: Iterable[str] | None) -> list[str] | None:
    """The known kinds among `kinds`; None (everything) when none is known."""
    if not kinds:
        return None
    known = [k for k in dict.fromkeys(kinds) if k in KINDS]
    return known or None


_EVENT_FIELDS = tuple(f.name for f in Event._meta.concrete_fields)


def timeline_for_customer(customer: Customer, *, before: Cursor | str | None = None,
                          kinds: Iterable[str] | None = None, limit: int = 30) -> TimelinePage:
    """One page of the customer's timeline, newest first, starting after `before`."""
    cursor = Cursor.decode(before) if isinstance(before, str) else before
    kinds = clean_kinds(kinds)
    limit = max(1, min(int(limit), 100))
    interaction_kinds = [k for k in kinds if k != EVENTS_KIND] if kinds else list(
        INTERACTION_KINDS)
    with_events = kinds is None or EVENTS_KIND in kinds

    items: list[TimelineItem] = []
    if interaction_kinds:
        qs = Interaction.objects.filter(customer=customer)
        if kinds is not None:
            qs = qs.filter(kind__in=interaction_kinds)
        rows = (
            qs.filter(_after(cursor, INTERACTION, "occurred_at"))
            .select_related("user", "contact")
            # What an entry shows: not the author's or the contact's whole row (a contact's
            # custom data, a user's password hash...).
            .only("id", "customer_id", "occurred_at", "kind", "direction", "subject", "body",
                  "outcome", "user__first_name", "user__last_name", "user__email",
                  "contact__first_name", "contact__last_name")
            .order_by("-occurred_at", "-id")[: limit + 1]
        )
        items.extend(TimelineItem(INTERACTION, row.occurred_at, row) for row in rows)
    if with_events:
        rows = (
            Event.objects.filter(customer_id=customer.pk)
            .exclude(name__in=HIDDEN_EVENTS)
            .filter(_after(cursor, EVENT, "created_at"))
            .select_related("actor")
            # The event whole (describers read what they need), its actor by name only.
            .only(*_EVENT_FIELDS, "actor__first_name", "actor__last_name", "actor__email")
            .order_by("-created_at", "-id")[: limit + 1]
        )
        items.extend(TimelineItem(EVENT, row.created_at, row) for row in rows)

    items.sort(key=lambda item: item.cursor.key(), reverse=True)
    page, more = items[:limit], len(items) > limit
    return TimelinePage(items=page, next_cursor=page[-1].cursor.encode() if more else None)


# --- describing events ------------------------------------------------------------------------
Describer = Callable[[Event], str]
_describers: dict[str, Describer] = {}


def register_describer(pattern: str, describer: Describer) -> None:
    """Describe events whose name matches `pattern` (an exact name, or fnmatch: "ticket.*").
    An exact name wins over a pattern."""
    _describers[pattern] = describer


def unregister_describer(pattern: str) -> None:
    _describers.pop(pattern, None)


def describe(event: Event) -> str:
    """The event in words for the timeline; the event's name when nobody describes it."""
    describer = _describers.get(event.name)
    if describer is None:
        for pattern, candidate in _describers.items():
            if fnmatch.fnmatchcase(event.name, pattern):
                describer = candidate
                break
    if describer is not None:
        try:
            return str(describer(event))
        except Exception:
            # A bad payload must not break the page: say what happened, plainly.
            logger.exception("describing event %s failed", event.pk)
    return _("Event: %(name)s") % {"name": event.name}


def field_labels(model, names) -> list[str]:
    """The fields' labels (verbose names), or the names themselves when not model fields."""
    labels = []
    for name in names or ():
        try:
            field = model._meta.get_field(name)
        except (FieldDoesNotExist, TypeError):
            labels.append(str(name))
        else:
            labels.append(str(getattr(field, "verbose_name", name)))
    return labels


def _payload(event: Event) -> dict:
    return event.payload if isinstance(event.payload, dict) else {}


def _updated(model, whole: str, some: str) -> Describer:
    def describer(event):
        fields = ", ".join(field_labels(model, _payload(event).get("fields")))
        return (_(some) % {"fields": fields}) if fields else _(whole)
    return describer


def _owner_changed(event: Event) -> str:
    payload = _payload(event)
    if payload.get("to_name"):
        return _("Owner changed to %(name)s") % {"name": payload["to_name"]}
    return _("Owner changed") if payload.get("to") else _("Owner removed")


def _shared(event: Event) -> str:
    payload = _payload(event)
    name = payload.get("with_name")
    if payload.get("can_change"):
        return (_("Shared with %(name)s, who can also edit it") % {"name": name} if name
                else _("Shared with a colleague, who can also edit it"))
    return (_("Shared with %(name)s (view only)") % {"name": name} if name
            else _("Shared with a colleague (view only)"))


def _unshared(event: Event) -> str:
    name = _payload(event).get("with_name")
    return (_("No longer shared with %(name)s") % {"name": name} if name
            else _("No longer shared with a colleague"))


def _consent(given: bool) -> Describer:
    def describer(event):
        payload = _payload(event)
        methods = dict(Contact.ConsentMethod.choices)
        method = methods.get(payload.get("method"), "")
        if given:
            return (_("Marketing consent given (%(method)s)") % {"method": method} if method
                    else _("Marketing consent given"))
        return _("Marketing consent withdrawn")
    return describer


_UPDATED = gettext_noop("Customer details changed")
_UPDATED_FIELDS = gettext_noop("Changed %(fields)s")
_CONTACT_UPDATED = gettext_noop("Contact details changed")
_CONTACT_UPDATED_FIELDS = gettext_noop("Contact changed: %(fields)s")


def _contact_created(event):
    name = _payload(event).get("name")
    return _("Contact added: %(name)s") % {"name": name} if name else _("Contact added")


def _contact_deleted(event):
    name = _payload(event).get("name")
    return _("Contact removed: %(name)s") % {"name": name} if name else _("Contact removed")


register_describer("customer.created", lambda event: _("Customer created"))
register_describer("customer.updated", _updated(Customer, _UPDATED, _UPDATED_FIELDS))
register_describer("customer.owner_changed", _owner_changed)
register_describer("customer.deleted", lambda event: _("Moved to the trash"))
register_describer("customer.restored", lambda event: _("Restored from the trash"))
register_describer("customer.shared", _shared)
register_describer("customer.unshared", _unshared)
register_describer("contact.created", _contact_created)
register_describer("contact.updated",
                   _updated(Contact, _CONTACT_UPDATED, _CONTACT_UPDATED_FIELDS))
register_describer("contact.deleted", _contact_deleted)
register_describer("contact.consent_given", _consent(given=True))
register_describer("contact.consent_withdrawn", _consent(given=False))


def import_description(action: str, file_name: str, *, undone: bool = False) -> str:
    """What an import did to a customer, in words (its timeline entry and history line)."""
    if undone:
        if action == "updated":
            return _("Updated by the import of %(file)s (since undone)") % {"file": file_name}
        return _("Created by the import of %(file)s (since undone)") % {"file": file_name}
    if action == "updated":
        return (_("Updated by the import of %(file)s") % {"file": file_name} if file_name
                else _("Updated by an import"))
    return (_("Created by the import of %(file)s") % {"file": file_name} if file_name
            else _("Created by an import"))


def _imported(event: Event) -> str:
    payload = _payload(event)
    return import_description(payload.get("action"), payload.get("file") or "")


register_describer("customer.imported", _imported)
