"""Business events: the transactional outbox and its dispatcher (ARCHITECTURE section 5).

A service records an event inside its own transaction with `event_record`. After the commit a
dispatch task runs (beat also sweeps every 30 s) and hands every event to each subscriber
registered for its name. Each (event, subscriber) pair is delivered once: the delivery row and
the subscriber's effect commit together, and rows being dispatched are locked with SKIP LOCKED,
so a duplicated or retried dispatch task changes nothing twice.

Modules subscribe in their AppConfig.ready():

    from crm.events import subscribe
    subscribe("customer.*", timeline_record)
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from crm.models import Event, EventDelivery

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BATCH_SIZE = 200

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
    return [s for s in _subscribers if fnmatch.fnmatchcase(name, s.pattern)]


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


def events_dispatch(*, batch_size: int = BATCH_SIZE, max_batches: int = 50) -> int:
    """Deliver due events to their subscribers; returns how many events were completed."""
    completed = 0
    for _ in range(max_batches):
        done, seen = _dispatch_batch(batch_size)
        completed += done
        if seen < batch_size:
            break
    return completed


def _dispatch_batch(batch_size: int) -> tuple[int, int]:
    now = timezone.now()
    with transaction.atomic():
        events = list(
            Event.objects.select_for_update(skip_locked=True)
            .filter(dispatched_at__isnull=True, available_at__lte=now, attempts__lt=MAX_ATTEMPTS)
            .order_by("available_at", "id")[:batch_size]
        )
        if not events:
            return 0, 0
        delivered = set(
            EventDelivery.objects.filter(event__in=events).values_list("event_id", "subscriber")
        )
        completed = 0
        for event in events:
            errors = []
            for sub in subscribers_for(event.name):
                if (event.pk, sub.key) in delivered:
                    continue
                try:
                    # A savepoint per subscriber: a failing one rolls back only its own effect.
                    with transaction.atomic():
                        sub.handler(event)
                        EventDelivery.objects.create(event=event, subscriber=sub.key)
                except Exception as exc:
                    logger.exception("subscriber %s failed on event %s", sub.key, event.pk)
                    errors.append(f"{sub.key}: {exc!r}")
            if errors:
                event.attempts += 1
                event.last_error = "\n".join(errors)[:4000]
                # Back off: 1, 2, 4, ... minutes before the sweep tries again.
                event.available_at = now + timedelta(minutes=2 ** (event.attempts - 1))
            else:
                event.dispatched_at = now
                event.last_error = ""
                completed += 1
        Event.objects.bulk_update(
            events, ["dispatched_at", "attempts", "last_error", "available_at"]
        )
    return completed, len(events)
