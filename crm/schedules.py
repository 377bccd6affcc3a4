"""Every periodic job of the CRM, in one place (read by beat through CELERY_BEAT_SCHEDULE).

Jobs are sweeps over due rows, never long countdowns: a job that missed a run catches up on
the next one. Modules add their entries here as they land.
"""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Hands undelivered business events to their subscribers; each commit also kicks it.
    "dispatch-events": {
        "task": "crm.dispatch_events",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # E-mails due task reminders, each once (customers.task_services).
    "send-task-reminders": {
        "task": "customers.send_task_reminders",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Re-enqueues imports left queued (their enqueue failed after commit); idempotent.
    "requeue-stuck-imports": {
        "task": "customers.requeue_stuck_imports",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Removes expired sessions from the database (cached_db keeps a row per session).
    "clear-expired-sessions": {
        "task": "accounts.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=17),
    },
    # Drops login attempt records older than the retention period.
    "prune-login-attempts": {
        "task": "accounts.prune_login_attempts",
        "schedule": crontab(hour=3, minute=37),
    },
    # SLA near-breach and breach notices, each once (service.sla.sla_sweep).
    "service-sla-sweep": {
        "task": "service.sla_sweep",
        "schedule": 120.0,
        "options": {"expires": 110},
    },
    # Closes resolved tickets idle for ServiceConfig.auto_close_days.
    "service-auto-close": {
        "task": "service.auto_close",
        "schedule": crontab(minute=23),
    },
    # Archives tickets closed for ServiceConfig.archive_days.
    "service-auto-archive": {
        "task": "service.auto_archive",
        "schedule": crontab(hour=2, minute=47),
    },
    # Rebuilds every customer's purchase figures (orders' services keep them current; this
    # repairs anything written around them, e.g. by SQL).
    "rebuild-purchase-stats": {
        "task": "sales.rebuild_purchase_stats",
        "schedule": crontab(hour=2, minute=7),
        "options": {"expires": 3600},
    },
    # Folds the pipeline rollup's appended rows into one per key (sales.pipeline_rollup).
    "compact-pipeline-rollup": {
        "task": "sales.compact_pipeline_rollup",
        "schedule": 600.0,
        "options": {"expires": 590},
    },
    # Rebuilds the pipeline rollup from the opportunities (its triggers keep it current;
    # this repairs anything written with them off, e.g. a data-only restore).
    "rebuild-pipeline-rollup": {
        "task": "sales.rebuild_pipeline_rollup",
        "schedule": crontab(hour=2, minute=17),
        "options": {"expires": 3600},
    },
    # Deletes finished customer exports (file and row) after 7 days.
    "prune-exports": {
        "task": "customers.prune_exports",
        "schedule": crontab(hour=3, minute=30),
    },
}
