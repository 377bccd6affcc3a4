"""Celery tasks of the core: thin interfaces that call services."""

from celery import shared_task


# The soft limit stays above events_dispatch's time budget (120 s).
@shared_task(name="crm.dispatch_events", soft_time_limit=180, time_limit=240)
def dispatch_events_task() -> int:
    from crm.events import events_dispatch

    return events_dispatch()
