"""Autocomplete for owner, assignee and tag selects: JSON endpoints (behind login, at most 20
matches, prefix matches on indexed columns) and the widgets that render only the selected
option plus the endpoint's URL; static/js/autocomplete.js turns them into a combobox. So no
page ever renders every user or every tag."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import JsonResponse
from django.urls import reverse_lazy
from django.views.decorators.http import require_GET

from crm.forms import FastSelect, FastSelectMultiple
from customers.models import Tag

LIMIT = 20
MAX_QUERY = 100


def person_label(user) -> str:
    return user.get_full_name() or user.email


def user_matches(q: str, *, base=None):
    """Active users whose first name, last name or e-mail starts with `q` (each word of a
    "First Last" query narrows further), ordered by name; at most LIMIT."""
    qs = base if base is not None else get_user_model().objects.all()
    qs = qs.filter(is_active=True)
    for word in q.split()[:3]:
        qs = qs.filter(Q(first_name__istartswith=word) | Q(last_name__istartswith=word)
                       | Q(email__istartswith=word))
    return qs.order_by("first_name", "last_name", "email")[:LIMIT]


def tag_matches(q: str):
    qs = Tag.objects.all()
    if q:
        qs = qs.filter(name__istartswith=q)
    return qs.order_by("name")[:LIMIT]


def _query(request) -> str:
    return " ".join(request.GET.get("q", "").split())[:MAX_QUERY]


@login_required
@require_GET
def users(request):
    """?q=text[&scope=assignee]: the assignee scope keeps to whom the user may give tasks."""
    base = None
    if request.GET.get("scope") == "assignee":
        from customers.task_services import assignable_users_q

        base = get_user_model().objects.filter(assignable_users_q(request.user)).distinct()
    found = user_matches(_query(request), base=base).only(
        "uuid", "pk", "first_name", "last_name", "email")
    field = "pk" if request.GET.get("key") == "pk" else "uuid"
    return JsonResponse({"results": [{"id": str(getattr(u, field)), "text": person_label(u)}
                                     for u in found]})


@login_required
@require_GET
def tags(request):
    found = tag_matches(_query(request)).only("uuid", "pk", "name")
    field = "pk" if request.GET.get("key") == "pk" else "uuid"
    return JsonResponse({"results": [{"id": str(getattr(t, field)), "text": t.name}
                                     for t in found]})


@login_required
@require_GET
def contacts(request):
    """?customer=<uuid>&q=text: that customer's contacts (the customer through its access path)
    whose first name, last name or e-mail starts with `q`, primary first; at most LIMIT."""
    from customers.models import Contact
    from customers.selectors import customer_get_for_user

    customer = customer_get_for_user(request.user, request.GET.get("customer"))
    qs = Contact.objects.alive().filter(customer=customer)
    for word in _query(request).split()[:3]:
        qs = qs.filter(Q(first_name__istartswith=word) | Q(last_name__istartswith=word)
                       | Q(email__istartswith=word))
    found = qs.order_by("-is_primary", "last_name", "first_name")[:LIMIT].only(
        "pk", "uuid", "first_name", "last_name")
    field = "pk" if request.GET.get("key") == "pk" else "uuid"
    return JsonResponse({"results": [{"id": str(getattr(c, field)), "text": str(c)}
                                     for c in found]})


# --- widgets -------------------------------------------------------------------------------------
class _SelectedOnly:
    """Render only the chosen option(s): look the values up (one indexed query) instead of
    iterating the field's whole queryset."""

    url = None
    extra_query = ""

    def __init__(self, *args, url=None, extra_query="", placeholder="", **kwargs):
        super().__init__(*args, **kwargs)
        self.url = url if url is not None else self.url
        self.extra_query = extra_query
        self.placeholder = placeholder

    def _selected(self, values):
        values = [str(v) for v in values if v not in (None, "")]
        choices = self.choices
        queryset = getattr(choices, "queryset", None)
        if queryset is None or not values:
            return [(v, label) for v, label in choices if str(v) in values] if values else []
        field = choices.field
        key = field.to_field_name or "pk"
        try:
            objects = list(queryset.filter(**{f"{key}__in": values}))
        except (ValueError, TypeError, forms.ValidationError):
            return []
        return [(str(getattr(o, key)), field.label_from_instance(o)) for o in objects]

    def optgroups(self, name, value, attrs=None):
        groups = []
        if not self.allow_multiple_selected:
            groups.append((None, [self.create_option(name, "", self.placeholder or "",
                                                     not any(value), 0)], 0))
        for index, (key, label) in enumerate(self._selected(value), start=1):
            groups.append((None, [self.create_option(name, key, label, True, index)], index))
        return groups

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        url = str(self.url)
        params = [self.extra_query] if self.extra_query else []
        field = getattr(self.choices, "field", None)
        if field is not None and field.to_field_name in (None, "", "id", "pk"):
            params.append("key=pk")  # the field's values are primary keys, not uuids
        if params:
            url += ("&" if "?" in url else "?") + "&".join(params)
        context["widget"]["attrs"]["data-autocomplete-url"] = url
        if self.placeholder:
            context["widget"]["attrs"]["data-placeholder"] = str(self.placeholder)
        return context


class AutocompleteSelect(_SelectedOnly, FastSelect):
    url = reverse_lazy("customers:autocomplete_users")


class AutocompleteSelectMultiple(_SelectedOnly, FastSelectMultiple):
    url = reverse_lazy("customers:autocomplete_tags")


class UserAutocomplete(AutocompleteSelect):
    url = reverse_lazy("customers:autocomplete_users")


class TagAutocomplete(AutocompleteSelect):
    url = reverse_lazy("customers:autocomplete_tags")


class ContactAutocomplete(AutocompleteSelect):
    """A contact of one customer: pass extra_query=f"customer={customer.uuid}"."""

    url = reverse_lazy("customers:autocomplete_contacts")


class TagAutocompleteMultiple(AutocompleteSelectMultiple):
    url = reverse_lazy("customers:autocomplete_tags")
