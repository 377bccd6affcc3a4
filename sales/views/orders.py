"""Order pages: the list (filters, search by number or customer, keyset pages, htmx results),
an order with its lines and status actions, create (from a customer) and edit with the lines
formset, delete. Orders come through sales.selectors, customers through customers.selectors;
every write goes through sales.order_services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.exceptions import ApplicationError
from crm.pagination import PAGE_SIZE, keyset_paginate
from customers.selectors import (
    contact_list_for_user,
    customer_get_for_user,
    customer_list_for_user,
)
from sales import order_services
from sales.filters_orders import OrderFilter
from sales.forms_orders import OrderForm, OrderLineFormSet, initial_lines
from sales.models import Order
from sales.permissions import sales_policy_for
from sales.selectors import filtered_count_for_user, order_get_for_user, order_list_for_user

PICKER_LIMIT = 20
# The actions on the order page: the name posted -> the service call.
ACTIONS = {
    "confirm": lambda actor, order, version: order_services.order_confirm(
        actor=actor, order=order, expected_version=version),
    "ship": lambda actor, order, version: order_services.order_set_status(
        actor=actor, order=order, status=Order.Status.SHIPPED, expected_version=version),
    "complete": lambda actor, order, version: order_services.order_set_status(
        actor=actor, order=order, status=Order.Status.COMPLETED, expected_version=version),
    "cancel": lambda actor, order, version: order_services.order_cancel(
        actor=actor, order=order, expected_version=version),
}


def _partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


def _require_view(user) -> None:
    if not user.has_perm("sales.view_order"):
        raise PermissionDenied


@login_required
def order_list(request):
    _require_view(request.user)
    partial = _partial(request)
    filterset = OrderFilter(request.GET or None, queryset=order_list_for_user(request.user))
    page = keyset_paginate(filterset.qs, ordering=filterset.keyset_ordering(),
                           after=request.GET.get("after"), page_size=PAGE_SIZE, count=False)
    # The count by branches of the visible set (index-only), not by the OR of them.
    page.count, page.count_capped = filtered_count_for_user(
        request.user, filterset, Order.objects.alive(), "order")
    context = {"filter": filterset, "filter_errors": filterset.labelled_errors(),
               "page": page}
    if partial:
        return render(request, "sales/orders/_order_results.html", context)
    return render(request, "sales/orders/order_list.html", context)


@login_required
def order_detail(request, uuid):
    order = order_get_for_user(request.user, uuid)
    lines = list(order.lines.select_related("product").order_by("id"))
    policy = sales_policy_for(request.user)
    can_act = policy.can("confirm", order, "order")
    context = {
        "order": order, "lines": lines,
        "can_edit": order.is_editable and policy.can("change", order, "order"),
        "can_delete": order.is_editable and policy.can("delete", order, "order"),
        "can_confirm": can_act and order.status == Order.Status.DRAFT,
        "can_ship": can_act and order.status == Order.Status.CONFIRMED,
        "can_complete": can_act and order.status == Order.Status.SHIPPED,
        "can_cancel": can_act and order.status in (
            Order.Status.DRAFT, Order.Status.CONFIRMED, Order.Status.SHIPPED),
    }
    return render(request, "sales/orders/order_detail.html", context)


@login_required
@require_POST
def order_action(request, uuid, action):
    order = order_get_for_user(request.user, uuid)
    # The permission first (a read-only user is refused whatever the action), then the action.
    if not sales_policy_for(request.user).can("confirm", order, "order"):
        raise PermissionDenied
    run = ACTIONS.get(action)
    if run is None:
        raise Http404
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    if version is None:
        messages.error(request, _("The form was incomplete; nothing was changed. Reload the "
                                  "page and try again."))
        return redirect("sales:order_detail", uuid=order.uuid)
    try:
        order = run(request.user, order, version)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Order %(number)s is now %(status)s.")
                         % {"number": order.number,
                            "status": order.get_status_display().lower()})
    return redirect("sales:order_detail", uuid=order.uuid)


def _customer_picker(request):
    """Without ?customer=: a search for the customer to order for (at most 20 matches)."""
    query = (request.GET.get("q") or "").strip()[:100]
    customers = []
    if query and "\x00" not in query:
        customers = list(customer_list_for_user(request.user)
                         .filter(name__icontains=query).prefetch_related(None)
                         .order_by("name", "id")[:PICKER_LIMIT])
    return render(request, "sales/orders/customer_picker.html",
                  {"customers": customers, "query": query})


def _form_page(request, *, form, formset, customer, order):
    return render(request, "sales/orders/order_form.html",
                  {"form": form, "formset": formset, "customer": customer, "order": order})


def _service_errors(form, formset, exc: ApplicationError) -> None:
    form.add_error(None, exc.message)


@login_required
def order_create(request):
    if not request.user.has_perm("sales.add_order"):
        raise PermissionDenied
    customer_uuid = request.GET.get("customer") or request.POST.get("customer")
    if not customer_uuid:
        return _customer_picker(request)
    customer = customer_get_for_user(request.user, customer_uuid)
    contacts = contact_list_for_user(request.user, customer=customer)
    form = OrderForm(request.POST or None, customer=customer, contacts=contacts)
    formset = OrderLineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            order = order_services.order_create(
                actor=request.user, customer=customer, data=form.service_data(),
                lines=formset.lines())
        except ApplicationError as exc:
            _service_errors(form, formset, exc)
        else:
            messages.success(request, _("Order %(number)s was created as a draft.")
                             % {"number": order.number})
            return redirect("sales:order_detail", uuid=order.uuid)
    return _form_page(request, form=form, formset=formset, customer=customer, order=None)


@login_required
def order_edit(request, uuid):
    order = order_get_for_user(request.user, uuid, "change")
    if not order.is_editable:
        messages.error(request, _("Only draft orders can be edited."))
        return redirect("sales:order_detail", uuid=order.uuid)
    customer = order.customer
    contacts = contact_list_for_user(request.user, customer=customer)
    form = OrderForm(request.POST or None, instance=order, customer=customer,
                     contacts=contacts)
    formset = OrderLineFormSet(request.POST or None, prefix="lines",
                               initial=None if request.method == "POST"
                               else initial_lines(order))
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            order = order_services.order_update(
                actor=request.user, order=order, data=form.service_data(),
                lines=formset.lines(), expected_version=form.cleaned_data["version"])
        except ApplicationError as exc:
            _service_errors(form, formset, exc)
        else:
            messages.success(request, _("Order %(number)s was saved.")
                             % {"number": order.number})
            return redirect("sales:order_detail", uuid=order.uuid)
    return _form_page(request, form=form, formset=formset, customer=customer, order=order)


@login_required
@require_POST
def order_delete(request, uuid):
    order = order_get_for_user(request.user, uuid, "delete")
    try:
        order_services.order_delete(actor=request.user, order=order)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("sales:order_detail", uuid=order.uuid)
    messages.success(request, _("Order %(number)s was deleted.") % {"number": order.number})
    return redirect("sales:order_list")
