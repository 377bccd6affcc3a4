"""Celery tasks of the core: thin interfaces that call services."""

from celery import shared_task


@shared_task(name="crm.dispatch_events", ignore_result=False)
def dispatch_events_task() -> int:
    from crm.events import events_dispatch

    return events_dispatch()
