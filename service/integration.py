"""How the service desk plugs into the customers module, through its registries (customers
never imports service): the "Service" panel of the 360 page, the timeline describers of
ticket.* and feedback.* events, the merge handlers, the GDPR exporter and eraser, and the
global search provider for tickets.

Call `register()` once at start-up (ServiceConfig.ready()). Every registry is keyed, so a
second call changes nothing.
"""

from __future__ import annotations

from django.contrib.postgres.search import TrigramSimilarity
from django.db.models import Prefetch, Q
from django.db.models.functions import Greatest, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import search
from crm.rows import empty_item, optional_url, optional_url_maker

PANEL_KEY = "service.tickets"
PANEL_LIMIT = 5
PANEL_FEEDBACK_LIMIT = 3
SEARCH_CANDIDATES = 200
MIN_LIKE_LENGTH = 3
MERGE_KEYS = ("service.tickets", "service.feedback")
GDPR_KEY = "service"
SEARCH_KIND = "tickets"


# --- the 360 panel ----------------------------------------------------------------------------
# The badge of each ticket status (service/tickets/_status_badge.html; any other: dark).
TICKET_BADGES = {"new": "text-bg-primary", "assigned": "text-bg-info",
                 "in_progress": "text-bg-primary", "waiting": "text-bg-warning",
                 "resolved": "text-bg-success", "closed": "text-bg-secondary"}


def tickets_html(tickets) -> str:
    """The panel's ticket list items (_customer_service.html's loop), built here rather than
    by the template: the same markup, byte for byte, every value escaped and every text
    translated, without a URL lookup, an include and four filters per ticket."""
    from django.template.defaultfilters import date as date_filter
    from django.utils.html import conditional_escape, escape
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext

    if not tickets:
        return empty_item(gettext("No tickets."))
    detail_url = optional_url_maker("service:ticket_detail")
    unassigned = conditional_escape(gettext("Unassigned"))
    satisfaction = conditional_escape(gettext("Satisfaction"))
    out = []
    for ticket in tickets:
        subject = escape(ticket.subject)
        title = (f'<a href="{escape(detail_url(ticket.uuid))}" class="fw-semibold">{subject}</a>'
                 if detail_url else f'<span class="fw-semibold">{subject}</span>')
        assignee = ticket.assignee
        who = (escape(assignee.get_full_name() or assignee.email) if assignee
               else unassigned)
        score = (f' · <span title="{satisfaction}"><i class="bi bi-star-fill text-warning" '
                 f'aria-hidden="true"></i> {escape(ticket.satisfaction_score)}/5</span>'
                 if ticket.satisfaction_score else "")
        local = timezone.localtime(ticket.created_at)
        out.append(
            f'\n  <li class="list-group-item d-flex justify-content-between gap-2">'
            f'\n    <div class="text-break">\n      \n      <span class="font-monospace '
            f'text-body-secondary">{escape(ticket.number)}</span>\n      {title}'
            f'\n      <div class="text-body-secondary">{who}{score}</div>\n    </div>'
            f'\n    <div class="text-end flex-shrink-0">\n      <span class="badge '
            f'{TICKET_BADGES.get(ticket.status, "text-bg-dark")}" data-testid="ticket-status">'
            f'{conditional_escape(ticket.get_status_display())}</span>\n\n      <div><time '
            f'class="text-body-secondary text-nowrap" datetime="'
            f'{escape(date_filter(local, "c"))}">'
            f'{escape(date_filter(local, "SHORT_DATE_FORMAT"))}</time></div>\n    </div>'
            f'\n  </li>\n  ')
    return mark_safe("".join(out))  # noqa: S308 (every value above is escaped)


