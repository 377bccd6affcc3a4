"""Customer pages: the list (filters, search, keyset pages, bulk actions), create, edit, and the
trash (soft delete and restore). Every record comes through the selectors' access path; every
write goes through customers.services."""

from __future__ import annotations

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from crm.exceptions import ApplicationError
from crm.pagination import PAGE_SIZE, keyset_paginate
from customers import bulk_services, custom_fields, services
from customers.filters import CustomerFilter, filter_choices_load
from customers.forms.customer import CustomerBulkForm, CustomerCreateForm, CustomerEditForm
from customers.selectors import customer_can, customer_get_for_user, customer_list_for_user

TRASH_ORDERING = ("-deleted_at", "-id")


def _partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


def _can_bulk(user) -> bool:
    return user.has_perm("customers.change_customer") or user.has_perm(
        "customers.delete_customer")


# --- list -----------------------------------------------------------------------------------
@login_required
def customer_list(request):
    partial = _partial(request)
    # The full page reads its filter choices and the custom field definitions in one query
    # (the filters need the definitions first); the results fragment reads only definitions.
    dictionary = None if partial else filter_choices_load(request)
    filterset = CustomerFilter(request.GET or None,
                               queryset=customer_list_for_user(request.user),
                               definitions=custom_fields.definitions_for(request).customer)
    # Unfiltered, the visible set of a rep, a manager or an admin is tens of thousands of
    # customers or more: the planner's estimate tells so without counting 10,000 rows.
    page = keyset_paginate(filterset.qs, ordering=filterset.keyset_ordering(),
                           after=request.GET.get("after"), page_size=PAGE_SIZE,
                           estimate=not filterset.in_use())
    context = {
        "filter": filterset,
        "filter_errors": filterset.labelled_errors(),
        "page": page,
        "can_bulk": _can_bulk(request.user),
    }
    if partial:
        return render(request, "customers/_customer_results.html", context)
    filterset.load_choices(dictionary)
    if context["can_bulk"]:
        context["bulk_form"] = CustomerBulkForm(auto_id="bulk_%s")
    return render(request, "customers/customer_list.html", context)


def _back_to_list(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ) and target.startswith(reverse("customers:list")):
        return redirect(target)
    return redirect("customers:list")


@login_required
@require_POST
def customer_bulk(request):
    """One action on the selected customers, all or nothing: if any of them may not be changed
    by this user, nothing is."""
    form = CustomerBulkForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back_to_list(request)

    data = form.cleaned_data
    try:
        changed, total = bulk_services.customers_bulk_apply(
            actor=request.user, uuids=data["selected"], action=data["action"],
            owner=data.get("owner"), tag=data.get("tag"))
    except PermissionDenied:
        messages.error(request, _(
            "Nothing was changed: you may not do that to at least one of the selected "
            "customers. Select only customers you are allowed to change and try again."))
        return _back_to_list(request)

    messages.success(request, ngettext(
        "%(count)d customer changed (of %(total)d selected).",
        "%(count)d customers changed (of %(total)d selected).",
        changed,
    ) % {"count": changed, "total": total})
    return _back_to_list(request)


# --- create and edit ------------------------------------------------------------------------
def _add_service_error(form, exc: Exception) -> None:
    """A refusal from the service, shown on the form (on the field when there is one)."""
    if isinstance(exc, IntegrityError):
        form.add_error("code", _("Another customer already uses this code. Choose another "
                                 "one."))
    elif isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    elif isinstance(exc, ValidationError):
        form.add_error(None, exc)
    else:
        form.add_error(None, getattr(exc, "message", str(exc)))


@login_required
def customer_create(request):
    if not request.user.has_perm("customers.add_customer"):
        raise PermissionDenied
    form = CustomerCreateForm(request.POST or None, user=request.user,
                              definitions=custom_fields.definitions_for(request).customer)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_create(
                actor=request.user, data=form.service_data(), tags=form.cleaned_data["tags"],
            )
        except (ApplicationError, ValidationError, IntegrityError) as exc:
            _add_service_error(form, exc)
        else:
            messages.success(request, _("Customer “%(name)s” was created.")
                             % {"name": customer.name})
            return redirect("customers:detail", uuid=customer.uuid)
    return render(request, "customers/customer_form.html", {"form": form, "customer": None})


@login_required
def customer_edit(request, uuid):
    customer = customer_get_for_user(request.user, uuid, "change")
    # The form works on a copy: a bound ModelForm writes its values onto its instance, and the
    # service must see the record as it was (to tell, say, that the owner changed).
    form = CustomerEditForm(request.POST or None, instance=copy.copy(customer),
                            user=request.user,
                            definitions=custom_fields.definitions_for(request).customer)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_update(
                actor=request.user, customer=customer, data=form.service_data(),
                tags=form.cleaned_data["tags"], expected_version=form.cleaned_data["version"],
            )
        except (ApplicationError, ValidationError, IntegrityError) as exc:
            _add_service_error(form, exc)
        else:
            messages.success(request, _("Customer “%(name)s” was saved.")
                             % {"name": customer.name})
            return redirect("customers:detail", uuid=customer.uuid)
    return render(request, "customers/customer_form.html", {
        "form": form,
        "customer": customer,
        "can_delete": customer_can(request.user, "delete", customer),
    })


# --- trash ----------------------------------------------------------------------------------
@login_required
@require_POST
def customer_delete(request, uuid):
    customer = customer_get_for_user(request.user, uuid, "delete")
    services.customer_soft_delete(actor=request.user, customer=customer)
    messages.success(request, _("“%(name)s” was moved to the trash. You can restore it from "
                                "there.") % {"name": customer.name})
    return redirect("customers:list")


@login_required
def customer_trash(request):
    customers = customer_list_for_user(request.user, deleted=True).select_related("deleted_by")
    page = keyset_paginate(customers, ordering=TRASH_ORDERING, after=request.GET.get("after"),
                           page_size=PAGE_SIZE)
    return render(request, "customers/customer_trash.html", {
        "page": page,
        "can_restore": request.user.has_perm("customers.delete_customer"),
    })


@login_required
@require_POST
def customer_restore(request, uuid):
    customer = customer_get_for_user(request.user, uuid, "delete", deleted=True)
    services.customer_restore(actor=request.user, customer=customer)
    messages.success(request, _("“%(name)s” was restored.") % {"name": customer.name})
    return redirect("customers:trash")
