"""The customer's 360-degree page: details, key figures, contacts, the communication log, the
timeline, the audit history and the panels other modules contribute; plus contacts and
sharing.

Every customer comes through `customer_get_for_user` (not visible: 404; visible but the action
not allowed: 403); every write goes through customers.services.
"""

from __future__ import annotations

import functools
import json
import uuid as uuid_lib
from html import escape
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.exceptions import ApplicationError
from crm.prepared import Compiled
from customers import custom_fields, services
from customers.forms.contact import (
    ContactEditForm,
    ContactForm,
    InteractionForm,
    ShareForm,
    TimelineFilterForm,
)
from customers.models import Contact, Customer, CustomerUserObjectPermission, Interaction
from customers.panels import render_panels
from customers.permissions import policy_for
from customers.selectors import (
    contact_list_for_user,
    customer_can,
    customer_get_for_user,
    customer_history,
)
from customers.timeline import timeline_for_customer
from customers.views.customer import tags_by_customer

TIMELINE_PAGE = 30
# The contacts the 360 page lists (primary first); the rest are a link away, on the contact
# list filtered to the customer (keyset pages). A customer with thousands of contacts would
# otherwise render them all, and all of them again as options of the quick-add's select.
CONTACTS_SHOWN = 20


# --- helpers ----------------------------------------------------------------------------------
def _require_perm(user, perm: str) -> None:
    """The model permission a contact or log write needs on top of seeing the customer
    (the same rule the service applies; checked here too so the form is never shown)."""
    if not user.has_perm(perm):
        raise PermissionDenied


def _require_contact(user, action: str, customer: Customer) -> None:
    """The contact rule of customers/permissions.py, checked before any form is shown."""
    if not policy_for(user).contact_can(action, customer):
        raise PermissionDenied


