"""Order pages: the list (filters, search by number or customer, keyset pages, htmx results),
an order with its lines and status actions, create (from a customer) and edit with the lines
formset, delete. Orders come through sales.selectors, customers through customers.selectors;
every write goes through sales.order_services."""

from __future__ import annotations

from html import escape

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import floatformat
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Team
from crm.exceptions import ApplicationError
from crm.pagination import COUNT_CAP, ESTIMATE_FACTOR, PAGE_SIZE, estimated_rows, keyset_paginate
from crm.rows import ShortDates, full_name, url_maker
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
# What a row of the list shows, read as plain values (no model instances): the columns the
# row, the sort keys (created_at, total, id) and the pager read, and the names of the
# customer, owner and team (joined by the values query itself).
LIST_COLUMNS = ("id", "uuid", "number", "status", "total", "currency", "ordered_at",
                "created_at", "customer__uuid", "customer__name", "owner__first_name",
                "owner__last_name", "owner__email", "team__name")
# The badge colour of each status (sales/orders/_status_badge.html; any other: danger).
STATUS_BADGES = {Order.Status.DRAFT: "secondary", Order.Status.CONFIRMED: "primary",
                 Order.Status.SHIPPED: "info", Order.Status.COMPLETED: "success"}
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



def result_rows_html(rows: list[dict]) -> str:
    """The table rows of _order_results.html, built here rather than by the template: the
    same markup, byte for byte, with every value escaped and every text translated, without
    some twenty template nodes and two reverse() calls per row. `rows`: dicts of
    LIST_COLUMNS (tests/sales/test_order_rows.py compares with the old row template)."""
    order_url = url_maker("sales:order_detail")
    customer_url = url_maker("customers:detail")
    statuses = {value: conditional_escape(label) for value, label in Order.Status.choices}
    customer_, status_, total_ = map(conditional_escape,
                                     (_("Customer"), _("Status"), _("Total")))
    owner_, team_, ordered_ = map(conditional_escape, (_("Owner"), _("Team"), _("Ordered")))
    none = '<span class="text-body-secondary">—</span>'
    short_date = ShortDates()
    html = []
    for row in rows:
        status = row["status"]
        status_html = statuses.get(status) or escape(status)
        # An owner has an e-mail (NOT NULL): none means no owner.
        owner = full_name(row["owner__first_name"], row["owner__last_name"]) or row[
            "owner__email"]
        owner_html = escape(owner) if row["owner__email"] is not None else none
        team_html = escape(row["team__name"]) if row["team__name"] else "—"
        ordered_at = row["ordered_at"]
        if ordered_at is None:
            ordered_html = none
        else:
            ordered_at = timezone.localtime(ordered_at)
            # The "c" date format is ISO 8601: datetime.isoformat().
            ordered_html = (f'<time datetime="{ordered_at.isoformat()}">{short_date(ordered_at)}'
                            f'</time>')
        total = row["total"]
        total_html = "" if total is None else conditional_escape(floatformat(total, "2g"))
        html.append(
            f'\n    <tr data-testid="order-row">'
            f'\n      <td><a href="{escape(order_url(row["uuid"]))}" '
            f'class="fw-semibold font-monospace">{escape(row["number"])}</a></td>'
            f'\n      <td data-label="{customer_}" class="small text-break"><a href="'
            f'{escape(customer_url(row["customer__uuid"]))}">{escape(row["customer__name"])}'
            f'</a></td>'
            f'\n      <td data-label="{status_}" class="small"><span class="badge text-bg-'
            f'{STATUS_BADGES.get(status, "danger")}" data-testid="order-status">{status_html}'
            f'</span>\n</td>'
            f'\n      <td data-label="{total_}" class="small text-sm-end text-nowrap">'
            f'{total_html} {escape(row["currency"])}</td>'
            f'\n      <td data-label="{owner_}" class="small">{owner_html}</td>'
            f'\n      <td data-label="{team_}" class="small">{team_html}</td>'
            f'\n      <td data-label="{ordered_}" class="small text-nowrap">{ordered_html}</td>'
            f'\n    </tr>\n  '
        )
    return mark_safe("".join(html))  # noqa: S308 (every value above is escaped)


def _count(request, filterset) -> tuple[int, bool]:
    """The capped count of the list. Unfiltered, the visible set of a busy rep, a manager or
    an admin is a hundred thousand orders or more: the planner's estimate says so without
    counting 10,000 index entries. Otherwise the count by branches of the visible set
    (index-only), not by the OR of them."""
    if not filterset.in_use():
        rows = estimated_rows(filterset.qs)
        if rows is not None and rows >= ESTIMATE_FACTOR * COUNT_CAP:
            return COUNT_CAP, True
    return filtered_count_for_user(request.user, filterset, Order.objects.alive(), "order")


def _team_choices(filterset) -> None:
    """The team select's options as plain values (one query, no model instances and no
    server-side cursor); a chosen value is still validated against the field's queryset."""
    field = filterset.form.fields["team"]
    field.widget.choices = [("", field.empty_label), *(
        (str(uuid), name) for uuid, name in
        Team.objects.order_by("name").values_list("uuid", "name"))]


@login_required
def order_list(request):
    _require_view(request.user)
    partial = _partial(request)
    filterset = OrderFilter(request.GET or None, queryset=order_list_for_user(
        request.user).select_related(None))
    page = keyset_paginate(filterset.qs, ordering=filterset.keyset_ordering(),
                           after=request.GET.get("after"), page_size=PAGE_SIZE, count=False,
                           fields=LIST_COLUMNS)
    page.count, page.count_capped = _count(request, filterset)
    if not partial:
        _team_choices(filterset)
    context = {"filter": filterset, "filter_errors": filterset.labelled_errors(),
               "page": page, "rows": result_rows_html(page.object_list)}
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
