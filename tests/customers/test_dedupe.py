"""Duplicates: finding likely pairs, the compare-and-merge page and the merge service."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from crm.exceptions import ApplicationError, StaleObjectError
from crm.models import Event
from customers import dedupe_ui
from customers.merge import customer_merge
from customers.models import (
    Contact,
    Customer,
    CustomerTag,
    CustomerUserObjectPermission,
    ImportChange,
    ImportJob,
    Interaction,
    Segment,
    SegmentMember,
    Task,
)
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    InteractionFactory,
    TagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LIST = reverse("customers:duplicates")


@pytest.fixture(autouse=True)
def _registered():
    dedupe_ui.register()


def merge_url(source, target):
    return reverse("customers:merge", kwargs={"source": source.uuid, "target": target.uuid})


def unique_name() -> str:
    return f"Q{uuid.uuid4().hex[:12]} {uuid.uuid4().hex[:6]}"


def customer(owner, team, name=None, ago=0, **kwargs):
    c = CustomerFactory(name=name or unique_name(), owner=owner, team=team, **kwargs)
    Customer.objects.filter(pk=c.pk).update(created_at=timezone.now() - timedelta(days=ago))
    c.refresh_from_db()
    return c


def pairs_of(response):
    return {(p.newer.pk, p.older.pk): p.reasons for p in response.context["pairs"]}


# --- finding duplicates -----------------------------------------------------------------------
def test_it_finds_duplicates_by_email_ignoring_case(client_for, manager, team):
    old = customer(manager, team, email="Sales@Zeta.example", ago=3)
    new = customer(manager, team, email="sales@zeta.EXAMPLE")
    response = client_for(manager).get(LIST)
    assert response.status_code == 200
    assert pairs_of(response)[(new.pk, old.pk)] == ["email"]
    assert merge_url(new, old) in response.content.decode()
    assert "Compare and merge" in response.content.decode()


def test_it_finds_duplicates_by_phone_digits_in_any_format(client_for, manager, team):
    old = customer(manager, team, phone="+86 (21) 5555-0199", ago=2)
    new = customer(manager, team, phone="86 21 5555 0199")
    other = customer(manager, team, phone="+86 21 5555 0198")
    pairs = pairs_of(client_for(manager).get(LIST))
    assert pairs[(new.pk, old.pk)] == ["phone"]
    assert not any(other.pk in key for key in pairs)


def test_it_finds_duplicates_by_similar_names(client_for, manager, team):
    old = customer(manager, team, name="Zephyrine Logistics Shanghai", ago=5)
    new = customer(manager, team, name="Zephyrine Logistic Shanghai Ltd")
    unrelated = customer(manager, team, name="Harbour Bakery")
    pairs = pairs_of(client_for(manager).get(LIST))
    assert pairs[(new.pk, old.pk)] == ["name"]
    assert not any(unrelated.pk in key for key in pairs)


def test_it_lists_a_pair_once_with_every_reason(client_for, manager, team):
    old = customer(manager, team, name="Orinoco Paper Mills", email="a@orinoco.example",
                   phone="021 6666 7777", ago=1)
    new = customer(manager, team, name="Orinoco Paper Mill", email="A@orinoco.example",
                   phone="(021) 6666-7777")
    response = client_for(manager).get(LIST)
    assert pairs_of(response) == {(new.pk, old.pk): ["email", "phone", "name"]}
    assert len(response.context["pairs"]) == 1


def test_it_ignores_customers_in_the_trash_and_out_of_sight(client_for, manager, team,
                                                            outsider):
    new = customer(manager, team, email="dup@kappa.example")
    customer(manager, team, email="dup@kappa.example", ago=2,
             deleted_at=timezone.now())
    customer(outsider, None, email="dup@kappa.example", ago=3)  # manager cannot see it
    response = client_for(manager).get(LIST)
    assert not any(new.pk in key for key in pairs_of(response))


def test_it_shows_one_customers_duplicates_both_ways(client_for, manager, team):
    old = customer(manager, team, email="x@lambda.example", ago=4)
    mid = customer(manager, team, email="x@lambda.example", ago=2)
    new = customer(manager, team, email="X@lambda.example")
    response = client_for(manager).get(LIST, {"customer": mid.uuid})
    assert set(pairs_of(response)) == {(mid.pk, old.pk), (new.pk, mid.pk)}
    assert response.context["focus"] == mid


def test_it_pages_through_the_customers(client_for, manager, team, monkeypatch):
    import customers.views.dedupe as views

    monkeypatch.setattr(views, "WINDOW", 2)
    old = customer(manager, team, email="p@mu.example", ago=10)
    for _ in range(3):
        customer(manager, team)
    new = customer(manager, team, email="p@mu.example")
    client = client_for(manager)
    first = client.get(LIST)
    assert pairs_of(first) == {(new.pk, old.pk): ["email"]}
    second = client.get(LIST, {"after": first.context["page"].next_cursor})
    assert len(second.context["page"].object_list) == 2
    assert pairs_of(second) == {}  # the pair is listed once, on its newer record's page


def test_it_needs_login(client):
    response = client.get(LIST)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("persona", ["analyst", "rep", "outsider"])
def test_it_refuses_the_list_without_the_merge_permission(client_for, request, persona):
    user = request.getfixturevalue(persona)
    assert client_for(user).get(LIST).status_code == 403


def test_it_404s_an_invisible_focus_customer(client_for, manager, other_customer):
    response = client_for(manager).get(LIST, {"customer": other_customer.uuid})
    assert response.status_code == 404


def test_the_list_query_count_does_not_grow_with_rows(client_for, manager, team,
                                                      django_assert_num_queries):
    client = client_for(manager)
    for i in range(2):
        customer(manager, team, email=f"same{i}@nu.example", ago=i + 1)
        customer(manager, team, email=f"same{i}@nu.example")
    client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(LIST).context["pairs"]) == 2
    assert len(few.captured_queries) <= 12
    for i in range(30):
        customer(manager, team, email=f"many{i}@nu.example", ago=i + 1)
        customer(manager, team, email=f"many{i}@nu.example", phone=f"0571 8{i:03d} 4444")
        customer(manager, team, phone=f"0571-8{i:03d}-4444", ago=40)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(client.get(LIST).context["pairs"]) > 20


# --- the merge page ---------------------------------------------------------------------------
@pytest.fixture
def pair(manager, team):
    target = customer(manager, team, name="Sigma Robotics", email="", city="Hangzhou", ago=9)
    source = customer(manager, team, name="Sigma Robotics Co", email="info@sigma.example",
                      city="Ningbo")
    return source, target


def test_it_shows_both_records_side_by_side(client_for, manager, pair):
    source, target = pair
    response = client_for(manager).get(merge_url(source, target))
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.context["form"].table()}
    # default: the target's non-empty value, else the source's
    assert rows["name"]["selected"] == "target"
    assert rows["city"]["selected"] == "target"
    assert rows["email"]["selected"] == "source"
    assert "code" not in rows and "phone" in rows
    body = response.content.decode()
    assert "Sigma Robotics Co" in body and "info@sigma.example" in body


def test_it_merges_with_the_chosen_values(client_for, manager, pair):
    source, target = pair
    response = client_for(manager).post(merge_url(source, target), {
        "name": "source", "city": "target", "email": "source", "phone": "target",
        "source_version": source.version, "target_version": target.version,
    })
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", kwargs={"uuid": target.uuid})
    target.refresh_from_db()
    source.refresh_from_db()
    assert (target.name, target.city, target.email) == ("Sigma Robotics Co", "Hangzhou",
                                                        "info@sigma.example")
    assert source.deleted_at is not None and source.deleted_by == manager
    assert Customer.objects.deleted().filter(pk=source.pk).exists()  # in the trash


def test_it_moves_everything_to_the_target(manager, team, rep, pair):
    source, target = pair
    shared_tag, own_tag = TagFactory(name="vip"), TagFactory(name="expo")
    CustomerTag.objects.create(customer=target, tag=shared_tag)
    CustomerTag.objects.create(customer=source, tag=shared_tag)
    CustomerTag.objects.create(customer=source, tag=own_tag)
    ContactFactory(customer=target, is_primary=True)
    moved_primary = ContactFactory(customer=source, is_primary=True)
    ContactFactory(customer=source)
    InteractionFactory.create_batch(3, customer=source, user=manager)
    Task.objects.create(title="Call back", due_at=timezone.now(), assignee=rep,
                        customer=source)
    both, only_source = Segment.objects.create(name="Both"), Segment.objects.create(name="One")
    SegmentMember.objects.create(segment=both, customer=target)
    SegmentMember.objects.create(segment=both, customer=source)
    SegmentMember.objects.create(segment=only_source, customer=source)
    colleague, viewer = UserFactory(), UserFactory()
    assign_perm("customers.view_customer", colleague, target)
    assign_perm("customers.view_customer", colleague, source)
    assign_perm("customers.change_customer", viewer, source)
    job = ImportJob.objects.create(created_by=manager, original_name="a.csv")
    ImportChange.objects.create(job=job, customer=source, action="created")
    earlier = Event.objects.create(name="customer.created", customer_id=source.pk)

    customer_merge(actor=manager, source=source, target=target, choices={},
                   source_version=source.version, target_version=target.version)

    assert Contact.objects.filter(customer=target).count() == 3
    moved_primary.refresh_from_db()
    assert moved_primary.is_primary is False  # the target keeps its primary contact
    assert Interaction.objects.filter(customer=target).count() == 3
    assert Task.objects.filter(customer=target).count() == 1
    assert sorted(target.tags.values_list("name", flat=True)) == ["expo", "vip"]
    assert CustomerTag.objects.filter(customer=target, tag=shared_tag).count() == 1
    assert set(SegmentMember.objects.filter(customer=target)
               .values_list("segment__name", flat=True)) == {"Both", "One"}
    # Sharing grants and import history stay with the duplicate (merge.STAY_WITH_SOURCE):
    # access to the duplicate is not access to the survivor, and undoing the import must not
    # touch the survivor.
    assert CustomerUserObjectPermission.objects.filter(content_object=target, user=colleague)\
        .count() == 1
    assert not CustomerUserObjectPermission.objects.filter(content_object=target,
                                                           user=viewer).exists()
    assert CustomerUserObjectPermission.objects.filter(content_object=source,
                                                       user=viewer).exists()
    assert ImportChange.objects.filter(customer=source).count() == 1
    earlier.refresh_from_db()
    assert earlier.customer_id == target.pk  # the timeline follows
    # nothing references the source any more
    for model, field in [(Contact, "customer"), (Interaction, "customer"), (Task, "customer"),
                         (CustomerTag, "customer"), (SegmentMember, "customer")]:
        assert not model.objects.filter(**{field: source}).exists(), model

    merged = Event.objects.get(name="customer.merged")
    assert merged.customer_id == target.pk and merged.actor == manager
    assert merged.payload["source"]["name"] == "Sigma Robotics Co"
    assert merged.payload["source"]["email"] == "info@sigma.example"
    assert merged.payload["moved"]["customers.contacts"] == 2
    assert merged.payload["moved"]["customers.interactions"] == 3
    assert merged.payload["moved"]["customers.tags"] == 1
    away = Event.objects.get(name="customer.merged_away")
    assert away.customer_id == source.pk and away.payload["into"] == str(target.uuid)


def test_it_shows_the_merge_on_the_targets_timeline(client_for, manager, pair):
    source, target = pair
    customer_merge(actor=manager, source=source, target=target, choices={},
                   source_version=source.version, target_version=target.version)
    response = client_for(manager).get(reverse("customers:detail",
                                               kwargs={"uuid": target.uuid}))
    assert "Merged with the duplicate Sigma Robotics Co" in response.content.decode()


def test_it_refuses_a_stale_merge(client_for, manager, pair):
    source, target = pair
    stale = target.version
    Customer.objects.filter(pk=target.pk).update(version=stale + 1, city="Suzhou")
    response = client_for(manager).post(merge_url(source, target), {
        "name": "source", "source_version": source.version, "target_version": stale})
    assert response.status_code == 200
    assert "changed since you opened this page" in response.content.decode()
    source.refresh_from_db()
    target.refresh_from_db()
    assert source.deleted_at is None and target.name == "Sigma Robotics"
    assert not Event.objects.filter(name__startswith="customer.merged").exists()
    with pytest.raises(StaleObjectError):
        customer_merge(actor=manager, source=source, target=target, choices={},
                       source_version=source.version - 1, target_version=target.version)


def test_it_refuses_to_merge_a_customer_into_itself(client_for, manager, pair):
    source, _target = pair
    response = client_for(manager).get(merge_url(source, source))
    assert response.status_code == 302
    with pytest.raises(ApplicationError):
        customer_merge(actor=manager, source=source, target=source, choices={},
                       source_version=source.version, target_version=source.version)
    source.refresh_from_db()
    assert source.deleted_at is None


def test_it_refuses_bad_choices_and_changes_nothing(client_for, manager, pair):
    source, target = pair
    response = client_for(manager).post(merge_url(source, target), {
        "name": "both", "source_version": source.version, "target_version": target.version})
    assert response.status_code == 200
    assert response.context["form"].errors
    source.refresh_from_db()
    assert source.deleted_at is None


def test_the_merge_page_needs_login(client, pair):
    source, target = pair
    response = client.get(merge_url(source, target))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_it_checks_ownership(client_for, outsider, pair):
    source, target = pair
    assert client_for(outsider).get(merge_url(source, target)).status_code == 404
    assert client_for(outsider).post(merge_url(source, target), {}).status_code == 404


@pytest.mark.parametrize("persona", ["analyst", "rep"])
def test_it_requires_write_access(client_for, request, pair, persona):
    source, target = pair
    user = request.getfixturevalue(persona)
    client = client_for(user)
    assert client.get(merge_url(source, target)).status_code == 403
    response = client.post(merge_url(source, target), {
        "source_version": source.version, "target_version": target.version})
    assert response.status_code == 403
    source.refresh_from_db()
    assert source.deleted_at is None


def test_it_needs_change_on_both_customers(client_for, rep, own_customer, other_customer):
    rep.user_permissions.add(Permission.objects.get(codename="merge_customer"))
    assign_perm("customers.view_customer", rep, other_customer)  # visible, not changeable
    response = client_for(rep).get(merge_url(other_customer, own_customer))
    assert response.status_code == 403


def test_the_merge_page_query_count_does_not_grow_with_rows(client_for, manager, pair,
                                                            django_assert_num_queries):
    source, target = pair
    client = client_for(manager)
    ContactFactory(customer=source)
    client.get(merge_url(source, target))
    with CaptureQueriesContext(connection) as few:
        client.get(merge_url(source, target))
    ContactFactory.create_batch(15, customer=source)
    InteractionFactory.create_batch(15, customer=source)
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get(merge_url(source, target)).status_code == 200
