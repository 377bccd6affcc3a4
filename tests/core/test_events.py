"""The outbox dispatcher in-process: delivery, failure isolation and back-off."""

import pytest
from django.utils import timezone

from crm import events
from crm.events import event_record, events_dispatch, subscribe, unsubscribe
from crm.models import Event, EventDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls():
    seen = []

    def good(event):
        seen.append(("good", event.pk))

    def bad(event):
        seen.append(("bad", event.pk))
        raise RuntimeError("subscriber broke")

    subscribe("unit.*", good, key="unit.good")
    subscribe("unit.fails", bad, key="unit.bad")
    yield seen
    unsubscribe("unit.good")
    unsubscribe("unit.bad")


def test_it_delivers_each_event_to_matching_subscribers_once(calls, rep):
    event = event_record(name="unit.created", actor=rep, payload={"x": 1})
    assert events_dispatch() == 1
    assert events_dispatch() == 0
    assert calls == [("good", event.pk)]
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert event.actor == rep


def test_a_failing_subscriber_does_not_undo_the_others_and_is_retried_later(calls):
    event = event_record(name="unit.fails")
    events_dispatch()
    event.refresh_from_db()
    assert event.dispatched_at is None
    assert event.attempts == 1
    assert "RuntimeError: subscriber broke" in event.last_error
    assert event.available_at > timezone.now()
    # The good subscriber's delivery is kept: a retry will not run it again.
    assert list(EventDelivery.objects.filter(event=event).values_list("subscriber", flat=True)) \
        == ["unit.good"]

    Event.objects.filter(pk=event.pk).update(available_at=timezone.now())
    unsubscribe("unit.bad")
    events_dispatch()
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert calls.count(("good", event.pk)) == 1


def test_it_gives_up_after_the_maximum_attempts(calls):
    event = event_record(name="unit.fails")
    Event.objects.filter(pk=event.pk).update(attempts=events.MAX_ATTEMPTS)
    assert events_dispatch() == 0
    assert calls == []


def test_anonymous_actor_is_stored_as_none():
    from django.contrib.auth.models import AnonymousUser

    event = event_record(name="unit.anon", actor=AnonymousUser())
    assert event.actor is None


def test_recording_kicks_dispatch_once_per_transaction(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        event_record(name="unit.a")
        event_record(name="unit.b")
    assert len(callbacks) == 1


def test_a_crashed_dispatch_keeps_its_attempt_and_lease(calls):
    """The attempt is committed before subscribers run: a killed worker cannot loop forever."""
    event = event_record(name="unit.created")
    claimed = events._claim_next()
    assert claimed.pk == event.pk
    event.refresh_from_db()
    assert event.attempts == 1
    assert event.available_at > timezone.now()  # leased: no other dispatcher takes it
    assert events._claim_next() is None
    assert calls == []


def test_a_subscriber_registered_twice_runs_once(calls):
    seen = []
    subscribe("unit.*", seen.append, key="unit.twice")
    subscribe("unit.created", seen.append, key="unit.twice")
    try:
        event_record(name="unit.created")
        events_dispatch()
    finally:
        unsubscribe("unit.twice")
    assert len(seen) == 1


def test_failed_events_can_be_counted_and_retried(calls):
    event = event_record(name="unit.fails")
    Event.objects.filter(pk=event.pk).update(attempts=events.MAX_ATTEMPTS)
    assert events.events_failed_count() == 1
    assert events.events_retry(Event.objects.filter(pk=event.pk)) == 1
    assert events.events_failed_count() == 0
