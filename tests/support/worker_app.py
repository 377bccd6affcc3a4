"""The Celery app as the real worker runs it, plus one probe subscriber for the tests.

`celery -A tests.support.worker_app worker` starts the project's own app (crm.celery) and
subscribes `probe_handler` to "probe.*" events, so a test can watch a real dispatch.
"""

import time

from celery.signals import task_prerun, worker_init

from crm.celery import app

__all__ = ["app"]

PROBE_COUNTER = "crm:test:probe:{event_id}"


def probe_handler(event):
    """Slow on purpose, so that two dispatch tasks overlap; counts its runs in Redis and
    records its effect as an event in the dispatcher's transaction."""
    from crm.events import event_record
    from crm.health import redis_client

    redis_client().incr(PROBE_COUNTER.format(event_id=event.uuid))
    time.sleep(float(event.payload.get("sleep", 0)))
    event_record(name="probe-effect", payload={"source": event.pk})


@task_prerun.connect
def _forget_content_types(**kwargs):
    """Transactional tests flush the tables between tests, and content types come back with new
    ids; the worker must not keep using the ids it cached before (a test-only situation)."""
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()


@worker_init.connect
def _subscribe_probe(**kwargs):
    import django

    django.setup()
    from crm.events import subscribe

    subscribe("probe.*", probe_handler, key="tests.probe")
