"""The contact list: every contact of the customers the user may see, with search, filters,
whitelisted sorts and keyset pages; the results swap in place with htmx. Rows lead to the
customer's 360-degree page. Reads only, through customers.selectors."""

from __future__ import annotations

from html import escape

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from crm.pagination import PAGE_SIZE, keyset_paginate
from crm.rows import ShortDates, url_maker
from customers.contact_filters import ContactFilter
from customers.models import Contact
from customers.selectors import contact_list_for_user, customer_get_for_user

# What a row of the list shows, read as plain values (no model instances): the columns the
# row, the sort keys (created_at, last_name, first_name, id) and the pager read, and the
# customer's public id and name. The encrypted and bulky columns are never read for it.
LIST_COLUMNS = ("id", "created_at", "first_name", "last_name", "is_primary", "title",
                "email", "phone", "mobile", "preferred_channel", "marketing_consent",
                "birthday", "customer__uuid", "customer__name")


def result_rows_html(rows: list[dict]) -> str:
    """The table rows of _contact_results.html, built here rather than by the template: the
    same markup, byte for byte, with every value escaped and every text translated, without
    some twenty template nodes and a reverse() per row. `rows`: dicts of LIST_COLUMNS
    (tests/customers/test_contact_rows.py compares with the old row template)."""
    customer_url = url_maker("customers:detail")
    channels = {value: conditional_escape(label) for value, label in Contact.Channel.choices}
    (customer_, title_, email_, phone_, channel_, marketing_, birthday_, primary, agrees,
     no_consent) = map(conditional_escape, (
         _("Customer"), _("Job title"), _("E-mail"), _("Phone"), _("Channel"),
         _("Marketing"), _("Birthday"), _("Primary"), _("Agrees"), _("No consent")))
    primary_html = f'<span class="badge text-bg-primary ms-1">{primary}</span>'
    consent_html = {True: f'<span class="badge text-bg-success">{agrees}</span>',
                    False: f'<span class="badge text-bg-secondary">{no_consent}</span>'}
    short_date = ShortDates()
    html = []
    for row in rows:
        url = escape(customer_url(row["customer__uuid"]))
        # str(contact): the non-empty parts of the name.
        name = " ".join(p for p in (row["first_name"], row["last_name"]) if p)
        email = row["email"]
        email_html = f'<a href="mailto:{escape(email)}">{escape(email)}</a>' if email else "—"
        phone = row["phone"] or row["mobile"]
        channel = row["preferred_channel"]
        birthday = row["birthday"]
        if birthday is None:
            birthday_html = "—"
        else:
            birthday_html = (f'<time datetime="{birthday.isoformat()}">'
                             f'{short_date(birthday)}</time>')
        html.append(
            f'\n    <tr data-testid="contact-row">\n      <td>'
            f'\n        <a href="{url}#contacts" class="fw-semibold text-break">{escape(name)}</a>'
            f'\n        {primary_html if row["is_primary"] else ""}\n      </td>'
            f'\n      <td data-label="{customer_}" class="small"><a href="{url}" '
            f'class="text-break">{escape(row["customer__name"])}</a></td>'
            f'\n      <td data-label="{title_}" class="small text-break">'
            f'{escape(row["title"]) if row["title"] else "—"}</td>'
            f'\n      <td data-label="{email_}" class="small text-break">{email_html}</td>'
            f'\n      <td data-label="{phone_}" class="small text-nowrap">'
            f'{escape(phone) if phone else "—"}</td>'
            f'\n      <td data-label="{channel_}" class="small">'
            f'{channels.get(channel) or escape(channel)}</td>'
            f'\n      <td data-label="{marketing_}" class="small">'
            f'{consent_html[bool(row["marketing_consent"])]}</td>'
            f'\n      <td data-label="{birthday_}" class="small text-nowrap">{birthday_html}</td>'
            f'\n    </tr>\n  '
        )
    return mark_safe("".join(html))  # noqa: S308 (every value above is escaped)


@login_required
@require_GET
def contact_list(request):
    filterset = ContactFilter(request.GET or None,
                              queryset=contact_list_for_user(request.user).select_related(None))
    # A customer named in the query string must be one the user may see (404 otherwise),
    # so the page can say whose contacts these are.
    customer_uuid = filterset.cleaned("customer")
    customer = customer_get_for_user(request.user, customer_uuid) if customer_uuid else None
    page = keyset_paginate(filterset.qs, ordering=filterset.keyset_ordering(),
                           after=request.GET.get("after"), page_size=PAGE_SIZE,
                           estimate=not filterset.in_use(), fields=LIST_COLUMNS)
    context = {
        "filter": filterset,
        "filter_errors": filterset.labelled_errors(),
        "page": page,
        "rows": result_rows_html(page.object_list),
        "customer": customer,
        "nav_active": "contacts",
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "customers/contacts/_contact_results.html", context)
    return render(request, "customers/contacts/contact_list.html", context)
