"""The customer list's filter bar: rendered once per process while unbound ({% filter_bar %},
crm.filters), the same HTML as rendering it every time, and never stale: a changed list, a
new custom field or another language is another bar."""

from __future__ import annotations

import re

import pytest
from django.template import engines
from django.urls import reverse

from crm import filters as crm_filters
from customers.models import Customer, CustomFieldDefinition, DictionaryEntry
from tests.factories import DictionaryEntryFactory, TeamFactory

LIST = reverse("customers:list")


@pytest.fixture(autouse=True)
def _no_bars_yet():
    crm_filters.bar_clear()
    yield
    crm_filters.bar_clear()


def bar_of(response) -> str:
    html = response.content.decode()
    return html[html.index('<form method="get" class="filter-bar'):
                html.index("</form>", html.index('class="filter-bar')) + len("</form>")]


def without_tokens(html: str) -> str:
    return re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": "|nonce=")[^"]+', "", html)


def test_the_unbound_bar_is_built_once_and_then_reused(client_for, rep):
    DictionaryEntryFactory(kind=DictionaryEntry.Kind.LEVEL, code="gold", label="Gold")
    client = client_for(rep)
    first = client.get(LIST)
    assert hasattr(first.context["filter"], "_form")  # built and rendered
    second = client.get(LIST)
    assert second.status_code == 200
    assert not hasattr(second.context["filter"], "_form")  # the form was never built
    assert without_tokens(second.content.decode()) == without_tokens(first.content.decode())
    assert '<option value="' in bar_of(second) and ">Gold</option>" in bar_of(second)


def test_the_reused_bar_is_what_rendering_it_again_gives(client_for, rep):
    """Cached or not, byte for byte (the tag only decides whether the inside renders)."""
    client = client_for(rep)
    cached = bar_of(client.get(LIST))
    crm_filters.bar_clear()
    assert bar_of(client.get(LIST)) == cached


def test_a_renamed_or_new_entry_shows_at_once(client_for, rep):
    gold = DictionaryEntryFactory(kind=DictionaryEntry.Kind.LEVEL, code="gold", label="Gold")
    client = client_for(rep)
    assert ">Gold</option>" in bar_of(client.get(LIST))
    DictionaryEntry.objects.filter(pk=gold.pk).update(label="Platinum")
    DictionaryEntryFactory(kind=DictionaryEntry.Kind.REGION, code="north", label="North")
    TeamFactory(name="Sales East")
    bar = bar_of(client.get(LIST))
    assert ">Platinum</option>" in bar and ">Gold</option>" not in bar
    assert ">North</option>" in bar and ">Sales East</option>" in bar


def test_a_retired_entry_leaves_at_once(client_for, rep):
    gold = DictionaryEntryFactory(kind=DictionaryEntry.Kind.LEVEL, code="gold", label="Gold")
    client = client_for(rep)
    assert ">Gold</option>" in bar_of(client.get(LIST))
    DictionaryEntry.objects.filter(pk=gold.pk).update(is_active=False)
    assert ">Gold</option>" not in bar_of(client.get(LIST))


def test_a_custom_field_filter_and_its_changes_show_at_once(client_for, rep):
    client = client_for(rep)
    assert 'data-testid="custom-filter"' not in bar_of(client.get(LIST))
    plan = CustomFieldDefinition.objects.create(
        entity=CustomFieldDefinition.Entity.CUSTOMER, key="plan", label="Plan",
        field_type="choice", choices=["Basic", "Pro"])
    bar = bar_of(client.get(LIST))
    assert 'data-testid="custom-filter"' in bar and ">Pro</option>" in bar
    CustomFieldDefinition.objects.filter(pk=plan.pk).update(
        choices=["Basic", "Enterprise"], version=plan.version + 1)
    bar = bar_of(client.get(LIST))
    assert ">Enterprise</option>" in bar and ">Pro</option>" not in bar


def test_each_language_has_its_own_bar(client_for, rep):
    rep.language = "zh-hans"
    rep.save(update_fields=["language"])
    client = client_for(rep)
    chinese = client.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "所有状态" in bar_of(chinese)
    rep.language = "en"
    rep.save(update_fields=["language"])
    english = client.get(LIST, HTTP_ACCEPT_LANGUAGE="en")
    assert "Any status" in bar_of(english) and "所有状态" not in bar_of(english)


def test_a_bound_bar_is_rendered_every_time(client_for, rep):
    """Chosen values and errors are the request's own: never reused, never stored."""
    client = client_for(rep)
    client.get(LIST)
    stored = len(crm_filters._BARS)
    response = client.get(LIST, {"status": Customer.Status.AT_RISK, "team": "not-a-uuid"})
    assert hasattr(response.context["filter"], "_form")
    assert '<option value="at_risk" selected>' in bar_of(response)
    assert len(crm_filters._BARS) == stored
    again = client.get(LIST, {"status": Customer.Status.ACTIVE})
    assert '<option value="active" selected>' in bar_of(again)
    assert '<option value="at_risk" selected>' not in bar_of(again)


def test_the_store_is_bounded(client_for, rep, monkeypatch):
    monkeypatch.setattr(crm_filters, "_BARS_SIZE", 2)
    for key in ("a", "b", "c"):
        crm_filters.bar_put(key, key)
    assert list(crm_filters._BARS) == ["b", "c"]


def test_the_tag_renders_its_inside_for_anything_but_a_filter_set():
    template = engines["django"].from_string(
        "{% load crm_filters %}{% filter_bar thing %}<b>{{ thing }}</b>{% endfilter_bar %}")
    assert template.render({"thing": "x"}) == "<b>x</b>"
    assert template.render({"thing": None}) == "<b>None</b>"
    assert not crm_filters._BARS
