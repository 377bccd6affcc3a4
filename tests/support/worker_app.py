"""The Celery app as the real worker runs it, plus one probe subscriber for the tests.

`celery -A tests.support.worker_app worker` starts the project's own app (crm.celery) and
subscribes `probe_handler` to "probe.*" events, so a test can watch a real dispatch.
"""

import time

from celery.signals import worker_init

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


@worker_init.connect
def _subscribe_probe(**kwargs):
    import django

    django.setup()
    from crm.events import subscribe

    subscribe("probe.*", probe_handler, key="tests.probe")
