"""Lead pages: the list (filters, search, keyset pages, htmx results), the detail with the
score breakdown, create, edit, status changes, and the trash. Every lead comes through
sales.selectors; every write goes through sales.lead_services."""

from __future__ import annotations

import copy
from html import escape

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.exceptions import ApplicationError
from crm.pagination import PAGE_SIZE, carried_count, filters_fingerprint, keyset_paginate
from crm.rows import ShortDates, full_name, url_maker
from sales import lead_services
from sales.filters_leads import LeadFilter
from sales.forms_leads import LeadCreateForm, LeadEditForm, LeadStatusForm
from sales.models import Lead
from sales.permissions import sales_policy_for
from sales.selectors import (
    filtered_count_for_user,
    lead_get_for_user,
    lead_list_for_user,
    visible_branches,
)

TRASH_ORDERING = ("-deleted_at", "-id")
# What a row of the list shows, read as plain values (no model instances): the columns the
# row, the sort keys and the pager read, and the owner's name (the one join: the team, the
# source and the region are named from LeadFilter.lookups()).
LIST_COLUMNS = ("id", "uuid", "first_name", "last_name", "email", "company", "status", "score",
                "created_at", "owner__first_name", "owner__last_name", "owner__email",
                "team_id", "source_id", "region_id")
# The badge colour of each status on the list (any other: secondary), as
# templates/sales/leads/_status_badge.html has them.
STATUS_BADGES = {Lead.Status.NEW: "primary", Lead.Status.CONTACTED: "info",
                 Lead.Status.QUALIFIED: "success", Lead.Status.CONVERTED: "dark"}
NONE = "—"


def _partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


def _require_view(user) -> None:
    if not user.has_perm("sales.view_lead"):
        raise PermissionDenied


