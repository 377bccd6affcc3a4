"""Writes of segments. Each runs in one transaction, checks the segment rules of
customers.segments.segment_can, and records a business event (subject: the segment)."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.events import event_record
from crm.exceptions import ApplicationError
from crm.services import model_update
from customers.models import Customer, Segment, SegmentMember
from customers.segments import segment_can, validate_rules
from customers.selectors import customer_list_for_user

SEGMENT_FIELDS = ("name", "description", "rules")
MAX_MEMBERS_PER_CALL = 1_000


def _require(actor, action: str, segment: Segment | None = None) -> None:
    if not segment_can(actor, action, segment):
        raise PermissionDenied


def _clean(kind: str, rules) -> dict:
    if kind == Segment.Kind.STATIC:
        return {}
    return validate_rules(rules)  # RulesError (a ValidationError) lists what is wrong


@transaction.atomic
def segment_create(*, actor, name: str, description: str = "", kind: str = Segment.Kind.RULES,
                   rules: dict | None = None) -> Segment:
    _require(actor, "add")
    if kind not in Segment.Kind.values:
        raise ApplicationError(_("Choose a segment type."))
    segment = Segment(name=name, description=description, kind=kind,
                      rules=_clean(kind, rules or {"op": "and", "rules": []}), owner=actor)
    segment.full_clean()
    segment.save()
    event_record(name="segment.created", actor=actor, subject=segment,
                 payload={"name": segment.name, "kind": segment.kind})
    return segment


@transaction.atomic
def segment_update(*, actor, segment: Segment, data: dict, expected_version: int) -> Segment:
    """Change name, description and (rule-based) rules; the type stays as created."""
    _require(actor, "change", segment)
    data = {k: v for k, v in data.items() if k in SEGMENT_FIELDS}
    if "rules" in data:
        data["rules"] = _clean(segment.kind, data["rules"])
    segment, changed = model_update(instance=segment, data=data,
                                    expected_version=expected_version)
    if changed:
        event_record(name="segment.updated", actor=actor, subject=segment,
                     payload={"fields": changed})
    return segment


@transaction.atomic
def segment_soft_delete(*, actor, segment: Segment) -> Segment:
    """Hide the segment everywhere; the row (and a static list's members) stays."""
    _require(actor, "delete", segment)
    if segment.deleted_at is None:
        segment.deleted_at = timezone.now()
        segment.version += 1
        segment.save(update_fields=["deleted_at", "version", "updated_at"])
        event_record(name="segment.deleted", actor=actor, subject=segment,
                     payload={"name": segment.name})
    return segment


def _static(segment: Segment) -> None:
    if segment.kind != Segment.Kind.STATIC:
        raise ApplicationError(_("Only a static list has members to add or remove; a "
                                 "rule-based segment follows its rules."))


@transaction.atomic
def segment_members_add(*, actor, segment: Segment, customers: Iterable[Customer]) -> int:
    """Put customers on a static list, all or none; returns how many were not on it yet.

    Every customer must be visible to the actor (one query checks them all); set-based
    (one existence read, one bulk insert), so the customer list's bulk bar can call it too."""
    _require(actor, "change", segment)
    _static(segment)
    ids = {c.pk for c in customers}
    if not ids:
        return 0
    if len(ids) > MAX_MEMBERS_PER_CALL:
        raise ApplicationError(_("Add at most %(max)d customers at a time.")
                               % {"max": MAX_MEMBERS_PER_CALL})
    visible = set(customer_list_for_user(actor).filter(pk__in=ids)
                  .values_list("pk", flat=True))
    if visible != ids:
        raise ApplicationError(_("Nothing was added: you may not see at least one of these "
                                 "customers."))
    present = set(SegmentMember.objects.filter(segment=segment, customer_id__in=ids)
                  .values_list("customer_id", flat=True))
    new = sorted(ids - present)
    if not new:
        return 0
    now = timezone.now()
    SegmentMember.objects.bulk_create(
        [SegmentMember(segment=segment, customer_id=pk, added_by=actor, added_at=now)
         for pk in new],
        ignore_conflicts=True,  # a concurrent add of the same customer is not an error
    )
    event_record(name="segment.members_added", actor=actor,
                 customer_id=new[0] if len(new) == 1 else None, subject=segment,
                 payload={"segment": segment.name, "customer_ids": new[:MAX_MEMBERS_PER_CALL]})
    return len(new)


@transaction.atomic
def segment_member_remove(*, actor, segment: Segment, customer: Customer) -> bool:
    """Take a customer off a static list; False when it was not on it."""
    _require(actor, "change", segment)
    _static(segment)
    deleted, _detail = SegmentMember.objects.filter(segment=segment, customer=customer).delete()
    if deleted:
        event_record(name="segment.member_removed", actor=actor, customer_id=customer.pk,
                     subject=segment, payload={"segment": segment.name})
    return bool(deleted)
