"""Forms of the custom field admin page: a definition, with its choices one per line."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Field, Layout, Row
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm.forms import VersionedModelForm
from customers.custom_fields import KEY_RE
from customers.field_services import clean_choices
from customers.models import CustomFieldDefinition

FieldType = CustomFieldDefinition.FieldType


class ChoicesField(forms.CharField):
    """A list of strings edited as one per line."""

    widget = forms.Textarea(attrs={"rows": 5})

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return "\n".join(str(v) for v in value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


class _DefinitionForm:
    def _layout(self, *first) -> None:
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            *first,
            Row(Column("label", css_class="col-md-6"), Column("field_type", css_class="col-md-3"),
                Column("order", css_class="col-md-3")),
            Field("choices"),
            Field("help_text"),
            Field("required"),
            *(["version"] if "version" in self.fields else []),
        )
        self.fields["choices"].help_text = _("One choice per line; only for the choice type.")

    def clean(self):
        cleaned = super().clean()
        field_type = cleaned.get("field_type")
        if field_type and "choices" in cleaned:
            try:
                cleaned["choices"] = clean_choices(field_type, cleaned["choices"])
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned

    def service_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class CustomFieldCreateForm(_DefinitionForm, forms.ModelForm):
    # Our own key rule (clean_key), stricter than a slug, with its own message.
    key = forms.CharField(label=_("Key"), max_length=50)
    choices = ChoicesField(label=_("Choices"), required=False)

    class Meta:
        model = CustomFieldDefinition
        fields = ["entity", "key", "label", "field_type", "choices", "required", "help_text",
                  "order"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].help_text = _(
            "Lowercase letters, digits and underscores, e.g. “contract_type”. Values are "
            "stored under this name; it cannot change later.")
        self._layout(Row(Column("entity", css_class="col-md-6"),
                         Column("key", css_class="col-md-6")))

    def clean_key(self):
        key = self.cleaned_data["key"].strip()
        if not KEY_RE.match(key):
            raise ValidationError(_("Use lowercase letters, digits and single underscores, "
                                    "starting with a letter."))
        return key

    def clean(self):
        cleaned = super().clean()
        entity, key = cleaned.get("entity"), cleaned.get("key")
        if entity and key and CustomFieldDefinition.objects.filter(entity=entity,
                                                                   key=key).exists():
            self.add_error("key", _("This key is already used by another field for the same "
                                    "records (active or not)."))
        return cleaned

    def validate_unique(self):
        # Checked in clean() with a message of our own (and again by the service).
        pass


class CustomFieldEditForm(_DefinitionForm, VersionedModelForm):
    """The entity and the key are shown, not edited: the values are stored under the key."""

    choices = ChoicesField(label=_("Choices"), required=False)

    class Meta:
        model = CustomFieldDefinition
        fields = ["label", "field_type", "choices", "required", "help_text", "order"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field_type"].help_text = _(
            "Changing the type does not convert values already stored.")
        self._layout()