def add_service_error(form, exc: Exception) -> None:
    """A refusal from a service, shown on the form (on the field when there is one)."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    elif isinstance(exc, ValidationError):
        form.add_error(None, exc)
    else:
        form.add_error(None, getattr(exc, "message", str(exc)))



def _label(entries: dict, pk) -> str:
    """The escaped label of the dictionary entry `pk` (LeadFilter.lookups()), or a dash (no
    entry, or an empty label)."""
    found = entries.get(pk)
    return escape(found[1] or NONE) if found else NONE


def result_rows_html(rows: list[dict], teams: dict, entries: dict) -> str:
    """The table rows of _lead_results.html, built here rather than by the template (as
    customers.views.customer.result_rows_html does): the same markup, byte for byte, every
    value escaped and every text translated, without some thirty template nodes per row.
    `rows`: dicts of LIST_COLUMNS; `teams`, `entries`: LeadFilter.lookups(). One reverse()
    per page, not per row."""
    detail_url = url_maker("sales:lead_detail")
    statuses = {value: conditional_escape(label) for value, label in Lead.Status.choices}
    company_, status_, score_, owner_, source_, region_, created_ = map(conditional_escape, (
        _("Company"), _("Status"), _("Score"), _("Owner"), _("Source"), _("Region"),
        _("Created")))
    unassigned = f'<span class="text-body-secondary">{conditional_escape(_("Unassigned"))}</span>'
    short_date = ShortDates()
    html = []
    for row in rows:
        # Lead.full_name: the non-empty parts.
        name = " ".join(p for p in (row["first_name"], row["last_name"]) if p)
        email = (f'<div class="small text-body-secondary text-break">{escape(row["email"])}'
                 f'</div>') if row["email"] else ""
        # An owner has an e-mail (NOT NULL): none means no owner.
        if row["owner__email"] is not None:
            owner_html = escape(full_name(row["owner__first_name"], row["owner__last_name"])
                                or row["owner__email"])
        else:
            owner_html = unassigned
        team = teams.get(row["team_id"])
        team_html = (f'<div class="text-body-secondary">{escape(team[1])}</div>'
                     if team else "")
        status = row["status"]
        status_html = statuses.get(status) or escape(status)
        created = timezone.localtime(row["created_at"])
        html.append(
            f'\n    <tr>\n      <td><a href="{escape(detail_url(row["uuid"]))}" '
            f'class="fw-semibold text-break">{escape(name)}</a>{email}</td>'
            f'\n      <td data-label="{company_}" class="small text-break">'
            f'{escape(row["company"] or NONE)}</td>'
            f'\n      <td data-label="{status_}" class="small"><span class="badge text-bg-'
            f'{STATUS_BADGES.get(status, "secondary")}">{status_html}</span>\n</td>'
            f'\n      <td data-label="{score_}" class="small text-md-end">'
            f'<span class="badge rounded-pill text-bg-light border">{row["score"]}</span></td>'
            f'\n      <td data-label="{owner_}" class="small">{owner_html}{team_html}</td>'
            f'\n      <td data-label="{source_}" class="small">'
            f'{_label(entries, row["source_id"])}</td>'
            f'\n      <td data-label="{region_}" class="small">'
            f'{_label(entries, row["region_id"])}</td>'
            f'\n      <td data-label="{created_}" class="small text-nowrap">'
            # The "c" date format is ISO 8601: datetime.isoformat().
            f'<time datetime="{created.isoformat()}">{short_date(created)}</time></td>'
            f'\n    </tr>\n  '
        )
    return mark_safe("".join(html))  # noqa: S308 (every value above is escaped)


# --- list -----------------------------------------------------------------------------------
@login_required
def lead_list(request):
    _require_view(request.user)
    filterset = LeadFilter(request.GET or None, queryset=lead_list_for_user(request.user))
    # Plain values of the columns the rows show (LIST_COLUMNS): only the relations they name
    # are joined, and no model instances are built.
    after = request.GET.get("after")
    # The count by branches of the visible set (index-only), not by the OR of them; paid on
    # the first page only: the "next" cursor carries it, tied to the filters and the visible
    # set it was counted for.
    mark = filters_fingerprint(request.GET, "leads", visible_branches(request.user, "lead"))
    count = (carried_count(after, mark) if after else None) or filtered_count_for_user(
        request.user, filterset, Lead.objects.alive(), "lead")
    page = keyset_paginate(filterset.qs, ordering=filterset.keyset_ordering(), after=after,
                           page_size=PAGE_SIZE, count=False, fields=LIST_COLUMNS,
                           carry=(*count, mark))
    page.count, page.count_capped = count
    partial = _partial(request)
    # The page's sources and regions by id, with (on the full page) the filters' choices.
    entry_ids = {row[name] for row in page.object_list for name in ("source_id", "region_id")
                 if row[name] is not None}
    rows = result_rows_html(page.object_list,
                            *filterset.lookups(entry_ids, choices=not partial))
    context = {"filter": filterset, "filter_errors": filterset.labelled_errors(),
               "page": page, "rows": rows}
    if partial:
        return render(request, "sales/leads/_lead_results.html", context)
    filterset.load_choices()
    return render(request, "sales/leads/lead_list.html", context)


# --- detail ---------------------------------------------------------------------------------
@login_required
def lead_detail(request, uuid):
    lead = lead_get_for_user(request.user, uuid)
    policy = sales_policy_for(request.user)
    can_change = lead.status != lead.Status.CONVERTED and policy.can("change", lead, "lead")
    return render(request, "sales/leads/lead_detail.html", {
        "lead": lead,
        "can_change": can_change,
        "can_delete": policy.can("delete", lead, "lead"),
        "can_convert": (lead.status != lead.Status.CONVERTED
                        and policy.can("convert", lead, "lead")),
        "statuses": [c for c in lead.Status.choices if c[0] != lead.Status.CONVERTED],
    })


# --- create and edit --------------------------------------------------------------------------
@login_required
def lead_create(request):
    if not request.user.has_perm("sales.add_lead"):
        raise PermissionDenied
    form = LeadCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            lead = lead_services.lead_create(actor=request.user, data=form.service_data())
        except (ApplicationError, ValidationError) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Lead “%(name)s” was created.") % {"name": lead})
            return redirect("sales:lead_detail", uuid=lead.uuid)
    return render(request, "sales/leads/lead_form.html", {"form": form, "lead": None})


@login_required
def lead_edit(request, uuid):
    lead = lead_get_for_user(request.user, uuid, "change")
    if lead.status == lead.Status.CONVERTED:
        messages.error(request, _("This lead was converted; it can no longer be edited."))
        return redirect("sales:lead_detail", uuid=lead.uuid)
    form = LeadEditForm(request.POST or None, instance=copy.copy(lead), user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            lead = lead_services.lead_update(actor=request.user, lead=lead,
                                             data=form.service_data(),
                                             expected_version=form.cleaned_data["version"])
        except (ApplicationError, ValidationError) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Lead “%(name)s” was saved.") % {"name": lead})
            return redirect("sales:lead_detail", uuid=lead.uuid)
    return render(request, "sales/leads/lead_form.html", {
        "form": form, "lead": lead,
        "can_delete": sales_policy_for(request.user).can("delete", lead, "lead"),
    })


@login_required
@require_POST
def lead_status(request, uuid):
    lead = lead_get_for_user(request.user, uuid, "change")
    form = LeadStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Nothing was changed: choose one of the offered statuses."))
        return redirect("sales:lead_detail", uuid=lead.uuid)
    try:
        lead = lead_services.lead_set_status(
            actor=request.user, lead=lead, status=form.cleaned_data["status"],
            expected_version=form.cleaned_data["version"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Status set to “%(status)s”.")
                         % {"status": lead.get_status_display()})
    return redirect("sales:lead_detail", uuid=lead.uuid)


# --- trash ------------------------------------------------------------------------------------
@login_required
@require_POST
def lead_delete(request, uuid):
    lead = lead_get_for_user(request.user, uuid, "delete")
    lead_services.lead_delete(actor=request.user, lead=lead)
    messages.success(request, _("“%(name)s” was moved to the trash. You can restore it from "
                                "there.") % {"name": lead})
    return redirect("sales:lead_list")


@login_required
def lead_trash(request):
    _require_view(request.user)
    page = keyset_paginate(lead_list_for_user(request.user, deleted=True),
                           ordering=TRASH_ORDERING, after=request.GET.get("after"),
                           page_size=PAGE_SIZE)
    return render(request, "sales/leads/lead_trash.html", {
        "page": page, "can_restore": request.user.has_perm("sales.delete_lead")})


@login_required
@require_POST
def lead_restore(request, uuid):
    lead = lead_get_for_user(request.user, uuid, "delete", deleted=True)
    lead_services.lead_restore(actor=request.user, lead=lead)
    messages.success(request, _("“%(name)s” was restored.") % {"name": lead})
    return redirect("sales:lead_trash")
