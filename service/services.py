"""Writes of the service desk: tickets from creation to archive, replies, surveys, feedback.

Every write checks permissions (service.permissions / customers.permissions), runs in one
transaction, locks the ticket row it changes, records a business event (customer_id set when
the ticket has a customer, so the 360 timeline shows it) and queues its e-mails after the
commit (service.notifications). Bad input raises ApplicationError and changes nothing.
SLA arithmetic lives in service.sla, automatic distribution in service.assignment.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from accounts import roles
from crm.events import _kick_dispatch_on_commit, event_record
from crm.exceptions import ApplicationError, StaleObjectError
from crm.models import Event
from crm.services import model_update
from customers.permissions import policy_for as customer_policy_for
from service import assignment, notifications, sla
from service.models import (
    Feedback,
    ServiceConfig,
    Ticket,
    TicketAssignment,
    TicketAttachment,
    TicketComment,
)
from service.permissions import ticket_policy_for

S = Ticket.Status

# The moves the UI may offer (buttons) and the services accept; "assigned" is reached by
# assigning, never by a button.
ALLOWED_TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.NEW: (S.IN_PROGRESS, S.RESOLVED, S.CLOSED),
    S.ASSIGNED: (S.IN_PROGRESS, S.WAITING, S.RESOLVED),
    S.IN_PROGRESS: (S.WAITING, S.RESOLVED),
    S.WAITING: (S.IN_PROGRESS, S.RESOLVED),
    S.RESOLVED: (S.IN_PROGRESS, S.CLOSED),
    S.CLOSED: (S.ARCHIVED,),
    S.ARCHIVED: (),
}

# Extension -> (content type, leading-byte signatures; empty = text, checked for NUL bytes).
ALLOWED_ATTACHMENT_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    "webp": ("image/webp", (b"RIFF",)),
    "txt": ("text/plain", ()),
    "csv": ("text/csv", ()),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             (b"PK\x03\x04",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             (b"PK\x03\x04",)),
}

CREATE_FIELDS = ("subject", "description", "customer", "contact", "requester_name",
                 "requester_email", "category", "priority", "channel", "team", "assignee",
                 "order", "product")
UPDATE_FIELDS = ("subject", "description", "category", "priority", "customer", "contact",
                 "order", "product", "channel")
MAX_BODY = 20_000
MAX_SURVEY_COMMENT = 2_000
SWEEP_BATCH = 1000


# --- helpers ----------------------------------------------------------------------------------
def _field_label(model, field: str) -> str:
    """The field's verbose name for the user ("Subject"), never its code name."""
    if not field or field == "__all__" or model is None:
        return ""
    try:
        return capfirst(str(model._meta.get_field(field).verbose_name))
    except FieldDoesNotExist:
        return ""


def _fail_on_invalid(exc: ValidationError, model=Ticket):
    messages = []
    if hasattr(exc, "message_dict"):
        for field, errors in exc.message_dict.items():
            label = _field_label(model, field)
            messages.extend(f"{label}: {e}" if label else str(e) for e in errors)
    else:
        messages = list(exc.messages)
    raise ApplicationError(" ".join(messages)) from exc


def _payload(ticket: Ticket, **extra) -> dict:
    return {"number": ticket.number, "subject": ticket.subject, "status": ticket.status,
            **extra}


def _record(name: str, ticket: Ticket, actor=None, **extra) -> None:
    event_record(name=name, actor=actor, customer_id=ticket.customer_id, subject=ticket,
                 payload=_payload(ticket, **extra))


def _locked(ticket: Ticket, expected_version: int | None = None) -> Ticket:
    current = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if expected_version is not None and current.version != expected_version:
        raise StaleObjectError()
    return current


def _save(ticket: Ticket, fields) -> None:
    ticket.version += 1
    ticket.save(update_fields=sorted({*fields, "version", "updated_at"}))


def _require(actor, action: str, ticket: Ticket) -> None:
    """PermissionDenied unless `actor` may do `action` on the ticket (archived: nobody)."""
    if actor is None or not actor.is_active or not ticket_policy_for(actor).can(action, ticket):
        raise PermissionDenied


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ApplicationError(_("Please write a message."))
    if len(body) > MAX_BODY:
        raise ApplicationError(_("The message is too long (at most %(max)d characters).")
                               % {"max": MAX_BODY})
    return body


