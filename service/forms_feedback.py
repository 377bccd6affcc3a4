"""Forms of the feedback pages: log a complaint, suggestion or praise, and change its status.
The customer comes through customers.selectors (the access path); the writes are
service.services'."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from customers.models import Contact
from customers.selectors import contact_list_for_user, customer_get_for_user
from service.models import Feedback, Ticket
from service.services import MAX_BODY


class FeedbackForm(forms.Form):
    customer = forms.UUIDField(label=_("Customer"), widget=forms.HiddenInput,
                               error_messages={"required": _("Choose the customer."),
                                               "invalid": _("Choose the customer.")})
    kind = forms.ChoiceField(label=_("Type"), choices=Feedback.Kind.choices)
    channel = forms.ChoiceField(label=_("Received by"), choices=Ticket.Channel.choices,
                                initial=Ticket.Channel.PHONE)
    contact = forms.ModelChoiceField(label=_("Contact"), queryset=None, required=False,
                                     to_field_name="uuid", empty_label=_("No contact"))
    body = forms.CharField(label=_("Feedback"), max_length=MAX_BODY,
                           widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args, user, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.customer_obj = customer
        self.fields["contact"].queryset = (
            contact_list_for_user(user, customer=customer) if customer is not None
            else Contact.objects.none())
        for field in self.fields.values():
            if isinstance(field.widget, forms.Select):
                field.widget.attrs.setdefault("class", "form-select")
            elif not isinstance(field.widget, forms.HiddenInput):
                field.widget.attrs.setdefault("class", "form-control")

    def clean_customer(self):
        uuid = self.cleaned_data["customer"]
        if self.customer_obj is not None and self.customer_obj.uuid == uuid:
            return self.customer_obj
        try:
            return customer_get_for_user(self.user, uuid)
        except (Http404, PermissionDenied):
            raise forms.ValidationError(_("Choose a customer from the search results.")) \
                from None

    def clean_body(self):
        body = self.cleaned_data["body"].strip()
        if not body:
            raise forms.ValidationError(_("Please write down the feedback."))
        return body

    def clean(self):
        cleaned = super().clean()
        customer, contact = cleaned.get("customer"), cleaned.get("contact")
        if customer is not None and contact is not None and contact.customer_id != customer.pk:
            self.add_error("contact", _("Choose a contact of this customer."))
        return cleaned

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {"customer": data["customer"], "contact": data.get("contact"),
                "kind": data["kind"], "channel": data["channel"], "body": data["body"]}


class FeedbackStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Feedback.Status.choices)
