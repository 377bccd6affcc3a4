"""Start-up registrations of tasks: the "Open tasks" panel on the customer's 360 page, the
"My tasks" navigation entry, and the timeline describers of the task events.

Call `register()` once at start-up, in CustomersConfig.ready() (customers/apps.py). Every
registry is keyed, so calling it again changes nothing.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy

PANEL_KEY = "customers.tasks"


def _panel_context(customer, user) -> dict:
    from customers.task_selectors import PANEL_LIMIT, task_list_for_customer

    return {
        "tasks": task_list_for_customer(user, customer, limit=PANEL_LIMIT),
        "limit": PANEL_LIMIT,
        "now": timezone.now(),
        "can_add_task": user.has_perm("customers.add_task"),
    }


def _title(event) -> str:
    payload = event.payload if isinstance(event.payload, dict) else {}
    return str(payload.get("title") or "")


# Lazy, so each describes in the language of the page that renders the timeline.
DESCRIPTIONS = {
    "task.created": (gettext_lazy("Task added: %(title)s"), gettext_lazy("Task added")),
    "task.updated": (gettext_lazy("Task changed: %(title)s"), gettext_lazy("Task changed")),
    "task.done": (gettext_lazy("Task done: %(title)s"), gettext_lazy("Task done")),
    "task.reopened": (gettext_lazy("Task reopened: %(title)s"), gettext_lazy("Task reopened")),
}


def _make_describer(name: str):
    with_title, without_title = DESCRIPTIONS[name]

    def describe(event) -> str:
        title = _title(event)
        return str(with_title) % {"title": title} if title else str(without_title)
    return describe


def register() -> None:
    from crm import navigation
    from customers import panels
    from customers.timeline import register_describer

    panels.register(
        PANEL_KEY, gettext_lazy("Open tasks"), "customers/tasks/_customer_panel.html",
        context=_panel_context, order=30,
        visible=lambda user: user.has_perm("customers.view_task"),
    )
    navigation.register(
        navigation.NavItem(
            key="tasks", label=gettext_lazy("My tasks"), url_name="customers:tasks", group="",
            icon="check2-square", order=15,
            visible=lambda user: user.has_perm("customers.view_task"),
        )
    )
    for name in DESCRIPTIONS:
        register_describer(name, _make_describer(name))
