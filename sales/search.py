"""Substring search that the trigram indexes can serve.

A trigram GIN index on UPPER(col) answers `icontains` only from three characters: a shorter
LIKE '%ab%' pattern holds no trigram and PostgreSQL reads the whole index (or table). Below
MIN_LIKE_LENGTH the search matches the whole value instead (UPPER(col) = UPPER('ab'), which the
same index serves through the value's padded trigrams), as sales/filters_opportunities.py does.
"""

from __future__ import annotations

from django.db.models import Q

MIN_LIKE_LENGTH = 3


def like_q(value: str, *fields: str) -> Q:
    """OR of `field__icontains=value` (or `field__iexact=value` when `value` is short)."""
    lookup = "icontains" if len(value) >= MIN_LIKE_LENGTH else "iexact"
    q = Q()
    for field in fields:
        q |= Q(**{f"{field}__{lookup}": value})
    return q
