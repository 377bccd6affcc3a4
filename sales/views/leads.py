"""Lead pages: the list (filters, search, keyset pages, htmx results), the detail with the
score breakdown, create, edit, status changes, and the trash. Every lead comes through
sales.selectors; every write goes through sales.lead_services."""

from __future__ import annotations

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.exceptions import ApplicationError
from crm.pagination import PAGE_SIZE, keyset_paginate
from sales import lead_services
from sales.filters_leads import LeadFilter
from sales.forms_leads import LeadCreateForm, LeadEditForm, LeadStatusForm
from sales.models import Lead
from sales.permissions import sales_policy_for
from sales.selectors import filtered_count_for_user, lead_get_for_user, lead_list_for_user

TRASH_ORDERING = ("-deleted_at", "-id")


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


# --- list -----------------------------------------------------------------------------------
@login_required
def lead_list(request):
    _require_view(request.user)
    filterset = LeadFilter(request.GET or None, queryset=lead_list_for_user(request.user))
    # Only the relations the rows show: each unused join (industry) costs planning time.
    rows = filterset.qs.select_related(None).select_related("owner", "team", "source", "region")
    page = keyset_paginate(rows, ordering=filterset.keyset_ordering(),
                           after=request.GET.get("after"), page_size=PAGE_SIZE, count=False)
    # The count by branches of the visible set (index-only), not by the OR of them.
    page.count, page.count_capped = filtered_count_for_user(
        request.user, filterset, Lead.objects.alive(), "lead")
    context = {"filter": filterset, "filter_errors": filterset.labelled_errors(),
               "page": page}
    if _partial(request):
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
