"""Imports leave a trace on each customer: a "customer.imported" event per created or updated
customer (one INSERT per batch) and an auditlog CREATE entry per created customer."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from crm.models import Event
from customers import transfer
from customers import transfer_services as services
from customers.models import Customer
from customers.models.imports import ImportJob
from customers.timeline import describe
from tests.customers.test_import import configured_job, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_it_records_an_event_and_a_history_entry_per_customer(manager, team_customer):
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
    entry = LogEntry.objects.get(content_type=ContentType.objects.get_for_model(Customer),
                                 object_id=new.pk)
    assert entry.action == LogEntry.Action.CREATE and entry.actor == manager
    assert entry.changes["name"] == ["None", "New Co"]
    assert entry.additional_data["import_job"] == str(job.uuid)


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
    assert LogEntry.objects.filter(action=LogEntry.Action.CREATE,
                                   content_type=ContentType.objects.get_for_model(Customer),
                                   additional_data__has_key="import_job").count() == 95
