"""User selects of the sales pages as autocompletes (customers.autocomplete): the page renders
the chosen user only, static/js/autocomplete.js asks the endpoint for matches. So no sales
page ever renders every active user. Values stay the users' uuids (or pks where the model
form uses them), as the views expect."""

from __future__ import annotations

import django_filters
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from customers.autocomplete import MAX_QUERY, UserAutocomplete, person_label, user_matches

NONE = "none"


class NullableUserAutocomplete(UserAutocomplete):
    """A user autocomplete that also offers "nobody" (`null_value`): the lead list's
    "Nobody (unassigned)" owner. The endpoint lists it first."""

    url = reverse_lazy("sales:autocomplete_owners")

    def __init__(self, *args, null_value=NONE, null_label="", **kwargs):
        super().__init__(*args, **kwargs)
        self.null_value = null_value
        self.null_label = null_label

    def _selected(self, values):
        values = [str(v) for v in values if v not in (None, "")]
        chosen = [(self.null_value, str(self.null_label))] if self.null_value in values else []
        return chosen + super()._selected([v for v in values if v != self.null_value])

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        url = context["widget"]["attrs"]["data-autocomplete-url"]
        context["widget"]["attrs"]["data-autocomplete-url"] = url + (
            "&" if "?" in url else "?") + "null=1"
        return context


class UserFilter(django_filters.ModelChoiceFilter):
    """A user filter rendered as an autocomplete (a null_label adds "nobody")."""

    @property
    def field(self):
        field = super().field
        field.label_from_instance = person_label
        if not isinstance(field.widget, UserAutocomplete):
            null_label = self.extra.get("null_label")
            attrs = {"class": "form-select"}
            if null_label:
                field.widget = NullableUserAutocomplete(
                    attrs=attrs, placeholder=field.empty_label,
                    null_value=self.extra.get("null_value", NONE), null_label=null_label)
            else:
                field.widget = UserAutocomplete(attrs=attrs, placeholder=field.empty_label)
            field.widget.choices = field.choices
        return field


def user_autocomplete(field, placeholder=None):
    """Make a form's user ModelChoiceField an autocomplete (keeps its queryset, to_field_name
    and validation)."""
    field.label_from_instance = person_label
    field.widget = UserAutocomplete(
        attrs={"class": "form-select"},
        placeholder=placeholder if placeholder is not None else (field.empty_label or ""))
    field.widget.choices = field.choices
    return field


@login_required
@require_GET
def owners(request):
    """Active users by name or e-mail prefix (uuids); with null=1 "Nobody (unassigned)"
    comes first when the query is empty or matches it."""
    q = " ".join(request.GET.get("q", "").split())[:MAX_QUERY]
    results = []
    if request.GET.get("null") == "1":
        label = _("Nobody (unassigned)")
        if not q or label.lower().startswith(q.lower()):
            results.append({"id": NONE, "text": label})
    found = user_matches(q).only("uuid", "first_name", "last_name", "email")
    results += [{"id": str(u.uuid), "text": person_label(u)} for u in found]
    return JsonResponse({"results": results})
