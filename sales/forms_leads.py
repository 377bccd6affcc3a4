"""Forms of the lead pages, the admin configuration pages (web forms, assignment and scoring
rules) and the public web-to-lead form built from a WebForm's configuration."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Field, Fieldset, Layout, Row
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from crm.forms import VersionedModelForm
from customers.autocomplete import UserAutocomplete
from customers.models import DictionaryEntry
from customers.permissions import policy_for
from sales.models import Lead, LeadAssignmentRule, LeadScoreRule, WebForm

DICTIONARY_FIELDS = {
    "source": DictionaryEntry.Kind.SOURCE,
    "region": DictionaryEntry.Kind.REGION,
    "industry": DictionaryEntry.Kind.INDUSTRY,
}
LEAD_FIELDS = [
    "first_name", "last_name", "company", "title", "email", "phone", "website", "source",
    "region", "industry", "owner", "team", "message", "description", "marketing_consent",
]


def person_label(user) -> str:
    return user.get_full_name() or user.email


def _col(name: str, css: str) -> Column:
    return Column(name, css_class=css)


def _keep(instance, name: str) -> Q:
    current = getattr(instance, f"{name}_id", None) if instance.pk else None
    return Q(pk=current) if current else Q(pk__in=[])


def _dictionary_field(field, kind, instance=None, name=""):
    q = Q(kind=kind, is_active=True)
    if instance is not None and name:
        q |= _keep(instance, name)
    field.queryset = DictionaryEntry.objects.filter(q).order_by("order", "label")
    field.empty_label = _("(none)")


NOBODY = _("(nobody)")


def _users_field(field, instance=None, name="", empty=NOBODY):
    q = Q(is_active=True)
    if instance is not None and name:
        q |= _keep(instance, name)
    field.queryset = get_user_model().objects.filter(q).order_by(
        "first_name", "last_name", "email")
    field.label_from_instance = person_label
    field.empty_label = empty
    # An autocomplete: the page renders the chosen user only, never every active user.
    field.widget = UserAutocomplete(placeholder=empty)
    field.widget.choices = field.choices


class LeadFormMixin:
    instance: Lead

    def setup(self, user) -> None:
        instance = self.instance
        for name, kind in DICTIONARY_FIELDS.items():
            _dictionary_field(self.fields[name], kind, instance, name)
        _users_field(self.fields["owner"], instance, "owner")
        if not instance.pk:
            self.fields["owner"].help_text = _(
                "Left empty, the assignment rules choose (or you keep the lead).")
        teams = Team.objects.all()
        if not user.is_admin:
            policy = policy_for(user)
            teams = teams.filter(Q(pk__in=[*policy.team_ids, *policy.managed_team_ids])
                                 | _keep(instance, "team"))
        self.fields["team"].queryset = teams.order_by("name")
        self.fields["team"].empty_label = _("(no team)")
        self.fields["message"].widget.attrs["rows"] = 3
        self.fields["description"].widget.attrs["rows"] = 3
        self.fields["website"].widget.attrs.setdefault("placeholder", "https://")
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Fieldset(
                _("Person"),
                Row(_col("first_name", "col-md-4"), _col("last_name", "col-md-4"),
                    _col("title", "col-md-4")),
                Row(_col("email", "col-md-4"), _col("phone", "col-md-4"),
                    _col("website", "col-md-4")),
                Field("company"),
            ),
            Fieldset(
                _("Classification"),
                Row(_col("source", "col-md-4"), _col("region", "col-md-4"),
                    _col("industry", "col-md-4")),
                Row(_col("owner", "col-md-6"), _col("team", "col-md-6")),
            ),
            Field("message"),
            Field("description"),
            Field("marketing_consent"),
            *(["version"] if "version" in self.fields else []),
        )

    def clean(self):
        data = super().clean()
        if not data.get("email") and not data.get("phone"):
            raise forms.ValidationError(
                _("Give an e-mail address or a phone number, so someone can reach the lead."))
        return data

    def service_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class LeadCreateForm(LeadFormMixin, forms.ModelForm):
    class Meta:
        model = Lead
        fields = LEAD_FIELDS

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup(user)


class LeadEditForm(LeadFormMixin, VersionedModelForm):
    class Meta:
        model = Lead
        fields = LEAD_FIELDS

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup(user)


class LeadStatusForm(forms.Form):
    status = forms.ChoiceField(choices=[c for c in Lead.Status.choices
                                        if c[0] != Lead.Status.CONVERTED])
    version = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)


# --- admin configuration ------------------------------------------------------------------
class _ConfigForm(VersionedModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.fields.pop("version")
        self.helper = FormHelper()
        self.helper.form_tag = False

    def service_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class WebFormForm(_ConfigForm):
    fields = forms.MultipleChoiceField(
        label=_("Fields to show"), choices=WebForm.FIELD_CHOICES, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("First name and e-mail are always asked."))
    required_fields = forms.MultipleChoiceField(
        label=_("Required fields"), choices=WebForm.FIELD_CHOICES, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only fields that are shown can be required."))

    class Meta:
        model = WebForm
        fields = ["name", "slug", "title", "intro", "fields", "required_fields",
                  "consent_text", "thank_you_text", "source", "owner", "team", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _dictionary_field(self.fields["source"], DictionaryEntry.Kind.SOURCE, self.instance,
                          "source")
        _users_field(self.fields["owner"], self.instance, "owner",
                     empty=_("(nobody: round-robin or the rules)"))
        self.fields["team"].queryset = Team.objects.order_by("name")
        self.fields["team"].empty_label = _("(no team: the assignment rules decide)")
        self.fields["intro"].widget.attrs["rows"] = 3
        self.fields["thank_you_text"].widget.attrs["rows"] = 3
        self.fields["slug"].help_text = _("Part of the public address: letters, digits, "
                                          "hyphens.")

    def clean(self):
        data = super().clean()
        shown, required = data.get("fields") or [], data.get("required_fields") or []
        missing = [f for f in required if f not in shown]
        if missing:
            labels = dict(WebForm.FIELD_CHOICES)
            self.add_error("required_fields", _("Required but not shown: %(fields)s. Show them "
                                                "too, or do not require them.") % {
                "fields": ", ".join(str(labels[f]) for f in missing)})
        if data.get("owner") and data.get("team"):
            self.add_error("team", _("Choose either a fixed owner or a team for "
                                     "round-robin, not both."))
        return data


class AssignmentRuleForm(_ConfigForm):
    class Meta:
        model = LeadAssignmentRule
        fields = ["name", "order", "is_active", "match_source", "match_region", "strategy",
                  "team", "user"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _dictionary_field(self.fields["match_source"], DictionaryEntry.Kind.SOURCE,
                          self.instance, "match_source")
        self.fields["match_source"].empty_label = _("(any source)")
        _dictionary_field(self.fields["match_region"], DictionaryEntry.Kind.REGION,
                          self.instance, "match_region")
        self.fields["match_region"].empty_label = _("(any region)")
        _users_field(self.fields["user"], self.instance, "user", empty=_("(none)"))
        self.fields["team"].queryset = Team.objects.order_by("name")

    def clean(self):
        data = super().clean()
        strategy = data.get("strategy")
        if strategy == LeadAssignmentRule.Strategy.ROUND_ROBIN and not data.get("team"):
            self.add_error("team", _("Round-robin needs a team."))
        if strategy == LeadAssignmentRule.Strategy.USER and not data.get("user"):
            self.add_error("user", _("Choose the user who gets the leads."))
        return data


class ScoreRuleForm(_ConfigForm):
    class Meta:
        model = LeadScoreRule
        fields = ["label", "field", "operator", "value", "points", "order", "is_active"]

    def clean(self):
        data = super().clean()
        if data.get("operator") in (LeadScoreRule.Operator.EQUALS,
                                    LeadScoreRule.Operator.CONTAINS) and not data.get("value"):
            self.add_error("value", _("This condition needs a value to compare with."))
        return data


# --- the public web-to-lead form ----------------------------------------------------------
HONEYPOT = "homepage"


class PublicLeadForm(forms.Form):
    """Built from a WebForm: first name and e-mail always, then the chosen fields (the
    required ones required), the consent box when the form has a consent text, and a honeypot
    field hidden from people (a bot that fills it gets a thank-you and creates nothing)."""

    first_name = forms.CharField(label=_("First name"), max_length=100)
    email = forms.EmailField(label=_("E-mail"), max_length=254)

    def __init__(self, *args, web_form: WebForm, **kwargs):
        super().__init__(*args, **kwargs)
        self.web_form = web_form
        required = set(web_form.required_fields or [])
        wanted = [name for name, _label in WebForm.FIELD_CHOICES
                  if name in (web_form.fields or [])]
        for name in wanted:
            self.fields[name] = self._field(name, name in required)
        if web_form.consent_text:
            self.fields["marketing_consent"] = forms.BooleanField(
                label=web_form.consent_text, required=False)
        self.fields[HONEYPOT] = forms.CharField(
            label=_("Leave this field empty"), required=False,
            widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}))
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(field.widget, forms.Select):
                field.widget.attrs.setdefault("class", "form-select")
            else:
                field.widget.attrs.setdefault("class", "form-control")

    @staticmethod
    def _field(name: str, required: bool):
        model_field = Lead._meta.get_field(name)
        if name in DICTIONARY_FIELDS:
            field = forms.ModelChoiceField(
                label=model_field.verbose_name.capitalize(), required=required,
                queryset=DictionaryEntry.objects.filter(
                    kind=DICTIONARY_FIELDS[name], is_active=True).order_by("order", "label"),
                to_field_name="code", empty_label=_("(choose)"))
            return field
        if name == "message":
            return forms.CharField(label=_("Message"), required=required, max_length=4000,
                                   widget=forms.Textarea(attrs={"rows": 4}))
        return forms.CharField(label=model_field.verbose_name.capitalize(), required=required,
                               max_length=model_field.max_length)

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
                attrs["aria-invalid"] = "true"

    def is_spam(self) -> bool:
        return bool(self.data.get(HONEYPOT))

    def service_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != HONEYPOT}