def service_panel_context(customer, user) -> dict:
    """Three queries: the figures (one aggregate), the last tickets the user may see, the
    latest feedback about the customer."""
    from service.selectors import feedback_list_for_user, ticket_list_for_user
    from service.selectors_queues import customer_service_figures

    figures = customer_service_figures(customer)
    tickets = list(ticket_list_for_user(user).filter(customer=customer)
                   .select_related(None).select_related("assignee")
                   .only("id", "uuid", "number", "subject", "status", "created_at",
                         "satisfaction_score", "assignee__first_name", "assignee__last_name",
                         "assignee__email")
                   .order_by("-created_at", "-id")[:PANEL_LIMIT])
    feedback = []
    if user.has_perm("service.view_feedback"):
        feedback = list(feedback_list_for_user(user).filter(customer=customer)
                        .select_related(None).order_by("-created_at", "-id")
                        [:PANEL_FEEDBACK_LIMIT])
    create_url = optional_url("service:ticket_create") \
        if user.has_perm("service.add_ticket") else ""
    feedback_url = optional_url("service:feedback_create") \
        if user.has_perm("service.add_feedback") else ""
    list_url = optional_url("service:ticket_list")
    customer_url = optional_url("customers:detail", uuid=customer.uuid)
    return {
        "service_figures": figures,
        "tickets": tickets,
        "tickets_html": tickets_html(tickets),
        "more_tickets": figures["total"] > len(tickets),
        "feedback": feedback,
        "limit": PANEL_LIMIT,
        "create_url": f"{create_url}?customer={customer.uuid}" if create_url else "",
        "feedback_url": (f"{feedback_url}?customer={customer.uuid}&next={customer_url}"
                         if feedback_url else ""),
        "feedback_list_url": (f"{optional_url('service:feedback_list')}?customer={customer.uuid}"
                              if user.has_perm("service.view_feedback") else ""),
        "list_url": f"{list_url}?customer={customer.uuid}" if list_url else "",
    }


# --- timeline describers ----------------------------------------------------------------------
def _payload(event) -> dict:
    return event.payload if isinstance(event.payload, dict) else {}


def _ticket(payload) -> str:
    number, subject = payload.get("number") or "", payload.get("subject") or ""
    return f"{number} {subject}".strip()


def _status_label(value) -> str:
    from service.models import Ticket

    try:
        return str(Ticket.Status(value).label)
    except ValueError:
        return str(value or "")


def _with_ticket(with_ticket, without):
    def describe(event) -> str:
        ticket = _ticket(_payload(event))
        return str(with_ticket) % {"ticket": ticket} if ticket else str(without)
    return describe


def _status_changed(event) -> str:
    payload = _payload(event)
    ticket = _ticket(payload)
    values = {"ticket": ticket, "from": _status_label(payload.get("from")),
              "to": _status_label(payload.get("to"))}
    if ticket and values["to"]:
        if payload.get("automatic"):
            return str(_("Ticket %(ticket)s moved to “%(to)s” automatically") % values)
        return str(_("Ticket %(ticket)s moved from “%(from)s” to “%(to)s”") % values)
    return str(_("Ticket status changed"))


def _assigned(event) -> str:
    payload = _payload(event)
    ticket, name = _ticket(payload), payload.get("assignee_name") or ""
    if ticket and name:
        return str(_("Ticket %(ticket)s assigned to %(name)s") % {"ticket": ticket,
                                                                  "name": name})
    return str(_("Ticket assigned"))


def _updated(event) -> str:
    from customers.timeline import field_labels
    from service.models import Ticket

    payload = _payload(event)
    ticket = _ticket(payload)
    fields = ", ".join(field_labels(Ticket, payload.get("fields")))
    if ticket and fields:
        return str(_("Ticket %(ticket)s changed: %(fields)s") % {"ticket": ticket,
                                                                 "fields": fields})
    return str(_("Ticket changed"))


def _rated(event) -> str:
    payload = _payload(event)
    ticket, score = _ticket(payload), payload.get("score")
    if ticket and score:
        return str(_("Satisfaction %(score)s/5 for ticket %(ticket)s") % {"score": score,
                                                                         "ticket": ticket})
    return str(_("Satisfaction survey answered"))


