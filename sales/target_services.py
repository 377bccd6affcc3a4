"""Writes of sales targets. Admins set any target; Managers set those of the teams they manage
and of those teams' members. The period start is normalised to the first day of its month or
quarter; one target per user (or team) and period."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm.events import event_record
from crm.exceptions import ApplicationError
from crm.services import model_update
from sales.forecast import quarter_start
from sales.models import SalesTarget
from sales.permissions import sales_policy_for

TARGET_FIELDS = ["user", "team", "period", "period_start", "amount"]


def period_normalize(period: str, day: datetime.date) -> datetime.date:
    """The first day of the month or quarter that holds `day`."""
    if period == SalesTarget.Period.QUARTER:
        return quarter_start(day)
    return day.replace(day=1)


def target_can_manage(actor, *, user=None, team=None) -> bool:
    """May `actor` set targets for `user` or `team`?"""
    if actor.is_admin:
        return True
    reach = sales_policy_for(actor).reach
    if team is not None:
        return team.pk in reach.managed_team_ids
    return user is not None and user.pk in reach.managed_member_ids


def _check(actor, codename: str, user, team) -> None:
    if not actor.has_perm(f"sales.{codename}_salestarget"):
        raise PermissionDenied
    if (user is None) == (team is None):
        raise ApplicationError(_("Set the target for a user or for a team (one of the two)."))
    if not target_can_manage(actor, user=user, team=team):
        raise PermissionDenied


def _check_unique(data: dict, exclude_pk: int | None = None) -> None:
    owner = {"user": data["user"]} if data.get("user") else {"team": data["team"]}
    clash = SalesTarget.objects.filter(period=data["period"], period_start=data["period_start"],
                                       **owner)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ApplicationError(_duplicate_message(data))


def _duplicate_message(data: dict) -> str:
    who = data.get("user") or data.get("team")
    return _("%(who)s already has a target for this %(period)s (starting %(start)s): edit "
             "that one instead.") % {
        "who": who, "period": SalesTarget.Period(data["period"]).label.lower(),
        "start": data["period_start"].isoformat()}


def _payload(target: SalesTarget) -> dict:
    return {"target": str(target.uuid), "user": target.user_id, "team": target.team_id,
            "period": target.period, "period_start": target.period_start.isoformat(),
            "amount": str(target.amount), "currency": target.currency}


@transaction.atomic
def target_create(*, actor, data: dict) -> SalesTarget:
    data = {k: v for k, v in data.items() if k in TARGET_FIELDS}
    _check(actor, "add", data.get("user"), data.get("team"))
    data["period_start"] = period_normalize(data["period"], data["period_start"])
    _check_unique(data)
    target = SalesTarget(**data)
    target.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError as exc:  # a concurrent create of the same target won
        raise ApplicationError(_duplicate_message(data)) from exc
    event_record(name="salestarget.created", actor=actor, subject=target,
                 payload=_payload(target))
    return target


@transaction.atomic
def target_update(*, actor, target: SalesTarget, data: dict,
                  expected_version: int | None) -> SalesTarget:
    _check(actor, "change", target.user, target.team)
    data = {k: v for k, v in data.items() if k in TARGET_FIELDS}
    merged = {name: data.get(name, getattr(target, name)) for name in TARGET_FIELDS}
    if ("user" in data or "team" in data) and (
            merged["user"] != target.user or merged["team"] != target.team):
        _check(actor, "change", merged["user"], merged["team"])
    merged["period_start"] = period_normalize(merged["period"], merged["period_start"])
    data["period_start"] = merged["period_start"]
    _check_unique(merged, exclude_pk=target.pk)
    try:
        with transaction.atomic():
            target, changed = model_update(instance=target, data=data,
                                           expected_version=expected_version)
    except IntegrityError as exc:
        raise ApplicationError(_duplicate_message(merged)) from exc
    if changed:
        event_record(name="salestarget.updated", actor=actor, subject=target,
                     payload={**_payload(target), "fields": changed})
    return target


@transaction.atomic
def target_delete(*, actor, target: SalesTarget) -> None:
    _check(actor, "delete", target.user, target.team)
    payload = _payload(target)
    event_record(name="salestarget.deleted", actor=actor, subject=target, payload=payload)
    target.delete()
