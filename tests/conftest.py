"""Shared fixtures: personas, a real local SMTP server, a real Celery worker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from accounts import roles
from tests.factories import PASSWORD, CustomerFactory, TeamFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent


# --- personas -------------------------------------------------------------------------------
@pytest.fixture
def role_groups(db):
    """The role groups of the data migration; transactional tests flush them, so re-seed."""
    from django.apps import apps
    from django.contrib.auth.models import Group

    if Group.objects.filter(name__in=roles.ROLES).count() != len(roles.ROLES):
        roles.sync_role_permissions(apps)


@pytest.fixture
def admin(role_groups):
    return UserFactory(email="alice.admin@example.com", first_name="Alice", roles=[roles.ADMIN])


@pytest.fixture
def manager(role_groups):
    return UserFactory(email="mia.manager@example.com", first_name="Mia", roles=[roles.MANAGER])


@pytest.fixture
def rep(role_groups):
    return UserFactory(email="bob.rep@example.com", first_name="Bob", roles=[roles.SALES])


@pytest.fixture
def analyst(role_groups):
    """Read-only: sees what their role allows, changes nothing."""
    return UserFactory(email="carol.analyst@example.com", first_name="Carol",
                       roles=[roles.ANALYST])


@pytest.fixture
def team(manager, rep):
    return TeamFactory(name="Sales East", manager=manager, members=[manager, rep])


# Customers: `rep` owns own_customer; team_customer is in rep's team ("Sales East", managed by
# `manager`); `outsider` (Sales, no team) sees neither; `analyst` sees all and changes nothing.
@pytest.fixture
def outsider(role_groups):
    return UserFactory(email="olly.outsider@example.com", first_name="Olly",
                       roles=[roles.SALES])


@pytest.fixture
def own_customer(rep, team):
    return CustomerFactory(name="Acme Robotics", owner=rep, team=team)


@pytest.fixture
def team_customer(manager, team):
    return CustomerFactory(name="Beta Foods", owner=manager, team=team)


@pytest.fixture
def other_customer(outsider):
    return CustomerFactory(name="Gamma Textiles", owner=outsider)


# Service: `agent` (Support) works in "Service Desk", managed by `manager`; `outsider` sees
# none of its tickets; `analyst` sees all and changes nothing.
@pytest.fixture
def agent(role_groups):
    return UserFactory(email="sam.support@example.com", first_name="Sam", roles=[roles.SUPPORT])


@pytest.fixture
def support_team(manager, agent):
    return TeamFactory(name="Service Desk", manager=manager, members=[manager, agent])


# Seeded by data migrations, flushed by transactional tests: these put them back.
@pytest.fixture
def pipeline(db):
    """The default pipeline stages (Prospecting ... Won, Lost), by name."""
    from importlib import import_module

    from django.apps import apps

    from sales.models import PipelineStage

    if not PipelineStage.objects.exists():
        import_module("sales.migrations.0002_defaults").seed_stages(apps, None)
    return {s.name: s for s in PipelineStage.objects.all()}


@pytest.fixture
def sla_policies(db):
    """The default SLA policies by priority, and the service settings row."""
    from importlib import import_module

    from django.apps import apps

    from service.models import SLAPolicy

    import_module("service.migrations.0002_defaults").seed(apps, None)
    return {p.priority: p for p in SLAPolicy.objects.filter(is_active=True)}


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def client_for(client):
    """client_for(user): the test client signed in as that user."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request in another one leaves it active
    in the thread (LocaleMiddleware activates, nothing deactivates), and a later test's
    gettext() would answer in it."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in Redis, outside the test's transaction: reset them."""
    from django.core.cache import cache

    client = cache._cache.get_client()
    for key in client.scan_iter(match=f"*{cache.key_prefix}*ratelimit:*"):
        client.delete(key)
    yield


# --- a real SMTP server -------------------------------------------------------------------------
class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def wait_for(self, count=1, timeout=10.0):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages

    @staticmethod
    def text_of(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mailbox(settings):
    """A real SMTP server on a loopback port; Django sends its mail there during the test."""
    handler = Mailbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    try:
        yield handler
    finally:
        controller.stop()


# --- a real Celery worker -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real `celery worker` process on the test database, the test Redis and the test queue."""
    from django.conf import settings as django_settings

    from crm.celery import app

    db = django_settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="crm.settings_test",
        DATABASE_URL=(
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        PYTHONPATH=str(ROOT),
    )
    app.control.purge()  # nothing left over from an earlier run
    hostname = f"test-{os.getpid()}@localhost"
    log = open(ROOT / ".data" / "log" / f"test-worker-{os.getpid()}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.support.worker_app", "worker",
         "--loglevel=INFO", "--concurrency=2", "--pool=prefork", "-n", hostname,
         "-Q", django_settings.CELERY_TASK_DEFAULT_QUEUE, "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the Celery worker exited early; see {log.name}")
            if app.control.ping(destination=[hostname], timeout=0.5):
                break
        else:
            raise RuntimeError(f"the Celery worker did not answer; see {log.name}")
        yield hostname
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
