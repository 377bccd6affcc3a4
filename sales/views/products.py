"""Product catalogue pages: the list (filters, trigram search, sorts, keyset pages), the
low-stock list, a product with its stock ledger, create, edit, stock adjustment, trash and
restore, and the product lookup the order form's line picker calls. Products come through
sales.selectors; every write goes through sales.catalog_services."""

from __future__ import annotations

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.exceptions import ApplicationError
from crm.pagination import PAGE_SIZE, keyset_paginate
from sales import catalog_services
from sales.filters_products import ProductFilter, low_stock
from sales.forms_orders import product_label
from sales.forms_products import ProductForm, StockAdjustForm
from sales.models import StockMovement
from sales.search import like_q
from sales.selectors import product_get_for_user, product_list_for_user

LOW_STOCK_ORDERING = ("stock_quantity", "id")
LEDGER_ORDERING = ("-created_at", "-id")
TRASH_ORDERING = ("-deleted_at", "-id")
LOOKUP_LIMIT = 20


def _partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


def _require_view(user) -> None:
    if not user.has_perm("sales.view_product"):
        raise PermissionDenied


def _service_error(form, exc: Exception) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    elif isinstance(exc, ValidationError):
        form.add_error(None, exc)
    else:
        form.add_error(None, getattr(exc, "message", str(exc)))


@login_required
def product_list(request):
    _require_view(request.user)
    filterset = ProductFilter(request.GET or None,
                              queryset=product_list_for_user(request.user))
    page = keyset_paginate(filterset.qs, ordering=filterset.keyset_ordering(),
                           after=request.GET.get("after"), page_size=PAGE_SIZE)
    context = {"filter": filterset, "filter_errors": filterset.labelled_errors(),
               "page": page}
    if _partial(request):
        return render(request, "sales/products/_product_results.html", context)
    return render(request, "sales/products/product_list.html", context)


@login_required
def product_low_stock(request):
    """Products on sale at or below their low-stock level, lowest stock first (answered by
    the product_low_stock index)."""
    _require_view(request.user)
    page = keyset_paginate(low_stock(product_list_for_user(request.user)),
                           ordering=LOW_STOCK_ORDERING, after=request.GET.get("after"),
                           page_size=PAGE_SIZE)
    return render(request, "sales/products/low_stock.html", {"page": page})


@login_required
def product_detail(request, uuid):
    _require_view(request.user)
    product = product_get_for_user(request.user, uuid)
    ledger = keyset_paginate(
        StockMovement.objects.filter(product=product).select_related("user", "order"),
        ordering=LEDGER_ORDERING, after=request.GET.get("after"), count=False)
    context = {"product": product, "ledger": ledger}
    if _partial(request):
        return render(request, "sales/products/_ledger.html", context)
    return render(request, "sales/products/product_detail.html", context)


@login_required
def product_create(request):
    if not request.user.has_perm("sales.add_product"):
        raise PermissionDenied
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = catalog_services.product_create(
                actor=request.user, data=form.service_data(),
                initial_stock=form.cleaned_data.get("initial_stock") or 0)
        except (ApplicationError, ValidationError) as exc:
            _service_error(form, exc)
        else:
            messages.success(request, _("Product “%(name)s” was created.")
                             % {"name": product.name})
            return redirect("sales:product_detail", uuid=product.uuid)
    return render(request, "sales/products/product_form.html", {"form": form, "product": None})


@login_required
def product_edit(request, uuid):
    product = product_get_for_user(request.user, uuid, "change")
    form = ProductForm(request.POST or None, instance=copy.copy(product))
    if request.method == "POST" and form.is_valid():
        try:
            product = catalog_services.product_update(
                actor=request.user, product=product, data=form.service_data(),
                expected_version=form.cleaned_data["version"])
        except (ApplicationError, ValidationError) as exc:
            _service_error(form, exc)
        else:
            messages.success(request, _("Product “%(name)s” was saved.")
                             % {"name": product.name})
            return redirect("sales:product_detail", uuid=product.uuid)
    return render(request, "sales/products/product_form.html",
                  {"form": form, "product": product,
                   "can_delete": request.user.has_perm("sales.delete_product")})


@login_required
def product_adjust(request, uuid):
    product = product_get_for_user(request.user, uuid, "adjust")
    form = StockAdjustForm(request.POST or None, auto_id="adjust_%s")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            catalog_services.stock_adjust(
                actor=request.user, product=product, quantity_delta=data["quantity_delta"],
                reason=data["reason"], note=data["note"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Stock of “%(name)s” was adjusted.")
                             % {"name": product.name})
            return redirect("sales:product_detail", uuid=product.uuid)
    return render(request, "sales/products/stock_adjust.html",
                  {"form": form, "product": product})


@login_required
@require_POST
def product_delete(request, uuid):
    product = product_get_for_user(request.user, uuid, "delete")
    try:
        catalog_services.product_delete(actor=request.user, product=product)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("sales:product_detail", uuid=product.uuid)
    messages.success(request, _("Product “%(name)s” was moved to the trash.")
                     % {"name": product.name})
    return redirect("sales:product_list")


@login_required
@require_GET
def product_trash(request):
    """Products moved to the trash, newest first, with Restore for those who may delete."""
    if not request.user.has_perm("sales.view_product"):
        raise PermissionDenied
    page = keyset_paginate(product_list_for_user(request.user, deleted=True),
                           ordering=TRASH_ORDERING, after=request.GET.get("after"),
                           page_size=PAGE_SIZE)
    return render(request, "sales/products/product_trash.html", {
        "page": page, "can_restore": request.user.has_perm("sales.delete_product")})


@login_required
@require_POST
def product_restore(request, uuid):
    product = product_get_for_user(request.user, uuid, "delete", deleted=True)
    try:
        catalog_services.product_restore(actor=request.user, product=product)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("sales:product_trash")
    messages.success(request, _("Product “%(name)s” was restored.") % {"name": product.name})
    return redirect("sales:product_detail", uuid=product.uuid)


@login_required
@require_GET
def product_lookup(request):
    """Up to 20 active products whose SKU or name contains `q` (trigram indexes), as JSON for
    the order form's line picker: never the whole catalogue."""
    _require_view(request.user)
    query = (request.GET.get("q") or "").strip()[:100]
    if not query or "\x00" in query:
        return JsonResponse({"results": []})
    products = (product_list_for_user(request.user).filter(is_active=True)
                .filter(like_q(query, "sku", "name"))
                .order_by("name", "id")
                .only("uuid", "sku", "name", "price", "currency", "stock_quantity")
                [:LOOKUP_LIMIT])
    return JsonResponse({"results": [
        {"uuid": str(p.uuid), "sku": p.sku, "name": p.name, "label": product_label(p),
         "price": str(p.price), "currency": p.currency, "stock": p.stock_quantity}
        for p in products]})
