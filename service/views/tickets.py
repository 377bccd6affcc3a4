"""Staff ticket pages: the queues (filters, search, keyset pages, bulk assign), the ticket page
(conversation, reply and note, status buttons, assignment), create and edit. Every ticket comes
through service.selectors' access path; every write goes through service.services."""

from __future__ import annotations

import copy
import datetime
from collections import defaultdict
from html import escape

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import conditional_escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts import roles
from accounts.models import Team
from crm.exceptions import ApplicationError
from crm.pagination import carried_count, filters_fingerprint, without_carried_count
from crm.rows import ShortDates, bulk_checkbox, full_name, url_maker
from customers.autocomplete import person_label
from customers.models import Contact, DictionaryEntry
from customers.selectors import customer_get_for_user, customer_list_for_user
from sales.search import like_q
from service.filters import TicketFilter, keyset_page
from service.forms import (
    AssignForm,
    BulkAssignForm,
    ReplyForm,
    TicketCreateForm,
    TicketEditForm,
    TransitionForm,
)
from service.models import Ticket, TicketAssignment, TicketAttachment, TicketComment
from service.permissions import ticket_policy_for
from service.selectors import ticket_get_for_user, ticket_list_for_user

QUEUES = ("mine", "unassigned", "breaching", "all")
DUE_SOON = datetime.timedelta(hours=2)
LOOKUP_LIMIT = 20


def _partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(getattr(exc, "message", "") or exc)


def default_queue(user) -> str:
    """Agents start with their own tickets; managers, admins and analysts with all."""
    if user.is_admin or user.has_role(roles.MANAGER, roles.ANALYST):
        return "all"
    return "mine" if user.has_role(roles.SUPPORT) else "all"


SLA_COLUMNS = ("status", "first_responded_at", "first_response_due_at", "resolution_due_at",
               "first_response_breached", "resolution_breached", "paused_at")


def sla_state(ticket, now) -> dict | None:
    """The SLA badge of one ticket (see row_sla_state)."""
    return row_sla_state({name: getattr(ticket, name) for name in SLA_COLUMNS}, now)


def row_sla_state(row, now) -> dict | None:
    """The SLA badge of one row (a dict with SLA_COLUMNS), from the row's own columns (no
    queries): the target being worked against, its due time and whether it is late, due soon
    or paused."""
    if row["status"] not in Ticket.OPEN:
        return None
    if row["first_responded_at"] is None and row["first_response_due_at"]:
        due, target = row["first_response_due_at"], "first_response"
    else:
        due, target = row["resolution_due_at"], "resolution"
    if due is None:
        return None
    breached = row["first_response_breached"] or row["resolution_breached"]
    if row["paused_at"] is not None:
        level = "paused"
    elif due <= now or breached:
        level = "late"
    elif due <= now + DUE_SOON:
        level = "soon"
    else:
        level = "ok"
    return {"due": due, "target": target, "level": level}


# What a row of the queues shows, read as plain values (no model instances): the relations it
# names as `fk__col` columns (customer, assignee) or as subqueries on the two small tables
# (team, category: see with_list_columns), and only the columns the row, its SLA badge, the
# sort keys and the pager read.
LIST_COLUMNS = (
    "id", "uuid", "number", "subject", "status", "priority", "created_at",
    "category_id", "category_label", "customer_id", "customer__name", "requester_name",
    "requester_email", "assignee_id", "assignee__first_name", "assignee__last_name",
    "assignee__email", "team_id", "team_name", "first_responded_at", "first_response_due_at",
    "resolution_due_at", "first_response_breached", "resolution_breached", "paused_at",
)


def with_list_columns(queryset):
    """`queryset` with the team's name and the category's label that LIST_COLUMNS read, as
    subqueries: PostgreSQL plans a five-table join in ~1.9 ms, three tables and two scalar
    subqueries on the small tables in ~0.6 ms, for the same execution."""
    return queryset.annotate(
        team_name=Subquery(Team.objects.filter(pk=OuterRef("team_id")).values("name")),
        category_label=Subquery(DictionaryEntry.objects.filter(pk=OuterRef("category_id"))
                                .values("label")),
    )


