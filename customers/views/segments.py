"""Segment pages: the list, create/edit with the rule builder and its live preview, the detail
page (rules in words, count, members) and a static list's members.

Who may do what: customers.segments.segment_can (every view_segment holder sees every segment;
owners, Managers, Marketing and Admins change them). Customers always come through
customers.selectors, segments through customers.segments.segment_get_for_user, and every write
through customers.segment_services."""

from __future__ import annotations

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.exceptions import ApplicationError
from crm.pagination import COUNT_CAP, PAGE_SIZE, capped_count, keyset_paginate
from customers import segment_services as services
from customers.forms.segments import RuleBuilder, SegmentForm
from customers.models import Segment
from customers.segments import (
    RulesError,
    describe_rules,
    rules_queryset,
    segment_can,
    segment_get_for_user,
    segment_list_for_user,
    segment_queryset,
)
from customers.selectors import customer_get_for_user, customer_list_for_user

LIST_ORDERING = ("name", "id")
MEMBER_ORDERING = ("name", "id")
SAMPLE_SIZE = 10
COUNT_TTL = 600  # seconds a counted size is shown on the list page


def _partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


def _count_key(segment, user) -> str:
    # Per user (each sees their own customers) and per version (edited rules count anew).
    return f"segments:count:{segment.uuid}:{segment.version}:{user.pk}"


def _can_edit_rules(user) -> bool:
    return user.has_perm("customers.add_segment") or user.has_perm("customers.change_segment")


# --- list -----------------------------------------------------------------------------------
@login_required
def segment_list(request):
    """Segments with their last counted size (from the cache, filled by the detail page):
    counting every segment here would run one heavy query per row."""
    if not segment_can(request.user, "view"):
        raise PermissionDenied
    page = keyset_paginate(segment_list_for_user(request.user), ordering=LIST_ORDERING,
                           after=request.GET.get("after"), page_size=PAGE_SIZE)
    keys = {segment.pk: _count_key(segment, request.user) for segment in page.object_list}
    counted = cache.get_many(list(keys.values())) if keys else {}
    rows = [(segment, counted.get(keys[segment.pk])) for segment in page.object_list]
    context = {"page": page, "rows": rows,
               "can_add": segment_can(request.user, "add")}
    if _partial(request):
        return render(request, "customers/segments/_segment_results.html", context)
    return render(request, "customers/segments/segment_list.html", context)


# --- create and edit --------------------------------------------------------------------------
def _add_service_error(form, exc: Exception) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    elif isinstance(exc, ValidationError):
        form.add_error(None, exc)
    else:
        form.add_error(None, getattr(exc, "message", str(exc)))


def _form_page(request, form, builder, segment):
    return render(request, "customers/segments/segment_form.html", {
        "form": form, "builder": builder, "segment": segment,
        "can_delete": segment is not None and segment_can(request.user, "delete", segment),
        "show_rules": segment is None or segment.kind == Segment.Kind.RULES,
    })


@login_required
def segment_create(request):
    if not segment_can(request.user, "add"):
        raise PermissionDenied
    if request.method != "POST":
        return _form_page(request, SegmentForm(), RuleBuilder(), None)
    form = SegmentForm(request.POST)
    builder = RuleBuilder(request.POST)
    if request.POST.get("builder"):  # a builder button without JavaScript: re-show the form
        builder.apply(request.POST["builder"])
        return _form_page(request, form, builder, None)
    if form.is_valid():
        try:
            segment = services.segment_create(
                actor=request.user, name=form.cleaned_data["name"],
                description=form.cleaned_data["description"], kind=form.cleaned_data["kind"],
                rules=builder.tree,
            )
        except (ApplicationError, ValidationError) as exc:
            _add_service_error(form, exc)
        else:
            messages.success(request, _("Segment “%(name)s” was created.")
                             % {"name": segment.name})
            return redirect("customers:segment_detail", uuid=segment.uuid)
    return _form_page(request, form, builder, None)


@login_required
def segment_edit(request, uuid):
    segment = segment_get_for_user(request.user, uuid, "change")
    if request.method != "POST":
        return _form_page(request, SegmentForm(instance=segment),
                          RuleBuilder(tree=segment.rules), segment)
    # The form works on a copy: a bound ModelForm writes onto its instance.
    form = SegmentForm(request.POST, instance=copy.copy(segment))
    builder = RuleBuilder(request.POST)
    if request.POST.get("builder"):
        builder.apply(request.POST["builder"])
        return _form_page(request, form, builder, segment)
    if form.is_valid():
        data = {"name": form.cleaned_data["name"],
                "description": form.cleaned_data["description"]}
        if segment.kind == Segment.Kind.RULES:
            data["rules"] = builder.tree
        try:
            segment = services.segment_update(actor=request.user, segment=segment, data=data,
                                              expected_version=form.cleaned_data["version"])
        except (ApplicationError, ValidationError) as exc:
            _add_service_error(form, exc)
        else:
            messages.success(request, _("Segment “%(name)s” was saved.")
                             % {"name": segment.name})
            return redirect("customers:segment_detail", uuid=segment.uuid)
    return _form_page(request, form, builder, segment)


