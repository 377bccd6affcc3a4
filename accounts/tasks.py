from celery import shared_task


@shared_task(name="accounts.clear_expired_sessions")
def clear_expired_sessions_task() -> None:
    from django.core.management import call_command

    call_command("clearsessions")


@shared_task(name="accounts.prune_login_attempts")
def prune_login_attempts_task() -> int:
    """Drop login records older than LOGIN_LOG_RETENTION_DAYS (axes keeps them forever)."""
    from accounts.services import login_records_prune

    return login_records_prune()
