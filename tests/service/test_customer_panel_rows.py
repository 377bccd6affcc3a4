"""The service panel's ticket items built in Python (service.integration.tickets_html): byte
for byte what _customer_service.html's loop rendered, in both languages, escaped."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.template import engines
from django.utils import timezone, translation

from accounts.models import User
from service.integration import tickets_html
from service.models import Ticket

TEMPLATE_TICKETS = """{% load i18n %}{% for ticket in tickets %}
  <li class="list-group-item d-flex justify-content-between gap-2">
    <div class="text-break">
      {% url 'service:ticket_detail' uuid=ticket.uuid as detail_url %}
      <span class="font-monospace text-body-secondary">{{ ticket.number }}</span>
      {% if detail_url %}<a href="{{ detail_url }}" class="fw-semibold">{{ ticket.subject }}</a>{% else %}<span class="fw-semibold">{{ ticket.subject }}</span>{% endif %}
      <div class="text-body-secondary">{% if ticket.assignee %}{{ ticket.assignee.get_full_name|default:ticket.assignee.email }}{% else %}{% translate "Unassigned" %}{% endif %}{% if ticket.satisfaction_score %} · <span title="{% translate 'Satisfaction' %}"><i class="bi bi-star-fill text-warning" aria-hidden="true"></i> {{ ticket.satisfaction_score }}/5</span>{% endif %}</div>
    </div>
    <div class="text-end flex-shrink-0">
      {% include "service/tickets/_status_badge.html" %}
      <div><time class="text-body-secondary text-nowrap" datetime="{{ ticket.created_at|date:'c' }}">{{ ticket.created_at|date:"SHORT_DATE_FORMAT" }}</time></div>
    </div>
  </li>
  {% empty %}
  <li class="list-group-item text-body-secondary">{% translate "No tickets." %}</li>
  {% endfor %}"""  # noqa: E501


def tickets():
    created = timezone.make_aware(datetime.datetime(2026, 3, 9, 23, 30), datetime.UTC)
    named = User(first_name="Ann <&>", last_name="O'Neil", email="ann@example.com")
    unnamed = User(first_name="", last_name="", email="x<y>@example.com")
    return [
        Ticket(uuid=uuid.uuid4(), number=f"T-{i}", subject=f'Broken "{status}" <b>', status=status,
               assignee=(named, unnamed, None)[i % 3], satisfaction_score=(None, 4, 0, 5)[i % 4],
               created_at=created)
        for i, status in enumerate(("new", "assigned", "in_progress", "waiting", "resolved",
                                    "closed", "odd"))
    ]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("rows", [tickets, list])
def test_it_builds_the_items_exactly_as_the_template_did(language, rows, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    given = rows()
    with timezone.override("Asia/Shanghai"), translation.override(language):
        expected = engines["django"].from_string(TEMPLATE_TICKETS).render({"tickets": given})
        built = tickets_html(given)
    assert built == expected
    if given:
        assert "&lt;b&gt;" in built and "<b>" not in built