@login_required
@require_POST
def segment_builder(request):
    """The rule builder re-rendered after a button (add rule, add group, remove) or a change of
    field (new operators and value input). Renders only; saves nothing."""
    if not _can_edit_rules(request.user):
        raise PermissionDenied
    builder = RuleBuilder(request.POST)
    builder.apply(request.POST.get("builder", ""))
    # static/js/segments.js refreshes the preview once the new rows are in place.
    return render(request, "customers/segments/_rule_builder.html", {"builder": builder})


@login_required
@require_POST
def segment_preview(request):
    """How many customers (capped) the unsaved rules match, and the first few of them: a
    capped COUNT and one page of rows, whatever the size of the table."""
    if not _can_edit_rules(request.user):
        raise PermissionDenied
    context = {"errors": [], "count": 0, "capped": False, "sample": [],
               "count_cap": COUNT_CAP}
    builder = RuleBuilder(request.POST)
    if not builder.tree["rules"]:
        context["empty"] = True
    else:
        try:
            customers = rules_queryset(builder.tree, request.user).prefetch_related(None)
            context["count"], context["capped"] = capped_count(customers)
            context["sample"] = list(customers.order_by("-created_at", "-id")[:SAMPLE_SIZE])
        except RulesError as exc:
            context["errors"] = exc.messages
    return render(request, "customers/segments/_preview.html", context)


# --- detail and delete ------------------------------------------------------------------------
@login_required
def segment_detail(request, uuid):
    segment = segment_get_for_user(request.user, uuid)
    page, error = None, None
    try:
        customers = segment_queryset(segment, request.user)
        page = keyset_paginate(customers, ordering=MEMBER_ORDERING,
                               after=request.GET.get("after"), page_size=PAGE_SIZE)
    except RulesError as exc:
        error = exc.messages
    if page is not None and page.is_first:
        cache.set(_count_key(segment, request.user),
                  {"count": page.count, "capped": page.count_capped, "at": timezone.now()},
                  COUNT_TTL)
    can_change = segment_can(request.user, "change", segment)
    context = {
        "segment": segment, "page": page, "error": error,
        "can_change": can_change,
        "can_remove": can_change and segment.kind == Segment.Kind.STATIC,
    }
    if _partial(request):
        return render(request, "customers/segments/_members.html", context)
    context["rules_text"] = (describe_rules(segment.rules)
                             if segment.kind == Segment.Kind.RULES else "")
    return render(request, "customers/segments/segment_detail.html", context)


@login_required
@require_POST
def segment_delete(request, uuid):
    segment = segment_get_for_user(request.user, uuid, "delete")
    services.segment_soft_delete(actor=request.user, segment=segment)
    messages.success(request, _("Segment “%(name)s” was deleted.") % {"name": segment.name})
    return redirect("customers:segment_list")


# --- a static list's members ----------------------------------------------------------------
@login_required
@require_POST
def segment_member_add(request, uuid):
    segment = segment_get_for_user(request.user, uuid, "change")
    code = (request.POST.get("code") or "").strip()
    if not code or len(code) > 32:
        messages.error(request, _("Enter a customer code."))
        return redirect("customers:segment_detail", uuid=segment.uuid)
    # The same answer for a code that doesn't exist and one the user may not see.
    customer = customer_list_for_user(request.user).filter(code__iexact=code).first()
    if customer is None:
        messages.error(request, _("No customer you can see has the code “%(code)s”.")
                       % {"code": code})
        return redirect("customers:segment_detail", uuid=segment.uuid)
    try:
        added = services.segment_members_add(actor=request.user, segment=segment,
                                             customers=[customer])
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        cache.delete(_count_key(segment, request.user))
        if added:
            messages.success(request, _("“%(name)s” was added to the list.")
                             % {"name": customer.name})
        else:
            messages.info(request, _("“%(name)s” is already on the list.")
                          % {"name": customer.name})
    return redirect("customers:segment_detail", uuid=segment.uuid)


@login_required
@require_POST
def segment_member_remove(request, uuid, customer_uuid):
    segment = segment_get_for_user(request.user, uuid, "change")
    customer = customer_get_for_user(request.user, customer_uuid)
    try:
        removed = services.segment_member_remove(actor=request.user, segment=segment,
                                                 customer=customer)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        cache.delete(_count_key(segment, request.user))
        if removed:
            messages.success(request, _("“%(name)s” was removed from the list.")
                             % {"name": customer.name})
    return redirect("customers:segment_detail", uuid=segment.uuid)