# The badge classes of _status_badge.html, _priority_badge.html and _sla_badge.html.
STATUS_CLASSES = {"new": "text-bg-primary", "assigned": "text-bg-info",
                  "in_progress": "text-bg-primary", "waiting": "text-bg-warning",
                  "resolved": "text-bg-success", "closed": "text-bg-secondary"}
PRIORITY_CLASSES = {"urgent": "text-bg-danger", "high": "text-bg-warning",
                    "normal": "text-bg-light border"}
SLA_CLASSES = {"late": "text-bg-danger", "soon": "text-bg-warning",
               "paused": "text-bg-secondary"}



def _sla_html(sla, texts: dict, datetimes: dict) -> str:
    """_sla_badge.html for one row's row_sla_state()."""
    if not sla:
        return '<span class="text-body-secondary">—</span>'
    level = sla["level"]
    title = texts["first_due"] if sla["target"] == "first_response" else texts["resolution_due"]
    if level == "paused":
        inner = f'<i class="bi bi-pause-fill me-1" aria-hidden="true"></i>{texts["paused"]}'
    else:
        if level == "late":
            icon = (f'<i class="bi bi-exclamation-triangle-fill me-1" aria-hidden="true"></i>'
                    f'{texts["late"]} · ')
        elif level == "soon":
            icon = '<i class="bi bi-hourglass-split me-1" aria-hidden="true"></i>'
        else:
            icon = ""
        due = timezone.localtime(sla["due"])
        shown = datetimes.get(due)
        if shown is None:
            shown = datetimes[due] = escape(formats.date_format(due, "SHORT_DATETIME_FORMAT"))
        # The "c" date format is ISO 8601: datetime.isoformat().
        inner = f'{icon}<time datetime="{due.isoformat()}">{shown}</time>'
    return (f'<span class="badge {SLA_CLASSES.get(level, "text-bg-light border")}" '
            f'data-sla="{level}" title="{title}">{inner}</span>')


