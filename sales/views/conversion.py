"""Converting a lead: the page shows the customers that probably are the lead's party first
(link to one of them), then the "create a new customer" option prefilled from the lead, the
contact and the opportunity. The lead comes through sales.selectors; the work is done by
sales.conversion.convert_lead."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import ApplicationError
from sales.conversion import convert_lead, customer_data_from_lead, find_matches
from sales.forms_opportunities import NEW, ConversionForm
from sales.models import Lead
from sales.permissions import sales_policy_for
from sales.selectors import lead_get_for_user


def lead_url(lead) -> str | None:
    """The lead's page (another module's; None until it is wired)."""
    try:
        return reverse("sales:lead_detail", kwargs={"uuid": lead.uuid})
    except NoReverseMatch:
        return None


def _initial(lead: Lead, matches) -> dict:
    data = customer_data_from_lead(lead)
    # Linking is the safer default when there is a likely duplicate.
    target = str(matches[0].uuid) if matches else NEW
    return {
        "target": target, "kind": data["kind"], "name": data["name"], "email": data["email"],
        "phone": data["phone"], "contact_mode": "auto", "create_opportunity": True,
        "opportunity_name": lead.company or lead.full_name,
        "expected_close_date": timezone.localdate() + datetime.timedelta(days=30),
        "version": lead.version,
    }


@login_required
def lead_convert(request, uuid):
    lead = lead_get_for_user(request.user, uuid)
    if not (request.user.has_perm("sales.convert_lead")
            and sales_policy_for(request.user).can("convert", lead, "lead")):
        raise PermissionDenied
    if lead.status == Lead.Status.CONVERTED:
        messages.info(request, _("This lead has already been converted."))
        return render(request, "sales/conversion/done.html", {"lead": lead,
                                                              "lead_url": lead_url(lead)})
    matches = find_matches(lead, request.user)
    form = ConversionForm(request.POST or None, matches=matches,
                          initial=_initial(lead, matches))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        customer_data = None
        if data["target"] == NEW:
            customer_data = {"kind": data["kind"], "name": data["name"].strip(),
                             "email": data["email"], "phone": data["phone"]}
        try:
            result = convert_lead(
                actor=request.user, lead=lead, customer=form.chosen_customer(),
                customer_data=customer_data, contact_mode=data["contact_mode"],
                create_opportunity=data["create_opportunity"],
                opportunity_data={
                    "name": data["opportunity_name"].strip(),
                    "amount": data["amount"] or 0,
                    "expected_close_date": data["expected_close_date"],
                } if data["create_opportunity"] else None,
                expected_version=data["version"],
            )
        except (ApplicationError, ValidationError) as exc:
            if isinstance(exc, ValidationError):
                form.add_error(None, exc.messages)
            else:
                form.add_error(None, exc.message)
        except PermissionDenied:
            form.add_error(None, _("You may not do that with this customer."))
        else:
            messages.success(request, _("The lead was converted: customer “%(customer)s”.")
                             % {"customer": result.customer.name})
            if result.opportunity is not None:
                return redirect("sales:opportunity_detail", uuid=result.opportunity.uuid)
            return redirect("customers:detail", uuid=result.customer.uuid)
    return render(request, "sales/conversion/convert.html", {
        "lead": lead, "lead_url": lead_url(lead), "form": form, "matches": matches,
        "match_by_uuid": {str(c.uuid): c for c in matches},
        "can_create_customer": request.user.has_perm("customers.add_customer"),
    })
