"""Forms for creating and editing customers, and for the list's bulk actions."""

from __future__ import annotations

import uuid

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Field, Fieldset, Layout, Row
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from crm.forms import FastSelect, VersionedModelForm
from customers import custom_fields
from customers.autocomplete import TagAutocomplete, TagAutocompleteMultiple, UserAutocomplete
from customers.models import Customer, DictionaryEntry, Tag
from customers.permissions import policy_for

DICTIONARY_FIELDS = {
    "industry": DictionaryEntry.Kind.INDUSTRY,
    "source": DictionaryEntry.Kind.SOURCE,
    "level": DictionaryEntry.Kind.LEVEL,
    "region": DictionaryEntry.Kind.REGION,
}
FIELDS = [
    "kind", "name", "code", "email", "phone", "website", "status", "industry", "source",
    "level", "region", "owner", "team", "tags", "address", "city", "postcode", "country",
    "description",
]


def _person_label(user) -> str:
    return user.get_full_name() or user.email


def _col(name: str, css: str) -> Column:
    return Column(name, css_class=css)


class CustomerFormMixin:
    """Choices limited to what may be chosen now (active entries, active users, the user's
    teams), plus whatever the record already holds, so an edit never loses a value just because
    it was retired since."""

    instance: Customer

    def setup(self, user, definitions=None) -> None:
        """`definitions`: the active customer field definitions (the view passes those it
        loaded for the request; None loads them)."""
        instance = self.instance
        if definitions is None:
            definitions = custom_fields.definitions_for().customer
        self.custom_definitions = definitions
        custom_names = custom_fields.add_form_fields(self, definitions, instance.custom_data)

        def keep(name: str) -> Q:
            """The value the record holds now, if any."""
            current = getattr(instance, f"{name}_id") if instance.pk else None
            return Q(pk=current) if current else Q(pk__in=[])

        for name, kind in DICTIONARY_FIELDS.items():
            field = self.fields[name]
            field.queryset = DictionaryEntry.objects.filter(
                Q(kind=kind, is_active=True) | keep(name)
            ).order_by("order", "label")
            field.empty_label = _("(none)")

        owner = self.fields["owner"]
        owner.queryset = get_user_model().objects.filter(
            Q(is_active=True) | keep("owner")
        ).order_by("first_name", "last_name", "email")
        owner.label_from_instance = _person_label
        owner.empty_label = _("(nobody)")
        owner.widget = UserAutocomplete(placeholder=_("(nobody)"))
        owner.widget.choices = owner.choices
        if not instance.pk:
            owner.help_text = _("Left empty, you become the owner.")

        team = self.fields["team"]
        teams = Team.objects.all()
        if not user.is_admin:
            policy = policy_for(user)
            teams = teams.filter(
                Q(pk__in=[*policy.team_ids, *policy.managed_team_ids]) | keep("team")
            )
        team.queryset = teams.order_by("name")
        team.empty_label = _("(no team)")

        tags = self.fields["tags"]
        tags.queryset = Tag.objects.order_by("name")
        tags.required = False
        tags.widget = TagAutocompleteMultiple(placeholder=_("Type to find a tag…"))
        tags.widget.choices = tags.choices

        self.fields["description"].widget.attrs["rows"] = 4
        self.fields["website"].widget.attrs.setdefault("placeholder", "https://")
        self.fields["code"].help_text = (
            _("Left empty, a code is generated.") if not instance.pk else ""
        )

        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Fieldset(
                _("Customer"),
                Row(_col("kind", "col-md-3"), _col("name", "col-md-6"), _col("code", "col-md-3")),
                Row(_col("email", "col-md-4"), _col("phone", "col-md-4"),
                    _col("website", "col-md-4")),
            ),
            Fieldset(
                _("Classification"),
                Row(_col("status", "col-md-4"), _col("owner", "col-md-4"),
                    _col("team", "col-md-4")),
                Row(_col("industry", "col-sm-6 col-lg-3"), _col("source", "col-sm-6 col-lg-3"),
                    _col("level", "col-sm-6 col-lg-3"), _col("region", "col-sm-6 col-lg-3")),
                Field("tags"),
            ),
            Fieldset(
                _("Address"),
                Field("address"),
                Row(_col("city", "col-md-4"), _col("postcode", "col-md-3"),
                    _col("country", "col-md-5")),
            ),
            Field("description"),
            *([Fieldset(_("Custom fields"), *custom_names, css_class="custom-fields")]
              if custom_names else []),
            *(["version"] if "version" in self.fields else []),
        )

    def service_data(self) -> dict:
        """The cleaned values for the service (tags go separately), the custom fields merged
        into custom_data (keys of inactive definitions kept as they are)."""
        data = {k: v for k, v in self.cleaned_data.items()
                if k not in ("tags", "version") and not k.startswith(custom_fields.PREFIX)}
        if self.custom_definitions:
            data["custom_data"] = custom_fields.merge(
                self.instance.custom_data, self.custom_definitions, self.cleaned_data)
        return data


