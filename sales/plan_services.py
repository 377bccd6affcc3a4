"""Writes of customer development plans: a plan for an opportunity, its planned steps (date,
action), the result recorded for each, and how the plan ended (succeeded or failed).

Whoever may change the opportunity (sales policy) and holds the model permission may change
its plans. A closed plan is read-only. Each write runs in one transaction, with the plan row
locked, and records a business event on the customer's timeline.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.events import event_record
from crm.exceptions import ApplicationError, StaleObjectError
from sales.models import DevelopmentPlan, Opportunity, PlanStep
from sales.permissions import sales_policy_for


def plan_can_change(actor, opportunity: Opportunity) -> bool:
    return sales_policy_for(actor).can("change", opportunity, "opportunity")


def _require(actor, opportunity: Opportunity, codename: str) -> None:
    if not (actor.has_perm(codename) and plan_can_change(actor, opportunity)):
        raise PermissionDenied


def _lock_open(plan: DevelopmentPlan) -> DevelopmentPlan:
    current = DevelopmentPlan.objects.select_for_update().select_related(
        "opportunity").get(pk=plan.pk)
    if current.status != DevelopmentPlan.Status.ACTIVE:
        raise ApplicationError(_("This plan has ended; it can no longer be changed."))
    if current.opportunity.deleted_at is not None:
        raise ApplicationError(_("This opportunity is in the trash."))
    return current


def _payload(plan: DevelopmentPlan, **extra) -> dict:
    return {"plan": str(plan.uuid), "title": plan.title, "name": plan.title,
            "opportunity": str(plan.opportunity.uuid), "opportunity_name": plan.opportunity.name,
            **extra}


def _text(value: str | None) -> str:
    return (value or "").strip()


@transaction.atomic
def plan_create(*, actor, opportunity: Opportunity, title: str, goal: str = "") -> DevelopmentPlan:
    _require(actor, opportunity, "sales.add_developmentplan")
    if opportunity.deleted_at is not None:
        raise ApplicationError(_("This opportunity is in the trash."))
    if not _text(title):
        raise ApplicationError(_("Give the plan a title."))
    plan = DevelopmentPlan(opportunity=opportunity, title=_text(title), goal=_text(goal),
                           created_by=actor)
    plan.full_clean()
    plan.save()
    event_record(name="plan.created", actor=actor, customer_id=opportunity.customer_id,
                 subject=plan, payload=_payload(plan))
    return plan


@transaction.atomic
def step_add(*, actor, plan: DevelopmentPlan, planned_date: datetime.date,
             action: str) -> PlanStep:
    _require(actor, plan.opportunity, "sales.add_planstep")
    plan = _lock_open(plan)
    if not _text(action):
        raise ApplicationError(_("Say what is planned."))
    if planned_date is None:
        raise ApplicationError(_("Give the step a date."))
    step = PlanStep(plan=plan, planned_date=planned_date, action=_text(action))
    step.full_clean()
    step.save()
    event_record(name="plan.step_added", actor=actor,
                 customer_id=plan.opportunity.customer_id, subject=step,
                 payload=_payload(plan, action=step.action, planned_date=planned_date))
    return step


def _lock_step(actor, step: PlanStep) -> tuple[DevelopmentPlan, PlanStep]:
    _require(actor, step.plan.opportunity, "sales.change_planstep")
    plan = _lock_open(step.plan)
    current = PlanStep.objects.select_for_update().get(pk=step.pk, plan=plan)
    return plan, current


@transaction.atomic
def step_record_result(*, actor, step: PlanStep, result: str, done: bool = True,
                       expected_version: int | None = None) -> PlanStep:
    """Write what happened; `done` marks the step carried out (a result is then required)."""
    plan, current = _lock_step(actor, step)
    if expected_version is not None and current.version != expected_version:
        raise StaleObjectError()
    result = _text(result)
    if done and not result:
        raise ApplicationError(_("Write the result before marking the step done."))
    was_done = current.done_at is not None
    current.result = result
    if done and not was_done:
        current.done_at = timezone.now()
        current.done_by = actor
    current.version += 1
    current.save(update_fields=["result", "done_at", "done_by", "version", "updated_at"])
    if done and not was_done:
        event_record(name="plan.step_done", actor=actor,
                     customer_id=plan.opportunity.customer_id, subject=current,
                     payload=_payload(plan, action=current.action, result=result))
    else:
        event_record(name="plan.step_updated", actor=actor,
                     customer_id=plan.opportunity.customer_id, subject=current,
                     payload=_payload(plan, action=current.action))
    return current


@transaction.atomic
def step_reopen(*, actor, step: PlanStep) -> PlanStep:
    plan, current = _lock_step(actor, step)
    if current.done_at is None:
        return current
    current.done_at = None
    current.done_by = None
    current.version += 1
    current.save(update_fields=["done_at", "done_by", "version", "updated_at"])
    event_record(name="plan.step_reopened", actor=actor,
                 customer_id=plan.opportunity.customer_id, subject=current,
                 payload=_payload(plan, action=current.action))
    return current


CLOSING_STATUSES = (DevelopmentPlan.Status.SUCCEEDED, DevelopmentPlan.Status.FAILED)


@transaction.atomic
def plan_close(*, actor, plan: DevelopmentPlan, status: str, outcome: str,
               expected_version: int | None = None) -> DevelopmentPlan:
    """End the plan as succeeded or failed, saying how; it is read-only afterwards."""
    _require(actor, plan.opportunity, "sales.change_developmentplan")
    current = _lock_open(plan)
    if expected_version is not None and current.version != expected_version:
        raise StaleObjectError()
    if status not in CLOSING_STATUSES:
        raise ApplicationError(_("A plan ends as succeeded or failed."))
    if not _text(outcome):
        raise ApplicationError(_("Say how the plan ended."))
    current.status = status
    current.outcome = _text(outcome)
    current.closed_at = timezone.now()
    current.version += 1
    current.save(update_fields=["status", "outcome", "closed_at", "version", "updated_at"])
    event_record(name="plan.closed", actor=actor, customer_id=current.opportunity.customer_id,
                 subject=current, payload=_payload(current, status=status,
                                                   outcome=current.outcome))
    return current
