"""The top navigation: each app registers its entries in AppConfig.ready().

The core knows no app above it; apps add what they offer, with a predicate saying who sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str  # a lazy translation
    url_name: str
    icon: str  # a Bootstrap Icons name
    order: int = 100
    visible: Callable = lambda user: True  # noqa: E731
    # "main": the top bar; "admin": the Administration part of the user menu.
    section: str = "main"

    @property
    def url(self) -> str:
        return reverse(self.url_name)


_items: dict[str, NavItem] = {}


def register(item: NavItem) -> None:
    _items[item.key] = item


def items_for(user) -> list[NavItem]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [item for item in sorted(_items.values(), key=lambda i: i.order) if item.visible(user)]
