"""The service desk's e-mails, sent by the Celery task "service.send_ticket_email".

Services call `enqueue(kind, ticket_id, ...)` inside their transaction: the task is queued
only after the commit (a rolled-back change mails nobody) and gets ids only; the worker reads
the ticket as committed and renders the mail there, so a slow SMTP server never holds up a
request. Templates: templates/service/email/<kind>_subject.txt, _body.txt and _body.html,
rendered in the recipient's language (requesters: the site's language) and the site's zone.

Kinds and recipients:
- requester_confirmation: the requester (contact or requester e-mail), with the follow link;
- public_reply (comment_id): the requester, with the reply and the follow link;
- assigned: the assignee; customer_replied (comment_id): the assignee;
- sla_notice (target, level, due_at): the assignee and the team's manager, each once;
- survey: the requester, with the survey link.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core import mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation

logger = logging.getLogger(__name__)

KINDS = ("requester_confirmation", "public_reply", "assigned", "customer_replied",
         "sla_notice", "survey")
TEMPLATE_DIR = "service/email"


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    language: str
    user: object | None = None


# --- enqueueing -------------------------------------------------------------------------------
def enqueue(kind: str, ticket_id: int, **params) -> None:
    """Queue the e-mail once the current transaction commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown ticket e-mail {kind!r}")
    transaction.on_commit(functools.partial(send_later, kind, ticket_id, params))


def send_later(kind: str, ticket_id: int, params: dict) -> None:
    from service.tasks import send_ticket_email_task

    try:
        send_ticket_email_task.delay(kind, ticket_id, **params)
    except Exception:
        # The broker is down. The change is committed and must stand; the mail is lost, which
        # we log loudly rather than block or fail the request.
        logger.exception("could not queue the %s e-mail of ticket %s", kind, ticket_id)


# --- links ------------------------------------------------------------------------------------
def staff_ticket_url(ticket) -> str:
    """The ticket's page in the staff UI (service:ticket_detail, by uuid)."""
    try:
        path = reverse("service:ticket_detail", kwargs={"uuid": ticket.uuid})
    except NoReverseMatch:
        path = f"/service/tickets/{ticket.uuid}/"
    return settings.SITE_URL + path


# --- rendering and sending --------------------------------------------------------------------
def _requester(ticket) -> Recipient | None:
    email = (ticket.contact.email if ticket.contact_id and ticket.contact.email
             else ticket.requester_email)
    if not email:
        return None
    name = ticket.requester_name or (str(ticket.contact) if ticket.contact_id else "")
    return Recipient(email=email, name=name or email, language=settings.LANGUAGE_CODE)


def _staff(user) -> Recipient | None:
    if user is None or not user.is_active or not user.email:
        return None
    return Recipient(email=user.email, name=user.first_name or str(user),
                     language=user.language or settings.LANGUAGE_CODE, user=user)


def recipients(kind: str, ticket) -> list[Recipient]:
    if kind in ("requester_confirmation", "public_reply", "survey"):
        found = [_requester(ticket)]
    elif kind in ("assigned", "customer_replied"):
        found = [_staff(ticket.assignee)]
    else:  # sla_notice
        found = [_staff(ticket.assignee), _staff(ticket.team.manager if ticket.team_id else None)]
    seen, unique = set(), []
    for r in found:
        if r is not None and r.email.lower() not in seen:
            seen.add(r.email.lower())
            unique.append(r)
    return unique


def _context(kind: str, ticket, params: dict) -> dict:
    from service import signing
    from service.models import SLANotice, TicketComment

    context = {"ticket": ticket, "site_name": settings.SITE_NAME, "kind": kind}
    if kind in ("requester_confirmation", "public_reply"):
        context["link"] = signing.ticket_link(ticket)
    elif kind == "survey":
        context["link"] = signing.survey_link(ticket)
    else:
        context["link"] = staff_ticket_url(ticket)
    if params.get("comment_id"):
        context["comment"] = TicketComment.objects.filter(
            pk=params["comment_id"], ticket=ticket).first()
    if kind == "sla_notice":
        context["target"] = SLANotice.Target(params["target"])
        context["level"] = params["level"]
        context["breached"] = params["level"] == SLANotice.Level.BREACH
        context["due_at"] = params.get("due_at")
    return context


def build_message(kind: str, ticket, recipient: Recipient,
                  params: dict) -> mail.EmailMultiAlternatives:
    context = {**_context(kind, ticket, params), "recipient": recipient, "user": recipient.user}
    if isinstance(context.get("due_at"), str):
        context["due_at"] = datetime.fromisoformat(context["due_at"])
    template = f"{TEMPLATE_DIR}/{kind}"
    with translation.override(recipient.language), timezone.override(settings.TIME_ZONE):
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        text = render_to_string(f"{template}_body.txt", context)
        html = render_to_string(f"{template}_body.html", context)
    message = mail.EmailMultiAlternatives(" ".join(subject.splitlines()), text,
                                          to=[recipient.email])
    message.attach_alternative(html, "text/html")
    return message


def send_ticket_email(kind: str, ticket_id: int, **params) -> int:
    """Render and send one e-mail kind for a ticket; returns how many went out. A ticket gone
    since (deleted) sends nothing. SMTP errors propagate (the task retries)."""
    from service.models import Ticket

    ticket = (Ticket.objects.select_related("contact", "customer", "assignee", "team__manager")
              .filter(pk=ticket_id).first())
    if ticket is None:
        return 0
    messages = [build_message(kind, ticket, r, params) for r in recipients(kind, ticket)]
    if not messages:
        return 0
    with mail.mailers.default as connection:
        connection.send_messages(messages)
    if kind == "public_reply" and params.get("comment_id"):
        from service.models import TicketComment

        TicketComment.objects.filter(pk=params["comment_id"]).update(emailed_at=timezone.now())
    return len(messages)
