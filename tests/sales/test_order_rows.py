"""The order list's rows are built in Python (sales.views.orders.result_rows_html): the same
markup, byte for byte, as the row template the list rendered before, in both languages."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.template import engines
from django.utils import timezone, translation

from sales.models import Order
from sales.views.orders import LIST_COLUMNS, result_rows_html
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

# The row markup of _order_results.html before the rows were built in Python.
TEMPLATE_ROW = """{% load i18n %}{% for order in orders %}
    <tr data-testid="order-row">
      <td><a href="{% url 'sales:order_detail' uuid=order.uuid %}" class="fw-semibold font-monospace">{{ order.number }}</a></td>
      <td data-label="{% translate 'Customer' %}" class="small text-break"><a href="{% url 'customers:detail' uuid=order.customer.uuid %}">{{ order.customer.name }}</a></td>
      <td data-label="{% translate 'Status' %}" class="small">{% include "sales/orders/_status_badge.html" %}</td>
      <td data-label="{% translate 'Total' %}" class="small text-sm-end text-nowrap">{{ order.total|floatformat:"2g" }} {{ order.currency }}</td>
      <td data-label="{% translate 'Owner' %}" class="small">{% if order.owner %}{{ order.owner.get_full_name|default:order.owner.email }}{% else %}<span class="text-body-secondary">—</span>{% endif %}</td>
      <td data-label="{% translate 'Team' %}" class="small">{{ order.team.name|default:"—" }}</td>
      <td data-label="{% translate 'Ordered' %}" class="small text-nowrap">{% if order.ordered_at %}<time datetime="{{ order.ordered_at|date:'c' }}">{{ order.ordered_at|date:"SHORT_DATE_FORMAT" }}</time>{% else %}<span class="text-body-secondary">—</span>{% endif %}</td>
    </tr>
  {% endfor %}"""  # noqa: E501


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_it_builds_the_rows_exactly_as_the_template_did(rep, team, language, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    rep.first_name, rep.last_name = "Ann & <Co>", "O'Neil"
    rep.save()
    team.name = 'East <&> "1"'
    team.save()
    nasty = CustomerFactory(name='<script>alert("x")</script> & Sons', owner=rep, team=team)
    plain = CustomerFactory(name="Plain", owner=None, team=None)
    when = datetime.datetime(2026, 3, 1, 17, 30, 5, 123456, tzinfo=datetime.UTC)
    statuses = [s for s, _label in Order.Status.choices]
    for i, status in enumerate(statuses):
        OrderFactory(number=f"SO-<{i}>&", customer=nasty if i % 2 else plain, status=status,
                     total=Decimal("1234567.455") if i == 0 else Decimal(i) / 3,
                     currency="<&>" if i == 1 else "CNY",
                     ordered_at=None if i == 2 else when + datetime.timedelta(hours=i * 5))
    # A status outside the choices shows its raw value on the "danger" badge.
    OrderFactory(number="SO-odd", customer=plain, status="held<b>", total=0)
    orders = list(Order.objects.select_related("customer", "owner", "team").order_by("number"))
    with timezone.override("Asia/Shanghai"), translation.override(language):
        expected = engines["django"].from_string(TEMPLATE_ROW).render({"orders": orders})
        rows = list(Order.objects.order_by("number").values(*LIST_COLUMNS))
        built = result_rows_html(rows)
    assert built == expected
    assert "<script>" not in built and "&lt;script&gt;" in built
    assert built.count('data-testid="order-row"') == len(statuses) + 1


def test_it_builds_no_rows_for_an_empty_page():
    assert result_rows_html([]) == ""


def test_it_renders_the_team_select_as_django_would(client_for, rep, team):
    """The team options come from one values query (sales.views.orders._team_choices): the
    same HTML as forms.Select over the field's model choices, with a chosen team too."""
    from django import forms
    from django.urls import reverse

    from sales.filters_orders import OrderFilter

    team.name = 'East <&> "1"'
    team.save()
    for chosen in (None, str(team.uuid)):
        field = OrderFilter(None, queryset=Order.objects.all()).form.fields["team"]
        expected = forms.Select(attrs={"class": "form-select"}, choices=field.choices).render(
            "team", chosen, attrs={"id": "id_team"})
        params = {"team": chosen} if chosen else {}
        html = client_for(rep).get(reverse("sales:order_list"), params).content.decode()
        assert expected in html
