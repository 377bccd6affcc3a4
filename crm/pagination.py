"""Pagination that stays fast on deep pages: keyset ("seek") paging plus a capped count.

OFFSET paging reads and throws away every row before the page, so page 2,000 of a million
customers is slow. Keyset paging remembers the sort values of the last row shown and asks for
the rows after it, which an index on the same columns answers directly. The price: no "page N
of M", only "first page" and "next".

    page = keyset_paginate(qs, ordering=("-created_at", "-id"), after=request.GET.get("after"))
    page.object_list, page.next_cursor, page.count, page.count_capped

The ordering must end with a unique column (the primary key) and its columns must be NOT NULL.
The rows are model instances, or dicts with `fields=` (naming the sort columns too).
The cursor is opaque to the user (base64 of JSON); a tampered or foreign cursor is ignored and
the first page is shown.

The count is paid once: the first page counts (capped), and the "next" cursor carries that
count, tied to a fingerprint of the filtered query, so deeper pages show it without counting
again. With `estimate=True` (for a list without user filters, where the planner's row estimate
comes from plain column statistics) a set the planner puts at ESTIMATE_FACTOR times the cap or
more is shown as "cap+" without counting it.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connections
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

PAGE_SIZE = 50
COUNT_CAP = 10_000
MAX_CURSOR_LENGTH = 1_000
# The planner's estimate must exceed the cap this many times over before the count is skipped
# (its estimates for the visibility conditions were within a third of the truth on the bench's
# million customers; three times the cap leaves room for far worse).
ESTIMATE_FACTOR = 3


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


def encode_cursor(ordering: Sequence[str], values: Sequence[Any],
                  count: tuple[int, bool, str] | None = None) -> str:
    """`count`: (count, capped, fingerprint of the filtered query) to carry to the next page."""
    data: dict[str, Any] = {"o": _signature(ordering), "v": [_jsonable(v) for v in values]}
    if count is not None:
        data["n"] = [int(count[0]), bool(count[1]), count[2]]
    raw = json.dumps(data, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_data(cursor: str | None) -> dict | None:
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def carried_count(cursor: str | None, fingerprint: str) -> tuple[int, bool] | None:
    """The count the cursor carries, if it was counted for the same filtered query."""
    data = _cursor_data(cursor)
    carried = data.get("n") if data else None
    if not (isinstance(carried, list) and len(carried) == 3):
        return None
    total, capped, mark = carried
    if (mark != fingerprint or not isinstance(capped, bool) or isinstance(total, bool)
            or not isinstance(total, int) or not 0 <= total <= COUNT_CAP):
        return None
    return total, capped


def _pk_sql(queryset: QuerySet) -> tuple[str, tuple] | None:
    """The SQL of the filtered query's primary keys, ordering aside (None when it cannot be
    compiled, e.g. an empty IN ()). The fingerprint and the planner's estimate share it:
    compiling a list's query costs about a millisecond."""
    try:
        return queryset.order_by().values("pk").query.sql_with_params()
    except Exception:  # noqa: BLE001 (EmptyResultSet and the like)
        return None


def without_carried_count(url: str) -> str:
    """`url` with its list cursor (the `after` parameter) no longer carrying a count: for the
    redirect back to a list after a change made from it (a bulk action), where the count the
    cursor was given on the first page may be out of date. The position is kept."""
    path, _, query = url.partition("?")
    if not query:
        return url
    params = QueryDict(query, mutable=True)
    data = _cursor_data(params.get("after"))
    if data is None or "n" not in data:
        return url
    data.pop("n")
    raw = json.dumps(data, separators=(",", ":"))
    params["after"] = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    return f"{path}?{params.urlencode()}"


def filters_fingerprint(params, *context) -> str:
    """A short digest of a list's query string (its cursor aside) and whatever else its count
    depends on (`context`: the list, the user's visible set...), for a count the caller takes
    itself and has the cursor carry (keyset_paginate's `carry`)."""
    filters = sorted((key, tuple(params.getlist(key))) for key in params if key != "after")
    return hashlib.sha256(f"{context!r}|{filters!r}".encode()).hexdigest()[:16]


