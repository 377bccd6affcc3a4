"""Customer pages: the list (filters, search, keyset pages, bulk actions), create, edit, and the
trash (soft delete and restore). Every record comes through the selectors' access path; every
write goes through customers.services."""

from __future__ import annotations

import copy
from html import escape

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from crm.exceptions import ApplicationError
from crm.pagination import PAGE_SIZE, keyset_paginate, without_carried_count
from crm.rows import ShortDates, bulk_checkbox, full_name, url_maker
from customers import bulk_services, custom_fields, services
from customers.filters import CustomerFilter, filter_choices_load
from customers.forms.customer import CustomerBulkForm, CustomerCreateForm, CustomerEditForm
from customers.models import Customer, CustomerTag
from customers.selectors import customer_can, customer_get_for_user, customer_list_for_user

TRASH_ORDERING = ("-deleted_at", "-id")
# What a row of the list shows, read as plain values (no model instances): the three
# relations it names (owner, team, level; not the industry, source and region the selector
# also joins for other pages) and only the columns the row, the sort keys and the pager read.
# PostgreSQL plans a seven-table join in ~15 ms, four tables in under 1 ms; and 50 dicts are
# built far quicker than 200 related model instances.
LIST_COLUMNS = ("id", "uuid", "name", "code", "kind", "status", "created_at",
                "owner__first_name", "owner__last_name", "owner__email", "team__name",
                "level__label")
# The badge colour of each status on the list (any other: secondary).
STATUS_BADGES = {Customer.Status.ACTIVE: "success", Customer.Status.AT_RISK: "warning"}


def tags_by_customer(customer_ids) -> dict[int, list[tuple[str, str]]]:
    """{customer id: [(tag name, colour), ...] in name order} for the page's customers: one
    query of plain values, instead of a prefetch building a model instance per tag."""
    tags: dict[int, list[tuple[str, str]]] = {}
    for customer_id, name, color in (
        CustomerTag.objects.filter(customer_id__in=customer_ids)
        .order_by("tag__name", "tag_id").values_list("customer_id", "tag__name", "tag__color")
    ):
        tags.setdefault(customer_id, []).append((name, color))
    return tags



def result_rows_html(rows: list[dict], tags: dict[int, list[tuple[str, str]]], *,
                     can_bulk: bool) -> str:
    """The table rows of _customer_results.html, built here rather than by the template: the
    same markup, byte for byte, with every value escaped and every text translated, but
    without some thirty template nodes per row (a 50-row page took ~6 ms through the template
    engine, ~1 ms this way). `rows`: dicts of LIST_COLUMNS; `tags`: tags_by_customer(). One
    reverse() per page, not per row; the values are plain strings, escaped with html.escape
    (what django.utils.html.escape does, minus its lazy-string wrapper)."""
    detail_url = url_maker("customers:detail")
    kinds = {value: conditional_escape(label) for value, label in Customer.Kind.choices}
    statuses = {value: conditional_escape(label) for value, label in Customer.Status.choices}
    code, kind, status = map(conditional_escape, (_("Code"), _("Type"), _("Status")))
    owner_, team_, level_ = map(conditional_escape, (_("Owner"), _("Team"), _("Level")))
    tags_, created_ = conditional_escape(_("Tags")), conditional_escape(_("Created"))
    select = _("Select %(name)s")
    none = '<span class="text-body-secondary">—</span>'
    short_date = ShortDates()
    html = []
    for row in rows:
        name, uuid = escape(row["name"]), str(row["uuid"])
        checkbox = bulk_checkbox(uuid, select % {"name": name}) if can_bulk else ""
        # An owner has an e-mail (NOT NULL): none means no owner.
        owner = full_name(row["owner__first_name"], row["owner__last_name"]) or row[
            "owner__email"]
        owner_html = escape(owner) if row["owner__email"] is not None else none
        team_html = escape(row["team__name"]) if row["team__name"] else "—"
        level_html = escape(row["level__label"]) if row["level__label"] else "—"
        tags_html = "".join(f'<span class="badge text-bg-{escape(color)} me-1">'
                            f'{escape(tag)}</span>' for tag, color in tags.get(row["id"], ())
                            ) or none
        created = timezone.localtime(row["created_at"])
        kind_html = kinds.get(row["kind"]) or escape(row["kind"])
        status_html = statuses.get(row["status"]) or escape(row["status"])
        html.append(
            f'\n    <tr>\n      <td>\n        <div class="d-flex align-items-start gap-2">'
            f'\n          {checkbox}\n          <a href="{escape(detail_url(uuid))}" '
            f'class="fw-semibold text-break">{name}</a>\n        </div>\n      </td>'
            f'\n      <td data-label="{code}" class="small text-nowrap">'
            f'<span class="font-monospace">{escape(row["code"])}</span></td>'
            f'\n      <td data-label="{kind}" class="small">{kind_html}</td>'
            f'\n      <td data-label="{status}" class="small"><span class="badge text-bg-'
            f'{STATUS_BADGES.get(row["status"], "secondary")}">{status_html}</span></td>'
            f'\n      <td data-label="{owner_}" class="small">{owner_html}</td>'
            f'\n      <td data-label="{team_}" class="small">{team_html}</td>'
            f'\n      <td data-label="{level_}" class="small">{level_html}</td>'
            f'\n      <td data-label="{tags_}" class="small">{tags_html}</td>'
            f'\n      <td data-label="{created_}" class="small text-nowrap">'
            # The "c" date format is ISO 8601: datetime.isoformat().
            f'<time datetime="{created.isoformat()}">{short_date(created)}</time></td>'
            f'\n    </tr>\n  '
        )
    return mark_safe("".join(html))  # noqa: S308 (every value above is escaped)


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
    customers = customer_list_for_user(request.user).select_related(None).prefetch_related(None)
    filterset = CustomerFilter(request.GET or None, queryset=customers,
                               definitions=custom_fields.definitions_for(request).customer)
    # Unfiltered, the visible set of a rep, a manager or an admin is tens of thousands of
    # customers or more: the planner's estimate tells so without counting 10,000 rows.
    page = keyset_paginate(filterset.qs, ordering=filterset.keyset_ordering(),
                           after=request.GET.get("after"), page_size=PAGE_SIZE,
                           estimate=not filterset.in_use(), fields=LIST_COLUMNS)
    can_bulk = _can_bulk(request.user)
    tags = tags_by_customer([row["id"] for row in page.object_list]) if page.object_list else {}
    context = {
        "filter": filterset,
        "filter_errors": filterset.labelled_errors(),
        "page": page,
        "can_bulk": can_bulk,
        "rows": result_rows_html(page.object_list, tags, can_bulk=can_bulk),
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
        return redirect(without_carried_count(target))
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
