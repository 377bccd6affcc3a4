"""/healthz: database, Redis, Celery worker and beat, for load balancers and monitors.

No login, no secrets: it says only whether each part answers and how old the heartbeats are.
"""

from __future__ import annotations

import time
from functools import lru_cache

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

# A heartbeat older than this means the process is gone (they beat every 10 s).
STALE_AFTER = 60


@lru_cache(maxsize=2)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def redis_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return {"ok": False, "error": "database unreachable"}
    return {"ok": True}


def _check_events() -> dict:
    from crm.events import events_failed_count

    try:
        failed = events_failed_count()
    except Exception:
        return {"ok": False, "error": "database unreachable"}
    # Events that gave up after every retry need a person: Django admin, "Retry".
    return {"ok": failed == 0, "failed": failed}


def _heartbeats(now: float) -> tuple[dict, dict, dict]:
    from crm.celery import BEAT_KEY, WORKERS_KEY

    try:
        client = redis_client()
        client.ping()
        workers = client.hgetall(WORKERS_KEY)
        beat = client.get(BEAT_KEY)
    except Exception:
        down = {"ok": False, "error": "redis unreachable"}
        return down, {"ok": False, "error": "unknown: redis unreachable"}, dict(down)
    ages = sorted(now - int(ts) for ts in workers.values())
    alive = [age for age in ages if age <= STALE_AFTER]
    worker = {"ok": bool(alive), "alive": len(alive)}
    if ages:
        worker["last_seen_seconds"] = max(0, int(ages[0]))
    beat_age = None if beat is None else max(0, int(now - int(beat)))
    beat_status = {"ok": beat_age is not None and beat_age <= STALE_AFTER}
    if beat_age is not None:
        beat_status["last_seen_seconds"] = beat_age
    return {"ok": True}, worker, beat_status


@never_cache
@require_safe
def healthz(request):
    now = time.time()
    redis_status, worker, beat = _heartbeats(now)
    checks = {"database": _check_database(), "redis": redis_status, "worker": worker,
              "beat": beat, "events": _check_events()}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "failing", "checks": checks},
        status=200 if healthy else 503,
    )
