"""The sales target form (crispy, optimistic locking) and the target list's filters."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from crm.filters import BootstrapFilterSet
from crm.forms import VersionedModelForm
from sales.autocomplete import UserFilter, user_autocomplete
from sales.models import SalesTarget
from sales.permissions import sales_policy_for


def manageable_users(actor):
    users = get_user_model().objects.filter(is_active=True).order_by("first_name", "email")
    if actor.is_admin:
        return users
    return users.filter(pk__in=sales_policy_for(actor).reach.managed_member_ids)


def manageable_teams(actor):
    teams = Team.objects.order_by("name")
    if actor.is_admin:
        return teams
    return teams.filter(pk__in=sales_policy_for(actor).reach.managed_team_ids)


class SalesTargetForm(VersionedModelForm):
    class Meta:
        model = SalesTarget
        fields = ["user", "team", "period", "period_start", "amount"]
        widgets = {"period_start": forms.DateInput(attrs={"type": "date"})}
        help_texts = {
            "period_start": _("Any day of the month or quarter: the target starts on its "
                              "first day."),
        }

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = manageable_users(actor)
        self.fields["team"].queryset = manageable_teams(actor)
        user_autocomplete(self.fields["user"])
        self.fields["user"].help_text = _("A rep's target, or …")
        self.fields["team"].help_text = _("… a team's target (set one of the two).")
        if not self.instance.pk:
            self.fields["version"].required = False

    def clean(self):
        data = super().clean()
        if bool(data.get("user")) == bool(data.get("team")):
            raise forms.ValidationError(_("Choose a user or a team (one of the two)."))
        return data

    def validate_unique(self):
        # The service checks the normalised period; the form's own check would use the raw date.
        pass

    def validate_constraints(self):
        pass  # likewise: clean() and the service say it in words

    def service_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.Meta.fields}


class TargetFilter(BootstrapFilterSet):
    period = django_filters.ChoiceFilter(choices=SalesTarget.Period.choices, label=_("Period"),
                                         empty_label=_("Any period"))
    starting_from = django_filters.DateFilter(
        field_name="period_start", lookup_expr="gte", label=_("Starting from"),
        widget=forms.DateInput(attrs={"type": "date"}))
    starting_until = django_filters.DateFilter(
        field_name="period_start", lookup_expr="lte", label=_("Starting until"),
        widget=forms.DateInput(attrs={"type": "date"}))
    user = UserFilter(
        queryset=lambda request: get_user_model().objects.filter(is_active=True).order_by(
            "first_name", "email"), label=_("User"), empty_label=_("Any user"))
    team = django_filters.ModelChoiceFilter(queryset=lambda request: Team.objects.order_by(
        "name"), label=_("Team"), empty_label=_("Any team"))

    class Meta:
        model = SalesTarget
        fields: list[str] = []
