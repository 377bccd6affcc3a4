"""Big exports: tag names read by one set-based query per chunk of rows give the same file as
the in-statement string_agg, neutralised alike, in a number of queries that grows with the
chunks, not the rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers import transfer
from customers.models import Customer, CustomFieldDefinition
from customers.selectors import customer_list_for_user
from tests.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db


def _rows(user, *, per_chunk: bool, chunk_size: int, definitions=()):
    qs = transfer.export_queryset(customer_list_for_user(user), ("-created_at", "-id"),
                                  tags_per_chunk=per_chunk)
    return list(transfer.export_rows(qs, list(definitions), chunk_size=chunk_size))


def test_it_reads_tags_per_chunk_with_the_same_result(admin):
    formula, plain = TagFactory(name="=HYPERLINK(x)"), TagFactory(name="b-tag")
    CustomerFactory.create_batch(3, tags=[plain, formula], phone="+86 1")
    CustomerFactory.create_batch(2, city="@town")
    CustomerFactory(name="-minus", tags=[plain])
    inline = _rows(admin, per_chunk=False, chunk_size=1000)
    chunked = _rows(admin, per_chunk=True, chunk_size=2)
    assert chunked == inline and len(chunked) == Customer.objects.alive().count() + 1
    header = chunked[0]
    by_name = {row[header.index("Name")]: row for row in chunked[1:]}
    assert by_name["'-minus"][header.index("Tags")] == "b-tag"
    tagged = [row for row in chunked[1:] if row[header.index("Tags")].startswith("'=")]
    assert len(tagged) == 3 and tagged[0][header.index("Tags")] == "'=HYPERLINK(x); b-tag"
    assert all(row[header.index("Phone")] == "'+86 1" for row in tagged)
    created = Customer.objects.get(name="-minus").created_at
    assert by_name["'-minus"][header.index("Created")] == \
        timezone.localtime(created).strftime("%Y-%m-%d %H:%M")


def test_it_reads_custom_fields_and_labels(admin):
    size = CustomFieldDefinition.objects.create(
        entity=CustomFieldDefinition.Entity.CUSTOMER, key="size", label="Size",
        field_type=CustomFieldDefinition.FieldType.NUMBER)
    note = CustomFieldDefinition.objects.create(
        entity=CustomFieldDefinition.Entity.CUSTOMER, key="note", label="Note",
        field_type=CustomFieldDefinition.FieldType.TEXT)
    CustomerFactory(name="Custom Co", kind=Customer.Kind.PERSON,
                    custom_data={"size": 12, "note": "=1+1"})
    rows = _rows(admin, per_chunk=True, chunk_size=10, definitions=[size, note])
    header = rows[0]
    row = next(r for r in rows[1:] if r[header.index("Name")] == "Custom Co")
    assert row[header.index("Size")] == 12 and row[header.index("Note")] == "'=1+1"
    assert row[header.index("Type")] == str(Customer.Kind.PERSON.label)


def test_it_reads_tags_with_one_query_per_chunk(admin):
    tag = TagFactory()

    def queries(count):
        Customer.objects.all().delete()
        CustomerFactory.create_batch(count, tags=[tag])
        with CaptureQueriesContext(connection) as captured:
            rows = _rows(admin, per_chunk=True, chunk_size=50)
        assert len(rows) == count + 1
        return [q["sql"] for q in captured.captured_queries]

    queries(1)  # warms the access path's caches
    one_chunk, three_chunks = queries(10), queries(120)
    assert sum("string_agg" in q for q in one_chunk) == 1
    assert sum("string_agg" in q for q in three_chunks) == 3
    assert len(three_chunks) == len(one_chunk) + 2
