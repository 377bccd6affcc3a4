"""SLA clock arithmetic: calendar or business time, due times, and the pause of "waiting".

A policy counts calendar time, or (business_hours_only) only the time between business_start
and business_end on its business_days (ISO weekdays, Monday = 1), read in settings.TIME_ZONE.
All arithmetic runs on UTC instants; the local zone is used only to find each day's business
window, so days that are 23 or 25 hours long (DST) come out right.

Pausing ("waiting on customer"): the ticket stores `paused_at`; on resume the paused time, on
the policy's clock, is added to `paused_seconds` and the due times are recomputed from
`created_at` with the target extended by all the paused time, so they move later by exactly
the paused (business) time. Measured times (first response, resolution) are on the policy's
clock too, minus the paused time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

ALL_DAYS = (1, 2, 3, 4, 5, 6, 7)
# A policy whose windows never open would loop for ever; no real target needs more days.
MAX_DAYS = 3660


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _days(policy) -> set[int]:
    return {int(d) for d in (policy.business_days or ALL_DAYS)}


def _as_time(value) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value))


def _window(day: date, policy, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The business window of a local day as UTC instants, or None on a day off."""
    if day.isoweekday() not in _days(policy):
        return None
    start = datetime.combine(day, _as_time(policy.business_start), tzinfo=zone)
    end = datetime.combine(day, _as_time(policy.business_end), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def is_business_clock(policy) -> bool:
    return policy is not None and policy.business_hours_only


def add_business_seconds(start: datetime, seconds: float, policy) -> datetime:
    """The instant `seconds` of the policy's clock after `start` (calendar without a policy or
    for a calendar-time policy)."""
    if not is_business_clock(policy):
        return start + timedelta(seconds=seconds)
    zone = _zone()
    remaining = timedelta(seconds=max(seconds, 0))
    cursor = start.astimezone(UTC)
    day = cursor.astimezone(zone).date()
    for _ in range(MAX_DAYS):
        window = _window(day, policy, zone)
        if window is not None:
            open_at, close_at = window
            cursor = max(cursor, open_at)
            if cursor < close_at:
                available = close_at - cursor
                if remaining <= available:
                    # A target that ends exactly at closing time is due then, not next morning.
                    return cursor + remaining
                remaining -= available
        day += timedelta(days=1)
        cursor = max(cursor, datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC))
    raise ValueError("the SLA policy has no business hours")


def add_business_minutes(start: datetime, minutes: float, policy) -> datetime:
    return add_business_seconds(start, minutes * 60, policy)


def business_seconds_between(a: datetime, b: datetime, policy) -> int:
    """Seconds of the policy's clock from `a` to `b` (0 when b is not after a)."""
    if b <= a:
        return 0
    if not is_business_clock(policy):
        return int((b - a).total_seconds())
    zone = _zone()
    a, b = a.astimezone(UTC), b.astimezone(UTC)
    day, last = a.astimezone(zone).date(), b.astimezone(zone).date()
    total = timedelta(0)
    while day <= last:
        window = _window(day, policy, zone)
        if window is not None:
            lo, hi = max(a, window[0]), min(b, window[1])
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return int(total.total_seconds())


# --- tickets ----------------------------------------------------------------------------------
def policy_for_priority(priority: str):
    from service.models import SLAPolicy

    return SLAPolicy.objects.filter(priority=priority, is_active=True).first()


def compute_due_times(ticket) -> list[str]:
    """Set the ticket's due times from its policy, its created_at and all its paused time.
    The first-response due time stays as it is once the first response was given. Returns
    the names of the fields set."""
    policy = ticket.sla_policy
    if policy is None:
        ticket.first_response_due_at = None
        ticket.resolution_due_at = None
        return ["first_response_due_at", "resolution_due_at"]
    paused = ticket.paused_seconds or 0
    fields = ["resolution_due_at"]
    ticket.resolution_due_at = add_business_seconds(
        ticket.created_at, policy.resolution_minutes * 60 + paused, policy)
    if ticket.first_responded_at is None:
        ticket.first_response_due_at = add_business_seconds(
            ticket.created_at, policy.first_response_minutes * 60 + paused, policy)
        fields.append("first_response_due_at")
    return fields


def apply_policy(ticket) -> list[str]:
    """Attach the active policy of the ticket's priority and compute its due times."""
    ticket.sla_policy = policy_for_priority(ticket.priority)
    return ["sla_policy", *compute_due_times(ticket)]


def pause(ticket, now: datetime | None = None) -> list[str]:
    if ticket.paused_at is None:
        ticket.paused_at = now or timezone.now()
    return ["paused_at"]


def resume(ticket, now: datetime | None = None) -> list[str]:
    """End a pause: its time (on the policy's clock) is added to paused_seconds and the due
    times move later by as much."""
    if ticket.paused_at is None:
        return []
    now = now or timezone.now()
    ticket.paused_seconds = (ticket.paused_seconds or 0) + business_seconds_between(
        ticket.paused_at, now, ticket.sla_policy)
    ticket.paused_at = None
    return ["paused_at", "paused_seconds", *compute_due_times(ticket)]


