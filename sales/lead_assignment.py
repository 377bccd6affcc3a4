"""Who gets a new lead. In order:

1. the web form's owner rule: its fixed owner, else round-robin among its team's active
   members (the form row is locked, the last lead of that form in that team gives the turn);
2. else the first active LeadAssignmentRule (by order) whose source and region conditions
   match: a fixed user, or round-robin among the team's ACTIVE members, the rule's
   `last_assigned` pointer read and moved under a row lock (select_for_update), so
   concurrent creations take turns fairly;
3. else nobody (the caller decides: staff keep the lead themselves, web leads stay in the
   unassigned pool of the managers).
Call it inside the creating transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from sales.models import Lead, LeadAssignmentRule, WebForm


@dataclass
class Assignment:
    owner: object | None = None
    team: object | None = None
    rule: LeadAssignmentRule | None = None
    via: str = ""  # "web_form", "rule" or "" (nobody)


def _active_members(team_id: int) -> list:
    return list(get_user_model().objects.filter(teams__id=team_id, is_active=True)
                .order_by("id"))


def _next_after(members: list, last_id: int | None):
    """The member after `last_id` in id order, wrapping round; None when there are none."""
    if not members:
        return None
    if last_id is not None:
        for member in members:
            if member.pk > last_id:
                return member
    return members[0]


def last_web_form_owner_query(web_form: WebForm):
    return (Lead.objects.filter(web_form=web_form).order_by("-id")
            .values_list("owner_id", flat=True)[:1])


def last_web_form_owner(web_form: WebForm) -> int | None:
    """The owner of the form's newest lead (None when it has none or nobody owns it)."""
    row = list(last_web_form_owner_query(web_form))
    return row[0] if row else None


def _web_form_assignment(web_form: WebForm) -> Assignment | None:
    if web_form.owner_id is not None:
        owner = get_user_model().objects.filter(pk=web_form.owner_id, is_active=True).first()
        if owner is not None:
            return Assignment(owner=owner, team=web_form.team, via="web_form")
    if web_form.team_id is not None:
        # The form row is the lock that makes concurrent submissions take turns.
        WebForm.objects.select_for_update().filter(pk=web_form.pk).first()
        members = _active_members(web_form.team_id)
        # The newest lead of the form (highest id) gives the turn: read while the form row
        # is locked, so it must be cheap: last_web_form_owner() reads one row.
        last = last_web_form_owner(web_form)
        owner = _next_after(members, last)
        if owner is not None:
            return Assignment(owner=owner, team=web_form.team, via="web_form")
    return None


def _matches(rule: LeadAssignmentRule, lead: Lead) -> bool:
    return ((rule.match_source_id is None or rule.match_source_id == lead.source_id)
            and (rule.match_region_id is None or rule.match_region_id == lead.region_id))


def _rule_assignment(lead: Lead) -> Assignment | None:
    rules = (LeadAssignmentRule.objects.filter(is_active=True)
             .select_related("user", "team").order_by("order", "id"))
    for rule in rules:
        if not _matches(rule, lead):
            continue
        if rule.strategy == LeadAssignmentRule.Strategy.USER:
            if rule.user is not None and rule.user.is_active:
                return Assignment(owner=rule.user, team=rule.team, rule=rule, via="rule")
            continue
        # Round-robin: lock the rule row, read its pointer, move it.
        locked = LeadAssignmentRule.objects.select_for_update().get(pk=rule.pk)
        owner = _next_after(_active_members(locked.team_id), locked.last_assigned_id)
        if owner is None:
            continue  # nobody active in the team: the next rule decides
        locked.last_assigned = owner
        locked.save(update_fields=["last_assigned", "updated_at"])
        return Assignment(owner=owner, team=rule.team, rule=locked, via="rule")
    return None


def assign_lead(lead: Lead, web_form: WebForm | None = None) -> Assignment:
    """Decide the lead's owner and team and set them on `lead` (not saved)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("assign_lead must run inside the creating transaction")
    assignment = None
    if web_form is not None:
        assignment = _web_form_assignment(web_form)
    if assignment is None:
        assignment = _rule_assignment(lead) or Assignment()
    if assignment.owner is not None:
        lead.owner = assignment.owner
        lead.team = assignment.team
        lead.assigned_by_rule = assignment.rule
    return assignment
