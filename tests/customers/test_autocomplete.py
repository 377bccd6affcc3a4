"""Autocomplete endpoints and widgets: JSON behind login, at most 20, and pages that render
only the chosen option instead of every user or tag."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from customers.forms.customer import CustomerBulkForm
from tests.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db
USERS = reverse("customers:autocomplete_users")
TAGS = reverse("customers:autocomplete_tags")


def test_it_needs_login(client):
    for url in (USERS, TAGS):
        response = client.get(url, {"q": "a"})
        assert response.status_code == 302 and "/login/" in response.url


def test_it_finds_active_users_by_name_or_email_prefix(client_for, manager, rep, role_groups):
    User.objects.create_user(email="zed.gone@x.example", password="x", first_name="Zed",
                             is_active=False)
    client = client_for(manager)
    found = client.get(USERS, {"q": rep.first_name[:3]}).json()["results"]
    assert {r["id"] for r in found} == {str(rep.uuid)}
    assert client.get(USERS, {"q": rep.email[:4]}).json()["results"][0]["id"] == str(rep.uuid)
    assert client.get(USERS, {"q": "zed"}).json()["results"] == []
    assert client.get(USERS, {"q": rep.first_name, "key": "pk"}).json()["results"][0]["id"] \
        == str(rep.pk)


def test_it_returns_at_most_20(client_for, manager):
    for i in range(25):
        TagFactory(name=f"vip-{i:02d}")
    found = client_for(manager).get(TAGS, {"q": "VIP"}).json()["results"]
    assert len(found) == 20 and found[0]["text"] == "vip-00"


def test_the_pages_render_only_the_chosen_option(client_for, admin, rep):
    tags = [TagFactory(name=f"tag-{i}") for i in range(5)]
    customer = CustomerFactory(owner=rep, tags=tags[:1])
    client = client_for(admin)
    page = client.get(reverse("customers:list"), {"tags": [str(tags[2].uuid)]}).text
    assert "tag-2" in page and "tag-3" not in page and "data-autocomplete-url" in page
    edit = client.get(reverse("customers:edit", args=[customer.uuid])).text
    assert "tag-0" in edit and "tag-4" not in edit
    assert f'value="{rep.pk}" selected' in edit


def test_the_bulk_form_still_validates_against_the_whole_table(rep, own_customer):
    tag = TagFactory()
    form = CustomerBulkForm({"selected": [own_customer.uuid], "action": "assign_owner",
                             "owner": rep.uuid, "tag": tag.uuid})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["owner"] == rep and form.cleaned_data["tag"] == tag


def test_the_endpoints_take_a_fixed_number_of_queries(client_for, manager,
                                                      django_assert_num_queries):
    client = client_for(manager)
    client.get(TAGS, {"q": "t"})
    for i in range(3):
        TagFactory(name=f"t{i}")
    with django_assert_num_queries(2) as few:
        client.get(TAGS, {"q": "t"})
    for i in range(3, 30):
        TagFactory(name=f"t{i}")
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(TAGS, {"q": "t"})
