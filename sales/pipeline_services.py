"""Writes of opportunities: create, edit, move between stages (the kanban and the edit form
use the same move), soft delete and restore. Each runs in one transaction, checks the sales
policy, keeps the stage history and records a business event."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.events import event_record
from crm.exceptions import ApplicationError, StaleObjectError
from crm.services import model_update
from customers.permissions import policy_for as customer_policy_for
from sales.models import Opportunity, OpportunityStageHistory, PipelineStage
from sales.permissions import sales_policy_for

OPPORTUNITY_FIELDS = [
    "name", "customer", "contact", "owner", "team", "amount", "currency", "probability",
    "expected_close_date", "lost_reason", "description", "lead",
]


def _payload(opportunity: Opportunity) -> dict:
    return {
        "name": opportunity.name, "amount": str(opportunity.amount),
        "currency": opportunity.currency, "stage": opportunity.stage.name,
        "opportunity": str(opportunity.uuid),
    }


def _check_customer(actor, opportunity_or_data) -> None:
    customer = opportunity_or_data.customer
    if customer.deleted_at is not None or not customer_policy_for(actor).can_view(customer):
        raise ApplicationError(_("Choose a customer you can see."))
    contact = opportunity_or_data.contact
    if contact is not None and contact.customer_id != customer.pk:
        raise ApplicationError(_("The contact must belong to the opportunity's customer."))


def _check_lost_reason(stage: PipelineStage, lost_reason: str) -> None:
    if stage.is_lost and not (lost_reason or "").strip():
        raise ApplicationError(_("Say why the opportunity was lost."))


@transaction.atomic
def opportunity_create(*, actor, data: dict, stage: PipelineStage | None = None) -> Opportunity:
    if not actor.has_perm("sales.add_opportunity"):
        raise PermissionDenied
    stage = stage or data.get("stage") or PipelineStage.objects.filter(
        is_active=True, is_won=False, is_lost=False).order_by("order", "id").first()
    if stage is None:
        raise ApplicationError(_("There is no active pipeline stage; an admin must add one."))
    data = {k: v for k, v in data.items() if k in OPPORTUNITY_FIELDS}
    opportunity = Opportunity(stage=stage, **data)
    if opportunity.probability is None:
        opportunity.probability = stage.probability
    if opportunity.owner_id is None:
        opportunity.owner = actor
    if opportunity.team_id is None and opportunity.customer_id:
        opportunity.team_id = opportunity.customer.team_id
    _check_customer(actor, opportunity)
    _check_lost_reason(stage, opportunity.lost_reason)
    now = timezone.now()
    opportunity.stage_entered_at = now
    if stage.is_closed:
        opportunity.closed_at = now
    opportunity.full_clean()
    opportunity.save()
    OpportunityStageHistory.objects.create(opportunity=opportunity, from_stage=None,
                                           to_stage=stage, changed_by=actor, changed_at=now)
    event_record(name="opportunity.created", actor=actor, customer_id=opportunity.customer_id,
                 subject=opportunity, payload=_payload(opportunity))
    return opportunity


@transaction.atomic
def opportunity_update(*, actor, opportunity: Opportunity, data: dict,
                       expected_version: int | None) -> Opportunity:
    """Edit the fields; a changed "stage" in `data` moves it (history, event) like the board."""
    if not sales_policy_for(actor).can("change", opportunity, "opportunity"):
        raise PermissionDenied
    stage = data.pop("stage", None)
    data = {k: v for k, v in data.items() if k in OPPORTUNITY_FIELDS}
    # An opportunity always has an owner; a missing owner or team means "keep the current".
    for name in ("owner", "team"):
        if name in data and data[name] is None:
            del data[name]
    if "customer" in data and data["customer"].pk != opportunity.customer_id:
        probe = Opportunity(customer=data["customer"], contact=data.get("contact"))
        _check_customer(actor, probe)
    elif data.get("contact") is not None and data["contact"].customer_id != opportunity.customer_id:
        raise ApplicationError(_("The contact must belong to the opportunity's customer."))
    opportunity, changed = model_update(instance=opportunity, data=data,
                                        expected_version=expected_version)
    if changed:
        event_record(name="opportunity.updated", actor=actor,
                     customer_id=opportunity.customer_id, subject=opportunity,
                     payload={**_payload(opportunity), "fields": changed})
    if stage is not None and stage.pk != opportunity.stage_id:
        opportunity = opportunity_move(actor=actor, opportunity=opportunity, stage=stage,
                                       expected_version=opportunity.version,
                                       lost_reason=opportunity.lost_reason)
    return opportunity


@transaction.atomic
def opportunity_move(*, actor, opportunity: Opportunity, stage: PipelineStage,
                     expected_version: int | None, lost_reason: str = "") -> Opportunity:
    """Move to `stage`: refused when the card is stale (someone changed it since the board
    was drawn), when the stage is inactive, or when a lost stage has no reason. Records how
    long the opportunity sat in the stage it leaves."""
    if not sales_policy_for(actor).can("change", opportunity, "opportunity"):
        raise PermissionDenied
    current = Opportunity.objects.select_for_update().select_related("stage").get(
        pk=opportunity.pk)
    if expected_version is not None and current.version != expected_version:
        raise StaleObjectError(_(
            "Someone else changed this opportunity since the page was loaded. Nothing was "
            "moved: reload to see where it is now."))
    if current.deleted_at is not None:
        raise ApplicationError(_("This opportunity is in the trash."))
    if not stage.is_active:
        raise ApplicationError(_("That stage is no longer in use."))
    if stage.pk == current.stage_id:
        return current
    lost_reason = (lost_reason or current.lost_reason or "").strip()
    _check_lost_reason(stage, lost_reason)
    now = timezone.now()
    previous = current.stage
    OpportunityStageHistory.objects.create(
        opportunity=current, from_stage=previous, to_stage=stage, changed_by=actor,
        changed_at=now,
        seconds_in_previous=max(0, int((now - current.stage_entered_at).total_seconds())),
    )
    current.stage = stage
    current.stage_entered_at = now
    # The probability follows the stage unless the user had set their own.
    if current.probability == previous.probability or stage.is_closed:
        current.probability = stage.probability
    current.closed_at = now if stage.is_closed else None
    current.lost_reason = lost_reason if stage.is_lost else current.lost_reason
    current.version += 1
    current.save(update_fields=["stage", "stage_entered_at", "probability", "closed_at",
                                "lost_reason", "version", "updated_at"])
    payload = {**_payload(current), "from_stage": previous.name}
    event_record(name="opportunity.stage_changed", actor=actor,
                 customer_id=current.customer_id, subject=current, payload=payload)
    if stage.is_won:
        event_record(name="opportunity.won", actor=actor, customer_id=current.customer_id,
                     subject=current, payload=payload)
    elif stage.is_lost:
        event_record(name="opportunity.lost", actor=actor, customer_id=current.customer_id,
                     subject=current, payload={**payload, "reason": lost_reason})
    return current


@transaction.atomic
def opportunity_delete(*, actor, opportunity: Opportunity) -> None:
    if not sales_policy_for(actor).can("delete", opportunity, "opportunity"):
        raise PermissionDenied
    Opportunity.objects.filter(pk=opportunity.pk).update(
        deleted_at=timezone.now(), updated_at=timezone.now(), version=F("version") + 1)
    event_record(name="opportunity.deleted", actor=actor, customer_id=opportunity.customer_id,
                 subject=opportunity, payload={"name": opportunity.name})


@transaction.atomic
def opportunity_restore(*, actor, opportunity: Opportunity) -> None:
    if not sales_policy_for(actor).can("delete", opportunity, "opportunity"):
        raise PermissionDenied
    Opportunity.objects.filter(pk=opportunity.pk).update(
        deleted_at=None, updated_at=timezone.now(), version=F("version") + 1)
    event_record(name="opportunity.restored", actor=actor,
                 customer_id=opportunity.customer_id, subject=opportunity,
                 payload={"name": opportunity.name})
