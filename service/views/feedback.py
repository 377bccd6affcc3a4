"""Feedback pages (complaints, suggestions and praise not tied to a ticket's survey): the list
(filters, customer search, keyset pages, htmx results), logging feedback (from the list, or
from the customer's 360 page with ?customer=<uuid>) and changing its status. Feedback comes
through service.selectors, customers through customers.selectors; the writes go through
service.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.exceptions import ApplicationError
from crm.pagination import PAGE_SIZE, keyset_paginate
from customers.selectors import customer_get_for_user, customer_list_for_user
from service import services
from service.filters_feedback import ORDERING, FeedbackFilter
from service.forms_feedback import FeedbackForm, FeedbackStatusForm
from service.models import Feedback
from service.selectors import feedback_get_for_user, feedback_list_for_user

LOOKUP_LIMIT = 20


def _partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


@login_required
def feedback_list(request):
    if not request.user.has_perm("service.view_feedback"):
        raise PermissionDenied
    filterset = FeedbackFilter(request.GET or None,
                               queryset=feedback_list_for_user(request.user))
    page = keyset_paginate(filterset.qs, ordering=ORDERING, after=request.GET.get("after"),
                           page_size=PAGE_SIZE)
    context = {
        "filter": filterset, "filter_errors": filterset.labelled_errors(), "page": page,
        "can_change": request.user.has_perm("service.change_feedback"),
        "statuses": Feedback.Status.choices,
    }
    if _partial(request):
        return render(request, "service/feedback/_feedback_results.html", context)
    return render(request, "service/feedback/feedback_list.html", context)


def _customer_from(request, value):
    """The customer named by a uuid in the query string or the form, through the access path
    (not visible -> 404, like every customer page); None when none is given."""
    if not value:
        return None
    try:
        return customer_get_for_user(request.user, value)
    except ValidationError as exc:
        raise Http404 from exc


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


@login_required
def feedback_create(request):
    if not request.user.has_perm("service.add_feedback"):
        raise PermissionDenied
    if request.method == "POST":
        # A customer that is not (or no longer) visible is a form error, not a lost post.
        try:
            customer = _customer_from(request, request.POST.get("customer"))
        except (Http404, PermissionDenied):
            customer = None
    else:
        customer = _customer_from(request, request.GET.get("customer"))
    form = FeedbackForm(request.POST or None, user=request.user, customer=customer,
                        initial={"customer": customer.uuid if customer else None})
    if request.method == "POST" and form.is_valid():
        try:
            services.feedback_create(actor=request.user, data=form.service_data())
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The feedback was logged."))
            return redirect(_safe_next(request) or "service:feedback_list")
    return render(request, "service/feedback/feedback_form.html", {
        "form": form, "customer": customer, "next": _safe_next(request),
    }, status=400 if form.is_bound and form.errors else 200)


@login_required
@require_POST
def feedback_status(request, uuid):
    feedback = feedback_get_for_user(request.user, uuid, "change")
    form = FeedbackStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the offered statuses. Nothing was changed."))
    else:
        try:
            feedback = services.feedback_set_status(actor=request.user, feedback=feedback,
                                                    status=form.cleaned_data["status"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The feedback is now “%(status)s”.")
                             % {"status": feedback.get_status_display()})
    return redirect(_safe_next(request) or "service:feedback_list")


@login_required
@require_GET
def feedback_customer_lookup(request):
    """Up to 20 customers the user may see whose name or code matches ?q=, as radio choices
    for the feedback form."""
    if not request.user.has_perm("service.add_feedback"):
        raise PermissionDenied
    q = " ".join((request.GET.get("q") or "").split())[:100]
    rows = []
    if len(q) >= 2:
        rows = list(customer_list_for_user(request.user).select_related(None)
                    .prefetch_related(None).filter(Q(name__icontains=q) | Q(code__icontains=q))
                    .order_by("name", "id").only("uuid", "name", "code")[:LOOKUP_LIMIT])
    return render(request, "service/feedback/_customer_choices.html",
                  {"rows": rows, "q": q if len(q) >= 2 else "", "limit": LOOKUP_LIMIT})
