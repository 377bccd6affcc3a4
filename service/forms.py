"""Forms of the staff ticket pages. They validate input and resolve every record through its
access path (customers, orders, products, agents); the writes are service.services'."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.http import Http404
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts import roles
from crm.forms import VersionedModelForm
from customers.autocomplete import UserAutocomplete
from customers.models import Contact, DictionaryEntry
from customers.selectors import customer_get_for_user
from service.models import Ticket

# Who may hold a ticket (the service checks it again: team membership, active, role).
AGENT_ROLES = (roles.SUPPORT, roles.MANAGER, roles.ADMIN)


def agent_queryset(team=None):
    """Active users who may be assigned tickets; members of `team` when given."""
    qs = get_user_model().objects.filter(is_active=True, groups__name__in=AGENT_ROLES)
    if team is not None:
        qs = qs.filter(teams=team)
    return qs.distinct().order_by("first_name", "last_name", "email")


def person_label(user) -> str:
    return user.get_full_name() or user.email


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return person_label(obj)


def agent_autocomplete(field, *, team=None, css="form-select"):
    """The agent select as an autocomplete (customers.autocomplete): the page renders the chosen
    agent only; the endpoint offers the agents (of `team` when given)."""
    extra = f"team={team.uuid}" if team is not None else ""
    field.widget = UserAutocomplete(attrs={"class": css}, url=reverse_lazy(
        "service:ticket_agent_options"), extra_query=extra,
        placeholder=str(field.empty_label or ""))
    field.widget.choices = field.choices


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the service validates size and type of each."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"class": "form-control"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


def _category_queryset():
    return DictionaryEntry.objects.filter(kind=DictionaryEntry.Kind.TICKET_CATEGORY,
                                          is_active=True).order_by("order", "label")


class TicketLinksMixin:
    """Customer, contact, order and product, chosen by UUID (search fields in the page) and
    resolved through the user's access paths: a record the user may not see is refused."""

    user = None

    def _add_link_fields(self):
        self.fields["customer"] = forms.UUIDField(label=_("Customer"), required=False)
        self.fields["contact"] = forms.UUIDField(label=_("Contact"), required=False)
        self.fields["order"] = forms.UUIDField(label=pgettext_lazy("sales order", "Order"),
                                               required=False)
        self.fields["product"] = forms.UUIDField(label=_("Product"), required=False)

    def clean_customer(self):
        uuid = self.cleaned_data.get("customer")
        if not uuid:
            return None
        try:
            return customer_get_for_user(self.user, uuid)
        except Http404:
            raise forms.ValidationError(
                _("Choose a customer from the search results.")) from None

    def clean_order(self):
        from sales.selectors import order_list_for_user

        uuid = self.cleaned_data.get("order")
        if not uuid:
            return None
        order = order_list_for_user(self.user).filter(uuid=uuid).first()
        if order is None:
            raise forms.ValidationError(_("Choose an order from the search results."))
        return order

    def clean_product(self):
        from sales.selectors import product_list_for_user

        uuid = self.cleaned_data.get("product")
        if not uuid:
            return None
        product = product_list_for_user(self.user).filter(uuid=uuid).first()
        if product is None:
            raise forms.ValidationError(_("Choose a product from the search results."))
        return product

    def _clean_links(self, cleaned):
        customer = cleaned.get("customer")
        contact_uuid = cleaned.get("contact")
        cleaned["contact"] = None
        if contact_uuid:
            contact = (Contact.objects.alive().filter(uuid=contact_uuid, customer=customer).first()
                       if customer else None)
            if contact is None:
                self.add_error("contact", _("Choose a contact of the selected customer."))
            cleaned["contact"] = contact
        order = cleaned.get("order")
        if order is not None and customer is not None and order.customer_id != customer.pk:
            self.add_error("order", _("This order belongs to another customer."))
        return cleaned


