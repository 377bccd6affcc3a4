"""Sales targets: the list (filters, keyset pages, attainment) and create, edit, delete.
Targets come through sales.selectors (target_list_for_user / target_get_for_user); writes go
through sales.target_services."""

from __future__ import annotations

import copy

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.exceptions import ApplicationError
from crm.pagination import PAGE_SIZE, keyset_paginate
from sales import target_services
from sales.forecast import period_end, target_attainment
from sales.forms_targets import SalesTargetForm, TargetFilter
from sales.selectors import target_get_for_user, target_list_for_user

ORDERING = ("-period_start", "-id")


@login_required
def target_list(request):
    if not request.user.has_perm("sales.view_salestarget"):
        raise PermissionDenied
    filterset = TargetFilter(request.GET or None, queryset=target_list_for_user(request.user),
                             request=request)
    page = keyset_paginate(filterset.qs, ordering=ORDERING, after=request.GET.get("after"),
                           page_size=PAGE_SIZE)
    won = target_attainment(page.object_list)
    for target in page.object_list:
        target.won = won.get(target.pk)
        target.period_last = period_end(target.period, target.period_start)
        target.percent = (int(target.won * 100 / target.amount) if target.amount else None)
        target.bar = min(100, target.percent or 0)
        target.can_change = target_services.target_can_manage(
            request.user, user=target.user, team=target.team) and request.user.has_perm(
            "sales.change_salestarget")
    return render(request, "sales/targets/target_list.html", {
        "filter": filterset,
        "filter_errors": filterset.labelled_errors(),
        "page": page,
        "currency": settings.CRM_CURRENCY,
        "can_add": request.user.has_perm("sales.add_salestarget"),
        "nav_active": "forecast",
    })


def _service_error(form, exc) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, getattr(exc, "message", None) or "; ".join(
            getattr(exc, "messages", [str(exc)])))


@login_required
def target_create(request):
    if not request.user.has_perm("sales.add_salestarget"):
        raise PermissionDenied
    form = SalesTargetForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            target_services.target_create(actor=request.user, data=form.service_data())
        except (ApplicationError, ValidationError) as exc:
            _service_error(form, exc)
        except PermissionDenied:
            form.add_error(None, _("You may not set targets for that user or team."))
        else:
            messages.success(request, _("The target was saved."))
            return redirect("sales:target_list")
    return render(request, "sales/targets/target_form.html", {
        "form": form, "target": None, "nav_active": "forecast"})


@login_required
def target_edit(request, uuid):
    target = target_get_for_user(request.user, uuid, "change")
    form = SalesTargetForm(request.POST or None, instance=copy.copy(target), actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            target_services.target_update(actor=request.user, target=target,
                                          data=form.service_data(),
                                          expected_version=form.cleaned_data["version"])
        except (ApplicationError, ValidationError) as exc:
            _service_error(form, exc)
        except PermissionDenied:
            form.add_error(None, _("You may not set targets for that user or team."))
        else:
            messages.success(request, _("The target was saved."))
            return redirect("sales:target_list")
    return render(request, "sales/targets/target_form.html", {
        "form": form, "target": target, "nav_active": "forecast",
        "can_delete": request.user.has_perm("sales.delete_salestarget")})


@login_required
@require_POST
def target_delete(request, uuid):
    target = target_get_for_user(request.user, uuid, "delete")
    target_services.target_delete(actor=request.user, target=target)
    messages.success(request, _("The target was deleted."))
    return redirect("sales:target_list")
