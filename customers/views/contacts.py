"""The contact list: every contact of the customers the user may see, with search, filters,
whitelisted sorts and keyset pages; the results swap in place with htmx. Rows lead to the
customer's 360-degree page. Reads only, through customers.selectors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from crm.pagination import PAGE_SIZE, keyset_paginate
from customers.contact_filters import ContactFilter
from customers.selectors import contact_list_for_user, customer_get_for_user

# Columns the list shows; the encrypted and bulky ones are never read for it.
DEFERRED = ("national_id", "private_notes", "custom_data", "consent_source",
            "customer__custom_data", "customer__description")


@login_required
@require_GET
def contact_list(request):
    filterset = ContactFilter(request.GET or None,
                              queryset=contact_list_for_user(request.user).defer(*DEFERRED))
    # A customer named in the query string must be one the user may see (404 otherwise),
    # so the page can say whose contacts these are.
    customer_uuid = filterset.cleaned("customer")
    customer = customer_get_for_user(request.user, customer_uuid) if customer_uuid else None
    page = keyset_paginate(filterset.qs, ordering=filterset.keyset_ordering(),
                           after=request.GET.get("after"), page_size=PAGE_SIZE,
                           estimate=not filterset.in_use())
    context = {
        "filter": filterset,
        "filter_errors": filterset.labelled_errors(),
        "page": page,
        "customer": customer,
        "nav_active": "contacts",
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "customers/contacts/_contact_results.html", context)
    return render(request, "customers/contacts/contact_list.html", context)