def result_rows_html(rows: list[dict], *, can_bulk: bool) -> str:
    """The table rows of _ticket_results.html (with its status, priority and SLA badges),
    built here rather than by the template: the same markup, byte for byte, with every value
    escaped and every text translated, but without some forty template nodes and three
    includes per row. `rows`: dicts of LIST_COLUMNS, each with its "sla" (row_sla_state()). One
    reverse() per page, not per row."""
    detail_url = url_maker("service:ticket_detail")
    statuses = {value: conditional_escape(label) for value, label in Ticket.Status.choices}
    priorities = {value: conditional_escape(label) for value, label in Ticket.Priority.choices}
    status_, priority_, customer_, assignee_, due_, created_ = (
        conditional_escape(_(label)) for label in
        ("Status", "Priority", "Customer", "Assignee", "Due", "Created"))
    unassigned = conditional_escape(_("Unassigned"))
    texts = {"first_due": conditional_escape(_("First response due")),
             "resolution_due": conditional_escape(_("Resolution due")),
             "paused": conditional_escape(_("Paused")), "late": conditional_escape(_("Late"))}
    select = _("Select %(number)s")
    short_date = ShortDates()
    datetimes: dict = {}
    html = []
    for row in rows:
        number, uuid = escape(row["number"]), str(row["uuid"])
        checkbox = bulk_checkbox(uuid, select % {"number": number}) if can_bulk else ""
        category = (f' · {escape(row["category_label"])}'
                    if row["category_id"] is not None else "")
        status, priority = row["status"], row["priority"]
        status_html = statuses.get(status) or escape(status)
        priority_html = priorities.get(priority) or escape(priority)
        if row["customer_id"] is not None:
            customer_html = escape(row["customer__name"])
        else:
            customer_html = escape(row["requester_name"] or row["requester_email"] or "—")
        if row["assignee_id"] is not None:
            assignee_html = escape(full_name(row["assignee__first_name"],
                                              row["assignee__last_name"])
                                   or row["assignee__email"])
        else:
            assignee_html = f'<span class="text-body-secondary">{unassigned}</span>'
        if row["team_id"] is not None:
            assignee_html += f'<div class="text-body-secondary">{escape(row["team_name"])}</div>'
        created = timezone.localtime(row["created_at"])
        html.append(
            f'\n    <tr data-ticket="{number}">\n      <td>'
            f'\n        <div class="d-flex align-items-start gap-2">\n          {checkbox}'
            f'\n          <div class="text-break">'
            f'\n            <a href="{escape(detail_url(uuid))}" class="fw-semibold">'
            f'{escape(row["subject"])}</a>'
            f'\n            <div class="small text-body-secondary"><span class="font-monospace">'
            f'{number}</span>{category}</div>\n          </div>\n        </div>\n      </td>'
            f'\n      <td data-label="{status_}" class="small"><span class="badge '
            f'{STATUS_CLASSES.get(status, "text-bg-dark")}" data-testid="ticket-status">'
            f'{status_html}</span>\n</td>'
            f'\n      <td data-label="{priority_}" class="small"><span class="badge '
            f'{PRIORITY_CLASSES.get(priority, "text-bg-light border text-body-secondary")}">'
            f'{priority_html}</span>\n</td>'
            f'\n      <td data-label="{customer_}" class="small text-break">{customer_html}</td>'
            f'\n      <td data-label="{assignee_}" class="small">{assignee_html}</td>'
            f'\n      <td data-label="{due_}" class="small text-nowrap">'
            f'{_sla_html(row["sla"], texts, datetimes)}\n</td>'
            f'\n      <td data-label="{created_}" class="small text-nowrap">'
            f'<time datetime="{created.isoformat()}">{short_date(created)}</time></td>'
            f'\n    </tr>\n  '
        )
    return mark_safe("".join(html))  # noqa: S308 (every value above is escaped)


def ticket_count_for_user(user, name: str, filterset) -> tuple[int, bool]:
    """The capped count of a queue page: the queue's and the filters' conditions on every
    ticket, and the visible set as index-friendly branches (TicketPolicy.visible_branches)."""
    from sales.selectors import capped_count_of_branches
    from service.selectors_queues import queue as queue_qs

    qs = queue_qs(user, name, base=Ticket.objects.all())
    if filterset.is_bound:
        filterset.errors  # noqa: B018 (validate once)
        qs = filterset.filter_queryset(qs)
    return capped_count_of_branches(qs, ticket_policy_for(user).visible_branches())


def count_fingerprint(user, name: str, params) -> str | None:
    """What the capped count of a queue page depends on, digested (the user's visible set, the
    queue, the filters in `params`), so that the "next" cursor can carry the count to deeper
    pages; None for the breaching queue, whose set moves with the clock."""
    if name == "breaching":
        return None
    return filters_fingerprint(params, "tickets", user.pk, name,
                               ticket_policy_for(user).visible_branches())


