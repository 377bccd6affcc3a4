"""Task reminders: due reminders are e-mailed once, over real SMTP, in the assignee's language;
a failed send gives the claim back; two real Celery runs at once send each reminder once."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from crm.env import env_int, env_str
from customers.models import Task
from customers.task_services import task_create, task_reminders_send, task_update
from customers.tasks import send_task_reminders_task
from tests.conftest import Mailbox, free_port
from tests.factories import UserFactory

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def make_task(assignee, *, title="Call back", remind_in=timedelta(minutes=-5), customer=None,
              status=Task.Status.OPEN, reminded=False) -> Task:
    now = timezone.now()
    return Task.objects.create(
        title=title, assignee=assignee, created_by=assignee, customer=customer,
        due_at=now + remind_in + timedelta(hours=1), remind_at=now + remind_in, status=status,
        reminded_at=now if reminded else None)


@pytest.mark.django_db
def test_it_emails_each_due_reminder_once(mailbox, rep, own_customer):
    due = make_task(rep, title="Send the contract", customer=own_customer)
    make_task(rep, title="Not yet", remind_in=timedelta(hours=2))
    make_task(rep, title="Already done", status=Task.Status.DONE)
    make_task(rep, title="Already reminded", reminded=True)

    assert task_reminders_send() == 1
    [message] = mailbox.wait_for(1)
    assert message["To"] == rep.email
    assert message["Subject"] == "Reminder: Send the contract"
    text = Mailbox.text_of(message)
    link = settings.SITE_URL + reverse("customers:task_detail", kwargs={"uuid": due.uuid})
    assert link in text and own_customer.name in text
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f'href="{link}"' in html
    due.refresh_from_db()
    assert due.reminded_at is not None

    # A second sweep, or a duplicated one, sends nothing again.
    assert task_reminders_send() == 0
    assert len(mailbox.messages) == 1


@pytest.mark.django_db
def test_it_writes_in_the_assignees_language(mailbox, role_groups):
    lin = UserFactory(email="lin@example.com", first_name="Lin", language="zh-hans",
                      roles=[roles.SALES])
    make_task(lin, title="报价")
    assert task_reminders_send() == 1
    [message] = mailbox.wait_for(1)
    # Django's own zh-hans date format: proof the message was rendered in Chinese.
    assert "年" in Mailbox.text_of(message)


@pytest.mark.django_db
def test_it_uses_the_due_time_when_no_reminder_time_is_given(mailbox, rep):
    task = task_create(actor=rep, data={
        "title": "Due drives it", "due_at": timezone.now() - timedelta(minutes=1),
        "remind_at": None, "assignee": rep})
    assert task.remind_at == task.due_at
    assert task_reminders_send() == 1
    assert mailbox.wait_for(1)[0]["Subject"] == "Reminder: Due drives it"


@pytest.mark.django_db
def test_a_new_reminder_time_sends_a_new_reminder(mailbox, rep):
    task = make_task(rep, title="Again")
    assert task_reminders_send() == 1
    task.refresh_from_db()
    soon = timezone.now() - timedelta(seconds=1)
    task_update(actor=rep, task=task, data={"remind_at": soon}, expected_version=task.version)
    assert task_reminders_send() == 1
    assert len(mailbox.wait_for(2)) == 2


@pytest.mark.django_db
def test_it_sends_in_batches(mailbox, rep):
    for i in range(7):
        make_task(rep, title=f"Batch {i}")
    assert task_reminders_send(batch_size=3) == 7
    subjects = sorted(m["Subject"] for m in mailbox.wait_for(7))
    assert subjects == [f"Reminder: Batch {i}" for i in range(7)]
    assert not Task.objects.filter(reminded_at__isnull=True).exists()


@pytest.mark.django_db
def test_it_skips_inactive_assignees_without_retrying(mailbox, rep):
    task = make_task(rep)
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    assert task_reminders_send() == 0
    task.refresh_from_db()
    assert task.reminded_at is not None
    assert mailbox.messages == []


@pytest.mark.django_db
def test_it_gives_the_claim_back_when_the_mail_server_fails(settings, rep, caplog):
    settings.MAILERS = {"default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},  # nobody listens
    }}
    first, second = make_task(rep, title="First"), make_task(rep, title="Second")
    with caplog.at_level(logging.ERROR, logger="customers.task_services"):
        assert task_reminders_send() == 0
    assert "given back" in caplog.text
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.reminded_at is None and second.reminded_at is None  # retried next minute


# --- the real worker --------------------------------------------------------------------------
def _port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        # As the SMTP server binds: a closed connection's TIME_WAIT does not count as in use.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


@pytest.fixture
def worker_mailbox():
    """A real SMTP server where the worker process sends. The worker reads crm.settings from
    the environment it inherited from this process (pytest's test environment, which swaps in
    the in-memory mail backend here, does not run there): EMAIL_HOST:EMAIL_PORT, by default
    127.0.0.1:1025."""
    if env_str("EMAIL_BACKEND", SMTP_BACKEND) != SMTP_BACKEND:
        pytest.skip("the worker does not send over SMTP in this environment")
    host, port = env_str("EMAIL_HOST", "127.0.0.1"), env_int("EMAIL_PORT", 1025)
    if not _port_is_free(host, port):
        pytest.skip(f"{host}:{port} is in use; the worker's mail cannot be collected")
    handler = Mailbox()
    controller = Controller(handler, hostname=host, port=port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_worker_runs_send_each_reminder_exactly_once(celery_worker,
                                                                    worker_mailbox, rep):
    titles = {f"Reminder {i:02d}" for i in range(24)}
    for title in titles:
        make_task(rep, title=title)

    # Two runs race on the worker's two processes, in small batches so that they interleave.
    runs = [send_task_reminders_task.apply_async(kwargs={"batch_size": 3}, ignore_result=False)
            for _ in range(2)]
    sent = [run.get(timeout=60) for run in runs]
    assert sum(sent) == len(titles)

    messages = worker_mailbox.wait_for(len(titles), timeout=20)
    subjects = [m["Subject"] for m in messages]
    assert sorted(subjects) == sorted(f"Reminder: {t}" for t in titles)  # none twice
    assert not Task.objects.filter(reminded_at__isnull=True).exists()

    # A late duplicate run finds nothing to send.
    assert send_task_reminders_task.apply_async(ignore_result=False).get(timeout=60) == 0
    assert len(worker_mailbox.messages) == len(titles)
