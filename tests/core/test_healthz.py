"""/healthz: database, Redis, Celery worker and beat, for load balancers and monitors.

The heartbeats live in the test Redis (DB 15). Other test runs may share that Redis and run a
real worker, whose heartbeat would land in the real keys; so the tests that write heartbeats
by hand point crm.celery's key names at keys of their own (crm.health reads them from there
at each request) and delete them afterwards. The last test uses the real keys and a real
worker.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from crm import celery as crm_celery
from crm.health import STALE_AFTER, redis_client

SECRET_HOST = "celery@db-internal-7.corp.example"
CHECKS = {"database", "redis", "worker", "beat", "events"}
FIELDS = {"ok", "error", "alive", "last_seen_seconds", "failed"}


@pytest.fixture
def heartbeat_keys(monkeypatch):
    """Own Redis keys for the heartbeats of this test, removed afterwards."""
    prefix = f"crm:test:healthz:{uuid.uuid4().hex}"
    workers_key, beat_key = f"{prefix}:workers", f"{prefix}:beat"
    monkeypatch.setattr(crm_celery, "WORKERS_KEY", workers_key)
    monkeypatch.setattr(crm_celery, "BEAT_KEY", beat_key)
    yield workers_key, beat_key
    redis_client().delete(workers_key, beat_key)


def beat_at(keys, worker_time=None, beat_time=None, hostname=SECRET_HOST):
    workers_key, beat_key = keys
    if worker_time is not None:
        redis_client().hset(workers_key, hostname, int(worker_time))
    if beat_time is not None:
        redis_client().set(beat_key, int(beat_time))


def get_health(client):
    response = client.get("/healthz")
    assert response["Content-Type"] == "application/json"
    return response, response.json()


def assert_nothing_leaks(response, body, settings):
    """Only the documented fields; no URL, password or host name."""
    assert set(body) == {"status", "checks"}
    assert set(body["checks"]) == CHECKS
    for check in body["checks"].values():
        assert set(check) <= FIELDS
    text = response.content.decode()
    db = settings.DATABASES["default"]
    for secret in (settings.REDIS_URL, SECRET_HOST, "db-internal", "redis://", "postgres://",
                   db["PASSWORD"], db["USER"] + ":", settings.SECRET_KEY):
        if secret:
            assert secret not in text
    assert "password" not in text.lower()


@pytest.mark.django_db
def test_it_fails_without_worker_and_beat_heartbeats(client, heartbeat_keys, settings):
    response, body = get_health(client)  # anonymous: no login needed
    assert response.status_code == 503
    assert body["status"] == "failing"
    checks = body["checks"]
    assert checks["database"]["ok"] is True
    assert checks["redis"]["ok"] is True
    assert checks["worker"] == {"ok": False, "alive": 0}
    assert checks["beat"] == {"ok": False}
    assert "no-store" in response["Cache-Control"]
    assert_nothing_leaks(response, body, settings)


@pytest.mark.django_db
def test_it_is_ok_with_fresh_heartbeats(client, heartbeat_keys, settings):
    now = time.time()
    beat_at(heartbeat_keys, worker_time=now - 3, beat_time=now - 5)
    beat_at(heartbeat_keys, worker_time=now, hostname="celery@worker-2")

    response, body = get_health(client)
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["worker"]["alive"] == 2
    assert body["checks"]["worker"]["last_seen_seconds"] <= 1
    assert 4 <= body["checks"]["beat"]["last_seen_seconds"] <= 7
    assert_nothing_leaks(response, body, settings)


@pytest.mark.django_db
def test_stale_heartbeats_count_as_down(client, heartbeat_keys, settings):
    stale = time.time() - STALE_AFTER - 5
    beat_at(heartbeat_keys, worker_time=stale, beat_time=stale)

    response, body = get_health(client)
    assert response.status_code == 503
    assert body["status"] == "failing"
    worker, beat = body["checks"]["worker"], body["checks"]["beat"]
    assert worker["ok"] is False and worker["alive"] == 0
    assert worker["last_seen_seconds"] >= STALE_AFTER
    assert beat["ok"] is False and beat["last_seen_seconds"] >= STALE_AFTER
    assert_nothing_leaks(response, body, settings)

    # One live worker among dead ones is enough.
    beat_at(heartbeat_keys, worker_time=time.time(), beat_time=time.time(),
            hostname="celery@worker-2")
    response, body = get_health(client)
    assert response.status_code == 200
    assert body["checks"]["worker"] == {"ok": True, "alive": 1, "last_seen_seconds": 0}


@pytest.mark.django_db
def test_it_reports_redis_down_without_revealing_where_it_is(client, heartbeat_keys, settings):
    from tests.conftest import free_port

    settings.REDIS_URL = f"redis://:s3cret-pass@127.0.0.1:{free_port()}/3"
    response, body = get_health(client)
    assert response.status_code == 503
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["worker"]["ok"] is False
    assert body["checks"]["beat"]["ok"] is False
    assert "s3cret-pass" not in response.content.decode()
    assert_nothing_leaks(response, body, settings)


@pytest.mark.django_db
def test_plain_http_probes_are_not_redirected(client, heartbeat_keys, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/login/").status_code == 301  # the rest of the site is
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content)["checks"]["database"]["ok"] is True


def test_only_get_is_allowed(client):
    assert client.post("/healthz").status_code == 405
    assert client.put("/healthz").status_code == 405


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_heartbeat_makes_the_worker_check_ok(client, celery_worker):
    # The real keys of crm/celery.py, written by the worker's own bootstep.
    deadline = time.monotonic() + 15
    while True:
        seen = redis_client().hget(crm_celery.WORKERS_KEY, celery_worker)
        response, body = get_health(client)
        if seen is not None and body["checks"]["worker"]["ok"]:
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.5)
    assert time.time() - int(seen) <= STALE_AFTER
    assert body["checks"]["worker"]["alive"] >= 1
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert celery_worker not in response.content.decode()


@pytest.mark.django_db
def test_events_that_gave_up_make_it_fail(client, heartbeat_keys, settings):
    from crm import events
    from crm.models import Event

    now = time.time()
    beat_at(heartbeat_keys, worker_time=now, beat_time=now)
    event = events.event_record(name="health.stuck")
    Event.objects.filter(pk=event.pk).update(attempts=events.MAX_ATTEMPTS)
    response, body = get_health(client)
    assert response.status_code == 503
    assert body["checks"]["events"] == {"ok": False, "failed": 1}