# --- queues ------------------------------------------------------------------------------------
@login_required
def ticket_list(request):
    from service.selectors_queues import queue as queue_qs

    if not request.user.has_perm("service.view_ticket"):
        raise PermissionDenied
    name = request.GET.get("queue")
    if name not in QUEUES:
        name = default_queue(request.user)
    filterset = TicketFilter(request.GET or None, queryset=queue_qs(request.user, name),
                             default_ordering="due" if name == "breaching" else "-created")
    after = request.GET.get("after")
    # The count is paid on the first page; the "next" cursor carries it to deeper ones.
    fingerprint = count_fingerprint(request.user, name, request.GET)
    count = (carried_count(after, fingerprint) if after and fingerprint else None) or \
        ticket_count_for_user(request.user, name, filterset)
    # Plain values of the columns the rows show (not the contact's: its join over 2M rows only
    # costs planning time).
    page = keyset_page(with_list_columns(filterset.qs.select_related(None)),
                       filterset.ordering_key(), after,
                       count=False, fields=LIST_COLUMNS,
                       carry=(*count, fingerprint) if fingerprint else None)
    page.count, page.count_capped = count
    now = timezone.now()
    for row in page.object_list:
        row["sla"] = row_sla_state(row, now)
    can_bulk = request.user.has_perm("service.assign_ticket")
    context = {
        "filter": filterset,
        "filter_errors": filterset.labelled_errors(),
        "page": page,
        "queue": name,
        "queues": [(key, label) for key, label in (
            ("mine", _("My tickets")), ("unassigned", _("Unassigned")),
            ("breaching", _("Breaching soon")), ("all", _("All tickets")))],
        "can_bulk": can_bulk,
        "rows": result_rows_html(page.object_list, can_bulk=can_bulk),
        "nav_active": "tickets",
    }
    if _partial(request):
        return render(request, "service/tickets/_ticket_results.html", context)
    filterset.load_choices()
    if can_bulk:
        context["bulk_form"] = BulkAssignForm(auto_id="bulk_%s")
    return render(request, "service/tickets/ticket_list.html", context)


def _back_to_list(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ) and target.startswith(reverse("service:ticket_list")):
        return redirect(without_carried_count(target))
    return redirect("service:ticket_list")


@login_required
@require_POST
def ticket_bulk_assign(request):
    """Assign the selected tickets to one agent, all or nothing."""
    from service.services import ticket_bulk_assign as bulk_assign

    if not request.user.has_perm("service.assign_ticket"):
        raise PermissionDenied
    form = BulkAssignForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back_to_list(request)
    selected = form.cleaned_data["selected"]
    tickets = list(ticket_list_for_user(request.user).filter(uuid__in=selected))
    policy = ticket_policy_for(request.user)
    if len(tickets) != len(selected) or not all(policy.can("assign", t) for t in tickets):
        messages.error(request, _(
            "Nothing was assigned: you may not assign at least one of the selected tickets. "
            "Select only tickets you are allowed to assign and try again."))
        return _back_to_list(request)
    assignee = form.cleaned_data["assignee"]
    try:
        count = bulk_assign(actor=request.user, tickets=tickets, assignee=assignee)
    except (ApplicationError, ValidationError, PermissionDenied) as exc:
        messages.error(request, _("Nothing was assigned: %(reason)s") % {
            "reason": _error_text(exc) or _("you may not do that.")})
        return _back_to_list(request)
    messages.success(request, ngettext(
        "%(count)d ticket assigned to %(name)s.",
        "%(count)d tickets assigned to %(name)s.", count,
    ) % {"count": count, "name": assignee.get_full_name() or assignee.email})
    return _back_to_list(request)


# --- the ticket page ---------------------------------------------------------------------------
def _conversation(ticket):
    """The comments (authors joined) with their attachments, and the ticket's own attachments:
    two queries whatever their number."""
    comments = list(TicketComment.objects.filter(ticket=ticket).select_related("author")
                    .order_by("created_at", "id"))
    by_comment = defaultdict(list)
    loose = []
    for attachment in (TicketAttachment.objects.filter(ticket=ticket)
                       .only("uuid", "name", "size", "content_type", "comment_id", "created_at")
                       .order_by("created_at", "id")):
        (by_comment[attachment.comment_id] if attachment.comment_id else loose).append(
            attachment)
    for comment in comments:
        comment.files = by_comment.get(comment.pk, [])
    return comments, loose