def requester_email_of(ticket: Ticket) -> str:
    if ticket.contact_id and ticket.contact.email:
        return ticket.contact.email
    return ticket.requester_email


def _next_number() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('service_ticket_number_seq')")
        return f"T-{cursor.fetchone()[0]:06d}"


# --- attachments ------------------------------------------------------------------------------
def validate_attachment(file) -> str:
    """Refuse a file that is too large or not of an allowed type (by its extension and, where
    the type has one, its leading bytes). Returns the content type to store."""
    name = os.path.basename(getattr(file, "name", "") or "")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    limit_mb = ServiceConfig.get().max_attachment_mb
    if file.size > limit_mb * 1024 * 1024:
        raise ApplicationError(_("“%(name)s” is too large: files may be at most %(mb)d MB.")
                               % {"name": name, "mb": limit_mb})
    if ext not in ALLOWED_ATTACHMENT_TYPES:
        raise ApplicationError(
            _("“%(name)s” is not an allowed file type. Allowed: %(types)s.")
            % {"name": name, "types": "PDF, PNG, JPEG, GIF, WebP, TXT, CSV, DOCX, XLSX"})
    content_type, signatures = ALLOWED_ATTACHMENT_TYPES[ext]
    file.seek(0)
    head = file.read(2048)
    file.seek(0)
    if isinstance(head, str):
        head = head.encode()
    if signatures:
        ok = any(head.startswith(sig) for sig in signatures)
        if ext == "webp":
            ok = ok and head[8:12] == b"WEBP"
    else:
        ok = b"\x00" not in head
    if not ok:
        raise ApplicationError(_("“%(name)s” does not look like a .%(ext)s file.")
                               % {"name": name, "ext": ext})
    return content_type


def _validated(attachments) -> list[tuple[object, str]]:
    return [(f, validate_attachment(f)) for f in attachments or ()]


def _store_attachments(ticket: Ticket, comment: TicketComment | None, files, user) -> None:
    for file, content_type in files:
        TicketAttachment.objects.create(
            ticket=ticket, comment=comment, file=file, size=file.size,
            name=os.path.basename(file.name)[:255], content_type=content_type,
            uploaded_by=user if getattr(user, "is_authenticated", False) else None)


# --- assignment -------------------------------------------------------------------------------
def _check_assignee(assignee, team) -> None:
    from accounts.models import Team

    if assignee is None or not assignee.is_active or not (
            assignee.is_admin or assignee.has_role(roles.SUPPORT, roles.MANAGER)):
        raise ApplicationError(_("Tickets can be assigned only to active support agents, "
                                 "managers or admins."))
    if team is not None and not Team.members.through.objects.filter(
            team_id=team.pk, user_id=assignee.pk).exists():
        raise ApplicationError(_("%(user)s is not a member of the team %(team)s.")
                               % {"user": assignee, "team": team})


def _apply_assignment(ticket: Ticket, *, assignee, team, by, rule=None, note="") -> list[str]:
    """Set assignee and team on the (locked) ticket, keep the history, queue the e-mail and
    record the events. The caller saves the returned fields."""
    previous = ticket.assignee_id
    ticket.assignee = assignee
    ticket.team = team
    fields = ["assignee", "team"]
    TicketAssignment.objects.create(ticket=ticket, from_user_id=previous, to_user=assignee,
                                    team=team, by=by if getattr(by, "pk", None) else None,
                                    rule=rule, note=(note or "")[:200])
    if ticket.status == S.NEW:
        ticket.status = S.ASSIGNED
        fields.append("status")
        _record("ticket.status_changed", ticket, by, **{"from": S.NEW, "to": S.ASSIGNED})
    _record("ticket.assigned", ticket, by, assignee=assignee.pk, assignee_name=str(assignee),
            previous_assignee=previous, team=getattr(team, "pk", None),
            rule=getattr(rule, "pk", None), note=note)
    if by is None or assignee.pk != by.pk:
        notifications.enqueue("assigned", ticket.pk)
    return fields


def _auto_assign(ticket: Ticket) -> list[str]:
    rule, agent = assignment.pick_agent(ticket)
    if agent is None:
        return []
    return _apply_assignment(ticket, assignee=agent, team=rule.team, by=None, rule=rule)