def _breached(event) -> str:
    payload = _payload(event)
    number = payload.get("number") or ""
    target = payload.get("target")
    label = _("first response") if target == "first_response" else _("resolution")
    if number:
        return str(_("Ticket %(ticket)s missed its %(target)s target") % {"ticket": number,
                                                                         "target": label})
    return str(_("A ticket missed its SLA target"))


def _feedback_kind(payload) -> str:
    from service.models import Feedback

    try:
        return str(Feedback.Kind(payload.get("kind")).label)
    except ValueError:
        return str(_("Feedback"))


def _feedback_created(event) -> str:
    payload = _payload(event)
    body = (payload.get("body") or "").strip()
    kind = _feedback_kind(payload)
    if body:
        short = body if len(body) <= 80 else body[:79] + "…"
        return str(_("%(kind)s logged: %(body)s") % {"kind": kind, "body": short})
    return str(_("%(kind)s logged") % {"kind": kind})


def _feedback_status(event) -> str:
    from service.models import Feedback

    payload = _payload(event)
    try:
        status = str(Feedback.Status(payload.get("to")).label)
    except ValueError:
        return str(_("Feedback status changed"))
    return str(_("Feedback marked “%(status)s”") % {"status": status})


DESCRIBERS = {
    "ticket.created": _with_ticket(_("Ticket opened: %(ticket)s"), _("Ticket opened")),
    "ticket.updated": _updated,
    "ticket.status_changed": _status_changed,
    "ticket.assigned": _assigned,
    "ticket.replied": _with_ticket(_("Reply sent on ticket %(ticket)s"), _("Reply sent")),
    "ticket.note_added": _with_ticket(_("Internal note on ticket %(ticket)s"),
                                      _("Internal note added to a ticket")),
    "ticket.customer_replied": _with_ticket(_("Customer replied on ticket %(ticket)s"),
                                            _("Customer replied on a ticket")),
    "ticket.rated": _rated,
    "ticket.sla_breached": _breached,
    "feedback.created": _feedback_created,
    "feedback.status_changed": _feedback_status,
}


def _fallback(event) -> str:
    """Any other ticket.* / feedback.* event: its kind, in words."""
    payload = _payload(event)
    if event.name.startswith("feedback."):
        return str(_("Feedback"))
    ticket = _ticket(payload)
    return str(_("Ticket %(ticket)s") % {"ticket": ticket}) if ticket else str(_("Ticket"))


# --- merge ------------------------------------------------------------------------------------
def _merge_tickets(source, target, actor) -> int:
    from service.models import Ticket

    # Their contacts moved with the customer (customers.contacts), so they stay valid.
    return Ticket.objects.filter(customer=source).update(customer=target,
                                                         updated_at=timezone.now())


def _merge_feedback(source, target, actor) -> int:
    from service.models import Feedback

    return Feedback.objects.filter(customer=source).update(customer=target,
                                                           updated_at=timezone.now())


# --- GDPR -------------------------------------------------------------------------------------
def _iso(value):
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


def _tickets_of(customer, contact):
    """The tickets about the customer, or those the contact asked (as the contact, or under
    its e-mail address on the customer's tickets)."""
    from service.models import Ticket

    if contact is None:
        return Ticket.objects.filter(customer=customer)
    q = Q(contact=contact)
    if contact.email:
        q |= Q(customer=customer, requester_email__iexact=contact.email)
    return Ticket.objects.filter(q)


def _feedback_of(customer, contact):
    from service.models import Feedback

    if contact is None:
        return Feedback.objects.filter(customer=customer)
    return Feedback.objects.filter(contact=contact)