def _detail_context(request, ticket, *, reply_form=None, assign_form=None):
    from service.services import ALLOWED_TRANSITIONS

    policy = ticket_policy_for(request.user)
    read_only = ticket.is_read_only
    can_change = not read_only and policy.can("change", ticket)
    can_assign = not read_only and policy.can("assign", ticket)
    can_reply = not read_only and policy.can("reply", ticket)
    comments, loose = _conversation(ticket)
    assignments = list(
        TicketAssignment.objects.filter(ticket=ticket)
        .select_related("from_user", "to_user", "by", "team").order_by("-created_at", "-id")[:50])
    labels = dict(Ticket.Status.choices)
    context = {
        "ticket": ticket,
        "read_only": read_only,
        "can_change": can_change,
        "can_assign": can_assign,
        "can_reply": can_reply,
        "comments": comments,
        "ticket_files": loose,
        "assignments": assignments,
        "transitions": [(s, labels[s]) for s in ALLOWED_TRANSITIONS.get(ticket.status, ())]
        if can_change else [],
        "sla": sla_state(ticket, timezone.now()),
        "nav_active": "tickets",
    }
    if can_reply:
        context["reply_form"] = reply_form or ReplyForm()
    if can_assign:
        form = assign_form or AssignForm(team=ticket.team,
                                         initial={"version": ticket.version,
                                                  "assignee": ticket.assignee.uuid
                                                  if ticket.assignee_id else None})
        if assign_form is None:
            # The autocomplete renders the chosen agent only: the ticket already holds it, so
            # no lookup query.
            form.fields["assignee"].widget.choices = [
                (str(ticket.assignee.uuid), person_label(ticket.assignee))
            ] if ticket.assignee_id else []
        context["assign_form"] = form
        context["can_take"] = (ticket.assignee_id != request.user.pk
                               and request.user.has_role(roles.SUPPORT, roles.MANAGER,
                                                         roles.ADMIN))
    return context


@login_required
def ticket_detail(request, uuid):
    ticket = ticket_get_for_user(request.user, uuid)
    return render(request, "service/tickets/ticket_detail.html",
                  _detail_context(request, ticket))


@login_required
@require_POST
def ticket_reply(request, uuid):
    """A public reply or an internal note, with attachments."""
    from service import services

    ticket = ticket_get_for_user(request.user, uuid, "reply")
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        write = services.ticket_note if data["kind"] == ReplyForm.NOTE else services.ticket_reply
        try:
            write(actor=request.user, ticket=ticket, body=data["body"],
                  attachments=data["attachments"])
        except (ApplicationError, ValidationError, PermissionDenied) as exc:
            form.add_error(None, _error_text(exc) or _("You may not do that."))
        else:
            messages.success(request, _("Your internal note was added.")
                             if data["kind"] == ReplyForm.NOTE
                             else _("Your reply was sent to the customer."))
            return redirect("service:ticket_detail", uuid=ticket.uuid)
    messages.error(request, _("Nothing was added: correct the message below."))
    return render(request, "service/tickets/ticket_detail.html",
                  _detail_context(request, ticket, reply_form=form), status=400)


@login_required
@require_POST
def ticket_transition(request, uuid):
    from service import services

    ticket = ticket_get_for_user(request.user, uuid, "change")
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That status change was not understood. Nothing changed."))
        return redirect("service:ticket_detail", uuid=ticket.uuid)
    to_status = form.cleaned_data["to_status"]
    try:
        ticket = services.ticket_transition(
            actor=request.user, ticket=ticket, to_status=to_status,
            expected_version=form.cleaned_data["version"])
    except (ApplicationError, ValidationError, PermissionDenied) as exc:
        messages.error(request, _error_text(exc) or _("You may not do that."))
    else:
        messages.success(request, _("The ticket is now “%(status)s”.")
                         % {"status": ticket.get_status_display()})
    return redirect("service:ticket_detail", uuid=ticket.uuid)


