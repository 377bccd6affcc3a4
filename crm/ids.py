"""Public ids: time-ordered UUIDs (version 7, RFC 9562).

A version 7 UUID starts with the Unix time in milliseconds and carries 74 random bits after
it. New ids therefore land at the right end of a unique index instead of on a random page
of it: at a million rows, an import's customers and events wrote their uuid indexes about
twice as fast (docs/performance.md). The random bits keep ids unguessable; access is checked
on every request anyway. Python 3.12 has no uuid.uuid7 and PostgreSQL 15 no uuidv7(), so
both are made here, from the same layout.
"""

from __future__ import annotations

import os
import time
import uuid

_VARIANT = "89ab"  # the two top bits of the variant nibble are 10 (RFC 9562)


def _millis() -> str:
    return f"{time.time_ns() // 1_000_000:012x}"


def _layout(millis: str, random_hex: str) -> str:
    """The text form from 12 hex digits of time and 19 of randomness (76 bits; the two
    that the variant fixes are dropped)."""
    r = random_hex
    variant = _VARIANT[int(r[3], 16) & 3]
    return f"{millis[:8]}-{millis[8:]}-7{r[:3]}-{variant}{r[4:7]}-{r[7:19]}"


def uuid7() -> uuid.UUID:
    """A new version 7 UUID (the models' default public id)."""
    return uuid.UUID(_layout(_millis(), os.urandom(10).hex()))


def uuid7_strings(count: int) -> list[str]:
    """`count` version 7 UUIDs as text for a bulk write (COPY): one clock reading and one read
    of os.urandom for all of them, no UUID object per row. They share the millisecond, so
    their order among themselves is random, which costs an index nothing: they are all
    inserted in the same place."""
    millis = _millis()
    raw = os.urandom(10 * count).hex()
    return [_layout(millis, raw[i:i + 20]) for i in range(0, 20 * count, 20)]


# The same in SQL, for rows the server makes (INSERT ... SELECT): gen_random_uuid() with its
# first 48 bits replaced by the clock in milliseconds and its version nibble 4 turned into 7.
UUID7_SQL = (
    "encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing "
    "substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) "
    "FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid"
)
