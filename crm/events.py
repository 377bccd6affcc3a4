"""Business events: the transactional outbox and its dispatcher (ARCHITECTURE section 5).

A service records an event inside its own transaction with `event_record`. After the commit a
dispatch task runs (beat also sweeps every 30 s) and hands every event to each subscriber
registered for its name. A dispatcher first leases an event (SKIP LOCKED, attempt counted and
committed), then runs each subscriber in its own transaction together with an EventDelivery
row that is unique per (event, subscriber). So a duplicated, concurrent or retried dispatch
task repeats no database effect; effects outside the database (e-mail, HTTP, tasks) go in
`transaction.on_commit()` inside the handler and follow the same rule.

Modules subscribe in their AppConfig.ready():

    from crm.events import subscribe
    subscribe("customer.*", timeline_record)
"""

from __future__ import annotations

import fnmatch
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection, models, transaction
from django.utils import timezone

from crm.models import Event, EventDelivery

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A claimed event is left alone this long: longer than the dispatch task's hard time limit.
LEASE = timedelta(minutes=10)

Handler = Callable[[Event], None]


@dataclass(frozen=True)
class Subscriber:
    pattern: str
    handler: Handler
    key: str


_subscribers: list[Subscriber] = []


def subscribe(pattern: str, handler: Handler, *, key: str | None = None) -> None:
    """Register `handler` for events whose name matches `pattern` (fnmatch: "ticket.*")."""
    key = key or f"{handler.__module__}.{handler.__qualname__}"
    if any(s.key == key and s.pattern == pattern for s in _subscribers):
        return
    _subscribers.append(Subscriber(pattern=pattern, handler=handler, key=key))


def unsubscribe(key: str) -> None:
    _subscribers[:] = [s for s in _subscribers if s.key != key]


def subscribers_for(name: str) -> list[Subscriber]:
    """Matching subscribers, each key once even when several of its patterns match."""
    found: dict[str, Subscriber] = {}
    for sub in _subscribers:
        if sub.key not in found and fnmatch.fnmatchcase(name, sub.pattern):
            found[sub.key] = sub
    return list(found.values())


def event_record(
    *,
    name: str,
    actor=None,
    customer_id: int | None = None,
    subject: models.Model | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Write an event in the caller's transaction; dispatch starts once it commits."""
    from django.contrib.contenttypes.models import ContentType

    event = Event(
        name=name,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        customer_id=customer_id,
        payload=payload or {},
    )
    if subject is not None:
        event.subject_type = ContentType.objects.get_for_model(subject)
        event.subject_id = str(subject.pk)
    event.save()
    _kick_dispatch_on_commit()
    return event


def _kick_dispatch() -> None:
    from crm.tasks import dispatch_events_task

    try:
        dispatch_events_task.delay()
    except Exception:
        # The broker is down: the beat sweep delivers the event later. Never fail the request.
        logger.warning("could not enqueue event dispatch; the sweep will deliver", exc_info=True)


def _kick_dispatch_on_commit() -> None:
    # One kick per transaction is enough, however many events it records.
    pending = getattr(connection, "run_on_commit", None) or []
    if any(entry[1] is _kick_dispatch for entry in pending):
        return
    transaction.on_commit(_kick_dispatch)


def events_dispatch(*, time_budget: float = 120.0) -> int:
    """Deliver due events to their subscribers until none is due or the budget is spent.

    Returns how many events were completed. The budget stays below the task's soft time limit,
    so a long backlog is finished by the next kick or sweep instead of being cut off.
    """
    deadline = time.monotonic() + time_budget
    completed = 0
    while time.monotonic() < deadline:
        event = _claim_next()
        if event is None:
            break
        completed += _deliver(event)
    return completed


def _claim_next() -> Event | None:
    """Lease the oldest due event: its attempt is counted and committed before any subscriber
    runs, so a crash (hard time limit, lost worker) still counts towards MAX_ATTEMPTS, and no
    other dispatcher takes the event until the lease runs out."""
    now = timezone.now()
    with transaction.atomic():
        event = (
            Event.objects.select_for_update(skip_locked=True)
            .filter(dispatched_at__isnull=True, available_at__lte=now, attempts__lt=MAX_ATTEMPTS)
            .order_by("available_at", "id")
            .first()
        )
        if event is None:
            return None
        event.attempts += 1
        event.available_at = now + LEASE
        event.save(update_fields=["attempts", "available_at"])
    return event


def _deliver(event: Event) -> int:
    delivered = set(
        EventDelivery.objects.filter(event=event).values_list("subscriber", flat=True)
    )
    errors = []
    for sub in subscribers_for(event.name):
        if sub.key in delivered:
            continue
        try:
            # The subscriber's effect and its delivery row commit together, or neither does.
            # Work that leaves the database (e-mail, HTTP, Celery) belongs in
            # transaction.on_commit() inside the handler, so it runs only after this commit.
            with transaction.atomic():
                sub.handler(event)
                EventDelivery.objects.create(event=event, subscriber=sub.key)
        except SoftTimeLimitExceeded:
            raise  # the lease brings the event back later
        except Exception as exc:
            logger.exception("subscriber %s failed on event %s", sub.key, event.pk)
            errors.append(f"{sub.key}: {type(exc).__name__}: {exc}")
    now = timezone.now()
    if errors:
        Event.objects.filter(pk=event.pk).update(
            last_error="\n".join(errors)[:4000],
            # Back off: 1, 2, 4, ... minutes before the sweep tries again.
            available_at=now + timedelta(minutes=2 ** (event.attempts - 1)),
        )
        return 0
    Event.objects.filter(pk=event.pk).update(dispatched_at=now, last_error="")
    return 1


def events_failed_count() -> int:
    """Events that gave up after MAX_ATTEMPTS: they need a person (admin: retry)."""
    return Event.objects.filter(dispatched_at__isnull=True, attempts__gte=MAX_ATTEMPTS).count()


def events_retry(queryset) -> int:
    """Give failed events a fresh set of attempts, due now."""
    count = queryset.filter(dispatched_at__isnull=True).update(
        attempts=0, available_at=timezone.now()
    )
    _kick_dispatch_on_commit()
    return count
