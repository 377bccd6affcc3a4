"""GDPR tools: a customer's privacy page, export (JSON download), erasure (confirmed by typing
the name) and a contact's consent history.

Export and erasure need the "erase" right on the customer (customers.erase_customer plus the
access policy; see customers/gdpr.py for why export uses it too); the consent history needs
only to see the customer. Not visible: 404; visible but not allowed: 403.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from crm.exceptions import ApplicationError
from customers.gdpr import consent_history, gdpr_allowed, gdpr_erase, gdpr_export
from customers.models import Contact, Customer
from customers.selectors import customer_get_for_user


class EraseForm(forms.Form):
    confirmation = forms.CharField(label=gettext_lazy("Type the name to confirm"),
                                   max_length=300)


def _customer(user, uuid, *, gdpr: bool = True) -> Customer:
    # Customers in the trash (deleted or merged away) hold personal data too.
    try:
        customer = customer_get_for_user(user, uuid)
    except Http404:
        customer = customer_get_for_user(user, uuid, deleted=True)
    if gdpr and not gdpr_allowed(user, customer):
        raise PermissionDenied
    return customer


def _contact(customer: Customer, contact_uuid) -> Contact:
    # Contacts in the trash hold personal data too: they are found here as well.
    try:
        return Contact.objects.get(customer=customer, uuid=contact_uuid)
    except (Contact.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc


@login_required
@require_GET
def gdpr_customer(request, uuid):
    customer = _customer(request.user, uuid)
    contacts = Contact.objects.filter(customer=customer).order_by(
        "deleted_at", "-is_primary", "last_name", "first_name")
    return render(request, "customers/gdpr/privacy.html", {
        "customer": customer, "contacts": contacts,
        "is_person": customer.kind == Customer.Kind.PERSON,
    })


def _download(data: dict, name: str) -> HttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = HttpResponse(json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False,
                                       indent=2),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="personal-data-{name}-{stamp}.json"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def gdpr_export_view(request, uuid, contact_uuid=None):
    customer = _customer(request.user, uuid)
    contact = _contact(customer, contact_uuid) if contact_uuid else None
    data = gdpr_export(actor=request.user, customer=customer, contact=contact)
    return _download(data, customer.code if contact is None
                     else contact.uuid.hex[-8:])  # the random end (crm.ids)


@login_required
def gdpr_erase_view(request, uuid, contact_uuid=None):
    customer = _customer(request.user, uuid)
    contact = _contact(customer, contact_uuid) if contact_uuid else None
    refused = contact is None and customer.kind != Customer.Kind.PERSON
    form = EraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            gdpr_erase(actor=request.user, customer=customer, contact=contact,
                       confirmation=form.cleaned_data["confirmation"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The personal data was erased. The records, dates "
                                        "and figures stay, anonymized."))
            return redirect("customers:gdpr", uuid=customer.uuid)
    return render(request, "customers/gdpr/erase.html", {
        "customer": customer, "contact": contact, "form": form, "refused": refused,
        "name": str(contact) if contact else customer.name,
    })


@login_required
@require_GET
def consent_history_view(request, uuid, contact_uuid):
    customer = _customer(request.user, uuid, gdpr=False)
    contact = _contact(customer, contact_uuid)
    return render(request, "customers/gdpr/consent_history.html", {
        "customer": customer, "contact": contact, "events": list(consent_history(contact)),
        "can_gdpr": gdpr_allowed(request.user, customer),
    })