# --- tickets ----------------------------------------------------------------------------------
@transaction.atomic
def ticket_create(*, actor, data: dict, attachments=()) -> Ticket:
    """A new ticket, from staff (`actor`) or from the public form (actor None)."""
    if actor is not None and not (actor.is_active and actor.has_perm("service.add_ticket")):
        raise PermissionDenied
    data = {k: v for k, v in data.items() if k in CREATE_FIELDS}
    for key in ("subject", "description"):
        data[key] = (data.get(key) or "").strip()
    if not data["subject"] or not data["description"]:
        raise ApplicationError(_("A ticket needs a subject and a description."))
    customer, contact = data.get("customer"), data.get("contact")
    if contact is not None:
        if customer is None:
            customer = data["customer"] = contact.customer
        elif contact.customer_id != customer.pk:
            raise ApplicationError(_("The contact does not belong to this customer."))
        if not data.get("requester_name"):
            data["requester_name"] = str(contact)
        if not data.get("requester_email"):
            data["requester_email"] = contact.email
    if actor is not None and customer is not None \
            and not customer_policy_for(actor).can_view(customer):
        raise PermissionDenied
    order = data.get("order")
    if order is not None and (customer is None or order.customer_id != customer.pk):
        raise ApplicationError(_("The order belongs to another customer."))
    assignee = data.pop("assignee", None)
    if assignee is not None:
        if actor is None or not actor.has_perm("service.assign_ticket"):
            raise PermissionDenied
        _check_assignee(assignee, data.get("team"))
    files = _validated(attachments)

    ticket = Ticket(created_by=actor, **{k: v for k, v in data.items() if v is not None})
    ticket.number = _next_number()
    ticket.created_at = timezone.now()
    ticket.last_public_activity_at = ticket.created_at
    sla.apply_policy(ticket)
    try:
        ticket.full_clean(exclude=["number"])
    except ValidationError as exc:
        _fail_on_invalid(exc)
    ticket.save()
    _store_attachments(ticket, None, files, actor)
    _record("ticket.created", ticket, actor, priority=ticket.priority, channel=ticket.channel,
            public=actor is None)

    if assignee is not None:
        fields = _apply_assignment(ticket, assignee=assignee, team=ticket.team, by=actor)
    else:
        fields = _auto_assign(ticket)
    if fields:
        ticket.save(update_fields=[*fields, "updated_at"])
    if requester_email_of(ticket):
        notifications.enqueue("requester_confirmation", ticket.pk)
    return ticket


@transaction.atomic
def ticket_update(*, actor, ticket: Ticket, data: dict, expected_version) -> Ticket:
    """Edit the ticket's fields under optimistic locking; a new priority recomputes the due
    times (from created_at, without the paused time)."""
    _require(actor, "change", ticket)
    data = {k: v for k, v in data.items() if k in UPDATE_FIELDS}
    for key in ("subject", "description"):
        if key in data:
            data[key] = (data[key] or "").strip()
            if not data[key]:
                raise ApplicationError(_("A ticket needs a subject and a description."))
    customer = data.get("customer", ticket.customer)
    if "customer" in data and customer is not None and customer.pk != ticket.customer_id \
            and not customer_policy_for(actor).can_view(customer):
        raise PermissionDenied
    contact = data.get("contact", ticket.contact)
    if contact is not None and (customer is None or contact.customer_id != customer.pk):
        raise ApplicationError(_("The contact does not belong to this customer."))
    order = data.get("order", ticket.order)
    if order is not None and (customer is None or order.customer_id != customer.pk):
        raise ApplicationError(_("The order belongs to another customer."))
    try:
        current, changed = model_update(instance=ticket, data=data,
                                        expected_version=expected_version)
    except ValidationError as exc:
        _fail_on_invalid(exc)
    if "priority" in changed:
        fields = sla.apply_policy(current)
        current.save(update_fields=[*fields, "updated_at"])
    if changed:
        _record("ticket.updated", current, actor, fields=changed)
    return current


def _check_move(from_status: str, to_status: str) -> None:
    if to_status not in ALLOWED_TRANSITIONS.get(from_status, ()):
        raise ApplicationError(
            _("A ticket that is “%(from)s” cannot be moved to “%(to)s”.")
            % {"from": S(from_status).label,
               "to": S(to_status).label if to_status in S.values else to_status})