@login_required
@require_POST
def ticket_assign(request, uuid):
    from service import services

    ticket = ticket_get_for_user(request.user, uuid, "assign")
    form = AssignForm(request.POST, team=None)
    if form.is_valid():
        assignee = form.cleaned_data["assignee"]
        try:
            ticket = services.ticket_assign(
                actor=request.user, ticket=ticket, assignee=assignee,
                note=form.cleaned_data["note"], expected_version=form.cleaned_data["version"])
        except (ApplicationError, ValidationError, PermissionDenied) as exc:
            messages.error(request, _error_text(exc) or _("You may not do that."))
        else:
            messages.success(request, _("The ticket was assigned to %(name)s.")
                             % {"name": assignee.get_full_name() or assignee.email})
    else:
        messages.error(request, _("Choose an agent to assign the ticket to. Nothing changed."))
    return redirect("service:ticket_detail", uuid=ticket.uuid)


@login_required
@require_POST
def ticket_take(request, uuid):
    from service import services

    ticket = ticket_get_for_user(request.user, uuid, "assign")
    try:
        services.ticket_take(actor=request.user, ticket=ticket)
    except (ApplicationError, ValidationError, PermissionDenied) as exc:
        messages.error(request, _error_text(exc) or _("You may not do that."))
    else:
        messages.success(request, _("You took the ticket."))
    return redirect("service:ticket_detail", uuid=ticket.uuid)


# --- create and edit ---------------------------------------------------------------------------
def _add_service_error(form, exc: Exception) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, _error_text(exc) or _("You may not do that."))


def _chosen(form, request):
    """The customer, contact, order and product the form currently names (for the search
    fields' initial choice): resolved through the access paths, None when not visible."""
    from sales.selectors import order_list_for_user, product_list_for_user

    def value(name):
        raw = form[name].value() if form.is_bound else form.initial.get(name)
        return str(raw) if raw else ""

    chosen = {"customer": None, "contacts": [], "contact": value("contact"), "order": None,
              "product": None}
    try:
        if value("customer"):
            chosen["customer"] = customer_get_for_user(request.user, value("customer"))
    except (Http404, ValidationError):
        pass
    if chosen["customer"] is not None:
        chosen["contacts"] = list(_contacts_of(chosen["customer"]))
    for name, qs in (("order", order_list_for_user(request.user)),
                     ("product", product_list_for_user(request.user))):
        try:
            chosen[name] = qs.filter(uuid=value(name)).first() if value(name) else None
        except ValidationError:
            chosen[name] = None
    for name in ("customer", "order", "product"):
        chosen[f"{name}_rows"] = [chosen[name]] if chosen[name] is not None else []
    return chosen


def _contacts_of(customer):
    return Contact.objects.alive().filter(customer=customer).order_by(
        "-is_primary", "last_name", "first_name").only("uuid", "first_name", "last_name",
                                                       "email", "customer_id")


