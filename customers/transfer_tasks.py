"""Celery tasks of imports: thin, they take ids and call the service.

The worker must import this module at start-up: Celery autodiscovers only customers/tasks.py,
which therefore imports `run_import_task` (and `requeue_stuck_imports_task`) from here."""

from celery import shared_task


# Below the broker visibility timeout (1 h), so acks_late never redelivers a running import.
@shared_task(name="customers.run_import", acks_late=True, soft_time_limit=1700, time_limit=1800)
def run_import_task(job_id: int) -> None:
    from customers.transfer_services import import_run

    import_run(job_id)


# Beat, every 5 minutes: jobs left QUEUED because their enqueue failed get queued again.
@shared_task(name="customers.requeue_stuck_imports", ignore_result=True)
def requeue_stuck_imports_task() -> int:
    from customers.transfer_services import import_requeue_stuck

    return import_requeue_stuck()


# Below the broker visibility timeout (1 h), like the import.
@shared_task(name="customers.run_export", acks_late=True, soft_time_limit=1700, time_limit=1800)
def run_export_task(job_id: int) -> None:
    from customers.transfer_services import export_run

    export_run(job_id)


# Beat, daily: export files and jobs older than 7 days are deleted.
@shared_task(name="customers.prune_exports", ignore_result=True)
def prune_exports_task() -> int:
    from customers.transfer_services import export_prune

    return export_prune()
