"""Imports at scale: big CSV uploads are read as a stream (never whole in memory), the per-row
writes go by COPY with the same traces, and duplicates are looked up set-based: one query per
batch whatever the keys and however many rows."""

from __future__ import annotations

import csv
import io
import tracemalloc
import uuid

import pytest
from auditlog.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import Event
from customers import transfer
from customers import transfer_services as services
from customers.models import Customer
from customers.models.imports import ImportChange, ImportJob
from tests.customers.test_import import configured_job, run

pytestmark = pytest.mark.django_db

HEADERS = ["Company", "E-mail", "Phone", "Code", "City"]
MAPPING = {"Company": "name", "E-mail": "email", "Phone": "phone", "Code": "code",
           "City": "city"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def big_upload(megabytes: int, *, blank_every: int = 1000) -> tuple[TemporaryUploadedFile, int]:
    """A CSV of about `megabytes` MB on disk, as Django's TemporaryFileUploadHandler hands a
    big upload over, with a blank line now and then (not counted). Returns it and its number
    of data rows."""
    upload = TemporaryUploadedFile("big.csv", "text/csv", 0, "utf-8")
    text = io.TextIOWrapper(upload.file, encoding="utf-8", newline="")
    writer = csv.writer(text)
    writer.writerow(HEADERS)
    rows = 0
    while text.tell() < megabytes * 1024 * 1024:
        for _i in range(1000):
            writer.writerow([f"Company number {rows} with a longish name", f"c{rows}@big.example",
                             f"+86 138{rows:08d}", "", "Shanghai"])
            rows += 1
        text.write("\r\n" if rows % blank_every == 0 else "")
    text.flush()
    text.detach()
    upload.size = upload.file.tell()
    upload.file.seek(0)
    return upload, rows


def test_it_accepts_a_30_mb_csv_and_counts_it_without_reading_it_whole(manager):
    upload, rows = big_upload(30)
    assert upload.size > 30 * 1024 * 1024 > transfer.MAX_XLSX_BYTES
    tracemalloc.start()
    try:
        job = services.import_upload(actor=manager, upload=upload)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        upload.close()
    assert job.total_rows == rows and job.headers == HEADERS
    assert peak < 8 * 1024 * 1024  # a stream: far below the file's 30 MB
    assert job.file.size == upload.size  # stored whole (moved, not read)
    first = next(transfer.job_rows(job))
    assert first.number == 2 and first.values["E-mail"] == "c0@big.example"
    last = list(transfer.job_rows(job, start=rows - 1))
    assert [r.values["E-mail"] for r in last] == [f"c{rows - 1}@big.example"]


def test_it_takes_a_big_csv_through_the_upload_page(client_for, manager, settings):
    # Over Django's in-memory limit (2.5 MB): the request goes through the temporary-file
    # handler, and DATA_UPLOAD_MAX_MEMORY_SIZE (form fields only) does not count the file.
    upload, rows = big_upload(4)
    content = upload.file.read()
    upload.close()
    assert len(content) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    response = client_for(manager).post(reverse("customers:import_upload"),
                                        {"file": SimpleUploadedFile("big.csv", content)})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.total_rows == rows


def test_it_refuses_files_over_the_limits_with_a_clear_message(manager):
    huge = TemporaryUploadedFile("huge.csv", "text/csv", transfer.MAX_UPLOAD_BYTES + 1, "utf-8")
    with pytest.raises(transfer.FileProblem, match="larger than 250 MB"):
        services.import_upload(actor=manager, upload=huge)
    huge.close()
    workbook = TemporaryUploadedFile("big.xlsx", "application/octet-stream",
                                     transfer.MAX_XLSX_BYTES + 1, None)
    with pytest.raises(transfer.FileProblem, match="larger than 20 MB"):
        services.import_upload(actor=manager, upload=workbook)
    workbook.close()
    assert not ImportJob.objects.exists()


def test_it_reports_where_a_streamed_csv_stops_being_utf8(manager):
    content = b"Name,City\n" + b"A,B\n" * 100_000 + "Müller,Köln\n".encode("latin-1")
    with pytest.raises(transfer.FileProblem) as problem:
        services.import_upload(actor=manager, upload=SimpleUploadedFile("x.csv", content))
    assert f"starts at byte {content.index(b'\xfc')}" in str(problem.value.message)
    assert not ImportJob.objects.exists()


def _dupes(owner, count: int) -> list[list[str]]:
    """`count` existing customers, a third found by e-mail, a third by phone and a third by
    code, and a file with one row per customer plus one new row."""
    rows = []
    for i in range(count):
        customer = Customer.objects.create(name=f"Old {i}", owner=owner,
                                           code=f"OLD-{uuid.uuid4().hex[:8]}",
                                           email=f"old{count}-{i}@x.example",
                                           phone=f"+86 139 {count:03d}{i:05d}")
        rows.append([f"New {i}", *(
            [customer.email, "", "", ""] if i % 3 == 0 else
            ["", customer.phone, "", ""] if i % 3 == 1 else
            ["", "", customer.code, ""])])
    return [*rows, [f"Fresh {count}", f"fresh{count}@x.example", "", "", ""]]


def _captured(manager, count):
    out = io.StringIO()
    csv.writer(out).writerows([HEADERS, *_dupes(manager, count)])
    job = services.import_upload(actor=manager, upload=SimpleUploadedFile(
        "dupes.csv", out.getvalue().encode()))
    services.import_configure(actor=manager, job=job, mapping=MAPPING,
                              match_on=["email", "phone", "code"], duplicates="update")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    with CaptureQueriesContext(connection) as queries:
        services.import_run(job.pk)
    job.refresh_from_db()
    assert job.errors == []
    return job, [q["sql"] for q in queries.captured_queries]


def test_it_finds_e_mail_phone_and_code_duplicates_in_one_query(manager):
    _captured(manager, 1)  # warms the content-type cache
    few_job, few = _captured(manager, 3)
    many_job, many = _captured(manager, 30)
    assert (few_job.updated_count, few_job.created_count) == (3, 1)
    assert (many_job.updated_count, many_job.created_count) == (30, 1)
    assert len(few) == len(many)  # a fixed number of queries, not one per row or key
    lookups = [q for q in many if q.startswith("SELECT") and 'FROM "customers_customer"' in q
               and "= ANY(" in q]
    assert len(lookups) == 1 and lookups[0].rstrip().endswith("FOR UPDATE")
    assert all(f'"customers_customer"."{c}" = ANY(' in lookups[0]
               for c in ("email", "phone_digits", "code"))
    updates = [q for q in many if q.startswith('UPDATE "customers_customer"')]
    assert len(updates) == 1 and "unnest(" in updates[0]
    assert Customer.objects.filter(name__startswith="New ").count() == 34
    assert set(Customer.objects.filter(name="New 29").values_list("version", flat=True)) == {2}


def test_it_writes_new_customers_and_their_traces_by_copy(manager):
    job = run(configured_job(manager, [["Copied Co", "Copied@X.example", "+86 138 0000 1111",
                                        "", "vip; Gold", "", ""]]))
    customer = Customer.objects.get(name="Copied Co")
    assert customer.email == "copied@x.example" and customer.phone_digits == "8613800001111"
    assert customer.code.startswith("C") and customer.owner == manager
    assert customer.kind == Customer.Kind.COMPANY and customer.status == Customer.Status.ACTIVE
    assert customer.version == 1 and customer.custom_data == {} and customer.uuid.version == 7
    assert customer.created_at == customer.updated_at and customer.deleted_at is None
    assert sorted(t.name for t in customer.tags.all()) == ["Gold", "vip"]
    change = ImportChange.objects.get(job=job)
    assert change.customer == customer and change.before == {transfer.VERSION_AFTER: 1}
    event = Event.objects.get(name="customer.imported", customer_id=customer.pk)
    assert event.payload == {"job": str(job.uuid), "file": "people.csv", "action": "created"}
    assert event.dispatched_at is None and event.uuid.version == 7
    assert not LogEntry.objects.filter(object_id=customer.pk).exists()  # the event says it
    result = services.import_undo(actor=manager, job=job)
    assert result == {"removed": 1, "restored": 0, "skipped": 0}
