"""Global search: a registry of providers, one per kind of record.

The core knows no app above it. Each app registers what it can find, at start-up:

    from crm import search
    search.register("customers", _("Customers"), customers_for, order=10)

A provider is `provider(user, query, limit) -> list[SearchResult]`. It must read through its
app's access path (`<entity>_list_for_user`) so a user finds only what they may see, run ONE
index-served, LIMITed query (no COUNT), and return at most `limit` results, best first.
The query it gets is already cleaned: stripped, single-spaced, 2 to 100 characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 100
DROPDOWN_LIMIT = 5  # per kind, in the navbar's dropdown
PAGE_LIMIT = 20  # per kind, on the results page

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class SearchResult:
    title: str
    subtitle: str
    url: str
    kind: str


@dataclass(frozen=True)
class Provider:
    kind: str
    label: str  # a lazy translation ("Customers")
    provider: Callable[..., list[SearchResult]]
    order: int = 100


@dataclass
class ResultGroup:
    kind: str
    label: str
    results: list[SearchResult] = field(default_factory=list)
    limit: int = PAGE_LIMIT

    @property
    def may_have_more(self) -> bool:
        """True when the group is full: there may be more (we never count them)."""
        return len(self.results) >= self.limit


_providers: dict[str, Provider] = {}


def register(kind: str, label, provider: Callable[..., list[SearchResult]],
             order: int = 100) -> None:
    """Add (or replace: idempotent by `kind`) the provider for one kind of record."""
    _providers[kind] = Provider(kind=kind, label=label, provider=provider, order=order)


def providers() -> list[Provider]:
    return sorted(_providers.values(), key=lambda p: (p.order, p.kind))


def normalize(raw: str | None) -> str:
    """The query as providers get it: whitespace collapsed, NUL removed, trimmed."""
    return _SPACES.sub(" ", (raw or "").replace("\x00", "")).strip()


def search(user, query: str, limit: int) -> list[ResultGroup]:
    """The results of every provider for `query`, grouped by kind in the registry's order;
    kinds with nothing found are left out. Runs nothing for a query under 2 or over 100
    characters (callers show a message for those)."""
    query = normalize(query)
    if not (MIN_QUERY_LENGTH <= len(query) <= MAX_QUERY_LENGTH):
        return []
    if not getattr(user, "is_authenticated", False):
        return []
    groups = []
    for provider in providers():
        results = list(provider.provider(user, query, limit))[:limit]
        if results:
            groups.append(ResultGroup(kind=provider.kind, label=provider.label,
                                      results=results, limit=limit))
    return groups
