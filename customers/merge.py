"""Merging duplicate customers: the service and the registry of merge handlers.

A merge moves everything that points at the *source* customer to the *target*, then puts the
source in the trash. Each module owns its rows, so each registers a handler (in its
AppConfig.ready(), or a register() function called from there):

    from customers.merge import register_merge_handler
    register_merge_handler("sales.orders", lambda source, target, actor:
                           Order.objects.filter(customer=source).update(customer=target))

A handler is set-based (UPDATE ... / INSERT ... SELECT ... ON CONFLICT DO NOTHING, never a
loop over rows), runs inside the merge's transaction and returns how many rows it moved.

Nothing may be lost: after the handlers ran, every foreign key to Customer that still points
at the source is moved by a plain UPDATE (in a savepoint); if that breaks a unique constraint
the whole merge is refused, naming the model that needs its own handler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.events import event_record
from crm.exceptions import ApplicationError, StaleObjectError
from crm.models import Event
from crm.services import model_update
from customers.models import (
    Contact,
    Customer,
    CustomerTag,
    CustomerUserObjectPermission,
    ImportChange,
    Interaction,
    SegmentMember,
    Task,
)
from customers.permissions import policy_for

MergeHandler = Callable[[Customer, Customer, Any], int]

# The fields the user chooses between, in the order the merge page shows them.
MERGE_FIELDS = [
    "name", "kind", "email", "phone", "website", "industry", "source", "level", "region",
    "status", "owner", "team", "address", "city", "postcode", "country", "description",
]
SOURCE, TARGET = "source", "target"

_handlers: dict[str, MergeHandler] = {}


def register_merge_handler(key: str, handler: MergeHandler) -> None:
    """Add (or replace) the handler `key`; handler(source, target, actor) -> rows moved."""
    _handlers[key] = handler


def unregister_merge_handler(key: str) -> None:
    _handlers.pop(key, None)


def merge_handlers() -> dict[str, MergeHandler]:
    return dict(_handlers)


# --- the customers app's own handlers ---------------------------------------------------------
def _move_contacts(source: Customer, target: Customer, actor) -> int:
    # The target keeps its primary contact; the source's becomes an ordinary one.
    if Contact.objects.alive().filter(customer=target, is_primary=True).exists():
        Contact.objects.filter(customer=source, is_primary=True).update(is_primary=False)
    return Contact.objects.filter(customer=source).update(
        customer=target, version=F("version") + 1, updated_at=timezone.now())


def _move_interactions(source: Customer, target: Customer, actor) -> int:
    return Interaction.objects.filter(customer=source).update(customer=target)


def _move_tasks(source: Customer, target: Customer, actor) -> int:
    return Task.objects.filter(customer=source).update(customer=target)




def _move_events(source: Customer, target: Customer, actor) -> int:
    return Event.objects.filter(customer_id=source.pk).update(customer_id=target.pk)


def _union_rows(table: str, fk: str, other_columns: list[str], source: Customer,
                target: Customer) -> int:
    """Copy the source's link rows to the target (skipping those it already has: ON CONFLICT
    on the unique key), then delete the source's. Returns the rows the target gained."""
    columns = ", ".join(other_columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({fk}, {columns}) "  # noqa: S608 (our own table names)
            f"SELECT %s, {columns} FROM {table} WHERE {fk} = %s ON CONFLICT DO NOTHING",
            [target.pk, source.pk],
        )
        added = cursor.rowcount
        cursor.execute(f"DELETE FROM {table} WHERE {fk} = %s", [source.pk])  # noqa: S608
    return added


def _union_tags(source: Customer, target: Customer, actor) -> int:
    return _union_rows(CustomerTag._meta.db_table, "customer_id", ["tag_id", "created_at"],
                       source, target)


def _union_segments(source: Customer, target: Customer, actor) -> int:
    return _union_rows(SegmentMember._meta.db_table, "customer_id",
                       ["segment_id", "added_at", "added_by_id"], source, target)


register_merge_handler("customers.contacts", _move_contacts)
register_merge_handler("customers.interactions", _move_interactions)
register_merge_handler("customers.tasks", _move_tasks)
register_merge_handler("customers.tags", _union_tags)
register_merge_handler("customers.segments", _union_segments)
register_merge_handler("customers.events", _move_events)


# Rows that describe the source itself and stay with it (in the trash):
# - ImportChange: what an import did to that very record; undo must not touch the target.
# - sharing grants: access given to the duplicate is not access to the surviving customer.
STAY_WITH_SOURCE = (ImportChange, CustomerUserObjectPermission)


