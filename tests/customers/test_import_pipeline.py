"""The import engine reads and checks batch n + 1 while PostgreSQL writes batch n's change rows
and events (apply_batch's `meanwhile`, in psycopg's pipeline mode). These tests show that the
overlap changes nothing a user sees: duplicates across batches, a file that goes bad half-way,
and a failure while the statements are in flight all end as they would one step at a time."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from crm.models import Event
from customers import transfer
from customers import transfer_services as services
from customers.models import Customer
from customers.models.imports import ImportChange, ImportJob
from tests.customers.test_import import configured_job, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(transfer, "BATCH_SIZE", 2)


def row(name, email=""):
    return [name, email, "", "", "", "", ""]


def test_a_row_duplicating_one_of_an_earlier_batch_is_skipped(manager, small_batches):
    # Batch 2 is read and checked while batch 1 is written; its duplicate is still found,
    # because matching against the customers happens after batch 1 is in.
    job = run(configured_job(manager, [row("First", "same@x.example"), row("Other"),
                                       row("Again", "same@x.example"), row("Last")]))
    assert (job.status, job.created_count, job.skipped_count) == (ImportJob.Status.DONE, 3, 1)
    assert not Customer.objects.filter(name="Again").exists()
    assert Event.objects.filter(name="customer.imported", customer_id__isnull=False,
                                payload__job=str(job.uuid)).count() == 3
    assert ImportChange.objects.filter(job=job, action="created").count() == 3


def test_a_file_that_goes_bad_half_way_fails_the_job_and_keeps_whole_batches(manager,
                                                                             monkeypatch):
    monkeypatch.setattr(transfer, "BATCH_SIZE", 100)
    job = configured_job(manager, [row(f"Good {i:04d} " + "x" * 40) for i in range(400)])
    # A byte that is not UTF-8 some 25 KB in (the reader decodes 8 KB at a time): it is
    # found while reading a batch ahead, that is while the batch before is being written.
    with job.file.open("ab") as stored:
        stored.write(b"Bad \xff\xfe,,,,,,\nAfter,,,,,,\n")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    with pytest.raises(transfer.FileProblem):
        services.import_run(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "not UTF-8" in job.failure
    # Whole batches only: the batch being written when the read failed was rolled back with
    # it, so the counts, the customers and the change rows agree and a retry resumes after
    # the last committed batch.
    good = Customer.objects.filter(name__startswith="Good").count()
    assert 0 < job.processed_rows < 400 and job.processed_rows % 100 == 0
    assert job.created_count == good == job.processed_rows
    assert ImportChange.objects.filter(job=job).count() == good


def _planned_batch(manager, names):
    job = configured_job(manager, [row(n) for n in names])
    rows = list(transfer.job_rows(job))
    lookups = transfer.Lookups.load()
    transfer.plan_batch(job, rows, lookups, manager, lock=True)
    return job, rows


def test_an_error_while_the_statements_are_in_flight_rolls_the_batch_back(manager):
    job, rows = _planned_batch(manager, ["In flight 1", "In flight 2"])

    def fails_meanwhile():
        raise RuntimeError("the next batch could not be read")

    with pytest.raises(RuntimeError), transaction.atomic():
        transfer.apply_batch(job, rows, manager, meanwhile=fails_meanwhile)
    assert not Customer.objects.filter(name__startswith="In flight").exists()
    assert not ImportChange.objects.filter(job=job).exists()
    assert not Event.objects.filter(payload__job=str(job.uuid)).exists()
    with connection.cursor() as cursor:  # the connection is out of pipeline mode and usable
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_database_error_inside_the_pipeline_is_raised_in_the_batch(manager):
    job, rows = _planned_batch(manager, ["Pipelined 1"])

    def bad_query():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")
            cursor.fetchone()

    with pytest.raises(DatabaseError), transaction.atomic():
        transfer.apply_batch(job, rows, manager, meanwhile=bad_query)
    # The connection answers after the rollback, and nothing of the batch is left.
    assert not Customer.objects.filter(name="Pipelined 1").exists()
    assert not Event.objects.filter(payload__job=str(job.uuid)).exists()


def test_meanwhile_runs_once_even_when_a_batch_writes_nothing(manager):
    job, rows = _planned_batch(manager, ["Will be skipped"])
    for planned in rows:
        planned.action = "skip"
    calls = []
    with transaction.atomic():
        counts = transfer.apply_batch(job, rows, manager, meanwhile=lambda: calls.append(1))
    assert calls == [1] and counts["created"] == 0


def test_a_batch_s_foreign_keys_are_checked_in_the_batch_not_at_commit(manager):
    # apply_batch checks the batch's (deferred) foreign keys inside the pipeline, while the
    # next batch is read: a dangling reference fails the batch there, before its commit.
    job, rows = _planned_batch(manager, ["Dangling owner"])
    rows[0].data["owner_id"] = 10**12
    with pytest.raises(IntegrityError), transaction.atomic():
        transfer.apply_batch(job, rows, manager)
    assert not Customer.objects.filter(name="Dangling owner").exists()


def test_after_a_batch_the_foreign_keys_are_deferred_again(manager):
    job, rows = _planned_batch(manager, ["Good owner"])
    with transaction.atomic():
        transfer.apply_batch(job, rows, manager)
        with connection.cursor() as cursor:
            # A dangling row is accepted for now (checked at commit, as Django's constraints
            # are), which shows the transaction is back to deferred checks.
            with transaction.atomic():
                cursor.execute(
                    "INSERT INTO customers_customertag (created_at, customer_id, tag_id) "
                    "SELECT now(), id, %s FROM customers_customer WHERE name = 'Good owner'",
                    [10**12])
                with pytest.raises(IntegrityError):
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                transaction.set_rollback(True)
    assert Customer.objects.filter(name="Good owner").exists()


def test_deleting_through_django_still_deletes_the_change_rows(manager):
    # ImportChange's references carry no database constraint (one check per row was 0.7 s
    # of every 100,000 imported); Django's own cascade still removes the rows.
    first = run(configured_job(manager, [row("Cascade 1"), row("Cascade 2")]))
    second = run(configured_job(manager, [row("Cascade 3")]))
    Customer.objects.filter(name="Cascade 1").delete()
    assert list(ImportChange.objects.filter(job=first)
                .values_list("customer__name", flat=True)) == ["Cascade 2"]
    ImportJob.objects.filter(pk=second.pk).delete()
    assert not ImportChange.objects.filter(job_id=second.pk).exists()