@login_required
def ticket_create(request):
    from service import services

    if not request.user.has_perm("service.add_ticket"):
        raise PermissionDenied
    initial = {}
    if request.method != "POST" and request.GET.get("customer"):
        initial["customer"] = request.GET["customer"]
    form = TicketCreateForm(request.POST or None, request.FILES or None, user=request.user,
                            initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_create(actor=request.user, data=form.service_data(),
                                            attachments=form.cleaned_data["attachments"])
        except (ApplicationError, ValidationError, PermissionDenied) as exc:
            _add_service_error(form, exc)
        else:
            messages.success(request, _("Ticket %(number)s was created.")
                             % {"number": ticket.number})
            return redirect("service:ticket_detail", uuid=ticket.uuid)
    return render(request, "service/tickets/ticket_form.html", {
        "form": form, "ticket": None, "chosen": _chosen(form, request), "nav_active": "tickets",
    }, status=400 if form.is_bound and form.errors else 200)


@login_required
def ticket_edit(request, uuid):
    from service import services

    ticket = ticket_get_for_user(request.user, uuid, "change")
    form = TicketEditForm(request.POST or None, instance=copy.copy(ticket), user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_update(actor=request.user, ticket=ticket,
                                            data=form.service_data(),
                                            expected_version=form.cleaned_data["version"])
        except (ApplicationError, ValidationError, PermissionDenied) as exc:
            _add_service_error(form, exc)
        else:
            messages.success(request, _("Ticket %(number)s was saved.")
                             % {"number": ticket.number})
            return redirect("service:ticket_detail", uuid=ticket.uuid)
    return render(request, "service/tickets/ticket_form.html", {
        "form": form, "ticket": ticket, "chosen": _chosen(form, request),
        "nav_active": "tickets",
    }, status=400 if form.is_bound and form.errors else 200)


# --- search fields of the form (htmx fragments) ------------------------------------------------
@login_required
@require_GET
def ticket_agent_options(request):
    """JSON for the assignee autocompletes: up to 20 agents (of ?team=<uuid> when given) whose
    name or e-mail starts with ?q= (customers.autocomplete's matching)."""
    from accounts.models import Team
    from customers.autocomplete import user_matches
    from service.forms import agent_queryset

    if not request.user.has_perm("service.view_ticket"):
        raise PermissionDenied
    team = None
    if request.GET.get("team"):
        try:
            team = Team.objects.filter(uuid=request.GET["team"]).first()
        except (ValidationError, ValueError):
            team = None
    q = " ".join((request.GET.get("q") or "").split())[:100]
    found = user_matches(q, base=agent_queryset(team)).only(
        "uuid", "first_name", "last_name", "email")
    return JsonResponse({"results": [{"id": str(u.uuid), "text": person_label(u)}
                                     for u in found]})


@login_required
@require_GET
def ticket_lookup(request, kind):
    """Up to 20 customers (visible to the user), orders (by number) or products (by SKU or
    name) matching ?q=, as radio choices for the ticket form."""
    from sales.selectors import order_list_for_user, product_list_for_user

    if not (request.user.has_perm("service.add_ticket")
            or request.user.has_perm("service.change_ticket")):
        raise PermissionDenied
    q = (request.GET.get("q") or "").strip()[:100]
    rows = []
    if len(q) >= 2:
        if kind == "customer":
            rows = list(customer_list_for_user(request.user).select_related(None)
                        .prefetch_related(None).filter(
                like_q(q, "name", "code")).order_by("name", "id")
                .only("uuid", "name", "code")[:LOOKUP_LIMIT])
        elif kind == "order":
            qs = order_list_for_user(request.user).filter(like_q(q, "number"))
            customer = request.GET.get("customer")
            if customer:
                try:
                    qs = qs.filter(customer__uuid=customer)
                except ValidationError:
                    qs = qs.none()
            rows = list(qs.order_by("-id")[:LOOKUP_LIMIT])
        elif kind == "product":
            rows = list(product_list_for_user(request.user).filter(
                like_q(q, "sku", "name")).order_by("sku", "id")
                .only("uuid", "sku", "name")[:LOOKUP_LIMIT])
        else:
            raise Http404
    elif kind not in ("customer", "order", "product"):
        raise Http404
    return render(request, "service/tickets/_lookup_choices.html", {
        "kind": kind, "rows": rows, "q": q if len(q) >= 2 else "", "limit": LOOKUP_LIMIT,
    })


@login_required
@require_GET
def ticket_contact_options(request):
    """The contact select for the customer chosen in the form (?customer=<uuid>)."""
    if not (request.user.has_perm("service.add_ticket")
            or request.user.has_perm("service.change_ticket")):
        raise PermissionDenied
    customer = None
    uuid = request.GET.get("customer")
    if uuid:
        try:
            customer = customer_get_for_user(request.user, uuid)
        except (Http404, ValidationError):
            customer = None
    contacts = list(_contacts_of(customer)) if customer else []
    return render(request, "service/tickets/_contact_select.html", {
        "contacts": contacts, "selected": "", "customer": customer,
    })
