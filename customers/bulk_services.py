"""Bulk actions on the customer list, set-based: assign an owner, add or remove a tag, move to
the trash. Whatever the number of selected customers, a handful of statements: the selected
rows are read and locked in one query, checked against the access policy in memory (the
customers shared with the user are loaded once), changed with one UPDATE (or one INSERT /
DELETE of tag links), and recorded with one INSERT of business events and one INSERT of
django-auditlog entries (bulk writes bypass auditlog's signals, hence the explicit rows).

All or nothing: if any selected customer is not visible or not allowed, nothing changes."""

from __future__ import annotations

from collections.abc import Sequence

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from crm.events import _kick_dispatch_on_commit
from crm.models import Event
from customers.models import Customer, CustomerTag, CustomerUserObjectPermission
from customers.permissions import CustomerPolicy

ASSIGN_OWNER = "assign_owner"
ADD_TAG = "add_tag"
REMOVE_TAG = "remove_tag"
TRASH = "trash"
ACTIONS = (ASSIGN_OWNER, ADD_TAG, REMOVE_TAG, TRASH)


def _policy_with_shares(actor, ids: list[int]) -> CustomerPolicy:
    """A fresh policy whose share look-ups are answered from one query for all `ids` (the
    policy's own _shared_with asks the database once per customer)."""
    policy = CustomerPolicy(actor)
    shares: dict[int, set[str]] = {}
    for pk, codename in CustomerUserObjectPermission.objects.filter(
        user_id=actor.pk, content_object_id__in=ids,
        permission__codename__in=["view_customer", "change_customer"],
    ).values_list("content_object_id", "permission__codename"):
        shares.setdefault(pk, set()).add(codename)
    policy._shared_with = lambda customer, *codenames: bool(  # type: ignore[method-assign]
        shares.get(customer.pk, set()) & set(codenames))
    return policy


def _select(actor, uuids: Sequence, permission: str) -> list[Customer]:
    """The selected customers, locked in pk order; PermissionDenied when any of them is not
    visible to the actor or not open to `permission`."""
    uuids = list(dict.fromkeys(uuids))
    if not uuids:
        return []
    if not (actor.is_authenticated and actor.is_active):
        raise PermissionDenied
    base = CustomerPolicy(actor)
    q = base.visible_q()
    qs = Customer.objects.alive().filter(uuid__in=uuids)
    if q is not None:
        qs = qs.filter(q)
    customers = list(qs.select_for_update(of=("self",)).order_by("pk")
                     .only("id", "uuid", "name", "owner_id", "team_id", "version"))
    if len(customers) != len(uuids):
        raise PermissionDenied
    policy = _policy_with_shares(actor, [c.pk for c in customers])
    # The visibility parts of the policy were read by `base`: reuse them.
    policy.__dict__.update({k: v for k, v in base.__dict__.items()
                            if k in ("sees_all", "_reach", "team_ids", "managed_team_ids",
                                     "managed_member_ids")})
    if not all(policy.can(permission, c) for c in customers):
        raise PermissionDenied
    return customers


def _events(actor, name: str, customers: list[Customer], payload, now) -> list[Event]:
    customer_type = ContentType.objects.get_for_model(Customer)
    return [Event(name=name, actor_id=actor.pk, customer_id=c.pk, subject_type=customer_type,
                  subject_id=str(c.pk), created_at=now, available_at=now,
                  payload=payload(c) if callable(payload) else dict(payload))
            for c in customers]


def _log_entries(actor, customers: list[Customer], changes, now) -> list[LogEntry]:
    customer_type = ContentType.objects.get_for_model(Customer)
    return [LogEntry(content_type=customer_type, object_pk=str(c.pk), object_id=c.pk,
                     object_repr=str(c), action=LogEntry.Action.UPDATE, actor_id=actor.pk,
                     actor_email=actor.email, timestamp=now,
                     changes=changes(c), additional_data={"bulk": True})
            for c in customers]


@transaction.atomic
def customers_bulk_apply(*, actor, uuids: Sequence, action: str, owner=None,
                         tag=None) -> tuple[int, int]:
    """Apply `action` to the customers with these uuids; returns (changed, selected).
    PermissionDenied (nothing changed) when any of them may not be changed (or trashed)."""
    if action not in ACTIONS:
        raise ValueError(action)
    permission = "delete" if action == TRASH else "change"
    customers = _select(actor, uuids, permission)
    now = timezone.now()
    events: list[Event] = []
    logs: list[LogEntry] = []
    if action == ASSIGN_OWNER:
        targets = [c for c in customers if c.owner_id != owner.pk]
        if targets:
            Customer.objects.filter(pk__in=[c.pk for c in targets]).update(
                owner=owner, version=F("version") + 1, updated_at=now)
            owner_name = str(owner)
            events += _events(actor, "customer.updated", targets, {"fields": ["owner"]}, now)
            events += _events(actor, "customer.owner_changed", targets,
                              lambda c: {"from": c.owner_id, "to": owner.pk,
                                         "to_name": owner_name}, now)
            logs = _log_entries(actor, targets, lambda c: {
                "owner": [str(c.owner_id) if c.owner_id else "None", str(owner.pk)]}, now)
    elif action in (ADD_TAG, REMOVE_TAG):
        ids = [c.pk for c in customers]
        tagged = set(CustomerTag.objects.filter(customer_id__in=ids, tag=tag)
                     .values_list("customer_id", flat=True))
        if action == ADD_TAG:
            targets = [c for c in customers if c.pk not in tagged]
            CustomerTag.objects.bulk_create(
                [CustomerTag(customer_id=c.pk, tag=tag) for c in targets],
                ignore_conflicts=True)
            operation = "add"
        else:
            targets = [c for c in customers if c.pk in tagged]
            CustomerTag.objects.filter(customer_id__in=[c.pk for c in targets],
                                       tag=tag).delete()
            operation = "delete"
        if targets:
            Customer.objects.filter(pk__in=[c.pk for c in targets]).update(
                version=F("version") + 1, updated_at=now)
            events += _events(actor, "customer.updated", targets, {"fields": ["tags"]}, now)
            logs = _log_entries(actor, targets, lambda c: {"tags": {
                "type": "m2m", "operation": operation, "objects": [tag.name]}}, now)
    else:  # TRASH
        targets = customers
        Customer.objects.filter(pk__in=[c.pk for c in targets], deleted_at__isnull=True).update(
            deleted_at=now, deleted_by=actor, version=F("version") + 1, updated_at=now)
        events += _events(actor, "customer.deleted", targets, {}, now)
        logs = _log_entries(actor, targets, lambda c: {
            "deleted_at": ["None", str(now)], "deleted_by": ["None", str(actor.pk)]}, now)
    if events:
        Event.objects.bulk_create(events)
        _kick_dispatch_on_commit()
    if logs:
        LogEntry.objects.bulk_create(logs)
    return len(targets), len(customers)
