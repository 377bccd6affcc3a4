"""The Celery app: Redis broker, JSON only, settings under CELERY_* in crm/settings.py.

Besides the app this module holds the two heartbeats /healthz reads: a worker bootstep and a
beat scheduler that each write a timestamp to Redis while they are alive.
"""

from __future__ import annotations

import logging
import os
import time

from celery import Celery, bootsteps
from celery.beat import PersistentScheduler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

logger = logging.getLogger(__name__)

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

HEARTBEAT_INTERVAL = 10  # seconds between heartbeats
WORKERS_KEY = "crm:heartbeat:workers"  # hash: worker hostname -> unix time
BEAT_KEY = "crm:heartbeat:beat"  # unix time of beat's last tick


def _redis():
    from crm.health import redis_client

    return redis_client()


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Writes the worker's hostname and the time to Redis every few seconds."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker):
        self.beat(worker.hostname)
        self.tref = worker.timer.call_repeatedly(
            HEARTBEAT_INTERVAL, self.beat, (worker.hostname,), priority=10
        )

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
        try:
            _redis().hdel(WORKERS_KEY, worker.hostname)
        except Exception:  # the broker may already be gone at shutdown
            logger.debug("could not clear worker heartbeat", exc_info=True)

    def beat(self, hostname):
        try:
            _redis().hset(WORKERS_KEY, hostname, int(time.time()))
        except Exception:
            logger.warning("worker heartbeat could not be written", exc_info=True)


app.steps["worker"].add(WorkerHeartbeat)


class HeartbeatScheduler(PersistentScheduler):
    """The default beat scheduler, plus a Redis timestamp on each tick for /healthz."""

    _last_heartbeat = 0.0

    def tick(self, *args, **kwargs):
        now = time.time()
        if now - self._last_heartbeat >= HEARTBEAT_INTERVAL:
            try:
                _redis().set(BEAT_KEY, int(now))
                self._last_heartbeat = now
            except Exception:
                logger.warning("beat heartbeat could not be written", exc_info=True)
        # Wake up at least once per heartbeat interval even when no task is due soon.
        return min(super().tick(*args, **kwargs), HEARTBEAT_INTERVAL)
