"""Start-up registrations of the segments area: the "Segments" entry of the top navigation.

Call `register()` from CustomersConfig.ready() (customers/apps.py). Idempotent (by key).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def _visible(user) -> bool:
    from customers.segments import segment_can

    return segment_can(user, "view")


def register() -> None:
    from crm import navigation
    from customers.segments import ensure_builtins

    navigation.register(
        navigation.NavItem(
            key="segments", label=_("Segments"), url_name="customers:segment_list",
            icon="funnel", order=15, visible=_visible,
        )
    )
    ensure_builtins()  # the built-in rule fields, before other apps add theirs
