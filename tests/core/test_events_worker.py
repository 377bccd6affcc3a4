"""The outbox with a real Celery worker: each event reaches each subscriber exactly once."""

import pytest
from django.db import transaction

from crm.events import event_record
from crm.health import redis_client
from crm.models import Event, EventDelivery
from crm.tasks import dispatch_events_task
from tests.support.worker_app import PROBE_COUNTER

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_dispatched(event, timeout=30):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event.refresh_from_db()
        if event.dispatched_at is not None:
            return event
        time.sleep(0.1)
    raise AssertionError("the event was not dispatched in time")


def test_it_dispatches_an_event_exactly_once_when_the_task_runs_twice(celery_worker):
    # Recording the event kicks a dispatch on commit; two more runs race it on two processes.
    with transaction.atomic():
        event = event_record(name="probe.created", payload={"sleep": 1.0})
    first = dispatch_events_task.apply_async(ignore_result=False)
    second = dispatch_events_task.apply_async(ignore_result=False)
    first.get(timeout=30)
    second.get(timeout=30)
    wait_dispatched(event)
    # And a late duplicate after the fact changes nothing either.
    dispatch_events_task.apply_async(ignore_result=False).get(timeout=30)

    assert int(redis_client().get(PROBE_COUNTER.format(event_id=event.uuid))) == 1
    assert EventDelivery.objects.filter(event=event).count() == 1
    effects = Event.objects.filter(name="probe-effect", payload__source=event.pk)
    assert effects.count() == 1


def test_it_records_nothing_when_the_transaction_rolls_back(celery_worker):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        event_record(name="probe.rolled_back")
        raise Boom

    dispatch_events_task.apply_async(ignore_result=False).get(timeout=30)
    assert not Event.objects.filter(name="probe.rolled_back").exists()