def row_values(row, ordering: Sequence[str]) -> list:
    """The sort values of `row` (a model instance or a dict of values) in `ordering`."""
    names = [name.lstrip("-") for name in ordering]
    return [row[name] for name in names] if isinstance(row, dict) else [
        getattr(row, name) for name in names]


def query_fingerprint(queryset: QuerySet, compiled: tuple[str, tuple] | None = None) -> str:
    """A short digest of the filtered query (its SQL and parameters), ordering aside."""
    sql, params = compiled or _pk_sql(queryset) or ("", ())
    return hashlib.sha256(f"{queryset.model._meta.label}|{sql}|{params!r}".encode()
                          ).hexdigest()[:16]


def decode_cursor(model, ordering: Sequence[str], cursor: str | None) -> list | None:
    """The sort values in `cursor`, converted to Python; None if absent, tampered or foreign."""
    data = _cursor_data(cursor)
    if data is None or data.get("o") != _signature(ordering):
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


def estimated_rows(queryset: QuerySet,
                   compiled: tuple[str, tuple] | None = None) -> float | None:
    """The planner's estimate of the rows of `queryset` (EXPLAIN, nothing executed).
    `compiled`: _pk_sql(queryset), when the caller has it already."""
    compiled = compiled or _pk_sql(queryset)
    if compiled is None:
        return None
    sql, params = compiled
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


def capped_count(queryset: QuerySet, cap: int | None = None, *, estimate: bool = False,
                 compiled: tuple[str, tuple] | None = None) -> tuple[int, bool]:
    """(the number of rows up to `cap`, whether there are more): one COUNT over a LIMIT
    subquery, so a million-row table costs no more than `cap` rows. With `estimate`, a set
    the planner puts at ESTIMATE_FACTOR x `cap` rows or more is not counted at all.
    `compiled`: _pk_sql(queryset), when the caller has it already."""
    cap = COUNT_CAP if cap is None else cap
    if estimate and cap == COUNT_CAP:
        rows = estimated_rows(queryset, compiled)
        if rows is not None and rows >= ESTIMATE_FACTOR * cap:
            return cap, True
    n = queryset.order_by().values("pk")[: cap + 1].count()
    return (cap, True) if n > cap else (n, False)


def keyset_paginate(
    queryset: QuerySet,
    *,
    ordering: Sequence[str],
    after: str | None = None,
    page_size: int = PAGE_SIZE,
    count: bool = True,
    estimate: bool = False,
    fields: Sequence[str] = (),
    carry: tuple[int, bool, str] | None = None,
) -> KeysetPage:
    """One page of `queryset` in `ordering`, starting after the row named by `after`.
    `estimate`: see capped_count (only for a list without user filters). `fields`: read the
    rows as dicts of these columns (they must include the sort columns) instead of model
    instances; the count still runs on `queryset`, without the joins the columns need.
    `carry`: with `count` off, the (count, capped, fingerprint) the caller took itself, for
    the "next" cursor to carry (carried_count reads it back)."""
    ordering = tuple(ordering)
    model = queryset.model
    values = decode_cursor(model, ordering, after)
    total, capped, fingerprint = 0, False, ""
    if count:
        compiled = _pk_sql(queryset)
        fingerprint = query_fingerprint(queryset, compiled)
        carried = carried_count(after, fingerprint) if values is not None else None
        total, capped = carried or capped_count(queryset, estimate=estimate,
                                                compiled=compiled)
    qs = queryset.order_by(*ordering)
    if fields:
        qs = qs.values(*fields)
    if values is not None:
        qs = qs.filter(_after_q(ordering, values))
    rows = list(qs[: page_size + 1])
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        next_cursor = encode_cursor(ordering, row_values(last, ordering),
                                    count=(total, capped, fingerprint) if count else carry)
    return KeysetPage(object_list=rows, next_cursor=next_cursor, is_first=values is None,
                      count=total, count_capped=capped, page_size=page_size,
                      ordering=ordering)
