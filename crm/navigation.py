"""The top navigation: each app registers its entries in AppConfig.ready().

The core knows no app above it; apps add what they offer, with a predicate saying who sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from django.urls import get_script_prefix, get_urlconf, reverse


@lru_cache(maxsize=1024)
def _url(url_name: str, prefix: str, urlconf) -> str:
    return reverse(url_name, urlconf=urlconf)


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
    # The top-bar menu it goes under: None = the group named like its URL namespace (if one
    # is registered); "" = none, a top-level entry of its own.
    group: str | None = None

    is_group = False  # (not a field) the top bar tells entries from groups by this

    @property
    def url(self) -> str:
        # Every page shows the whole menu: reverse each entry once per process, not some
        # fifty times per request (keyed by what reverse() depends on).
        return _url(self.url_name, get_script_prefix(), get_urlconf())


@dataclass(frozen=True)
class NavGroup:
    """A top-bar dropdown gathering the main entries whose URL names live in the namespace
    `key` ("sales:..." entries go under the "sales" group). A group with one visible entry
    shows as that entry."""

    key: str
    label: str
    icon: str
    order: int = 100
    items: tuple[NavItem, ...] = ()

    @property
    def is_group(self) -> bool:
        return True


_items: dict[str, NavItem] = {}
_groups: dict[str, NavGroup] = {}


def register(item: NavItem) -> None:
    _items[item.key] = item


def register_group(group: NavGroup) -> None:
    _groups[group.key] = group


def items_for(user) -> list[NavItem]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [item for item in sorted(_items.values(), key=lambda i: i.order) if item.visible(user)]


def main_menu(items: list[NavItem]) -> list[NavItem | NavGroup]:
    """The top bar: main entries outside any group, and the groups with their entries (a
    group takes the place of its first entry), each in order."""
    menu: list[NavItem | NavGroup] = []
    grouped: dict[str, list[NavItem]] = {}
    for item in items:
        if item.section != "main":
            continue
        namespace = item.group if item.group is not None else (
            item.url_name.split(":", 1)[0] if ":" in item.url_name else "")
        if namespace in _groups:
            if namespace not in grouped:
                grouped[namespace] = []
                menu.append(_groups[namespace])
            grouped[namespace].append(item)
        else:
            menu.append(item)
    result: list[NavItem | NavGroup] = []
    for entry in menu:
        if isinstance(entry, NavGroup):
            members = tuple(grouped[entry.key])
            result.append(members[0] if len(members) == 1 else
                          NavGroup(entry.key, entry.label, entry.icon, entry.order, members))
        else:
            result.append(entry)
    return result
