"""The service's Celery tasks: auto close and archive (set-based, with events), and the SLA
sweep and ticket e-mails through a real worker and a real SMTP server."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from crm.env import env_int, env_str
from crm.models import Event
from service import notifications
from service.models import ServiceConfig, SLANotice, Ticket
from service.services import tickets_auto_archive, tickets_auto_close
from service.tasks import auto_archive_task, auto_close_task, sla_sweep_task
from tests.conftest import Mailbox
from tests.factories import CustomerFactory, TicketFactory

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def idle(status: str, days: int, **extra) -> Ticket:
    return TicketFactory(status=status,
                         last_public_activity_at=timezone.now() - timedelta(days=days), **extra)


@pytest.mark.django_db
def test_auto_close_closes_idle_resolved_tickets(sla_policies):
    customer = CustomerFactory()
    old = idle("resolved", 8, customer=customer)
    recent = idle("resolved", 2)
    open_old = idle("in_progress", 30)
    assert tickets_auto_close() == 1
    old.refresh_from_db()
    assert old.status == "closed" and old.closed_at is not None
    assert old.version == 2 and old.last_public_activity_at == old.closed_at
    assert Ticket.objects.get(pk=recent.pk).status == "resolved"
    assert Ticket.objects.get(pk=open_old.pk).status == "in_progress"
    event = Event.objects.get(name="ticket.status_changed")
    assert (event.customer_id, event.subject_id, event.payload["to"]) == (
        customer.pk, str(old.pk), "closed")
    assert tickets_auto_close() == 0  # idempotent


@pytest.mark.django_db
def test_auto_archive_archives_long_closed_tickets(sla_policies):
    config = ServiceConfig.get()
    config.archive_days = 10
    config.save()
    old = idle("closed", 11)
    idle("closed", 9)
    assert tickets_auto_archive() == 1
    assert Ticket.objects.get(pk=old.pk).status == "archived"
    assert Ticket.objects.filter(status="closed").count() == 1
    assert tickets_auto_archive() == 0


@pytest.mark.django_db
def test_the_sweeps_work_in_batches(sla_policies, monkeypatch):
    from service import services

    monkeypatch.setattr(services, "SWEEP_BATCH", 2)
    for _ in range(5):
        idle("resolved", 20)
    assert tickets_auto_close() == 5
    assert Event.objects.filter(name="ticket.status_changed").count() == 5


# --- the real worker --------------------------------------------------------------------------
def _port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


@pytest.fixture
def worker_mailbox():
    """A real SMTP server where the worker process sends (its crm.settings: EMAIL_HOST and
    EMAIL_PORT from the environment, by default 127.0.0.1:1025)."""
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
def test_the_sweep_run_twice_mails_each_notice_once(celery_worker, worker_mailbox,
                                                    sla_policies, agent, support_team):
    now = timezone.now()
    policy = sla_policies["urgent"]
    late = TicketFactory(number="T-900001", subject="Late one", status="assigned",
                         assignee=agent, team=support_team, sla_policy=policy,
                         first_response_due_at=now - timedelta(minutes=3),
                         resolution_due_at=now + timedelta(hours=5))
    near = TicketFactory(number="T-900002", subject="Near one", status="in_progress",
                         assignee=agent, team=support_team, sla_policy=policy,
                         created_at=now - timedelta(minutes=55),
                         first_response_due_at=now + timedelta(minutes=5),
                         resolution_due_at=now + timedelta(hours=7))
    runs = [sla_sweep_task.apply_async(ignore_result=False) for _ in range(2)]
    assert sorted(run.get(timeout=60) for run in runs) == [0, 2]
    assert sla_sweep_task.apply_async(ignore_result=False).get(timeout=60) == 0

    # Each notice goes to the assignee and the team's manager, once.
    messages = worker_mailbox.wait_for(4, timeout=20)
    subjects = sorted((m["To"], m["Subject"]) for m in messages)
    assert subjects == sorted([
        ("sam.support@example.com", "[T-900001] SLA breached: First response"),
        ("mia.manager@example.com", "[T-900001] SLA breached: First response"),
        ("sam.support@example.com", "[T-900002] SLA breach soon: First response"),
        ("mia.manager@example.com", "[T-900002] SLA breach soon: First response"),
    ])
    assert "/service/tickets/" in Mailbox.text_of(messages[0])
    assert SLANotice.objects.count() == 2
    assert Ticket.objects.get(pk=late.pk).first_response_breached
    assert not Ticket.objects.get(pk=near.pk).first_response_breached
    worker_mailbox.wait_for(5, timeout=2)
    assert len(worker_mailbox.messages) == 4


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_assignment_is_mailed_by_the_worker_after_commit(celery_worker, worker_mailbox,
                                                            sla_policies, agent, manager,
                                                            support_team):
    from service.services import ticket_assign

    ticket = TicketFactory(number="T-900003", subject="Printer", team=support_team)
    ticket_assign(actor=manager, ticket=ticket, assignee=agent)
    [message] = worker_mailbox.wait_for(1, timeout=20)
    assert message["Subject"] == "[T-900003] Assigned to you: Printer"
    assert message["To"] == "sam.support@example.com"
    assert "T-900003" in Mailbox.text_of(message)


@pytest.mark.django_db
def test_auto_tasks_run_as_tasks(sla_policies):
    idle("resolved", 30)
    assert auto_close_task.apply().get() == 1
    assert auto_archive_task.apply().get() == 0


@pytest.mark.django_db
def test_the_email_task_sends_in_the_recipients_language(mailbox, agent, support_team,
                                                         sla_policies):
    agent.language = "zh-hans"
    agent.save(update_fields=["language"])
    ticket = TicketFactory(number="T-900004", subject="Screen", assignee=agent,
                           team=support_team)
    assert notifications.send_ticket_email("assigned", ticket.pk) == 1
    [message] = mailbox.wait_for(1)
    assert message["To"] == agent.email
    assert "T-900004" in message["Subject"]
