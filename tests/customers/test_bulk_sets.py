"""Set-based bulk actions: few queries whatever the selection, events and audit entries per
customer, all or nothing."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import Event
from customers.models import Customer
from tests.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db
URL = reverse("customers:bulk")


def post(client, customers, action, **extra):
    return client.post(URL, {"selected": [c.uuid for c in customers], "action": action,
                             **extra})


@pytest.mark.parametrize("action", ["assign_owner", "add_tag", "remove_tag", "trash"])
def test_it_takes_the_same_number_of_queries_for_5_and_50_customers(
        client_for, admin, rep, action, django_assert_num_queries):
    tag = TagFactory(name="vip")
    client = client_for(admin)
    extra = {"owner": rep.uuid} if action == "assign_owner" else {"tag": tag.uuid}

    def run(count, pin=None):
        customers = CustomerFactory.create_batch(count, tags=[tag])
        client.get(reverse("customers:list"))  # warm the session
        if pin is None:
            with CaptureQueriesContext(connection) as captured:
                response = post(client, customers, action, **extra)
        else:
            with django_assert_num_queries(pin) as captured:
                response = post(client, customers, action, **extra)
        assert response.status_code == 302
        return len(captured.captured_queries)

    few = run(5)
    assert few <= 16
    run(50, pin=few)


def test_it_records_events_and_audit_entries_per_customer(admin, rep):
    from customers.bulk_services import customers_bulk_apply

    customers = CustomerFactory.create_batch(3)
    changed, total = customers_bulk_apply(actor=admin, uuids=[c.uuid for c in customers],
                                          action="assign_owner", owner=rep)
    assert (changed, total) == (3, 3)
    assert set(Customer.objects.values_list("owner_id", flat=True)) == {rep.pk}
    ids = {c.pk for c in customers}
    assert {e.customer_id for e in Event.objects.filter(name="customer.owner_changed")} == ids
    entries = LogEntry.objects.filter(object_id__in=ids, action=LogEntry.Action.UPDATE)
    assert entries.count() == 3 and all(e.changes["owner"][1] == str(rep.pk) for e in entries)
    tag = TagFactory()
    customers_bulk_apply(actor=admin, uuids=[c.uuid for c in customers], action="add_tag",
                         tag=tag)
    assert tag.customers.count() == 3
    assert LogEntry.objects.filter(changes__tags__operation="add").count() == 3
    customers_bulk_apply(actor=admin, uuids=[c.uuid for c in customers], action="trash")
    assert not Customer.objects.alive().filter(pk__in=ids).exists()
    assert Event.objects.filter(name="customer.deleted").count() == 3


def test_it_refuses_everything_when_one_customer_is_not_allowed(client_for, rep, own_customer,
                                                                 other_customer, team_customer):
    tag = TagFactory()
    response = post(client_for(rep), [own_customer, other_customer], "add_tag", tag=tag.uuid)
    assert response.status_code == 302 and tag.customers.count() == 0
    # Visible but not changeable for the rep (the manager's team customer): refused too.
    response = post(client_for(rep), [own_customer, team_customer], "add_tag", tag=tag.uuid)
    assert tag.customers.count() == 0
    assert not Event.objects.filter(name="customer.updated").exists()


def test_it_allows_a_customer_shared_with_change_rights(client_for, rep, other_customer):
    from guardian.shortcuts import assign_perm

    assign_perm("customers.view_customer", rep, other_customer)
    assign_perm("customers.change_customer", rep, other_customer)
    tag = TagFactory()
    post(client_for(rep), [other_customer], "add_tag", tag=tag.uuid)
    assert list(tag.customers.all()) == [other_customer]


def test_it_forbids_the_read_only_analyst(client_for, analyst, own_customer):
    tag = TagFactory()
    post(client_for(analyst), [own_customer], "add_tag", tag=tag.uuid)
    assert tag.customers.count() == 0
