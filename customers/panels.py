"""Panels on the customer's 360-degree page, contributed by other modules.

Customers sits below sales, service, marketing and reports, so it cannot import them. Each of
those registers its panels in its AppConfig.ready():

    from customers import panels
    panels.register(
        "sales.opportunities", _("Opportunities"), "sales/_customer_opportunities.html",
        context=lambda customer, user: {"opportunities": opportunity_list_for_customer(...)},
        order=20, visible=lambda user: user.has_perm("sales.view_opportunity"),
    )

The page renders the visible panels in `order`. A panel's context function must run a fixed
number of queries (select_related / prefetch), like the rest of the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.template import RequestContext, engines
from django.utils.safestring import SafeString


@dataclass(frozen=True)
class Panel:
    key: str
    title: Any  # a lazy translation
    template: str
    context: Callable[[Any, Any], dict]
    order: int = 100
    visible: Callable[[Any], bool] = field(default=lambda user: True)


@dataclass(frozen=True)
class RenderedPanel:
    key: str
    title: Any
    html: SafeString


_panels: dict[str, Panel] = {}


def register(key: str, title, template: str, context: Callable[[Any, Any], dict],
             order: int = 100, visible: Callable[[Any], bool] = lambda user: True) -> None:
    """Add (or replace) the panel `key`; `context(customer, user)` returns its template's
    context."""
    _panels[key] = Panel(key=key, title=title, template=template, context=context,
                         order=order, visible=visible)


def unregister(key: str) -> None:
    _panels.pop(key, None)


def panels_for(user) -> list[Panel]:
    """The registered panels this user may see, in order."""
    return [p for p in sorted(_panels.values(), key=lambda p: (p.order, p.key))
            if p.visible(user)]


def render_panels(request, customer) -> list[RenderedPanel]:
    """Each visible panel rendered with its own context (plus `customer` and `panel`), in one
    request context: the context processors (navigation, permissions, messages, CSRF) run
    once for all the panels, not once per panel as render_to_string(request=...) would."""
    panels = panels_for(request.user)
    if not panels:
        return []
    engine = engines["django"]
    templates = [engine.get_template(panel.template).template for panel in panels]
    context = RequestContext(request, autoescape=engine.engine.autoescape)
    rendered = []
    with context.bind_template(templates[0]):
        for panel, template in zip(panels, templates, strict=True):
            data = {"customer": customer, "panel": panel,
                    **panel.context(customer, request.user)}
            with context.push(data):
                html = template.render(context)
            rendered.append(RenderedPanel(key=panel.key, title=panel.title, html=html))
    return rendered
