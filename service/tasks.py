"""Celery tasks of the service desk: thin interfaces that call the services.

Beat entries (crm/schedules.py): service.sla_sweep every 2 minutes, service.auto_close
hourly, service.auto_archive daily. Every one is idempotent: a repeated or overlapping run
changes and sends nothing twice.
"""

from __future__ import annotations

import smtplib

from celery import shared_task


@shared_task(name="service.sla_sweep", soft_time_limit=100, time_limit=120)
def sla_sweep_task() -> int:
    from service.sla import sla_sweep

    return sla_sweep()


@shared_task(name="service.auto_close", soft_time_limit=240, time_limit=300)
def auto_close_task() -> int:
    from service.services import tickets_auto_close

    return tickets_auto_close()


@shared_task(name="service.auto_archive", soft_time_limit=240, time_limit=300)
def auto_archive_task() -> int:
    from service.services import tickets_auto_archive

    return tickets_auto_archive()


# Retried when the mail server fails (a retry re-renders from the committed ticket).
@shared_task(name="service.send_ticket_email", bind=True, max_retries=5, soft_time_limit=50,
             time_limit=60)
def send_ticket_email_task(self, kind: str, ticket_id: int, **params) -> int:
    from service.notifications import send_ticket_email

    try:
        return send_ticket_email(kind, ticket_id, **params)
    except (smtplib.SMTPException, OSError) as exc:
        raise self.retry(exc=exc, countdown=60 * (self.request.retries + 1)) from exc