class TicketCreateForm(TicketLinksMixin, forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 5}))
    requester_name = forms.CharField(label=_("Requester name"), max_length=200, required=False)
    requester_email = forms.EmailField(label=_("Requester e-mail"), required=False)
    category = forms.ModelChoiceField(label=_("Category"), queryset=DictionaryEntry.objects.none(),
                                      to_field_name="uuid", required=False,
                                      empty_label=_("No category"))
    priority = forms.ChoiceField(label=_("Priority"), choices=Ticket.Priority.choices,
                                 initial=Ticket.Priority.NORMAL)
    channel = forms.ChoiceField(label=_("Channel"), choices=Ticket.Channel.choices,
                                initial=Ticket.Channel.PHONE)
    attachments = MultipleFileField(label=_("Attachments"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["category"].queryset = _category_queryset()
        self._add_link_fields()
        for name, field in self.fields.items():
            if name in ("customer", "contact", "order", "product", "attachments"):
                continue
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean(self):
        cleaned = self._clean_links(super().clean())
        if not (cleaned.get("customer") or cleaned.get("requester_email")
                or cleaned.get("requester_name")):
            raise forms.ValidationError(
                _("Say who is asking: choose a customer or enter the requester."))
        return cleaned

    def service_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "attachments"}
        return {k: v for k, v in data.items() if v not in (None, "")}


class TicketEditForm(TicketLinksMixin, VersionedModelForm):
    class Meta:
        model = Ticket
        fields = ["subject", "description", "category", "priority", "channel"]
        widgets = {"description": forms.Textarea(attrs={"rows": 6})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["category"].queryset = _category_queryset()
        self.fields["category"].to_field_name = "uuid"
        self._add_link_fields()
        ticket = self.instance
        if not self.is_bound:
            self.initial.update(
                category=ticket.category.uuid if ticket.category_id else None,
                customer=ticket.customer.uuid if ticket.customer_id else None,
                contact=ticket.contact.uuid if ticket.contact_id else None,
                order=ticket.order.uuid if ticket.order_id else None,
                product=ticket.product.uuid if ticket.product_id else None,
            )
        for name, field in self.fields.items():
            if name in ("customer", "contact", "order", "product", "version"):
                continue
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean(self):
        return self._clean_links(super().clean())

    def service_data(self) -> dict:
        names = ["subject", "description", "category", "priority", "channel", "customer",
                 "contact", "order", "product"]
        return {name: self.cleaned_data.get(name) for name in names}


class ReplyForm(forms.Form):
    PUBLIC, NOTE = "public", "note"
    kind = forms.ChoiceField(
        label=_("Type"), initial=PUBLIC, widget=forms.RadioSelect,
        choices=[(PUBLIC, _("Public reply (e-mailed to the customer)")),
                 (NOTE, _("Internal note (staff only)"))],
    )
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(
        attrs={"rows": 4, "class": "form-control"}))
    attachments = MultipleFileField(label=_("Attachments"))


class TransitionForm(forms.Form):
    to_status = forms.ChoiceField(choices=Ticket.Status.choices)
    version = forms.IntegerField(min_value=1)


class AssignForm(forms.Form):
    assignee = AgentChoiceField(queryset=agent_queryset(), to_field_name="uuid",
                                label=_("Assign to"), empty_label=None)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, team=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agent_queryset(team)
        agent_autocomplete(self.fields["assignee"], team=team)
        self.fields["note"].widget.attrs["class"] = "form-control"


class UUIDListField(forms.Field):
    widget = forms.MultipleHiddenInput
    MAX = 500

    def to_python(self, value):
        import uuid

        if not value:
            return []
        if not isinstance(value, (list, tuple)):
            value = [value]
        if len(value) > self.MAX:
            raise forms.ValidationError(_("Select at most %(max)d tickets at once.")
                                        % {"max": self.MAX})
        try:
            return list(dict.fromkeys(uuid.UUID(str(v)) for v in value))
        except ValueError:
            raise forms.ValidationError(_("The selection was not valid.")) from None


class BulkAssignForm(forms.Form):
    selected = UUIDListField(error_messages={"required": _("Select at least one ticket.")})
    assignee = AgentChoiceField(queryset=agent_queryset(), to_field_name="uuid",
                                label=_("Assign to"), empty_label=_("Choose an agent"),
                                error_messages={"required": _("Choose an agent."),
                                                "invalid_choice": _("Choose an agent.")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agent_queryset()
        agent_autocomplete(self.fields["assignee"], css="form-select form-select-sm")
