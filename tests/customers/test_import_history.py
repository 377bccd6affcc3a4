"""Imports leave a trace on each customer: a "customer.imported" event per created or updated
customer (one INSERT per batch), shown on the timeline; the customer's change history shows
the import from its ImportChange row. No auditlog entry per customer."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from crm.models import Event
from customers import transfer
from customers import transfer_services as services
from customers.models import Customer
from customers.models.imports import ImportJob
from customers.selectors import customer_history
from customers.timeline import describe
from tests.customers.test_import import MAPPING, configured_job, make_csv, run, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_it_records_an_event_per_customer_and_the_history_shows_the_import(
        manager, team_customer, client_for):
    team_customer.email = "known@x.example"
    team_customer.save()
    job = run(configured_job(manager, [["New Co", "new@x.example", "", "", "", "", ""],
                                       ["Renamed", "known@x.example", "", "", "", "", ""]],
                             duplicates="update"))
    new = Customer.objects.get(name="New Co")
    events = {e.customer_id: e for e in Event.objects.filter(name="customer.imported",
                                                              customer_id__isnull=False)}
    assert events[new.pk].payload["action"] == "created"
    assert events[team_customer.pk].payload["action"] == "updated"
    assert events[new.pk].payload["job"] == str(job.uuid) and events[new.pk].actor == manager
    assert describe(events[new.pk]) == f"Created by the import of {job.original_name}"
    customer_type = ContentType.objects.get_for_model(Customer)
    assert not LogEntry.objects.filter(content_type=customer_type, object_id=new.pk).exists()

    client = client_for(manager)
    history = client.get(reverse("customers:detail", args=[new.uuid])).context["history"]
    assert [(h["actor"], h["action"]) for h in history] == [
        (manager, f"Created by the import of {job.original_name}")]
    history = client.get(reverse("customers:detail", args=[team_customer.uuid])).context["history"]
    assert history[0]["action"] == f"Updated by the import of {job.original_name}"
    assert history[0]["timestamp"] == job.started_at
    assert [h["action"] for h in history[1:]] == ["update", "create"]


def test_an_older_imports_auditlog_entry_is_not_shown_twice(manager, client_for):
    job = run(configured_job(manager, [["Old Co", "old@x.example", "", "", "", "", ""]]))
    old = Customer.objects.get(name="Old Co")
    LogEntry.objects.create(  # what imports wrote before: a CREATE entry naming the job
        content_type=ContentType.objects.get_for_model(Customer), object_pk=str(old.pk),
        object_id=old.pk, object_repr=old.name, action=LogEntry.Action.CREATE,
        actor=manager, additional_data={"import_job": str(job.uuid)}, changes={})
    history = client_for(manager).get(
        reverse("customers:detail", args=[old.uuid])).context["history"]
    assert [h["action"] for h in history] == [f"Created by the import of {job.original_name}"]


def test_it_writes_the_history_set_based_per_batch(manager, django_assert_max_num_queries):
    def queries(count):
        rows = [[f"Co {count}-{i}", f"c{count}-{i}@x.example", "", "", "", "", ""]
                for i in range(count)]
        job = configured_job(manager, rows)
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            services.import_run(job.pk)
        return len(captured.captured_queries)

    transfer.BATCH_SIZE, old = 100, transfer.BATCH_SIZE
    try:
        few, many = queries(5), queries(90)
    finally:
        transfer.BATCH_SIZE = old
    assert many == few  # one batch either way: no per-row query
    assert Event.objects.filter(name="customer.imported", customer_id__isnull=False).count() == 95


def test_an_undone_imports_history_line_says_so(manager, client_for):
    job = run(configured_job(manager, [["Undone Co", "undone@x.example", "", "", "", "", ""]]))
    customer = Customer.objects.get(name="Undone Co")
    services.import_undo(actor=manager, job=job)
    history = customer_history(customer)
    assert history[0]["action"] == f"Created by the import of {job.original_name} (since undone)"


def test_erasing_a_person_scrubs_the_import_file_name_and_the_replaced_values(manager):
    from customers import gdpr
    from customers.models.imports import ImportChange

    person = Customer.objects.create(name="Jane Secret", kind=Customer.Kind.PERSON,
                                     email="jane@secret.example", owner=manager)
    job = services.import_upload(actor=manager, upload=upload(
        "Jane Secret contacts.csv", make_csv([["Jane Q Secret", "jane@secret.example", "", "",
                                                "", "", ""]])))
    services.import_configure(actor=manager, job=job, mapping=MAPPING, match_on=["email"],
                              duplicates="update")
    run(job)
    change = ImportChange.objects.get(job=job, customer=person)
    assert change.before["name"] == "Jane Secret"
    person.refresh_from_db()
    gdpr.gdpr_erase(actor=manager, customer=person, confirmation=person.name)
    change.refresh_from_db()
    job.refresh_from_db()
    assert change.before == {transfer.VERSION_AFTER: change.before[transfer.VERSION_AFTER]}
    assert job.original_name == gdpr.REDACTED
    person.refresh_from_db()
    assert all("Secret" not in h["action"] for h in customer_history(person))