def _transition(current: Ticket, to_status: str, *, actor, note: str = "",
                now: datetime | None = None) -> Ticket:
    """Move the locked ticket; the caller has checked permissions."""
    from_status = current.status
    _check_move(from_status, to_status)
    now = now or timezone.now()
    fields = {"status"}
    # The clock stops while waiting on the customer and while resolved (a reopened ticket
    # continues where it stopped).
    # Closing a resolved ticket leaves the clock stopped: only work on it again restarts it.
    if from_status in (S.WAITING, S.RESOLVED) and to_status not in (S.CLOSED, S.ARCHIVED):
        fields.update(sla.resume(current, now))
    current.status = to_status
    if to_status == S.WAITING:
        fields.update(sla.pause(current, now))
    elif to_status == S.RESOLVED:
        current.resolved_at = now
        current.resolution_seconds = sla.elapsed_seconds(current, now)
        if current.resolution_due_at and now > current.resolution_due_at:
            current.resolution_breached = True
        current.last_public_activity_at = now
        fields.update({"resolved_at", "resolution_seconds", "resolution_breached",
                       "last_public_activity_at", *sla.pause(current, now)})
        if current.survey_sent_at is None and requester_email_of(current):
            current.survey_sent_at = now
            fields.add("survey_sent_at")
            notifications.enqueue("survey", current.pk)
    elif to_status == S.CLOSED:
        current.closed_at = now
        current.last_public_activity_at = now
        fields.update({"closed_at", "last_public_activity_at"})
    elif to_status == S.ARCHIVED:
        current.archived_at = now
        fields.add("archived_at")
    if from_status == S.RESOLVED and to_status == S.IN_PROGRESS:
        current.resolved_at = None
        current.resolution_seconds = None
        fields.update({"resolved_at", "resolution_seconds"})
    _save(current, fields)
    if note:
        TicketComment.objects.create(ticket=current, author=actor, is_public=False,
                                     author_name=str(actor) if actor else "", body=note.strip())
    _record("ticket.status_changed", current, actor, note=note,
            **{"from": from_status, "to": to_status})
    return current


@transaction.atomic
def ticket_transition(*, actor, ticket: Ticket, to_status: str, expected_version=None,
                      note: str = "") -> Ticket:
    """Move the ticket along ALLOWED_TRANSITIONS (anything else: ApplicationError)."""
    _require(actor, "change", ticket)
    # Checked before the lock too, so the message names the state the user saw.
    _check_move(ticket.status, to_status)
    current = _locked(ticket, expected_version)
    return _transition(current, to_status, actor=actor, note=(note or "").strip()[:MAX_BODY])


@transaction.atomic
def ticket_assign(*, actor, ticket: Ticket, assignee, team=None, note: str = "",
                  expected_version=None) -> Ticket:
    """Manual (re)assignment; a new ticket becomes "assigned"; the history is kept."""
    _require(actor, "assign", ticket)
    current = _locked(ticket, expected_version)
    team = team if team is not None else current.team
    _check_assignee(assignee, team)
    if current.assignee_id == assignee.pk and current.team_id == getattr(team, "pk", None):
        return current
    fields = _apply_assignment(current, assignee=assignee, team=team, by=actor, note=note)
    _save(current, fields)
    return current


def ticket_take(*, actor, ticket: Ticket) -> Ticket:
    """Assign the ticket to myself."""
    return ticket_assign(actor=actor, ticket=ticket, assignee=actor)


@transaction.atomic
def ticket_bulk_assign(*, actor, tickets: list[Ticket], assignee) -> int:
    """Assign every ticket to `assignee`, or none of them (the first refusal rolls back)."""
    count = 0
    for ticket in sorted(tickets, key=lambda t: t.pk):  # one lock order: no deadlocks
        before = ticket.assignee_id
        current = ticket_assign(actor=actor, ticket=ticket, assignee=assignee)
        if before != current.assignee_id:
            count += 1
    return count