def _gdpr_export(customer, contact) -> dict:
    """Tickets with their public conversation (never internal notes) and satisfaction, and
    feedback."""
    from service.models import TicketComment

    public = Prefetch("comments", queryset=TicketComment.objects.filter(is_public=True)
                      .order_by("created_at", "id"), to_attr="public_comments")
    tickets = (_tickets_of(customer, contact).select_related("category")
               .prefetch_related(public).order_by("created_at", "id"))
    return {
        "tickets": [
            {"uuid": str(t.uuid), "number": t.number, "subject": t.subject,
             "description": t.description, "status": t.status, "priority": t.priority,
             "channel": t.channel, "category": t.category.label if t.category_id else None,
             "requester_name": t.requester_name, "requester_email": t.requester_email,
             "created_at": _iso(t.created_at), "first_responded_at": _iso(t.first_responded_at),
             "resolved_at": _iso(t.resolved_at), "closed_at": _iso(t.closed_at),
             "archived_at": _iso(t.archived_at),
             "satisfaction": {"score": t.satisfaction_score, "comment": t.satisfaction_comment,
                              "answered_at": _iso(t.satisfaction_at)},
             "replies": [
                 {"at": _iso(c.created_at), "from_customer": c.from_customer,
                  "author": c.author_name if c.from_customer else None, "text": c.body}
                 for c in t.public_comments]}
            for t in tickets
        ],
        "feedback": [
            {"uuid": str(f.uuid), "kind": f.kind, "status": f.status, "channel": f.channel,
             "text": f.body, "ticket": f.ticket.number if f.ticket_id else None,
             "created_at": _iso(f.created_at)}
            for f in _feedback_of(customer, contact).select_related("ticket")
            .order_by("created_at", "id")
        ],
    }


def _gdpr_erase(customer, contact, actor) -> int:
    """Tickets keep their numbers, statuses, times, scores and staff work; the requester's
    name and address, the texts the customer wrote (their replies, survey comments) and
    personal values anywhere in the ticket texts, feedback and history go."""
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    from crm.models import Event
    from customers.gdpr import ERASED, REDACTED, _redact, _scrub_events, _scrub_log, _secrets
    from service.models import Feedback, Ticket, TicketComment

    tickets = list(_tickets_of(customer, contact).only(
        "id", "requester_name", "requester_email", "subject", "description",
        "satisfaction_comment"))
    feedback = list(_feedback_of(customer, contact).only("id", "body"))
    if not tickets and not feedback:
        return 0
    values = [v for t in tickets for v in (t.requester_name, t.requester_email)]
    if contact is not None:
        values += [contact.first_name, contact.last_name, str(contact), contact.email,
                   contact.phone, contact.mobile]
    else:
        values += [customer.name, customer.email, customer.phone]
    secrets = _secrets(*values)
    now = timezone.now()
    ticket_ids = [t.pk for t in tickets]

    changed = []
    for t in tickets:
        t.requester_name, t.requester_email = ERASED, ""
        t.satisfaction_comment = REDACTED if t.satisfaction_comment else ""
        t.subject = _redact(t.subject, secrets)
        t.description = _redact(t.description, secrets)
        t.updated_at = now
        changed.append(t)
    Ticket.objects.bulk_update(changed, ["requester_name", "requester_email",
                                         "satisfaction_comment", "subject", "description",
                                         "updated_at"], batch_size=500)
    customer_comments = TicketComment.objects.filter(ticket_id__in=ticket_ids,
                                                     from_customer=True)
    comment_ids = list(customer_comments.values_list("id", flat=True))
    customer_comments.update(body=REDACTED, author_name=ERASED, updated_at=now)
    staff_comments = []
    for c in TicketComment.objects.filter(ticket_id__in=ticket_ids, from_customer=False).only(
            "id", "body").iterator(chunk_size=500):
        body = _redact(c.body, secrets)
        if body != c.body:
            c.body = body
            staff_comments.append(c)
    TicketComment.objects.bulk_update(staff_comments, ["body"], batch_size=500)
    whole = contact is None and customer.kind == customer.Kind.PERSON
    for f in feedback:
        f.body = REDACTED if whole or contact is not None else _redact(f.body, secrets)
    Feedback.objects.bulk_update(feedback, ["body"], batch_size=500)

    ticket_type = ContentType.objects.get_for_model(Ticket)
    comment_type = ContentType.objects.get_for_model(TicketComment)
    feedback_type = ContentType.objects.get_for_model(Feedback)
    feedback_ids = [f.pk for f in feedback]
    _scrub_events(Event.objects.filter(
        Q(subject_type=ticket_type, subject_id__in=[str(pk) for pk in ticket_ids])
        | Q(subject_type=feedback_type, subject_id__in=[str(pk) for pk in feedback_ids])),
        secrets, keys=("comment", "body"))
    _scrub_log(LogEntry.objects.filter(content_type=ticket_type, object_id__in=ticket_ids),
               secrets, {"requester_name", "requester_email", "satisfaction_comment"})
    _scrub_log(LogEntry.objects.filter(content_type=comment_type, object_id__in=comment_ids),
               secrets, {"body", "author_name"})
    _scrub_log(LogEntry.objects.filter(content_type=feedback_type, object_id__in=feedback_ids),
               secrets, {"body"})
    return len(tickets) + len(feedback)


