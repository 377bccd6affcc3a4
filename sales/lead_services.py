"""Writes of leads, and of the admin-managed lead configuration (web forms, assignment and
scoring rules). Each runs in one transaction, checks permissions and records a business event.
Conversion into a customer lives elsewhere (sales.conversion)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.events import event_record
from crm.exceptions import ApplicationError
from crm.services import model_update
from sales.lead_assignment import assign_lead
from sales.lead_scoring import score_lead
from sales.models import Lead, LeadAssignmentRule, LeadScoreRule, WebForm
from sales.permissions import sales_policy_for

LEAD_FIELDS = [
    "first_name", "last_name", "company", "title", "email", "phone", "website", "source",
    "region", "industry", "status", "owner", "team", "message", "description",
    "marketing_consent",
]
# Fields whose change may change the score.
SCORED_FIELDS = {"email", "phone", "company", "title", "website", "source", "region",
                 "industry", "message", "marketing_consent"}
# Statuses a person may set by hand ("converted" is the conversion's job).
MANUAL_STATUSES = [s for s in Lead.Status.values if s != Lead.Status.CONVERTED]


def _require(actor, action: str, lead: Lead | None = None) -> None:
    if lead is None:
        if not actor.has_perm(f"sales.{action}_lead"):
            raise PermissionDenied
    elif not sales_policy_for(actor).can(action, lead, "lead"):
        raise PermissionDenied


def _person(user) -> str:
    return (user.get_full_name() or user.email) if user is not None else ""


def _record_assigned(actor, lead: Lead, via: str) -> None:
    event_record(name="lead.assigned", actor=actor, subject=lead, payload={
        "owner": lead.owner_id, "owner_name": _person(lead.owner),
        "team": lead.team_id, "rule": lead.assigned_by_rule.name if lead.assigned_by_rule_id
        else "", "via": via,
    })


@transaction.atomic
def lead_create(*, actor, data: dict, web_form: WebForm | None = None) -> Lead:
    """A new lead, scored and assigned. `actor` is None for a public web form submission."""
    if actor is not None:
        _require(actor, "add")
    elif web_form is None:
        raise PermissionDenied
    data = {k: v for k, v in data.items() if k in LEAD_FIELDS}
    data["status"] = Lead.Status.NEW
    lead = Lead(**data)
    if web_form is not None:
        lead.web_form = web_form
        if lead.source_id is None and web_form.source_id is not None:
            lead.source = web_form.source
    lead.full_clean()
    lead.score, lead.score_breakdown = score_lead(lead)

    via = "staff" if lead.owner_id is not None else ""
    if lead.owner_id is None:
        via = assign_lead(lead, web_form).via
    if lead.owner_id is None and actor is not None and not actor.is_admin:
        lead.owner, via = actor, "staff"  # nobody else takes it: the creator keeps it
    lead.save()
    if web_form is not None:
        WebForm.objects.filter(pk=web_form.pk).update(
            submission_count=F("submission_count") + 1)

    payload = {
        "name": lead.full_name, "company": lead.company, "email": lead.email,
        "source": lead.source.code if lead.source_id else "",
        "channel": "web_form" if web_form is not None else "staff",
        "score": lead.score,
    }
    if web_form is not None:
        payload["web_form"] = web_form.slug
    event_record(name="lead.created", actor=actor, subject=lead, payload=payload)
    if lead.owner_id is not None:
        _record_assigned(actor, lead, via)
    return lead


def _rescore(lead: Lead) -> None:
    score, breakdown = score_lead(lead)
    if score != lead.score or breakdown != lead.score_breakdown:
        lead.score, lead.score_breakdown = score, breakdown
        lead.save(update_fields=["score", "score_breakdown", "updated_at"])


@transaction.atomic
def lead_update(*, actor, lead: Lead, data: dict, expected_version: int | None) -> Lead:
    _require(actor, "change", lead)
    old_owner = lead.owner_id
    data = {k: v for k, v in data.items() if k in LEAD_FIELDS and k != "status"}
    if lead.status == Lead.Status.CONVERTED:
        raise ApplicationError(_("This lead was converted; it can no longer be edited."))
    lead, changed = model_update(instance=lead, data=data, expected_version=expected_version)
    if SCORED_FIELDS.intersection(changed):
        _rescore(lead)
    if changed:
        event_record(name="lead.updated", actor=actor, subject=lead,
                     payload={"fields": changed})
    if lead.owner_id != old_owner:
        if lead.assigned_by_rule_id is not None:
            lead.assigned_by_rule = None
            lead.save(update_fields=["assigned_by_rule", "updated_at"])
        _record_assigned(actor, lead, "staff")
    return lead


@transaction.atomic
def lead_set_status(*, actor, lead: Lead, status: str,
                    expected_version: int | None = None) -> Lead:
    _require(actor, "change", lead)
    if status not in MANUAL_STATUSES:
        raise ApplicationError(_("Choose one of the offered statuses."))
    if lead.status == Lead.Status.CONVERTED:
        raise ApplicationError(_("This lead was converted; its status can no longer change."))
    old = lead.status
    lead, changed = model_update(instance=lead, data={"status": status},
                                 expected_version=expected_version)
    if changed:
        event_record(name="lead.status_changed", actor=actor, subject=lead,
                     payload={"from": old, "to": status})
    return lead


@transaction.atomic
def lead_delete(*, actor, lead: Lead) -> Lead:
    """Move to the trash (soft): hidden everywhere, restorable."""
    _require(actor, "delete", lead)
    if lead.deleted_at is None:
        lead.deleted_at = timezone.now()
        lead.version += 1
        lead.save(update_fields=["deleted_at", "version", "updated_at"])
        event_record(name="lead.deleted", actor=actor, subject=lead,
                     payload={"name": lead.full_name})
    return lead


@transaction.atomic
def lead_restore(*, actor, lead: Lead) -> Lead:
    _require(actor, "delete", lead)
    if lead.deleted_at is not None:
        lead.deleted_at = None
        lead.version += 1
        lead.save(update_fields=["deleted_at", "version", "updated_at"])
        event_record(name="lead.restored", actor=actor, subject=lead,
                     payload={"name": lead.full_name})
    return lead


# --- configuration: web forms, assignment and scoring rules (Admins) ------------------------
CONFIG_EVENTS = {WebForm: "webform", LeadAssignmentRule: "lead_assignment_rule",
                 LeadScoreRule: "lead_score_rule"}


def _require_admin(actor) -> None:
    if not getattr(actor, "is_admin", False):
        raise PermissionDenied


@transaction.atomic
def config_create(*, actor, model, data: dict):
    """A new web form or rule (Admins only)."""
    _require_admin(actor)
    if model not in CONFIG_EVENTS:
        raise ValueError(model)
    instance = model(**data)
    instance.full_clean()
    instance.save()
    event_record(name=f"{CONFIG_EVENTS[model]}.created", actor=actor, subject=instance,
                 payload={"name": str(instance)})
    return instance


@transaction.atomic
def config_update(*, actor, instance, data: dict, expected_version: int | None):
    _require_admin(actor)
    model = instance._meta.model
    instance, changed = model_update(instance=instance, data=data,
                                     expected_version=expected_version)
    if changed:
        event_record(name=f"{CONFIG_EVENTS[model]}.updated", actor=actor, subject=instance,
                     payload={"fields": changed})
    return instance


@transaction.atomic
def config_delete(*, actor, instance) -> None:
    """Delete a rule. (A web form is deactivated instead: its leads keep pointing at it.)"""
    _require_admin(actor)
    model = instance._meta.model
    if model is WebForm:
        raise ApplicationError(_("Deactivate a web form instead of deleting it."))
    event_record(name=f"{CONFIG_EVENTS[model]}.deleted", actor=actor, subject=instance,
                 payload={"name": str(instance)})
    instance.delete()


@transaction.atomic
def webform_set_active(*, actor, web_form: WebForm, active: bool) -> WebForm:
    return config_update(actor=actor, instance=web_form, data={"is_active": active},
                         expected_version=None)