def _contact_for(user, customer: Customer, contact_uuid) -> Contact:
    try:
        return contact_list_for_user(user, customer=customer).get(uuid=contact_uuid)
    except (Contact.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc


def _detail_url(customer: Customer, anchor: str = "") -> str:
    url = reverse("customers:detail", kwargs={"uuid": customer.uuid})
    return f"{url}#{anchor}" if anchor else url


def _figures_query(customer_id, *, definitions: bool):
    log_of = Interaction.objects.filter(customer=OuterRef("pk")).order_by().values("customer")
    contacts_of = (Contact.objects.alive().filter(customer=OuterRef("pk")).order_by()
                   .values("customer"))
    columns = {
        # COUNT(*), not COUNT(id): the indexes answer alone (index-only scans).
        "count": Coalesce(Subquery(log_of.annotate(n=Count("*")).values("n")), Value(0),
                          output_field=IntegerField()),
        # The newest entry, not MAX() over all of them: one step down interaction_timeline.
        "last": Subquery(Interaction.objects.filter(customer=OuterRef("pk"))
                         .order_by("-occurred_at").values("occurred_at")[:1]),
        "contact_count": Coalesce(Subquery(contacts_of.annotate(n=Count("*")).values("n")),
                                  Value(0), output_field=IntegerField()),
    }
    if definitions:
        columns["definitions"] = ArraySubquery(
            custom_fields.active_definitions_qs().values(row=custom_fields.definitions_json()))
    return Customer.objects.filter(pk=customer_id).values(**columns)


# Compiled once per process and prepared (crm.prepared): its three subqueries and the
# definitions' JSON took the ORM ~3 ms to build and compile, PostgreSQL under 1 ms to run.
_FIGURES = {definitions: Compiled(functools.partial(_figures_query, definitions=definitions))
            for definitions in (False, True)}


def _figures(customer: Customer, contacts: list[Contact], request=None) -> dict:
    """Key figures: one query whatever the size of the log (the contacts counted in it too:
    the page lists only the first CONTACTS_SHOWN). With `request`, the same query also brings
    the custom field definitions (cached on the request for the page): the 360 page then
    needs no query of its own for them."""
    rows = _FIGURES[request is not None].dicts(customer.pk)
    log = rows[0] if rows else {"count": 0, "last": None, "contact_count": 0,
                                "definitions": []}
    if request is not None:
        definitions = [json.loads(d) if isinstance(d, str | bytes) else d
                       for d in log["definitions"] or []]
        custom_fields.definitions_prime(request, custom_fields.definitions_from_json(
            definitions))
    return {
        "created": customer.created_at,
        "contacts": log["contact_count"],
        "interactions": log["count"],
        "last_interaction": log["last"],
    }


def timeline_items_html(items, *, from_cursor: bool) -> str:
    """The timeline entries (_timeline.html's loop), built here rather than by the template:
    the same markup, byte for byte, every value escaped and every text translated (a page of
    thirty entries took ~3 ms through the template engine). An empty first page says so."""
    if not items:
        empty = "" if from_cursor else (
            '<p class="text-body-secondary small mb-0" data-testid="timeline-empty">'
            f'{_text(_("Nothing on the timeline yet."))}</p>')
        return mark_safe(f"\n{empty}\n")  # noqa: S308 (a translated constant, escaped)
    kinds = {value: _text(label) for value, label in Interaction.Kind.choices}
    directions = {value: _text(label) for value, label in Interaction.Direction.choices}
    with_name, outcome_label = _("with %(name)s"), _text(_("Outcome:"))
    out = []
    for item in items:
        local = timezone.localtime(item.timestamp)
        when = (f'<time datetime="{local.isoformat()}">'
                f'{escape(formats.date_format(local, "SHORT_DATETIME_FORMAT"))}</time>')
        if item.is_interaction:
            interaction = item.obj
            user = f"· {escape(str(interaction.user))}" if interaction.user else ""
            contact = (f"· {with_name % {'name': escape(str(interaction.contact))}}"
                       if interaction.contact else "")
            body = (f'<div class="small mt-1 text-break timeline-body">'
                    f'{linebreaksbr(interaction.body, autoescape=True)}</div>'
                    if interaction.body else "")
            outcome = (f'<div class="small mt-1"><span class="fw-semibold">{outcome_label}'
                       f'</span> {escape(interaction.outcome)}</div>'
                       if interaction.outcome else "")
            kind = kinds.get(interaction.kind) or _text(interaction.kind)
            direction = directions.get(interaction.direction) or _text(interaction.direction)
            branch = (
                f'\n    <div class="d-flex flex-wrap align-items-baseline gap-2">'
                f'\n      <span class="fw-semibold text-break">{escape(interaction.subject)}'
                f'</span>\n      <span class="badge text-bg-light border">{kind} · {direction}'
                f'</span>\n    </div>\n    <div class="small text-body-secondary">\n      {when}'
                f'\n      {user}\n      {contact}\n    </div>\n    {body}\n    {outcome}\n    ')
            circle = "text-bg-primary"
        else:
            actor = f"· {escape(str(item.actor))}" if item.actor else ""
            branch = (f'\n    <div class="text-break">{_text(item.text)}</div>'
                      f'\n    <div class="small text-body-secondary">\n      {when}'
                      f'\n      {actor}\n    </div>\n    ')
            circle = "text-bg-light border"
        out.append(
            f'\n<article class="d-flex gap-3 py-2 border-bottom" data-testid="timeline-item" '
            f'data-source="{escape(item.source)}">\n  <div class="rounded-circle p-2 lh-1 '
            f'flex-shrink-0 align-self-start {circle}" aria-hidden="true"><i class="bi '
            f'bi-{escape(item.icon)}"></i></div>\n  <div class="flex-grow-1 text-break">'
            f'\n    {branch}\n  </div>\n</article>\n')
    return mark_safe("".join(out))  # noqa: S308 (every value above is escaped)


def _timeline(request, customer: Customer, data=None) -> dict:
    """The timeline page the query string (or `data`) asks for; bad values are ignored."""
    filters = TimelineFilterForm(request.GET if data is None else data)
    kinds = filters.kinds_value()
    cursor = filters.cursor_value()
    page = timeline_for_customer(customer, before=cursor, kinds=kinds, limit=TIMELINE_PAGE)
    more_query = ""
    if page.next_cursor:
        more_query = urlencode([("cursor", page.next_cursor), *(("kinds", k) for k in kinds)])
    return {
        "timeline": page,
        "timeline_html": timeline_items_html(page.items, from_cursor=bool(cursor)),
        "timeline_filter": filters,
        "timeline_kinds": kinds,
        "timeline_from_cursor": bool(cursor),
        "timeline_more_url": (reverse("customers:timeline", kwargs={"uuid": customer.uuid})
                              + "?" + more_query) if more_query else "",
        "timeline_more_page": (_detail_url(customer) + "?" + more_query) if more_query else "",
    }


def _permissions(user, customer: Customer) -> dict:
    policy = policy_for(user)
    can_change = customer_can(user, "change", customer)
    return {
        "can_change": can_change,
        "can_share": policy.can_share(customer),
        "can_add_contact": policy.contact_can("add", customer),
        "can_change_contact": policy.contact_can("change", customer),
        "can_delete_contact": policy.contact_can("delete", customer),
        "can_log": user.has_perm("customers.add_interaction"),
    }


def _custom_values(request, customer: Customer, contacts: list[Contact]) -> list:
    """The customer's custom field values (label, formatted value), and each contact's on the
    contact itself (`contact.custom_rows`): no query (definitions are cached on the request)."""
    definitions = custom_fields.definitions_for(request)
    for contact in contacts:
        contact.custom_rows = custom_fields.display_rows(definitions.contact,
                                                         contact.custom_data)
    return custom_fields.display_rows(definitions.customer, customer.custom_data)


def _shown_contacts(user, customer: Customer) -> tuple[list[Contact], bool]:
    """The first CONTACTS_SHOWN contacts (primary first, by name), and whether there are
    more: one index range (contact_live_by_customer), whatever the number of contacts."""
    found = list(contact_list_for_user(user, customer=customer)[:CONTACTS_SHOWN + 1])
    return found[:CONTACTS_SHOWN], len(found) > CONTACTS_SHOWN


def _text(value) -> str:
    """`{{ value }}` for a plain string (html.escape; conditional_escape for translations)."""
    return escape(value) if type(value) is str else str(conditional_escape(value))


def contact_items_html(customer: Customer, contacts: list[Contact], *, can_change: bool,
                       can_delete: bool, csrf_token: str) -> str:
    """The contact cards of the 360 page (the list items of its Contacts card), built here
    rather than by the template: the same markup, byte for byte, with every value escaped
    and every text translated, without some forty template nodes and two URL lookups per
    contact (twenty contacts took ~4 ms through the template engine). `contacts` carry
    `custom_rows` (_custom_values)."""
    if not contacts:
        return mark_safe(  # noqa: S308 (a translated constant, escaped)
            '\n        <li class="list-group-item text-body-secondary small">'
            f'{_text(_("No contacts yet."))}</li>\n        ')
    sample = uuid_lib.UUID(int=0)
    edit_head, edit_tail = reverse("customers:contact_edit", kwargs={
        "uuid": customer.uuid, "contact_uuid": sample}).split(str(sample), 1)
    delete_head, delete_tail = reverse("customers:contact_delete", kwargs={
        "uuid": customer.uuid, "contact_uuid": sample}).split(str(sample), 1)
    primary, edit_title, remove_title = (_text(_("Primary")), _text(_("Edit")),
                                         _text(_("Remove")))
    edit_name, remove_name = _("Edit %(name)s"), _("Remove %(name)s")
    remove_confirm = _("Remove %(name)s from this customer's contacts?")
    prefers = _("Prefers: %(channel)s")
    consent, no_consent = _text(_("Marketing consent")), _text(_("No marketing consent"))
    channels = {value: _text(label) for value, label in Contact.Channel.choices}
    methods = {value: _text(label) for value, label in Contact.ConsentMethod.choices}
    csrf = (f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
            if csrf_token else "")
    out = []
    for contact in contacts:
        name, uuid = escape(str(contact)), str(contact.uuid)
        badge = f' <span class="badge text-bg-primary">{primary}</span>' \
            if contact.is_primary else ""
        title = (f'<div class="small text-body-secondary">{escape(contact.title)}</div>'
                 if contact.title else "")
        actions = ""
        if can_change or can_delete:
            edit = (f'<a class="btn btn-sm btn-outline-secondary" href="{edit_head}{uuid}'
                    f'{edit_tail}" title="{edit_title}"><i class="bi bi-pencil" '
                    f'aria-hidden="true"></i><span class="visually-hidden">'
                    f'{edit_name % {"name": name}}</span></a>') if can_change else ""
            delete = (
                f'\n              <form method="post" action="{delete_head}{uuid}'
                f'{delete_tail}">{csrf}\n                <button type="submit" '
                f'class="btn btn-sm btn-outline-danger" title="{remove_title}" '
                f'data-confirm="{remove_confirm % {"name": name}}"><i class="bi bi-trash" '
                f'aria-hidden="true"></i><span class="visually-hidden">'
                f'{remove_name % {"name": name}}</span></button>\n              </form>'
                f'\n              ') if can_delete else ""
            actions = (f'\n            <div class="d-flex gap-1 flex-shrink-0 '
                       f'align-items-start">\n              {edit}\n              {delete}'
                       f'\n            </div>\n            ')
        email = (f'<div class="text-break"><i class="bi bi-envelope me-1" aria-hidden="true">'
                 f'</i><a href="mailto:{escape(contact.email)}">{escape(contact.email)}</a>'
                 f'</div>') if contact.email else ""
        phone = (f'<div><i class="bi bi-telephone me-1" aria-hidden="true"></i><a href="tel:'
                 f'{escape(contact.phone)}">{escape(contact.phone)}</a></div>'
                 ) if contact.phone else ""
        mobile = (f'<div><i class="bi bi-phone me-1" aria-hidden="true"></i><a href="tel:'
                  f'{escape(contact.mobile)}">{escape(contact.mobile)}</a></div>'
                  ) if contact.mobile else ""
        custom = ""
        if contact.custom_rows:
            rows = "".join(
                f'\n            <dt class="col-5 fw-normal text-body-secondary text-break">'
                f'{_text(row.label)}</dt><dd class="col-7 mb-0 text-break" '
                f'data-testid="contact-custom-{_text(row.key)}">{_text(row.value)}</dd>'
                f'\n            ' for row in contact.custom_rows)
            custom = (f'\n          <dl class="row small mt-1 mb-0 contact-custom">'
                      f'\n            {rows}'
                      f'\n          </dl>\n          ')
        channel = channels.get(contact.preferred_channel) or _text(contact.preferred_channel)
        if contact.marketing_consent:
            method = methods.get(contact.consent_method) or _text(contact.consent_method)
            consent_html = (f'<span class="badge text-bg-success" title="{method}"><i '
                            f'class="bi bi-check2 me-1" aria-hidden="true"></i>{consent}'
                            f'</span>\n            ')
        else:
            consent_html = f'<span class="badge text-bg-secondary">{no_consent}</span>'
        out.append(
            f'\n        <li class="list-group-item contact-item" data-testid="contact">'
            f'\n          <div class="d-flex justify-content-between gap-2">'
            f'\n            <div class="text-break">'
            f'\n              <div class="fw-semibold text-break">{name}{badge}</div>'
            f'\n              {title}\n            </div>\n            {actions}\n          </div>'
            f'\n          <div class="small mt-1 contact-channels">'
            f'\n            {email}\n            {phone}\n            {mobile}'
            f'\n          </div>\n          {custom}\n          <div class="mt-1 d-flex '
            f'flex-wrap gap-1">\n            <span class="badge text-bg-light border">'
            f'{prefers % {"channel": channel}}</span>\n            {consent_html}'
            f'\n          </div>\n        </li>\n        '
        )
    return mark_safe("".join(out))  # noqa: S308 (every value above is escaped)


def _tags_html(customer: Customer) -> str:
    """The customer's tag badges (name order): plain values, not a Tag instance per tag (the
    busiest customers carry a hundred)."""
    return mark_safe("".join(  # noqa: S308 (every value is escaped)
        f'<span class="badge text-bg-{escape(color)} me-1">{escape(name)}</span>'
        for name, color in tags_by_customer([customer.pk]).get(customer.pk, ())))


def _interaction_form(customer, contacts, more, data=None):
    """The quick-add; with more contacts than the page lists, its contact field searches
    them all (autocomplete) instead of offering only those shown."""
    return InteractionForm(data, customer=customer, contacts=contacts,
                           all_contacts_shown=not more)


def _detail_context(request, customer: Customer, interaction_form=None) -> dict:
    user = request.user
    contacts, more = _shown_contacts(user, customer)
    perms = _permissions(user, customer)
    if perms["can_log"] and interaction_form is None:
        interaction_form = _interaction_form(customer, contacts, more)
    figures = _figures(customer, contacts, request)
    custom_values = _custom_values(request, customer, contacts)  # (sets contact.custom_rows)
    return {
        "customer": customer,
        "tags_html": _tags_html(customer),
        "contacts": contacts,
        "contacts_html": contact_items_html(
            customer, contacts, can_change=perms["can_change_contact"],
            can_delete=perms["can_delete_contact"],
            csrf_token=get_token(request) if perms["can_delete_contact"] else ""),
        "contacts_more": figures["contacts"] > len(contacts),
        "contacts_all_url": (reverse("customers:contact_list") + "?"
                             + urlencode({"customer": customer.uuid})),
        "custom_values": custom_values,
        "figures": figures,
        "history": customer_history(customer),
        "panels": render_panels(request, customer),
        "interaction_form": interaction_form,
        **perms,
        **_timeline(request, customer),
    }


# --- the 360-degree page ----------------------------------------------------------------------
@login_required
@require_GET
def customer_detail(request, uuid):
    customer = customer_get_for_user(request.user, uuid, tags=False)
    return render(request, "customers/customer_detail.html", _detail_context(request, customer))


@login_required
@require_GET
def customer_timeline(request, uuid):
    """A page of the timeline as a fragment ("Load more", the kind filter). Without htmx the
    full page shows the same page of the timeline."""
    customer = customer_get_for_user(request.user, uuid)
    if not request.htmx:
        query = request.GET.urlencode()
        return redirect(_detail_url(customer) + (f"?{query}" if query else "") + "#timeline")
    return render(request, "customers/_timeline.html",
                  {"customer": customer, **_timeline(request, customer)})


@login_required
@require_POST
def interaction_create(request, uuid):
    """The communication log quick-add. With htmx: the fresh form, plus the refreshed timeline
    and key figures swapped in out of band; on errors the form with its errors."""
    user = request.user
    customer = customer_get_for_user(user, uuid)
    _require_perm(user, "customers.add_interaction")
    form = InteractionForm(request.POST, customer=customer)
    if form.is_valid():
        try:
            interaction = services.interaction_log(actor=user, customer=customer,
                                                   data=form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            done = _("%(kind)s logged: %(subject)s") % {
                "kind": interaction.get_kind_display(), "subject": interaction.subject}
            if not request.htmx:
                messages.success(request, done)
                return redirect(_detail_url(customer, "timeline"))
            contacts, more = _shown_contacts(user, customer)
            return render(request, "customers/_interaction_form.html", {
                "customer": customer,
                "interaction_form": _interaction_form(customer, contacts, more),
                "done": done,
                "oob": True,
                "figures": _figures(customer, contacts),
                # The quick-add form sends the timeline filter along (hx-include).
                **_timeline(request, customer, data=request.POST),
            })
    if request.htmx:
        return render(request, "customers/_interaction_form.html",
                      {"customer": customer, "interaction_form": form})
    return render(request, "customers/customer_detail.html",
                  _detail_context(request, customer, interaction_form=form))


# --- contacts ---------------------------------------------------------------------------------
@login_required
def contact_create(request, uuid):
    user = request.user
    customer = customer_get_for_user(user, uuid)
    _require_contact(user, "add", customer)
    form = ContactForm(request.POST or None,
                       definitions=custom_fields.definitions_for(request).contact)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(actor=user, customer=customer,
                                              data=form.service_data())
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Contact %(name)s was added.") % {"name": contact})
            return redirect(_detail_url(customer, "contacts"))
    return render(request, "customers/contact_form.html",
                  {"customer": customer, "form": form, "contact": None})


@login_required
def contact_edit(request, uuid, contact_uuid):
    user = request.user
    customer = customer_get_for_user(user, uuid)
    _require_contact(user, "change", customer)
    contact = _contact_for(user, customer, contact_uuid)
    name = str(contact)
    limited = policy_for(user).contact_fields_limited(customer)
    form = ContactEditForm(request.POST or None, instance=contact,
                           definitions=custom_fields.definitions_for(request).contact,
                           consent_only=limited)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_update(actor=user, contact=contact,
                                              data=form.service_data(),
                                              expected_version=form.cleaned_data["version"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Contact %(name)s was saved.") % {"name": contact})
            return redirect(_detail_url(customer, "contacts"))
    return render(request, "customers/contact_form.html", {
        "customer": customer, "form": form, "contact": contact, "contact_name": name,
        "can_delete_contact": policy_for(user).contact_can("delete", customer),
        "consent_only": limited,
    })


@login_required
@require_POST
def contact_delete(request, uuid, contact_uuid):
    user = request.user
    customer = customer_get_for_user(user, uuid)
    _require_contact(user, "delete", customer)
    contact = _contact_for(user, customer, contact_uuid)
    services.contact_soft_delete(actor=user, contact=contact)
    messages.success(request, _("Contact %(name)s was removed.") % {"name": contact})
    return redirect(_detail_url(customer, "contacts"))


# --- sharing ----------------------------------------------------------------------------------
def _shares(customer: Customer) -> list[dict]:
    """Who the customer is shared with, one row per colleague."""
    rows = (
        CustomerUserObjectPermission.objects.filter(content_object=customer)
        .select_related("user", "permission")
        .order_by("user__first_name", "user__last_name", "user__email")
    )
    shares: dict[int, dict] = {}
    for row in rows:
        share = shares.setdefault(row.user_id, {"user": row.user, "can_change": False})
        if row.permission.codename == "change_customer":
            share["can_change"] = True
    return list(shares.values())


@login_required
def customer_share(request, uuid):
    user = request.user
    customer = customer_get_for_user(user, uuid, "change")
    if not policy_for(user).can_share(customer):
        raise PermissionDenied
    shares = _shares(customer)
    form = ShareForm(user=user)
    if request.method == "POST" and "unshare" in request.POST:
        wanted = request.POST["unshare"]
        share = next((s for s in shares if str(s["user"].uuid) == wanted), None)
        if share is None:
            messages.error(request, _("That colleague does not share this customer."))
        else:
            services.customer_unshare(actor=user, customer=customer, colleague=share["user"])
            messages.success(request, _("%(name)s no longer shares %(customer)s.")
                             % {"name": share["user"], "customer": customer})
        return redirect("customers:share", uuid=customer.uuid)
    if request.method == "POST":
        form = ShareForm(request.POST, user=user)
        if form.is_valid():
            colleague = form.cleaned_data["colleague"]
            try:
                services.customer_share(actor=user, customer=customer, colleague=colleague,
                                        can_change=form.cleaned_data["can_change"])
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("%(customer)s is now shared with %(name)s.")
                                 % {"customer": customer, "name": colleague})
                return redirect("customers:share", uuid=customer.uuid)
    return render(request, "customers/share.html",
                  {"customer": customer, "form": form, "shares": shares})