# --- global search ----------------------------------------------------------------------------
def _similar(expression: str, term: str) -> Q:
    return (Q(**{f"{expression}__trigram_similar": term})
            | Q(**{f"{expression}__trigram_word_similar": term}))


def _tickets_for(user, query: str, limit: int) -> list[search.SearchResult]:
    """Tickets the user may see (archived ones too) by number, subject or requester e-mail:
    one query over the trigram indexes on UPPER(number/subject/requester_email), the first
    SEARCH_CANDIDATES matches ranked by similarity."""
    from customers.search import candidates
    from service.models import Ticket
    from service.selectors import ticket_list_for_user

    upper = query.upper()
    annotations = {"number_upper": Upper("number"), "subject_upper": Upper("subject"),
                   "requester_upper": Upper("requester_email")}
    fuzzy = (_similar("number_upper", upper) | _similar("subject_upper", upper)
             | _similar("requester_upper", upper))
    exact = Q()
    if len(query) >= MIN_LIKE_LENGTH:
        exact = (Q(number_upper__contains=upper) | Q(subject_upper__contains=upper)
                 | Q(requester_upper__contains=upper))
    # The substring matches first, the similarity ones only when those are too few (see
    # customers.search.candidates): a common term never pays for the % and %> operators.
    visible = ticket_list_for_user(user).select_related(None).annotate(**annotations)
    score = Greatest(TrigramSimilarity("number_upper", upper),
                     TrigramSimilarity("subject_upper", upper),
                     TrigramSimilarity("requester_upper", upper))
    rows = (Ticket.objects.filter(pk__in=candidates(visible, exact, fuzzy))
            .annotate(**annotations)
            .annotate(match_score=score).select_related("customer")
            .order_by("-match_score", "-created_at", "-id")
            .only("uuid", "number", "subject", "status", "requester_email",
                  "customer__name")[:limit])
    return [search.SearchResult(
        title=f"{t.number} {t.subject}",
        subtitle=" · ".join(p for p in (t.customer.name if t.customer_id else "",
                                        str(t.get_status_display()), t.requester_email) if p),
        url=optional_url("service:ticket_detail", uuid=t.uuid), kind=SEARCH_KIND) for t in rows]


# --- registration -----------------------------------------------------------------------------
def _sees_tickets(user) -> bool:
    return user.has_perm("service.view_ticket")


def register() -> None:
    """Register everything above with the customers and core registries (idempotent)."""
    from customers import panels
    from customers.gdpr import register_gdpr_eraser, register_gdpr_exporter
    from customers.merge import register_merge_handler
    from customers.timeline import register_describer

    register_merge_handler("service.tickets", _merge_tickets)
    register_merge_handler("service.feedback", _merge_feedback)

    register_gdpr_exporter(GDPR_KEY, _gdpr_export)
    register_gdpr_eraser(GDPR_KEY, _gdpr_erase)

    search.register(SEARCH_KIND, _("Tickets"), _tickets_for, order=70)

    panels.register(PANEL_KEY, _("Service"), "service/_customer_service.html",
                    context=service_panel_context, order=30, visible=_sees_tickets)

    for name, describer in DESCRIBERS.items():
        register_describer(name, describer)
    for pattern in ("ticket.*", "feedback.*"):
        register_describer(pattern, _fallback)