def elapsed_seconds(ticket, until: datetime) -> int:
    """Working time of the ticket from creation to `until`, without its paused time."""
    total = business_seconds_between(ticket.created_at, until, ticket.sla_policy)
    paused = ticket.paused_seconds or 0
    if ticket.paused_at is not None and ticket.paused_at < until:
        paused += business_seconds_between(ticket.paused_at, until, ticket.sla_policy)
    return max(total - paused, 0)


# --- the sweep (service.sla_sweep) ------------------------------------------------------------
_INSERT_NOTICES = """
    INSERT INTO {table} (ticket_id, target, level, due_at, created_at)
    SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[],
                         %s::timestamptz[])
    ON CONFLICT ON CONSTRAINT sla_notice_once DO NOTHING
    RETURNING ticket_id, target, level, due_at
"""

# (target, due field, extra filter) of the two SLA targets; the filters match the partial
# indexes ticket_first_response_due and ticket_resolution_due.
_RUNNING = ("new", "assigned", "in_progress")


def _targets():
    from service.models import SLANotice

    return (
        (SLANotice.Target.FIRST_RESPONSE, "first_response_due_at", "first_response_minutes",
         "first_response_breached", {"first_responded_at__isnull": True}),
        (SLANotice.Target.RESOLUTION, "resolution_due_at", "resolution_minutes",
         "resolution_breached", {}),
    )


def _warn_at(ticket, minutes: int, percent: int, policy) -> datetime:
    """When `percent` of the target (plus the paused time) has passed since creation."""
    return add_business_seconds(
        ticket.created_at, minutes * 60 * percent / 100 + (ticket.paused_seconds or 0), policy)


def sla_sweep(*, now: datetime | None = None) -> int:
    """Flag breaches and notify near-breaches and breaches, each once.

    Per policy and target, one indexed query finds the running tickets whose due time is at
    most the target's remaining share away (a superset of those past their warning time: the
    exact warning time is then computed per candidate, business-aware). The notices are
    inserted in one statement, ON CONFLICT DO NOTHING on (ticket, target, level, due_at),
    and only those this run actually inserted (RETURNING) are e-mailed and recorded, so a run
    repeated or overlapping sends nothing twice. A moved due time (after a pause) warns anew.
    Returns the number of notices inserted.
    """
    from django.db import connection, transaction

    from crm.events import event_record
    from service import notifications
    from service.models import ServiceConfig, SLANotice, SLAPolicy, Ticket

    now = now or timezone.now()
    percent = ServiceConfig.get().near_breach_percent
    rows: list[tuple[int, str, str, datetime]] = []
    customers: dict[int, tuple[int | None, str]] = {}
    with transaction.atomic():
        for policy in SLAPolicy.objects.all():
            for target, due_field, minutes_field, flag, extra in _targets():
                minutes = getattr(policy, minutes_field)
                horizon = add_business_seconds(now, minutes * 60 * (100 - percent) / 100, policy)
                candidates = (
                    Ticket.objects.filter(sla_policy=policy, status__in=_RUNNING, **extra,
                                          **{f"{due_field}__lte": horizon})
                    .only("id", "customer_id", "number", "created_at", "paused_seconds",
                          due_field)
                )
                for ticket in candidates:
                    due = getattr(ticket, due_field)
                    customers[ticket.pk] = (ticket.customer_id, ticket.number)
                    if due <= now:
                        rows.append((ticket.pk, target, SLANotice.Level.BREACH, due))
                    elif _warn_at(ticket, minutes, percent, policy) <= now:
                        rows.append((ticket.pk, target, SLANotice.Level.NEAR, due))
                # The flags, set-based (no version bump: they are not form fields).
                Ticket.objects.filter(sla_policy=policy, status__in=_RUNNING, **extra,
                                      **{f"{due_field}__lte": now, flag: False}
                                      ).update(**{flag: True})
        if not rows:
            return 0
        with connection.cursor() as cursor:
            cursor.execute(
                _INSERT_NOTICES.format(table=SLANotice._meta.db_table),
                [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                 [r[3] for r in rows], [now] * len(rows)])
            inserted = cursor.fetchall()
        for ticket_id, target, level, due_at in inserted:
            notifications.enqueue("sla_notice", ticket_id, target=target, level=level,
                                  due_at=due_at.isoformat())
            if level == SLANotice.Level.BREACH:
                customer_id, number = customers[ticket_id]
                event_record(name="ticket.sla_breached", customer_id=customer_id,
                             subject=Ticket(pk=ticket_id),
                             payload={"ticket": ticket_id, "number": number, "target": target,
                                      "due_at": due_at})
    return len(inserted)