def _move_the_rest(source: Customer, target: Customer) -> dict[str, int]:
    """Every foreign key to Customer that still points at the source, moved by one UPDATE each
    (a module without a handler); a unique conflict refuses the whole merge."""
    moved: dict[str, int] = {}
    for field in Customer._meta.get_fields(include_hidden=True):
        if not (field.is_relation and field.auto_created and not field.concrete):
            continue
        if not (field.one_to_many or field.one_to_one):
            continue
        model, fk = field.related_model, field.field.name
        if issubclass(model, STAY_WITH_SOURCE):
            continue
        try:
            with transaction.atomic():
                count = model._base_manager.filter(**{fk: source}).update(**{fk: target})
        except IntegrityError as exc:
            raise ApplicationError(
                _("These customers cannot be merged yet: %(model)s rows of the duplicate "
                  "cannot be moved without a conflict. Nothing was changed.")
                % {"model": model._meta.verbose_name_plural}
            ) from exc
        if count:
            moved[model._meta.label_lower] = count
    return moved


# --- the service ------------------------------------------------------------------------------
def merge_defaults(source: Customer, target: Customer) -> dict[str, str]:
    """Per field, whose value is kept by default: the target's when it has one."""
    return {
        name: TARGET if _filled(getattr(target, Customer._meta.get_field(name).attname))
        or not _filled(getattr(source, Customer._meta.get_field(name).attname)) else SOURCE
        for name in MERGE_FIELDS
    }


def _filled(value) -> bool:
    return value not in (None, "", {}, [])


def snapshot(customer: Customer) -> dict[str, Any]:
    """The customer's own fields as JSON-able values (for the merge event)."""
    data: dict[str, Any] = {"uuid": str(customer.uuid), "code": customer.code}
    for name in [*MERGE_FIELDS, "custom_data", "created_at"]:
        field = Customer._meta.get_field(name)
        value = getattr(customer, field.attname)
        data[field.attname] = value.isoformat() if hasattr(value, "isoformat") else value
    return data


def _check_access(actor, customer: Customer) -> None:
    if not (actor.has_perm("customers.merge_customer")
            and policy_for(actor).can("change", customer)):
        raise PermissionDenied


@transaction.atomic
def customer_merge(*, actor, source: Customer, target: Customer, choices: dict[str, str],
                   source_version: int, target_version: int) -> Customer:
    """Merge `source` into `target` in one transaction; returns the updated target.

    `choices` maps a field of MERGE_FIELDS to "source" or "target" (missing: the default).
    Both rows are locked (ordered by pk, so two crossing merges cannot deadlock) and their
    versions compared with the ones the user saw: a stale page is refused.
    """
    if source.pk == target.pk:
        raise ApplicationError(_("A customer cannot be merged into itself."))
    _check_access(actor, source)
    _check_access(actor, target)
    locked = {c.pk: c for c in Customer.objects.select_for_update(of=("self",))
              .filter(pk__in=[source.pk, target.pk]).order_by("pk")}
    source, target = locked.get(source.pk), locked.get(target.pk)
    if source is None or target is None or source.deleted_at or target.deleted_at:
        raise ApplicationError(_("One of the two customers is in the trash now. Nothing was "
                                 "merged."))
    if source.version != source_version or target.version != target_version:
        raise StaleObjectError(_("One of the two customers changed since you opened this "
                                 "page. Nothing was merged: look at them again and retry."))
    for name, choice in choices.items():
        if name not in MERGE_FIELDS or choice not in (SOURCE, TARGET):
            raise ApplicationError(_("The merge form was not valid. Nothing was merged."))

    wanted = {**merge_defaults(source, target), **choices}
    data = {name: getattr(source, Customer._meta.get_field(name).attname)
            for name, choice in wanted.items() if choice == SOURCE}
    data = {(Customer._meta.get_field(n).attname): v for n, v in data.items()}
    # Custom fields: the target's values win, the source fills the gaps.
    custom = {**{k: v for k, v in (source.custom_data or {}).items() if _filled(v)},
              **{k: v for k, v in (target.custom_data or {}).items() if _filled(v)}}
    if custom != (target.custom_data or {}):
        data["custom_data"] = custom
    before = snapshot(source)
    try:
        target, changed = model_update(instance=target, data=data,
                                       expected_version=target_version)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages)) from exc

    moved: dict[str, int] = {}
    for key, handler in list(_handlers.items()):
        moved[key] = int(handler(source, target, actor) or 0)
    moved.update(_move_the_rest(source, target))

    source.deleted_at = timezone.now()
    source.deleted_by = actor
    source.version += 1
    source.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
    # After the events moved: this one stays on the source's own timeline.
    event_record(name="customer.merged_away", actor=actor, customer_id=source.pk,
                 subject=source, payload={"into": str(target.uuid), "into_code": target.code,
                                          "into_name": target.name})
    event_record(name="customer.merged", actor=actor, customer_id=target.pk, subject=target,
                 payload={"source": before, "moved": moved, "fields": changed})
    return target
