"""Global search pages: the navbar's dropdown (an htmx fragment, 5 results per kind) and the
results page for Enter (20 per kind). The results come from the providers the apps register
in crm.search, each reading through its app's access path.

Wired with one line in crm/urls.py: path("search/", include("crm.search_views")).
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from crm import search


class SearchForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False,
                        max_length=search.MAX_QUERY_LENGTH)

    def clean_q(self) -> str:
        query = search.normalize(self.cleaned_data["q"])
        if query and len(query) < search.MIN_QUERY_LENGTH:
            raise forms.ValidationError(
                _("Type at least %(count)d characters to search.")
                % {"count": search.MIN_QUERY_LENGTH})
        return query


def _fragment(template: str, context: dict) -> HttpResponse:
    """A fragment rendered without the context processors: the navigation's permission
    lookups would cost queries on every keystroke, for nothing the fragment shows."""
    return HttpResponse(render_to_string(template, context))


def _run(request, limit: int) -> dict:
    """Validate the query string and run the search; a bad query runs nothing."""
    form = SearchForm(request.GET)
    groups, query, error = [], "", ""
    if form.is_valid():
        query = form.cleaned_data["q"]
        if query:
            groups = search.search(request.user, query, limit)
    else:
        error = " ".join(form.errors.get("q", []))
        if len(request.GET.get("q", "")) > search.MAX_QUERY_LENGTH:
            error = _("Search for at most %(count)d characters.") % {
                "count": search.MAX_QUERY_LENGTH}
    return {"form": form, "query": query, "groups": groups, "error": error, "limit": limit}


@login_required
@require_GET
def search_page(request):
    context = _run(request, search.PAGE_LIMIT)
    if request.htmx and not request.htmx.boosted:
        return _fragment("search/_results.html", context)
    return render(request, "search/search.html", context)


@login_required
@require_GET
def search_suggest(request):
    """The navbar dropdown: empty until the query has 2 characters."""
    return _fragment("search/_dropdown.html", _run(request, search.DROPDOWN_LIMIT))


app_name = "search"

urlpatterns = [
    path("", search_page, name="page"),
    path("suggest/", search_suggest, name="suggest"),
]
