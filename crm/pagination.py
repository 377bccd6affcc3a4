"""Pagination that stays fast on deep pages: keyset ("seek") paging plus a capped count.

OFFSET paging reads and throws away every row before the page, so page 2,000 of a million
customers is slow. Keyset paging remembers the sort values of the last row shown and asks for
the rows after it, which an index on the same columns answers directly. The price: no "page N
of M", only "first page" and "next".

    page = keyset_paginate(qs, ordering=("-created_at", "-id"), after=request.GET.get("after"))
    page.object_list, page.next_cursor, page.count, page.count_capped

The ordering must end with a unique column (the primary key) and its columns must be NOT NULL.
The cursor is opaque to the user (base64 of JSON); a tampered or foreign cursor is ignored and
the first page is shown.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

PAGE_SIZE = 50
COUNT_CAP = 10_000
MAX_CURSOR_LENGTH = 1_000


@dataclass
class KeysetPage:
    object_list: list
    next_cursor: str | None
    is_first: bool
    count: int
    count_capped: bool
    page_size: int = PAGE_SIZE
    ordering: tuple[str, ...] = field(default_factory=tuple)

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def count_cap(self) -> int:
        return COUNT_CAP

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)


def _signature(ordering: Sequence[str]) -> str:
    return ",".join(ordering)


def _jsonable(value: Any) -> Any:
    # Full precision: DjangoJSONEncoder cuts datetimes to milliseconds, which would skip rows.
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    return value


def encode_cursor(ordering: Sequence[str], values: Sequence[Any]) -> str:
    raw = json.dumps({"o": _signature(ordering), "v": [_jsonable(v) for v in values]},
                     separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(model, ordering: Sequence[str], cursor: str | None) -> list | None:
    """The sort values in `cursor`, converted to Python; None if absent, tampered or foreign."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("o") != _signature(ordering):
        return None
    values = data.get("v")
    if not isinstance(values, list) or len(values) != len(ordering):
        return None
    converted = []
    for name, value in zip(ordering, values, strict=True):
        if value is None or isinstance(value, (dict, list)):
            return None
        try:
            model_field = model._meta.get_field(name.lstrip("-"))
            python = model_field.to_python(value)
        except (FieldDoesNotExist, ValidationError, TypeError, ValueError, OverflowError):
            return None
        if python is None or (isinstance(python, str) and "\x00" in python):
            return None  # PostgreSQL refuses NUL in text
        if isinstance(python, int) and not -(2**63) <= python < 2**63:
            return None
        if isinstance(python, datetime.datetime) and timezone.is_naive(python):
            return None
        converted.append(python)
    return converted


def _after_q(ordering: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows strictly after `values` in `ordering`:
    (a > x) OR (a = x AND b > y) ..., plus a plain bound on the first column (a >= x) that lets
    the index range scan start at the cursor."""
    names = [name.lstrip("-") for name in ordering]
    ops = ["lt" if name.startswith("-") else "gt" for name in ordering]
    alternatives = Q()
    for i in range(len(ordering)):
        equal = {names[j]: values[j] for j in range(i)}
        alternatives |= Q(**equal, **{f"{names[i]}__{ops[i]}": values[i]})
    bound = Q(**{f"{names[0]}__{ops[0][0]}te": values[0]})
    return bound & alternatives


def capped_count(queryset: QuerySet, cap: int | None = None) -> tuple[int, bool]:
    """(the number of rows up to `cap`, whether there are more): one COUNT over a LIMIT
    subquery, so a million-row table costs no more than `cap` rows."""
    cap = COUNT_CAP if cap is None else cap
    n = queryset.order_by().values("pk")[: cap + 1].count()
    return (cap, True) if n > cap else (n, False)


def keyset_paginate(
    queryset: QuerySet,
    *,
    ordering: Sequence[str],
    after: str | None = None,
    page_size: int = PAGE_SIZE,
    count: bool = True,
) -> KeysetPage:
    """One page of `queryset` in `ordering`, starting after the row named by `after`."""
    ordering = tuple(ordering)
    model = queryset.model
    total, capped = capped_count(queryset) if count else (0, False)
    values = decode_cursor(model, ordering, after)
    qs = queryset.order_by(*ordering)
    if values is not None:
        qs = qs.filter(_after_q(ordering, values))
    rows = list(qs[: page_size + 1])
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        next_cursor = encode_cursor(
            ordering, [getattr(last, name.lstrip("-")) for name in ordering]
        )
    return KeysetPage(object_list=rows, next_cursor=next_cursor, is_first=values is None,
                      count=total, count_capped=capped, page_size=page_size,
                      ordering=ordering)
