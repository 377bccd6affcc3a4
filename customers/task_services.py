"""Writes of tasks, and the reminder e-mails.

Each write runs in one transaction, checks the task rules (customers.task_selectors) and records
a business event (task.created / task.updated / task.done / task.reopened), with the customer
when the task has one, so it shows on that customer's timeline.

Reminders: a task is reminded once, at `remind_at`. When no reminder time is given, the due
time is used: `task_create` and `task_update` store remind_at = due_at, so that the partial
index `task_reminders_due` (remind_at, where open and not yet reminded) finds every due
reminder, and the sweep needs no OR over two columns. Moving the reminder time (or the due
time, when it drives the reminder) arms the reminder again.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import roles
from crm.events import event_record
from crm.exceptions import ApplicationError
from crm.services import model_update
from customers.models import Customer, Task
from customers.permissions import policy_for
from customers.task_selectors import task_can_change

logger = logging.getLogger(__name__)

TASK_FIELDS = ["title", "description", "due_at", "remind_at", "priority", "assignee"]
REMINDER_BATCH = 100
REMINDER_TEMPLATE = "customers/email/task_reminder"


# --- rules ------------------------------------------------------------------------------------
def assignable_users_q(actor):
    """Who `actor` may assign a task to: Admins and Managers anyone active; everybody else
    themselves or a member of one of their teams."""
    from django.db.models import Q

    if actor.is_admin or actor.has_role(roles.MANAGER):
        return Q(is_active=True)
    return Q(is_active=True) & (Q(pk=actor.pk) | Q(teams__in=policy_for(actor).team_ids))


def _check_assignee(actor, assignee) -> None:
    from accounts.models import User

    if assignee is None or not User.objects.filter(
        assignable_users_q(actor), pk=assignee.pk
    ).exists():
        raise ApplicationError(_("You may assign tasks only to yourself or to active members "
                                 "of your teams."))


def _check_times(due_at: datetime, remind_at: datetime | None) -> None:
    if remind_at is not None and remind_at > due_at:
        raise ApplicationError(_("The reminder must not come after the due time."))


def _payload(task: Task, **extra) -> dict:
    return {"title": task.title, "assignee": task.assignee_id,
            "assignee_name": str(task.assignee), **extra}


# --- writes -----------------------------------------------------------------------------------
@transaction.atomic
def task_create(*, actor, data: dict, customer: Customer | None = None) -> Task:
    """A new open task; the creator is `actor`. Without a reminder time the due time is used."""
    if not (actor.is_active and actor.has_perm("customers.add_task")):
        raise PermissionDenied
    if customer is not None and not policy_for(actor).can_view(customer):
        raise PermissionDenied
    data = {k: v for k, v in data.items() if k in TASK_FIELDS}
    _check_assignee(actor, data.get("assignee"))
    task = Task(created_by=actor, customer=customer, **data)
    if task.remind_at is None:
        task.remind_at = task.due_at
    if task.due_at is not None:
        _check_times(task.due_at, task.remind_at)
    task.full_clean()
    task.save()
    event_record(name="task.created", actor=actor, customer_id=task.customer_id, subject=task,
                 payload=_payload(task, due_at=task.due_at))
    return task


@transaction.atomic
def task_update(*, actor, task: Task, data: dict, expected_version: int) -> Task:
    """Change a task under optimistic locking (StaleObjectError when the form is stale)."""
    if not task_can_change(actor, task):
        raise PermissionDenied
    data = {k: v for k, v in data.items() if k in TASK_FIELDS}
    if "assignee" in data and data["assignee"] is not None \
            and data["assignee"].pk != task.assignee_id:
        _check_assignee(actor, data["assignee"])
    current = Task.objects.filter(pk=task.pk).values("due_at", "remind_at").get()
    due_at = data.get("due_at", current["due_at"])
    remind_at = data["remind_at"] if "remind_at" in data else current["remind_at"]
    if remind_at is None:
        remind_at = due_at
    _check_times(due_at, remind_at)
    data["remind_at"] = remind_at
    if remind_at != current["remind_at"]:
        data["reminded_at"] = None  # a new reminder time: remind again
    task, changed = model_update(instance=task, data=data, expected_version=expected_version)
    fields = [f for f in changed if f != "reminded_at"]
    if fields:
        event_record(name="task.updated", actor=actor, customer_id=task.customer_id,
                     subject=task, payload=_payload(task, fields=fields))
    return task


@transaction.atomic
def task_set_done(*, actor, task: Task, done: bool) -> Task:
    """Mark a task done (or open again). Asking for the state it is already in changes
    nothing and records nothing, so a double click is harmless."""
    if not task_can_change(actor, task):
        raise PermissionDenied
    current = (Task.objects.select_for_update(of=("self",))
               .select_related("assignee", "customer").get(pk=task.pk))
    wanted = Task.Status.DONE if done else Task.Status.OPEN
    if current.status == wanted:
        return current
    current.status = wanted
    current.done_at = timezone.now() if done else None
    current.version += 1
    current.save(update_fields=["status", "done_at", "version", "updated_at"])
    event_record(name="task.done" if done else "task.reopened", actor=actor,
                 customer_id=current.customer_id, subject=current, payload=_payload(current))
    return current


# --- reminders --------------------------------------------------------------------------------
# The table name is our own constant, not input; every value is a bound parameter.
_CLAIM_SQL = f"""
    WITH due AS (
        SELECT id FROM {Task._meta.db_table}
        WHERE status = %(open)s AND reminded_at IS NULL AND remind_at <= %(now)s
        ORDER BY remind_at, id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )
    UPDATE {Task._meta.db_table} AS task SET reminded_at = %(now)s
    FROM due WHERE task.id = due.id AND task.reminded_at IS NULL
    RETURNING task.id