class _Meta:
    model = Customer
    fields = FIELDS
    error_messages = {
        "code": {"unique": _("Another customer already uses this code. Choose another one, "
                             "or leave it empty on a new customer to get one generated.")},
    }


class CustomerCreateForm(CustomerFormMixin, forms.ModelForm):
    class Meta(_Meta):
        pass

    def __init__(self, *args, user, definitions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].required = False
        self.setup(user, definitions)


class CustomerEditForm(CustomerFormMixin, VersionedModelForm):
    class Meta(_Meta):
        pass

    def __init__(self, *args, user, definitions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup(user, definitions)


# --- bulk actions ---------------------------------------------------------------------------
class UUIDListField(forms.Field):
    """The selected rows: a list of UUIDs from checkboxes named alike."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "invalid": _("The selection is not valid: reload the page and try again."),
        "too_many": _("Select at most %(limit)d customers at a time."),
    }

    def __init__(self, *args, limit: int = 200, **kwargs):
        self.limit = limit
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if not value:
            return []
        if not isinstance(value, (list, tuple)):
            value = [value]
        try:
            uuids = list(dict.fromkeys(uuid.UUID(str(v)) for v in value))
        except (ValueError, TypeError, AttributeError) as exc:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc
        if len(uuids) > self.limit:
            raise forms.ValidationError(self.error_messages["too_many"], code="too_many",
                                        params={"limit": self.limit})
        return uuids


class CustomerBulkForm(forms.Form):
    ASSIGN_OWNER = "assign_owner"
    ADD_TAG = "add_tag"
    REMOVE_TAG = "remove_tag"
    TRASH = "trash"
    ACTIONS = [
        (ASSIGN_OWNER, _("Assign owner")),
        (ADD_TAG, _("Add tag")),
        (REMOVE_TAG, _("Remove tag")),
        (TRASH, _("Move to trash")),
    ]

    selected = UUIDListField(
        label=_("Customers"),
        error_messages={"required": _("Select at least one customer first.")},
    )
    action = forms.ChoiceField(label=_("Action"), choices=[("", _("Choose an action…")),
                                                           *ACTIONS], widget=FastSelect)
    owner = forms.ModelChoiceField(label=_("New owner"), required=False, queryset=None,
                                   to_field_name="uuid", empty_label=_("New owner…"))
    tag = forms.ModelChoiceField(label=_("Tag"), required=False, queryset=None,
                                 to_field_name="uuid", empty_label=_("Tag…"))

    def __init__(self, *args, **kwargs):
        """The owner and tag selects are autocompletes: they render the chosen option only."""
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        owner.queryset = get_user_model().objects.filter(is_active=True)
        owner.label_from_instance = _person_label
        owner.widget = UserAutocomplete(placeholder=owner.empty_label)
        owner.widget.choices = owner.choices
        tag = self.fields["tag"]
        tag.queryset = Tag.objects.all()
        tag.widget = TagAutocomplete(placeholder=tag.empty_label)
        tag.widget.choices = tag.choices
        for name, field in self.fields.items():
            if name != "selected":
                field.widget.attrs["class"] = "form-select form-select-sm"

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == self.ASSIGN_OWNER and not data.get("owner"):
            self.add_error("owner", _("Choose the new owner."))
        if action in (self.ADD_TAG, self.REMOVE_TAG) and not data.get("tag"):
            self.add_error("tag", _("Choose a tag."))
        return data

    @property
    def permission(self) -> str:
        """The policy action each selected customer must allow."""
        return "delete" if self.cleaned_data.get("action") == self.TRASH else "change"
