"""Forms of the customer's 360-degree page: contacts, the communication log quick-add,
sharing, and the timeline filter."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout
from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from crm.forms import VersionedModelForm
from customers import custom_fields
from customers.models import Contact, Interaction
from customers.permissions import CONTACT_CONSENT_FIELDS
from customers.timeline import EVENTS_KIND

SENSITIVE_FIELDS = ("national_id", "private_notes")

CONTACT_FIELDS = [
    "first_name", "last_name", "title", "email", "phone", "mobile", "birthday",
    "preferred_channel", "is_primary", "marketing_consent", "consent_method", "consent_source",
    "national_id", "private_notes",
]


class ContactForm(forms.ModelForm):
    """A contact, with its marketing consent. National ID and private notes are on the form
    (shown only to people allowed to add or change contacts), never on lists."""

    class Meta:
        model = Contact
        fields = CONTACT_FIELDS
        widgets = {
            "birthday": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "national_id": forms.TextInput(attrs={"autocomplete": "off"}),
            "private_notes": forms.Textarea(attrs={"rows": 3}),
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
        }
        help_texts = {
            "consent_method": _("Required when the contact agrees to marketing."),
            "consent_source": _("Where consent was given, e.g. the web form or event name."),
            "private_notes": _("Stored encrypted; not shown in lists."),
        }

    def __init__(self, *args, definitions=None, consent_only=False, **kwargs):
        """`definitions`: the active contact field definitions (the view passes those it loaded
        for the request; None loads them). They appear under "Custom fields".
        `consent_only`: for users who see the customer but may not change it: only the consent
        fields are editable, and the encrypted fields are left out altogether."""
        super().__init__(*args, **kwargs)
        if consent_only:
            for name in SENSITIVE_FIELDS:
                self.fields.pop(name, None)
        if definitions is None:
            definitions = custom_fields.definitions_for().contact
        self.custom_definitions = definitions
        custom_names = custom_fields.add_form_fields(self, definitions,
                                                     self.instance.custom_data)
        self.helper = FormHelper()
        self.helper.form_tag = False
        if consent_only:
            for name, field in self.fields.items():
                if name not in CONTACT_CONSENT_FIELDS and name != "version":
                    field.disabled = True
        self.helper.layout = Layout(
            *(name for name in CONTACT_FIELDS if name in self.fields),
            *([Fieldset(_("Custom fields"), *custom_names, css_class="custom-fields")]
              if custom_names else []),
            *(["version"] if "version" in self.fields else []),
        )

    def service_data(self) -> dict:
        """The cleaned values for the service, the custom fields merged into custom_data (keys
        of inactive definitions kept as they are)."""
        data = {name: self.cleaned_data[name] for name in CONTACT_FIELDS if name in self.fields}
        if self.custom_definitions:
            data["custom_data"] = custom_fields.merge(
                self.instance.custom_data, self.custom_definitions, self.cleaned_data)
        return data

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("marketing_consent") and not cleaned.get("consent_method"):
            self.add_error("consent_method",
                           _("Say how the contact gave consent to marketing."))
        return cleaned


class ContactEditForm(ContactForm, VersionedModelForm):
    """Editing a contact: carries the version, so a stale form is refused."""


class InteractionForm(forms.ModelForm):
    """The communication log quick-add; the contact must be one of this customer's."""

    class Meta:
        model = Interaction
        fields = ["kind", "direction", "occurred_at", "contact", "subject", "body", "outcome"]
        widgets = {
            "occurred_at": forms.DateTimeInput(attrs={"type": "datetime-local"},
                                               format="%Y-%m-%dT%H:%M"),
            "body": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, customer, contacts=None, all_contacts_shown=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        field = self.fields["contact"]
        field.empty_label = _("(none)")
        field.queryset = Contact.objects.alive().filter(customer=customer).order_by(
            "-is_primary", "last_name", "first_name")
        if not all_contacts_shown:
            # More contacts than the page lists: find any of them by name or e-mail instead
            # of rendering thousands of options.
            from customers.autocomplete import ContactAutocomplete

            field.widget = ContactAutocomplete(extra_query=f"customer={customer.uuid}",
                                               placeholder=_("(none)"))
            field.widget.choices = field.choices
        elif contacts is not None and not self.is_bound:
            # The page has the contacts already: build the choices without another query.
            field.choices = [("", field.empty_label), *((c.pk, str(c)) for c in contacts)]
        # Empty means "now", taken when the entry is saved (not when the page was opened).
        when = self.fields["occurred_at"]
        when.required = False
        when.help_text = _("Leave empty for now.")
        when.initial = None
        self.initial.pop("occurred_at", None)


class ShareForm(forms.Form):
    colleague = forms.ModelChoiceField(label=_("Colleague"), queryset=None)
    can_change = forms.BooleanField(label=_("Can also edit"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["colleague"].queryset = (
            get_user_model().objects.filter(is_active=True).exclude(pk=user.pk)
            .order_by("first_name", "last_name", "email")
        )


class TimelineFilterForm(forms.Form):
    """The timeline's kind filter and cursor; bad values are dropped, never an error page."""

    kinds = forms.MultipleChoiceField(
        label=_("Show"), required=False,
        choices=[*Interaction.Kind.choices, (EVENTS_KIND, _("Changes"))],
    )
    cursor = forms.CharField(required=False, max_length=200)

    def __init__(self, data=None, **kwargs):
        if data is not None:
            # An unknown kind is dropped on its own; the rest of the filter still applies.
            known = {value for value, _label in self.base_fields["kinds"].choices}
            data = data.copy()
            data.setlist("kinds", [k for k in data.getlist("kinds") if k in known])
        super().__init__(data, **kwargs)

    def kinds_value(self) -> list[str]:
        if self.is_valid():
            return self.cleaned_data["kinds"]
        return []

    def cursor_value(self) -> str | None:
        if self.is_valid():
            return self.cleaned_data["cursor"] or None
        return None