"""  # noqa: S608


def _claim_due_reminders(now: datetime, limit: int) -> list[int]:
    """Stamp up to `limit` due, unreminded open tasks as reminded, in one statement that
    commits on its own, and return their ids. The stamp is the claim: the condition
    `reminded_at IS NULL` is re-checked on the locked row, so a task is claimed by exactly one
    run however many run at once (SKIP LOCKED lets a parallel run take the next rows instead
    of waiting). The rows are locked in a CTE, not in an `id IN (subquery)`: there the
    UPDATE's own scan would wait on a parallel run's rows and re-check them, and the parallel
    run would come away with nothing.)"""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"now": now, "open": Task.Status.OPEN, "limit": limit})
        return [row[0] for row in cursor.fetchall()]


def _unclaim(ids: list[int], claimed_at: datetime) -> None:
    """Give claimed reminders back (the mail did not go out), so the next sweep retries them.
    Only our own stamp is removed: an edit since may have armed the reminder anew."""
    if ids:
        Task.objects.filter(pk__in=ids, reminded_at=claimed_at).update(reminded_at=None)


def _reminder_message(task: Task) -> mail.EmailMultiAlternatives:
    assignee = task.assignee
    context = {
        "task": task,
        "user": assignee,
        "site_name": settings.SITE_NAME,
        "link": settings.SITE_URL + reverse("customers:task_detail", kwargs={"uuid": task.uuid}),
    }
    with translation.override(assignee.language or settings.LANGUAGE_CODE), \
            timezone.override(settings.TIME_ZONE):
        subject = render_to_string(f"{REMINDER_TEMPLATE}_subject.txt", context).strip()
        text = render_to_string(f"{REMINDER_TEMPLATE}_body.txt", context)
        html = render_to_string(f"{REMINDER_TEMPLATE}_body.html", context)
    message = mail.EmailMultiAlternatives(" ".join(subject.splitlines()), text,
                                          to=[assignee.email])
    message.attach_alternative(html, "text/html")
    return message


def task_reminders_send(*, now: datetime | None = None, batch_size: int = REMINDER_BATCH,
                        time_budget: float = 50.0) -> int:
    """Send every due reminder once; returns how many e-mails went out.

    Batch by batch: claim (set-based, see _claim_due_reminders), load the claimed tasks with
    their assignees in one query, send over one SMTP connection. A send that fails gives its
    reminder and the rest of the batch back and ends the run (the mail server is probably
    down; the next minute's sweep retries), so a failing server never loops. A worker killed
    between claim and send loses those reminders rather than sending them twice.
    """
    deadline = time.monotonic() + time_budget
    sent = 0
    while time.monotonic() < deadline:
        claimed_at = now or timezone.now()
        ids = _claim_due_reminders(claimed_at, batch_size)
        if not ids:
            break
        tasks = list(Task.objects.filter(pk__in=ids).select_related("assignee", "customer")
                     .order_by("remind_at", "id"))
        pending = [t.pk for t in tasks]
        try:
            with mail.mailers.default as conn:
                for task in tasks:
                    if task.assignee.is_active and task.assignee.email:
                        conn.send_messages([_reminder_message(task)])
                        sent += 1
                    pending.remove(task.pk)
        except Exception:
            logger.exception("task reminders: sending failed; %d reminder(s) given back for "
                             "the next run", len(pending))
            _unclaim(pending, claimed_at)
            break
        if len(ids) < batch_size:
            break
    return sent
