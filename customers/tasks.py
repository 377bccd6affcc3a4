"""Celery tasks of the customers app: thin interfaces that call services."""

from celery import shared_task


# Beat runs this every minute (crm/schedules.py: "send-task-reminders"). The service's time
# budget (50 s) stays below the soft limit, so a long backlog is finished by the next run.
@shared_task(name="customers.send_task_reminders", soft_time_limit=90, time_limit=120)
def send_task_reminders_task(batch_size: int | None = None) -> int:
    from customers.task_services import REMINDER_BATCH, task_reminders_send

    return task_reminders_send(batch_size=batch_size or REMINDER_BATCH)


# Celery discovers only <app>/tasks.py: the import job lives beside its engine.
from customers.transfer_tasks import (  # noqa: E402, F401
    prune_exports_task,
    requeue_stuck_imports_task,
    run_export_task,
    run_import_task,
)
