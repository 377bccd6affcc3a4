"""Big exports: one COPY statement streams the rows (tag ids inside it, named from one read of
the tags), whatever the number of rows; the text comes through COPY unchanged, the names in
the order PostgreSQL sorts them, neutralised alike; an export job records its progress
through a connection of its own while the COPY holds the job's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import OuterRef, StringAgg, Subquery, Value
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers import transfer, transfer_services
from customers.models import Customer, CustomerTag, CustomFieldDefinition
from customers.models.imports import ExportJob
from customers.selectors import customer_list_for_user
from tests.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db


def _rows(user, definitions=()):
    qs = transfer.export_queryset(customer_list_for_user(user), ("-created_at", "-id"))
    return list(transfer.export_rows(qs, list(definitions)))


def _by_name(rows):
    header = rows[0]
    return header, {row[header.index("Name")]: row for row in rows[1:]}


def test_text_comes_through_copy_unchanged(admin):
    hostile = "tab\there, line\nbreak, back\\slash \\N, 引号\"; 中文"
    CustomerFactory(name="Plain Co", city=hostile, description="\\.\r\nend")
    CustomerFactory(name="Empty Co", city="", description="")
    header, rows = _by_name(_rows(admin))
    assert rows["Plain Co"][header.index("City")] == hostile
    assert rows["Plain Co"][header.index("Notes")] == "\\.\r\nend"
    assert rows["Empty Co"][header.index("City")] == ""
    assert len(rows) == Customer.objects.alive().count()


def test_tag_names_sort_as_postgresql_sorts_them_and_are_neutralised(admin):
    tags = [TagFactory(name=name) for name in
            ("=HYPERLINK(x)", "b-tag", "B2", "重点客户", "alpha", "Zulu")]
    CustomerFactory.create_batch(3, tags=tags, phone="+86 1")
    CustomerFactory(name="-minus", tags=[tags[1]])
    CustomerFactory(name="Untagged")
    names = (CustomerTag.objects.filter(customer_id=OuterRef("pk")).values("customer_id")
             .annotate(names=StringAgg("tag__name", Value("; "), order_by="tag__name"))
             .values("names"))
    oracle = dict(Customer.objects.annotate(names=Subquery(names)).values_list("name", "names"))
    header, rows = _by_name(_rows(admin))
    assert rows["'-minus"][header.index("Tags")] == "b-tag"
    assert rows["Untagged"][header.index("Tags")] == ""
    tagged = [row for name, row in rows.items() if name not in ("'-minus", "Untagged")]
    expected = "'" + oracle[Customer.objects.filter(phone="+86 1").first().name]
    assert expected.startswith("'=HYPERLINK(x); ")
    assert [row[header.index("Tags")] for row in tagged] == [expected] * 3
    assert all(row[header.index("Phone")] == "'+86 1" for row in tagged)
    created = Customer.objects.get(name="-minus").created_at
    assert rows["'-minus"][header.index("Created")] == \
        timezone.localtime(created).strftime("%Y-%m-%d %H:%M")


def test_it_reads_custom_fields_and_labels(admin):
    size = CustomFieldDefinition.objects.create(
        entity=CustomFieldDefinition.Entity.CUSTOMER, key="size", label="Size",
        field_type=CustomFieldDefinition.FieldType.NUMBER)
    note = CustomFieldDefinition.objects.create(
        entity=CustomFieldDefinition.Entity.CUSTOMER, key="note", label="Note",
        field_type=CustomFieldDefinition.FieldType.TEXT)
    CustomerFactory(name="Custom Co", kind=Customer.Kind.PERSON,
                    custom_data={"size": 12, "note": "=1+1\ttab"})
    header, rows = _by_name(_rows(admin, definitions=[size, note]))
    row = rows["Custom Co"]
    assert row[header.index("Size")] == 12 and row[header.index("Note")] == "'=1+1\ttab"
    assert row[header.index("Type")] == str(Customer.Kind.PERSON.label)


def test_the_same_queries_for_ten_rows_as_for_three_hundred(admin):
    tags = [TagFactory(), TagFactory()]

    def queries(count):
        Customer.objects.all().delete()
        CustomerFactory.create_batch(count, tags=tags)
        with CaptureQueriesContext(connection) as captured:
            rows = _rows(admin)
        assert len(rows) == count + 1
        return [q["sql"] for q in captured.captured_queries]

    queries(1)  # warms the access path's caches
    ten, three_hundred = queries(10), queries(300)
    assert len(ten) == len(three_hundred)
    assert sum(q.startswith("COPY (") for q in three_hundred) == 1


def test_a_filtered_export_keeps_the_access_path(rep, admin):
    CustomerFactory(name="Mine", owner=rep)
    CustomerFactory(name="Not mine")
    _header, rows = _by_name(_rows(rep))
    assert set(rows) == {"Mine"}


@pytest.mark.django_db(transaction=True)
def test_leaving_an_export_early_frees_the_connection(admin):
    # Enough rows that PostgreSQL is still sending when the reader stops: the COPY is
    # cancelled, and the connection takes the next query.
    Customer.objects.bulk_create(Customer(name=f"Many {i}", code=f"M{i:06d}")
                                 for i in range(20_000))
    rows = transfer.export_rows(
        transfer.export_queryset(customer_list_for_user(admin), ("-created_at", "-id")), [])
    next(rows), next(rows)
    rows.close()
    assert Customer.objects.count() == 20_000


@pytest.mark.django_db(transaction=True)
def test_an_export_job_that_fails_mid_copy_ends_failed(admin, settings, tmp_path,
                                                       monkeypatch):
    """The writer stops while PostgreSQL is still sending (here: Excel's row limit): the rows
    are closed first, so marking the job failed does not wait on a connection held in COPY."""
    import signal

    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(transfer, "XLSX_MAX_ROWS", 2)
    CustomerFactory.create_batch(5, city="Ningbo\x0b")
    job = ExportJob.objects.create(created_by=admin, format="xlsx", query={})

    def stuck(*_args):
        raise AssertionError("export_run hung on its own connection")

    signal.signal(signal.SIGALRM, stuck)
    signal.alarm(60)
    try:
        finished = transfer_services.export_run(job.pk)
    finally:
        signal.alarm(0)
    assert finished.status == ExportJob.Status.FAILED
    assert "at most 2 rows" in finished.failure
    assert Customer.objects.count() == 5  # the connection answers


def test_excel_cells_lose_the_control_characters_it_cannot_hold(admin, tmp_path):
    import openpyxl

    CustomerFactory(name="Tab\tand\x0bvertical", city="Line\nbreak")
    rows = _rows(admin)
    path = tmp_path / "out.xlsx"
    transfer.export_xlsx(iter(rows), path)
    sheet = openpyxl.load_workbook(path).active
    names = [cell.value for cell in sheet["B"]][1:]
    assert names == ["Tab\tandvertical"]


@pytest.mark.django_db(transaction=True)
def test_progress_is_recorded_while_the_copy_holds_the_connection(admin):
    CustomerFactory.create_batch(3)
    job = ExportJob.objects.create(created_by=admin, format="csv", query={},
                                   status=ExportJob.Status.RUNNING)
    rows = transfer.export_rows(
        transfer.export_queryset(customer_list_for_user(admin), ("-created_at", "-id")), [])
    with transfer_services._progress_writer(job.pk) as progress:
        next(rows), next(rows)  # the COPY is open on this thread's connection
        progress(1)
        assert len(list(rows)) == 2
    job.refresh_from_db()
    assert job.processed_rows == 1
