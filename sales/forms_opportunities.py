"""Forms of the opportunity pages, the development plans and the lead conversion."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from crm.forms import VersionedModelForm
from customers.autocomplete import UserAutocomplete
from customers.models import Contact, Customer
from customers.selectors import customer_list_for_user
from sales.models import DevelopmentPlan, Opportunity, PipelineStage

DATE = {"type": "date", "class": "form-control"}


def _person_label(user) -> str:
    return user.get_full_name() or user.email


def _date_input():
    return forms.DateInput(format="%Y-%m-%d", attrs=DATE)


class OpportunityForm(VersionedModelForm):
    """Create and edit. The customer is named by its code (a select of a million customers
    is no choice); opened from a customer's page it is fixed. On edit the stage is not here:
    the detail page's "Move to" form moves it (history, lost reason)."""

    customer_code = forms.CharField(
        label=_("Customer code"), max_length=32,
        help_text=_("The customer's code, e.g. C0000123 (open the customer and use “New "
                    "opportunity” to skip this)."))

    class Meta:
        model = Opportunity
        fields = ["name", "stage", "contact", "owner", "team", "amount", "currency",
                  "probability", "expected_close_date", "lost_reason", "description"]
        widgets = {"expected_close_date": _date_input(),
                   "description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user, customer: Customer | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        instance = self.instance
        editing = bool(instance.pk)
        self.fixed_customer = instance.customer if editing else customer
        if editing:
            del self.fields["stage"]
            self.fields["version"].required = True
        else:
            del self.fields["version"]
            self.fields["stage"].queryset = PipelineStage.objects.filter(
                is_active=True).order_by("order", "id")
            self.fields["stage"].required = False
            self.fields["stage"].empty_label = _("First open stage")
            self.fields["probability"].required = False
            self.fields["probability"].help_text = _("Empty: the stage's probability.")
            self.fields["currency"].initial = settings.CRM_CURRENCY
        if self.fixed_customer is not None:
            del self.fields["customer_code"]
            self.fields["contact"].queryset = Contact.objects.alive().filter(
                customer=self.fixed_customer).order_by("-is_primary", "last_name", "first_name")
        else:
            self.fields["contact"].queryset = Contact.objects.none()
            self.fields["contact"].widget = forms.HiddenInput()
        # The owner is an autocomplete (a select of every user is no choice): the widget
        # renders the chosen option only. The current owner stays valid even if inactive.
        keep_owner = Q(pk=instance.owner_id) if instance.owner_id else Q(pk__in=[])
        owner = self.fields["owner"]
        owner.queryset = get_user_model().objects.filter(Q(is_active=True) | keep_owner)
        owner.label_from_instance = _person_label
        teams = Team.objects.all() if user.is_admin else Team.objects.filter(
            Q(members=user) | Q(manager=user) | (Q(pk=instance.team_id) if instance.team_id
                                                 else Q(pk__in=[]))).distinct()
        self.fields["team"].queryset = teams.order_by("name")
        if editing:
            # On edit the current owner and team are preselected; an emptied owner or team
            # keeps the current one (never NULL: the record would drop out of everyone's
            # reach but the admins').
            owner.empty_label = _("Keep the current owner")
            self.fields["team"].empty_label = _("Keep the current team")
        else:
            owner.empty_label = _("Me")
            self.fields["team"].empty_label = _("The customer's team")
        for name in ("stage", "contact", "owner", "team"):
            if name in self.fields:
                self.fields[name].to_field_name = "uuid"
        owner.widget = UserAutocomplete(placeholder=owner.empty_label)
        owner.widget.choices = owner.choices
        self.helper = FormHelper()
        self.helper.form_tag = False
        rows = []
        if "customer_code" in self.fields:
            rows.append("customer_code")
        rows += [
            "name",
            Row(Column("amount", css_class="col-sm-6"), Column("currency", css_class="col-sm-6")),
            Row(Column("expected_close_date", css_class="col-sm-6"),
                Column("probability", css_class="col-sm-6")),
        ]
        if "stage" in self.fields:
            rows.append("stage")
        rows += ["contact",
                 Row(Column("owner", css_class="col-sm-6"), Column("team", css_class="col-sm-6")),
                 "lost_reason", "description"]
        if "version" in self.fields:
            rows.append("version")
        self.helper.layout = Layout(*rows)

    def clean_customer_code(self):
        code = self.cleaned_data["customer_code"].strip()
        customer = customer_list_for_user(self.user).prefetch_related(None).filter(
            code__iexact=code).first()
        if customer is None:
            raise forms.ValidationError(_("No customer you can see has this code."))
        return customer

    def clean_currency(self):
        return (self.cleaned_data.get("currency") or "").strip().upper()

    def customer(self) -> Customer:
        return self.fixed_customer or self.cleaned_data["customer_code"]

    def service_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k not in ("version",
                                                                        "customer_code")}
        if self.instance.pk is None:
            data["customer"] = self.customer()
            if data.get("stage") is None:
                data.pop("stage", None)
        else:
            data.pop("stage", None)
            # Emptied owner or team: keep the current one.
            for name in ("owner", "team"):
                if data.get(name) is None:
                    data.pop(name, None)
        return data