# --- comments ---------------------------------------------------------------------------------
@transaction.atomic
def ticket_reply(*, actor, ticket: Ticket, body: str, attachments=()) -> TicketComment:
    """A public reply, e-mailed to the requester; the first one is the first response."""
    _require(actor, "reply", ticket)
    body = _clean_body(body)
    files = _validated(attachments)
    current = _locked(ticket)
    if current.status in (S.CLOSED, S.ARCHIVED):
        raise ApplicationError(_("This ticket is closed; reopening is not possible."))
    now = timezone.now()
    comment = TicketComment.objects.create(ticket=current, author=actor, author_name=str(actor),
                                           is_public=True, body=body)
    _store_attachments(current, comment, files, actor)
    fields = {"last_public_activity_at"}
    current.last_public_activity_at = now
    if current.first_responded_at is None:
        current.first_responded_at = now
        current.first_response_seconds = sla.elapsed_seconds(current, now)
        if current.first_response_due_at and now > current.first_response_due_at:
            current.first_response_breached = True
        fields.update({"first_responded_at", "first_response_seconds",
                       "first_response_breached"})
    _save(current, fields)
    _record("ticket.replied", current, actor, comment=comment.pk,
            attachments=len(files))
    if requester_email_of(current):
        notifications.enqueue("public_reply", current.pk, comment_id=comment.pk)
    return comment


@transaction.atomic
def ticket_note(*, actor, ticket: Ticket, body: str, attachments=()) -> TicketComment:
    """An internal note (never e-mailed to the customer)."""
    _require(actor, "reply", ticket)
    body = _clean_body(body)
    files = _validated(attachments)
    current = _locked(ticket)
    comment = TicketComment.objects.create(ticket=current, author=actor, author_name=str(actor),
                                           is_public=False, body=body)
    _store_attachments(current, comment, files, actor)
    _save(current, ())
    _record("ticket.note_added", current, actor, comment=comment.pk, attachments=len(files))
    return comment


@transaction.atomic
def ticket_customer_reply(*, ticket: Ticket, body: str, attachments=()) -> TicketComment:
    """The requester's reply through the signed link: a waiting ticket goes back to work, a
    resolved one reopens; the assignee is told."""
    body = _clean_body(body)
    files = _validated(attachments)
    current = _locked(ticket)
    if current.status in (S.CLOSED, S.ARCHIVED):
        raise ApplicationError(_("This ticket is closed. Please open a new request."))
    now = timezone.now()
    comment = TicketComment.objects.create(
        ticket=current, author=None, author_name=current.requester_name or _("Customer"),
        is_public=True, from_customer=True, body=body)
    _store_attachments(current, comment, files, None)
    if current.status in (S.WAITING, S.RESOLVED):
        _transition(current, S.IN_PROGRESS, actor=None, now=now)
    current.last_public_activity_at = now
    _save(current, {"last_public_activity_at"})
    _record("ticket.customer_replied", current, None, comment=comment.pk,
            attachments=len(files))
    if current.assignee_id:
        notifications.enqueue("customer_replied", current.pk, comment_id=comment.pk)
    return comment


# --- survey and feedback ----------------------------------------------------------------------
@transaction.atomic
def survey_answer(*, ticket: Ticket, score: int, comment: str) -> Ticket:
    """The requester's satisfaction answer; once only."""
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise ApplicationError(_("Please choose a score from 1 to 5."))
    comment = (comment or "").strip()
    if len(comment) > MAX_SURVEY_COMMENT:
        raise ApplicationError(_("The comment is too long (at most %(max)d characters).")
                               % {"max": MAX_SURVEY_COMMENT})
    current = _locked(ticket)
    if current.satisfaction_at is not None:
        raise ApplicationError(_("This survey has already been answered. Thank you!"))
    if current.survey_sent_at is None or current.status == S.ARCHIVED:
        raise ApplicationError(_("This ticket has no open survey."))
    current.satisfaction_score = score
    current.satisfaction_comment = comment
    current.satisfaction_at = timezone.now()
    _save(current, {"satisfaction_score", "satisfaction_comment", "satisfaction_at"})
    _record("ticket.rated", current, None, score=score, comment=comment)
    return current


