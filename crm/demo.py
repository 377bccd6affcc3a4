"""Demo data builders: each app registers one in AppConfig.ready(); `manage.py demo_data`
runs them in order. Builders must be idempotent (a second run changes nothing)."""

from __future__ import annotations

from collections.abc import Callable

_builders: list[tuple[int, str, Callable]] = []


def register(order: int, name: str, builder: Callable) -> None:
    """`builder(stdout)` creates the app's demo records; it runs after lower orders."""
    if all(existing != name for _order, existing, _b in _builders):
        _builders.append((order, name, builder))


def builders() -> list[tuple[str, Callable]]:
    return [(name, builder) for _order, name, builder in sorted(_builders, key=lambda b: b[0])]
