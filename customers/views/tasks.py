"""Task pages: "My tasks" (sections, filters, quick done/undone), the month calendar, a task's
page, create and edit. Every task comes through customers.task_selectors (not visible: 404;
visible but not changeable: 403); every write goes through customers.task_services."""

from __future__ import annotations

import copy
import uuid as uuid_module

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.exceptions import ApplicationError
from customers import task_services
from customers.forms.task import (
    TaskEditForm,
    TaskFilterForm,
    TaskForm,
    current_month,
    parse_month,
)
from customers.selectors import customer_get_for_user
from customers.task_selectors import (
    my_tasks,
    task_calendar,
    task_can_change,
    task_get_for_user,
    task_list_for_user,
)


def _require_view(user) -> None:
    if not user.has_perm("customers.view_task"):
        raise PermissionDenied


def _add_service_error(form, exc: Exception) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    elif isinstance(exc, ValidationError):
        form.add_error(None, exc.messages)
    else:
        form.add_error(None, getattr(exc, "message", str(exc)))


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# --- My tasks -----------------------------------------------------------------------------------
@login_required
@require_GET
def task_list(request):
    _require_view(request.user)
    filters = TaskFilterForm(request.GET or None)
    values = filters.values() if filters.is_bound else TaskFilterForm().values()
    now = timezone.now()
    tasks = my_tasks(request.user, now=now, **values)
    context = {
        "now": now,
        "filters": filters,
        "filter_errors": list(filters.errors.values()) if filters.is_bound else [],
        "tasks": tasks,
        "can_add": request.user.has_perm("customers.add_task"),
        # Rows on "My tasks" are the user's own (assigned or created): they may change them
        # when they hold the permission.
        "can_change": request.user.has_perm("customers.change_task"),
        "nav_active": "tasks",
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "customers/tasks/_task_results.html", context)
    return render(request, "customers/tasks/task_list.html", context)


@login_required
@require_GET
def task_calendar_view(request):
    _require_view(request.user)
    raw = request.GET.get("month")
    month = parse_month(raw)
    if month is None:
        if raw:
            messages.warning(request, _("“%(value)s” is not a month like 2026-11: showing the "
                                        "current month.") % {"value": raw[:20]})
        month = current_month()
    return render(request, "customers/tasks/task_calendar.html", {
        "calendar": task_calendar(request.user, month),
        "now": timezone.now(),
        "can_add": request.user.has_perm("customers.add_task"),
        "nav_active": "tasks",
    })


# --- one task -----------------------------------------------------------------------------------
@login_required
@require_GET
def task_detail(request, uuid):
    task = task_get_for_user(request.user, uuid)
    return render(request, "customers/tasks/task_detail.html", {
        "task": task,
        "can_change": task_can_change(request.user, task),
        "nav_active": "tasks",
    })


@login_required
def task_create(request):
    user = request.user
    if not user.has_perm("customers.add_task"):
        raise PermissionDenied
    customer = None
    customer_uuid = request.POST.get("customer") or request.GET.get("customer")
    if customer_uuid:
        try:
            customer_uuid = uuid_module.UUID(str(customer_uuid))
        except ValueError as exc:
            raise Http404 from exc
        customer = customer_get_for_user(user, customer_uuid)
    form = TaskForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            task = task_services.task_create(actor=user, data=form.service_data(),
                                             customer=customer)
        except (ApplicationError, ValidationError) as exc:
            _add_service_error(form, exc)
        else:
            messages.success(request, _("Task “%(title)s” was added.") % {"title": task.title})
            if customer is not None:
                return redirect(reverse("customers:detail", kwargs={"uuid": customer.uuid})
                                + "#panel-customerstasks")
            return redirect("customers:tasks")
    return render(request, "customers/tasks/task_form.html", {
        "form": form, "task": None, "customer": customer, "nav_active": "tasks",
    })


@login_required
def task_edit(request, uuid):
    user = request.user
    task = task_get_for_user(user, uuid, "change")
    title = task.title
    form = TaskEditForm(request.POST or None, instance=copy.copy(task), user=user)
    if request.method == "POST" and form.is_valid():
        try:
            task = task_services.task_update(actor=user, task=task, data=form.service_data(),
                                             expected_version=form.cleaned_data["version"])
        except (ApplicationError, ValidationError) as exc:
            _add_service_error(form, exc)
        else:
            messages.success(request, _("Task “%(title)s” was saved.") % {"title": task.title})
            return redirect(_safe_next(request, reverse("customers:tasks")))
    return render(request, "customers/tasks/task_form.html", {
        "form": form, "task": task, "task_title": title, "customer": task.customer,
        "next": _safe_next(request, ""), "nav_active": "tasks",
    })


@login_required
@require_POST
def task_done(request, uuid):
    """Quick done / undone (POST done=1 or done=0). With htmx: the task's row, swapped in
    place; without: back to where the button was."""
    user = request.user
    task = task_get_for_user(user, uuid, "change")
    done = request.POST.get("done", "1") not in ("0", "false", "")
    task = task_services.task_set_done(actor=user, task=task, done=done)
    if request.htmx:
        # The row as the list shows it (assignee and customer joined, as there).
        task = task_list_for_user(user).get(pk=task.pk)
        return render(request, "customers/tasks/_task_row.html", {
            "task": task, "can_change": True, "just_changed": True, "now": timezone.now(),
            "next": _safe_next(request, ""),
        })
    messages.success(request, (_("“%(title)s” is done.") if done
                               else _("“%(title)s” is open again.")) % {"title": task.title})
    return redirect(_safe_next(request, reverse("customers:tasks")))
