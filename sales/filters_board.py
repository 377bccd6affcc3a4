"""The board's filters (owner, team, expected close range, search), validated by django-filter;
the forecast and its drill-down reuse the owner and team choices."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from crm.filters import BootstrapFilterSet
from sales.autocomplete import UserFilter
from sales.models import Opportunity
from sales.search import like_q


def owner_choices(request=None):
    return get_user_model().objects.filter(is_active=True).order_by("first_name", "email")


def team_choices(request=None):
    return Team.objects.order_by("name")


class BoardFilter(BootstrapFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=100)
    owner = UserFilter(queryset=owner_choices, label=_("Owner"), to_field_name="uuid",
                       empty_label=_("Any owner"))
    team = django_filters.ModelChoiceFilter(queryset=team_choices, label=_("Team"),
                                            to_field_name="uuid",
                                            empty_label=_("Any team"))
    close_after = django_filters.DateFilter(
        field_name="expected_close_date", lookup_expr="gte", label=_("Closing from"),
        widget=forms.DateInput(attrs={"type": "date"}))
    close_before = django_filters.DateFilter(
        field_name="expected_close_date", lookup_expr="lte", label=_("Closing until"),
        widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Opportunity
        fields: list[str] = []

    def search(self, queryset, name, value):
        """The opportunity or its customer by name (trigram indexes on UPPER(name) serve
        icontains)."""
        value = value.strip()
        if not value:
            return queryset
        # Below three characters a whole-value match (see sales.search).
        return queryset.filter(like_q(value, "name", "customer__name"))

    @property
    def in_use(self) -> bool:
        return self.is_bound and any(self.data.get(k) for k in self.filters)
