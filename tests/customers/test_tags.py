"""Tag management: create, rename, recolour; access; bad input changes nothing."""

import pytest

from crm.models import Event
from customers.models import Tag
from tests.factories import TagFactory

pytestmark = pytest.mark.django_db
TAGS = "/customers/tags/"


def test_it_needs_a_login(client):
    assert client.get(TAGS).status_code == 302


def test_it_lets_a_rep_create_a_tag(client_for, rep):
    response = client_for(rep).post(TAGS, {"name": "Hot lead", "color": "warning"})
    assert response.status_code == 302
    tag = Tag.objects.get(name="Hot lead")
    assert tag.color == "warning"
    assert Event.objects.filter(name="tag.created", actor=rep).exists()


def test_it_refuses_a_duplicate_name_whatever_the_case(client_for, rep):
    TagFactory(name="VIP")
    response = client_for(rep).post(TAGS, {"name": "vip", "color": "danger"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Tag.objects.filter(name__iexact="vip").count() == 1


def test_it_refuses_a_bad_colour(client_for, rep):
    response = client_for(rep).post(TAGS, {"name": "Odd", "color": "purple; x"})
    assert response.status_code == 200
    assert not Tag.objects.filter(name="Odd").exists()


def test_a_read_only_user_sees_tags_but_cannot_create_or_edit(client_for, analyst):
    tag = TagFactory(name="Partner")
    client = client_for(analyst)
    assert client.get(TAGS).status_code == 200
    assert client.post(TAGS, {"name": "New", "color": "info"}).status_code == 403
    assert client.get(f"{TAGS}{tag.uuid}/").status_code == 403
    assert not Tag.objects.filter(name="New").exists()


def test_a_manager_renames_and_a_stale_form_is_refused(client_for, manager):
    tag = TagFactory(name="Trade show", color="info")
    client = client_for(manager)
    old_version = tag.version
    response = client.post(f"{TAGS}{tag.uuid}/", {"name": "Trade show 2026", "color": "primary",
                                                  "version": old_version})
    assert response.status_code == 302
    tag.refresh_from_db()
    assert (tag.name, tag.color) == ("Trade show 2026", "primary")
    response = client.post(f"{TAGS}{tag.uuid}/", {"name": "Other", "color": "info",
                                                  "version": old_version})
    assert "Someone else changed this record" in response.content.decode()
    tag.refresh_from_db()
    assert tag.name == "Trade show 2026"


def test_an_unknown_tag_is_404(client_for, manager):
    assert client_for(manager).get(f"{TAGS}00000000-0000-0000-0000-000000000000/").status_code \
        == 404


def test_the_list_query_count_does_not_grow(client_for, rep, django_assert_num_queries):
    client = client_for(rep)
    TagFactory.create_batch(2)
    client.get(TAGS)
    with django_assert_num_queries(2) as few:
        client.get(TAGS)
    TagFactory.create_batch(30)
    with django_assert_num_queries(len(few)):
        client.get(TAGS)
