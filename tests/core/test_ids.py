"""Public ids are version 7 UUIDs (crm.ids): the clock in milliseconds, then random bits.
Python's, the bulk writer's and PostgreSQL's make the same layout."""

from __future__ import annotations

import time
import uuid

import pytest
from django.db import connection

from crm.events import event_record
from crm.ids import UUID7_SQL, uuid7, uuid7_strings
from tests.factories import CustomerFactory, TagFactory


def _millis(value: uuid.UUID) -> int:
    return value.int >> 80


def _is_v7(value: uuid.UUID) -> bool:
    return value.version == 7 and value.variant == uuid.RFC_4122


def test_uuid7_carries_the_time_and_random_bits():
    before = time.time_ns() // 1_000_000
    values = [uuid7() for _ in range(2000)]
    after = time.time_ns() // 1_000_000
    assert all(_is_v7(v) for v in values)
    assert all(before <= _millis(v) <= after for v in values)
    assert len(set(values)) == len(values)
    # 74 random bits: every one of them varies across the ids.
    random_part = [v.int & ((1 << 80) - 1) for v in values]
    varying = 0
    for value in random_part:
        varying |= value ^ random_part[0]
    assert bin(varying).count("1") == 74


def test_ids_of_later_milliseconds_sort_after_earlier_ones():
    first = uuid7()
    time.sleep(0.002)
    second = uuid7()
    assert first < second and str(first) < str(second)


def test_bulk_strings_share_the_millisecond_and_are_distinct():
    before = time.time_ns() // 1_000_000
    texts = uuid7_strings(5000)
    parsed = [uuid.UUID(t) for t in texts]
    assert all(str(p) == t for p, t in zip(parsed, texts, strict=True))  # canonical text
    assert all(_is_v7(p) for p in parsed) and len(set(parsed)) == 5000
    assert len({_millis(p) for p in parsed}) == 1 and _millis(parsed[0]) >= before
    assert uuid7_strings(0) == []


@pytest.mark.django_db
def test_postgresql_makes_the_same_layout():
    before = time.time_ns() // 1_000_000
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {UUID7_SQL} FROM generate_series(1, 2000)")  # noqa: S608
        values = [row[0] for row in cursor.fetchall()]
    after = time.time_ns() // 1_000_000
    assert all(_is_v7(v) for v in values) and len(set(values)) == 2000
    # The server's clock is this machine's.
    assert all(before - 1000 <= _millis(v) <= after + 1000 for v in values)


@pytest.mark.django_db
def test_models_and_events_get_version_7_ids():
    customer = CustomerFactory()
    assert _is_v7(customer.uuid) and _is_v7(TagFactory().uuid)
    assert _is_v7(event_record(name="test.happened", customer_id=customer.pk).uuid)
