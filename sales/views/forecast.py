"""The forecast (weighted open pipeline by expected close month, by rep and by team, against
won amounts and targets) and its drill-down: the opportunities behind any figure."""

from __future__ import annotations

import datetime
import re
import uuid
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.pagination import PAGE_SIZE, keyset_paginate
from customers.autocomplete import UserAutocomplete, person_label
from sales.filters_board import owner_choices, team_choices
from sales.forecast import add_months, drill_queryset, forecast_build, month_start
from sales.forecast_ui import cell_texts, cells_html, rows_html

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
MIN_YEAR, MAX_YEAR = 1900, 9997
RANGE_CHOICES = [(3, gettext_lazy("3 months")), (6, gettext_lazy("6 months")),
                 (12, gettext_lazy("12 months"))]


class MonthField(forms.Field):
    """A month as YYYY-MM (an <input type="month">), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "class": "form-control"})

    def to_python(self, value):
        if value in self.empty_values:
            return None
        match = MONTH_RE.match(str(value)[:8])
        try:
            if not match:
                raise ValueError
            month = datetime.date(int(match[1]), int(match[2]), 1)
        except ValueError:
            raise ValidationError(_("Enter a month as YYYY-MM.")) from None
        if not MIN_YEAR <= month.year <= MAX_YEAR:
            # The range (up to 24 months) and the quarters around it must stay in the
            # calendar PostgreSQL and Python share.
            raise ValidationError(_("Choose a month between %(min)d and %(max)d.")
                                  % {"min": MIN_YEAR, "max": MAX_YEAR})
        return month

    def prepare_value(self, value):
        return value.strftime("%Y-%m") if isinstance(value, datetime.date) else value


class ForecastForm(forms.Form):
    start = MonthField(label=gettext_lazy("From"), required=False)
    months = forms.TypedChoiceField(label=gettext_lazy("Range"), choices=RANGE_CHOICES,
                                    coerce=int, required=False, empty_value=6)
    owner = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=owner_choices(),
                                   to_field_name="uuid", required=False,
                                   empty_label=gettext_lazy("Any owner"),
                                   widget=UserAutocomplete)
    team = forms.ModelChoiceField(label=gettext_lazy("Team"), queryset=team_choices(),
                                  to_field_name="uuid", required=False,
                                  empty_label=gettext_lazy("Any team"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The owner is an autocomplete: the page renders the chosen user only.
        owner = self.fields["owner"]
        owner.label_from_instance = person_label
        owner.widget.placeholder = str(owner.empty_label)
        for name, field in self.fields.items():
            field.widget.attrs.setdefault(
                "class", "form-select" if name != "start" else "form-control")

    def values(self) -> dict:
        """The chosen values; invalid or missing ones fall back to this month and 6 months
        (the page shows the errors)."""
        data = {}
        if self.is_bound:
            self.is_valid()
            data = self.cleaned_data
        return {
            "start": data.get("start") or month_start(timezone.localdate()),
            "months": data.get("months") or 6,
            "owner": data.get("owner"),
            "team": data.get("team"),
        }


def _require_view(user) -> None:
    if not user.has_perm("sales.view_opportunity"):
        raise PermissionDenied


@login_required
def forecast(request):
    _require_view(request.user)
    form = ForecastForm(request.GET or None, initial={
        "start": month_start(timezone.localdate()), "months": 6})
    values = form.values()
    owner, team = values["owner"], values["team"]
    result = forecast_build(request.user, start=values["start"], months=values["months"],
                            owner_id=owner.pk if owner else None,
                            team_id=team.pk if team else None)
    scope = {}
    if owner:
        scope["owner"] = str(owner.uuid)
    if team:
        scope["team"] = str(team.uuid)
    total_query = urlencode({"start": _month(result.start), "months": result.months, **scope})
    _attach_queries(result, scope)
    texts = cell_texts()
    for p in (*result.month_rows, *result.quarter_rows):
        p.cells = cells_html(p.figure, p.query, texts)
    return render(request, "sales/forecast/forecast.html", {
        "form": form,
        "form_errors": form.errors if form.is_bound else {},
        "forecast": result,
        "chart": result.chart(),
        "total_cells": cells_html(result.total, total_query, texts),
        "rep_rows_html": rows_html(result.rep_rows, _("Nobody"), texts),
        "team_rows_html": rows_html(result.team_rows, _("No team"), texts),
        "currency": settings.CRM_CURRENCY,
        "can_edit_targets": request.user.has_perm("sales.add_salestarget"),
        "nav_active": "forecast",
    })


def _month(day: datetime.date) -> str:
    return day.strftime("%Y-%m")


def _attach_queries(result, scope: dict) -> None:
    """The drill-down query string of every figure's row (what the link lists)."""
    whole = {"start": _month(result.start), "months": result.months}
    for p in result.month_rows:
        p.query = urlencode({"start": _month(p.start), "months": 1, **scope})
    for p in result.quarter_rows:
        first = max(p.start, result.start)
        p.partial = p.months < 3
        p.label = _("%(year)d Q%(quarter)d") % {"year": p.start.year,
                                                 "quarter": (p.start.month - 1) // 3 + 1}
        p.query = urlencode({"start": _month(first), "months": p.months, **scope})
    for row in result.rep_rows:
        row.query = urlencode({**whole, **scope, "owner": row.code or "none"})
    for row in result.team_rows:
        row.query = urlencode({**whole, **scope, "team": row.code or "none"})


class DrillForm(forms.Form):
    kind = forms.ChoiceField(choices=[("open", "open"), ("won", "won")], required=False)
    start = MonthField(required=True)
    months = forms.IntegerField(min_value=1, max_value=24, required=False)
    owner = forms.CharField(required=False, max_length=36)
    team = forms.CharField(required=False, max_length=36)

    def _code(self, name):
        value = self.cleaned_data[name].strip().lower()
        if value in ("", "none"):
            return value or None
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValidationError(_("Not a valid choice.")) from None

    def clean_owner(self):
        return self._code("owner")

    def clean_team(self):
        return self._code("team")


@login_required
def forecast_drill(request):
    _require_view(request.user)
    form = DrillForm(request.GET)
    if not form.is_valid():
        return render(request, "sales/forecast/drill.html", {
            "form_errors": form.errors, "page": None, "nav_active": "forecast",
            "currency": settings.CRM_CURRENCY}, status=400)
    data = form.cleaned_data
    kind = data["kind"] or "open"
    months = data["months"] or 1
    queryset = drill_queryset(request.user, kind=kind, start=data["start"], months=months,
                              owner=data["owner"], team=data["team"])
    ordering = ("closed_at", "id") if kind == "won" else ("expected_close_date", "id")
    page = keyset_paginate(queryset, ordering=ordering, after=request.GET.get("after"),
                           page_size=PAGE_SIZE)
    return render(request, "sales/forecast/drill.html", {
        "page": page,
        "kind": kind,
        "start": data["start"],
        "end": add_months(data["start"], months) - datetime.timedelta(days=1),
        "currency": settings.CRM_CURRENCY,
        "nav_active": "forecast",
    })