class MoveForm(forms.Form):
    stage = forms.ModelChoiceField(queryset=PipelineStage.objects.filter(is_active=True),
                                   to_field_name="uuid", label=_("Move to"))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    lost_reason = forms.CharField(label=_("Lost reason"), max_length=300, required=False,
                                  help_text=_("Required when moving to a lost stage."))

    def clean(self):
        cleaned = super().clean()
        stage = cleaned.get("stage")
        if stage is not None and stage.is_lost and not (cleaned.get("lost_reason") or "").strip():
            self.add_error("lost_reason", _("Say why the opportunity was lost."))
        return cleaned


class PlanForm(forms.ModelForm):
    class Meta:
        model = DevelopmentPlan
        fields = ["title", "goal"]
        widgets = {"goal": forms.Textarea(attrs={"rows": 2})}


class StepForm(forms.Form):
    planned_date = forms.DateField(label=_("Date"), widget=_date_input())
    action = forms.CharField(label=_("Action"), max_length=300)


class StepResultForm(forms.Form):
    result = forms.CharField(label=_("Result"), widget=forms.Textarea(attrs={"rows": 2}),
                             max_length=5000)
    done = forms.BooleanField(label=_("Done"), required=False, initial=True)
    # The step's version when the page was drawn: a stale post is refused (optimistic lock).
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, error_messages={
        "required": _("The form was incomplete; nothing was saved. Reload the page.")})


class PlanCloseForm(forms.Form):
    status = forms.ChoiceField(label=_("The plan"), choices=[
        (DevelopmentPlan.Status.SUCCEEDED, _("Succeeded")),
        (DevelopmentPlan.Status.FAILED, _("Failed")),
    ])
    outcome = forms.CharField(label=_("Outcome"), widget=forms.Textarea(attrs={"rows": 2}),
                              max_length=5000)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


# --- lead conversion ----------------------------------------------------------------------------
NEW = "new"


class ConversionForm(forms.Form):
    """Link to one of the matches or create a new customer; the contact; the opportunity."""

    target = forms.ChoiceField(label=_("Customer"), widget=forms.RadioSelect)
    kind = forms.ChoiceField(label=_("Type"), choices=Customer.Kind.choices)
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    contact_mode = forms.ChoiceField(label=_("Contact"), widget=forms.RadioSelect(
        attrs={"class": "form-check-input"}), choices=[
        ("auto", _("Link the customer's contact with the lead's e-mail if there is one, "
                   "else create a contact from the lead")),
        ("create", _("Create a new contact from the lead")),
        ("none", _("No contact")),
    ], initial="auto")
    create_opportunity = forms.BooleanField(label=_("Create an opportunity"), required=False,
                                            initial=True)
    opportunity_name = forms.CharField(label=_("Opportunity name"), max_length=200,
                                       required=False)
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2,
                                min_value=0, required=False)
    expected_close_date = forms.DateField(label=_("Expected close"), required=False,
                                          widget=_date_input())
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, matches, **kwargs):
        super().__init__(*args, **kwargs)
        self.matches = {str(c.uuid): c for c in matches}
        self.fields["target"].choices = [*[(k, c.name) for k, c in self.matches.items()],
                                         (NEW, _("Create a new customer"))]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("target") == NEW and not (cleaned.get("name") or "").strip():
            self.add_error("name", _("Give the new customer a name."))
        if cleaned.get("create_opportunity"):
            if not (cleaned.get("opportunity_name") or "").strip():
                self.add_error("opportunity_name", _("Give the opportunity a name."))
            if cleaned.get("expected_close_date") is None and \
                    "expected_close_date" not in self.errors:
                self.add_error("expected_close_date", _("When is it expected to close?"))
        return cleaned

    def chosen_customer(self) -> Customer | None:
        target = self.cleaned_data["target"]
        return None if target == NEW else self.matches[target]
