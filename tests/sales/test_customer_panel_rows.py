"""The purchase panel's order items built in Python (sales.order_ui.orders_html): byte for byte
what _customer_purchases.html's loop rendered, in both languages, escaped."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.template import engines
from django.utils import timezone, translation

from sales.models import Order
from sales.order_ui import orders_html

TEMPLATE_ORDERS = """{% load i18n %}{% for order in orders %}
  <li class="list-group-item d-flex justify-content-between gap-2">
    <div class="text-break">
      <a href="{% url 'sales:order_detail' uuid=order.uuid %}" class="fw-semibold font-monospace">{{ order.number }}</a>
      {% include "sales/orders/_status_badge.html" %}
      <div class="text-body-secondary">{{ order.total|floatformat:"2g" }} {{ order.currency }}</div>
    </div>
    {% if order.ordered_at %}<time class="text-nowrap text-body-secondary" datetime="{{ order.ordered_at|date:'c' }}">{{ order.ordered_at|date:"SHORT_DATE_FORMAT" }}</time>{% else %}<span class="text-body-secondary text-nowrap">{% translate "not placed" %}</span>{% endif %}
  </li>
  {% empty %}
  <li class="list-group-item text-body-secondary">{% translate "No orders yet." %}</li>
  {% endfor %}"""  # noqa: E501


def orders():
    placed = timezone.make_aware(datetime.datetime(2026, 3, 9, 23, 30), datetime.UTC)
    return [
        Order(uuid=uuid.uuid4(), number=f"SO-{status}<&>", status=status,
              total=Decimal("12345.6") * (i + 1), currency='C"Y', ordered_at=placed)
        for i, status in enumerate(("draft", "confirmed", "shipped", "completed", "cancelled",
                                    "odd"))
    ] + [Order(uuid=uuid.uuid4(), number="SO-9", status="draft", total=Decimal("0"),
               currency="EUR", ordered_at=None)]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("rows", [orders, list])
def test_it_builds_the_items_exactly_as_the_template_did(language, rows, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    given = rows()
    with timezone.override("Asia/Shanghai"), translation.override(language):
        expected = engines["django"].from_string(TEMPLATE_ORDERS).render({"orders": given})
        built = orders_html(given)
    assert built == expected
    if given:
        assert "SO-draft&lt;&amp;&gt;" in built and "<&>" not in built


TEMPLATE_OPPORTUNITIES = """{% load i18n %}{% for opportunity in opportunities %}
  <li class="list-group-item d-flex justify-content-between gap-2">
    <div class="text-break">
      {% url 'sales:opportunity_detail' uuid=opportunity.uuid as detail_url %}
      {% if detail_url %}<a href="{{ detail_url }}" class="fw-semibold">{{ opportunity.name }}</a>{% else %}<span class="fw-semibold">{{ opportunity.name }}</span>{% endif %}
      <div class="text-body-secondary">{{ opportunity.stage.name }} · {{ opportunity.amount|floatformat:"2g" }} {{ opportunity.currency }}</div>
    </div>
    <time class="text-nowrap{% if opportunity.expected_close_date < today %} text-danger{% else %} text-body-secondary{% endif %}" datetime="{{ opportunity.expected_close_date|date:'Y-m-d' }}" title="{% translate 'Expected close' %}">{{ opportunity.expected_close_date|date:"SHORT_DATE_FORMAT" }}</time>
  </li>
  {% empty %}
  <li class="list-group-item text-body-secondary">{% translate "No open opportunities." %}</li>
  {% endfor %}"""  # noqa: E501


def opportunities():
    from sales.models import Opportunity, PipelineStage

    stage = PipelineStage(name='Proposal <"sent">')
    return [
        Opportunity(uuid=uuid.uuid4(), name=f"Deal {i} & <co>", stage=stage,
                    amount=Decimal("98765.432") * i, currency="USD",
                    expected_close_date=datetime.date(2026, 3, 1 + i))
        for i in range(4)
    ]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("rows", [opportunities, list])
def test_it_builds_the_opportunities_exactly_as_the_template_did(language, rows):
    from sales.integration import opportunities_html

    given, today = rows(), datetime.date(2026, 3, 3)
    with translation.override(language):
        expected = engines["django"].from_string(TEMPLATE_OPPORTUNITIES).render(
            {"opportunities": given, "today": today})
        built = opportunities_html(given, today)
    assert built == expected
    if given:
        assert built.count("text-danger") == 2 and "&lt;co&gt;" in built