@transaction.atomic
def feedback_create(*, actor, data: dict) -> Feedback:
    """Log a complaint, suggestion or praise about a customer the actor may see."""
    if not (actor.is_active and actor.has_perm("service.add_feedback")):
        raise PermissionDenied
    customer = data.get("customer")
    if customer is None:
        raise ApplicationError(_("Please choose the customer."))
    if not customer_policy_for(actor).can_view(customer):
        raise PermissionDenied
    contact, ticket = data.get("contact"), data.get("ticket")
    if contact is not None and contact.customer_id != customer.pk:
        raise ApplicationError(_("The contact does not belong to this customer."))
    if ticket is not None and ticket.customer_id != customer.pk:
        raise ApplicationError(_("The ticket belongs to another customer."))
    feedback = Feedback(kind=data.get("kind") or "", customer=customer, contact=contact,
                        ticket=ticket, channel=data.get("channel") or Ticket.Channel.PHONE,
                        body=(data.get("body") or "").strip(), logged_by=actor)
    try:
        feedback.full_clean()
    except ValidationError as exc:
        _fail_on_invalid(exc, Feedback)
    feedback.save()
    event_record(name="feedback.created", actor=actor, customer_id=customer.pk,
                 subject=feedback, payload={"kind": feedback.kind, "body": feedback.body[:200],
                                            "ticket": getattr(ticket, "number", None)})
    return feedback


@transaction.atomic
def feedback_set_status(*, actor, feedback: Feedback, status: str) -> Feedback:
    from service.selectors import feedback_list_for_user

    if not (actor.is_active and actor.has_perm("service.change_feedback")) \
            or not feedback_list_for_user(actor).filter(pk=feedback.pk).exists():
        raise PermissionDenied
    if status not in Feedback.Status.values:
        raise ApplicationError(_("Unknown feedback status."))
    current = Feedback.objects.select_for_update().get(pk=feedback.pk)
    if current.status == status:
        return current
    before = current.status
    current.status = status
    current.version += 1
    current.save(update_fields=["status", "version", "updated_at"])
    event_record(name="feedback.status_changed", actor=actor, customer_id=current.customer_id,
                 subject=current, payload={"from": before, "to": status})
    return current


# --- sweeps (service.auto_close, service.auto_archive) ----------------------------------------
_SWEEP_SQL = f"""
    WITH due AS (
        SELECT id FROM {Ticket._meta.db_table}
        WHERE status = %(from)s AND last_public_activity_at < %(cutoff)s
        ORDER BY last_public_activity_at, id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )
    UPDATE {Ticket._meta.db_table} AS t
    SET status = %(to)s, {{stamp}} = %(now)s, version = t.version + 1, updated_at = %(now)s
        {{extra}}
    FROM due WHERE t.id = due.id AND t.status = %(from)s
    RETURNING t.id, t.customer_id, t.number, t.subject
"""  # noqa: S608 (table and column names are our constants; values are parameters)


def _sweep(from_status: str, to_status: str, cutoff: datetime, now: datetime, *, stamp: str,
           extra: str = "") -> int:
    """Move idle tickets in batches, one UPDATE ... RETURNING each, with their events written
    in one INSERT per batch; each batch commits on its own."""
    sql = _SWEEP_SQL.replace("{stamp}", stamp).replace("{extra}", extra)
    moved = 0
    ticket_type = ContentType.objects.get_for_model(Ticket)
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {"from": from_status, "to": to_status, "cutoff": cutoff,
                                 "now": now, "limit": SWEEP_BATCH})
            rows = cursor.fetchall()
            Event.objects.bulk_create([
                Event(name="ticket.status_changed", customer_id=customer_id,
                      subject_type=ticket_type, subject_id=str(pk),
                      payload={"number": number, "subject": subject, "status": to_status,
                               "from": from_status, "to": to_status, "automatic": True})
                for pk, customer_id, number, subject in rows])
            if rows:
                _kick_dispatch_on_commit()
        moved += len(rows)
        if len(rows) < SWEEP_BATCH:
            return moved


def tickets_auto_close(*, now: datetime | None = None) -> int:
    """Close resolved tickets without public activity for ServiceConfig.auto_close_days."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=ServiceConfig.get().auto_close_days)
    # Closing counts as the last public activity: the archive period runs from it.
    return _sweep(S.RESOLVED, S.CLOSED, cutoff, now, stamp="closed_at",
                  extra=", last_public_activity_at = %(now)s")


def tickets_auto_archive(*, now: datetime | None = None) -> int:
    """Archive tickets closed for ServiceConfig.archive_days."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=ServiceConfig.get().archive_days)
    return _sweep(S.CLOSED, S.ARCHIVED, cutoff, now, stamp="archived_at")
