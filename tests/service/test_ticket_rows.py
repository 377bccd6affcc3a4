"""The ticket queues' table rows are built in Python (service.views.tickets.result_rows_html):
the page must stay the same, byte for byte, as the template that rendered them before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import DictionaryEntry
from service.models import Ticket
from tests.factories import CustomerFactory, DictionaryEntryFactory, TicketFactory

pytestmark = pytest.mark.django_db

# The row markup of _ticket_results.html before the rows were built in Python (its badges
# are still the included templates).
TEMPLATE_ROW = """{% load i18n %}{% for ticket in tickets %}
    <tr data-ticket="{{ ticket.number }}">
      <td>
        <div class="d-flex align-items-start gap-2">
          {% if can_bulk %}<input class="form-check-input mt-1 flex-shrink-0" type="checkbox" name="selected" value="{{ ticket.uuid }}" form="bulk-form" id="select-{{ ticket.uuid }}" aria-label="{% blocktranslate with number=ticket.number %}Select {{ number }}{% endblocktranslate %}">{% endif %}
          <div class="text-break">
            <a href="{% url 'service:ticket_detail' uuid=ticket.uuid %}" class="fw-semibold">{{ ticket.subject }}</a>
            <div class="small text-body-secondary"><span class="font-monospace">{{ ticket.number }}</span>{% if ticket.category %} · {{ ticket.category.label }}{% endif %}</div>
          </div>
        </div>
      </td>
      <td data-label="{% translate 'Status' %}" class="small">{% include "service/tickets/_status_badge.html" %}</td>
      <td data-label="{% translate 'Priority' %}" class="small">{% include "service/tickets/_priority_badge.html" %}</td>
      <td data-label="{% translate 'Customer' %}" class="small text-break">{% if ticket.customer %}{{ ticket.customer.name }}{% else %}{{ ticket.requester_name|default:ticket.requester_email|default:"—" }}{% endif %}</td>
      <td data-label="{% translate 'Assignee' %}" class="small">{% if ticket.assignee %}{{ ticket.assignee.get_full_name|default:ticket.assignee.email }}{% else %}<span class="text-body-secondary">{% translate "Unassigned" %}</span>{% endif %}{% if ticket.team %}<div class="text-body-secondary">{{ ticket.team.name }}</div>{% endif %}</td>
      <td data-label="{% translate 'Due' %}" class="small text-nowrap">{% include "service/tickets/_sla_badge.html" with sla=ticket.sla %}</td>
      <td data-label="{% translate 'Created' %}" class="small text-nowrap"><time datetime="{{ ticket.created_at|date:'c' }}">{{ ticket.created_at|date:"SHORT_DATE_FORMAT" }}</time></td>
    </tr>
  {% endfor %}"""  # noqa: E501


def _tickets(agent, support_team):
    """Tickets covering every branch of the row: each status and priority, each SLA level,
    with and without customer, requester, assignee (named or not), team and category, and
    markup in every text."""
    now = timezone.now()
    agent.first_name, agent.last_name = "Ann & <Co>", "O'Neil"
    agent.save()
    category = DictionaryEntryFactory(kind=DictionaryEntry.Kind.TICKET_CATEGORY,
                                      label='Billing <&> "1"')
    blank = DictionaryEntryFactory(kind=DictionaryEntry.Kind.TICKET_CATEGORY, label="")
    customer = CustomerFactory(name='<script>alert("x")</script> & Sons')
    late = now - timedelta(hours=1)
    soon = now + timedelta(minutes=30)
    later = now + timedelta(days=3)
    variants = [
        {"status": "new", "priority": "urgent", "first_response_due_at": late,
         "resolution_due_at": later, "category": category, "assignee": agent,
         "team": support_team},
        {"status": "assigned", "priority": "high", "first_response_due_at": soon,
         "resolution_due_at": later, "category": blank},
        {"status": "in_progress", "priority": "normal", "first_responded_at": late,
         "first_response_due_at": late, "resolution_due_at": later, "customer": None,
         "requester_name": "Bo <b>", "requester_email": "bo@example.com"},
        {"status": "waiting", "priority": "low", "resolution_due_at": later,
         "paused_at": now, "customer": None, "requester_name": "",
         "requester_email": "x&y@example.com"},
        {"status": "new", "priority": "low", "first_response_due_at": later,
         "resolution_due_at": later, "first_response_breached": True, "customer": None,
         "requester_name": "", "requester_email": ""},
        {"status": "resolved", "priority": "normal", "resolution_due_at": late},
        {"status": "closed", "priority": "high"},
        {"status": "archived", "priority": "urgent"},
        {"status": "new", "priority": "normal", "first_response_due_at": None,
         "resolution_due_at": None},
        {"status": "in_progress", "priority": "high", "first_response_due_at": None,
         "resolution_due_at": soon, "resolution_breached": False},
    ]
    for i, fields in enumerate(variants):
        values = {"customer": customer, "subject": f"Help <{i}> & \"more\"",
                  "number": f"T-<{i:03d}>&", "first_response_due_at": None,
                  "resolution_due_at": None, **fields}
        TicketFactory(**values)
    UserNameless = type(agent)
    nameless = UserNameless.objects.create_user(email="nameless@example.com",
                                                password="pw-123456-x")
    TicketFactory(status="new", priority="normal", assignee=nameless, number="T-NAMELESS",
                  first_response_due_at=soon, resolution_due_at=later)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("can_bulk", [True, False])
def test_it_builds_the_rows_exactly_as_the_template_did(agent, support_team, language,
                                                         can_bulk, settings):
    from django.template import engines
    from django.utils import translation

    from service.views.tickets import (
        LIST_COLUMNS,
        result_rows_html,
        row_sla_state,
        sla_state,
        with_list_columns,
    )

    settings.TIME_ZONE = "Asia/Shanghai"
    _tickets(agent, support_team)
    now = timezone.now()
    tickets = list(Ticket.objects.select_related("customer", "assignee", "team", "category")
                   .order_by("number"))
    rows = list(with_list_columns(Ticket.objects.order_by("number")).values(*LIST_COLUMNS))
    for ticket, row in zip(tickets, rows, strict=True):
        row["sla"] = row_sla_state(row, now)
        ticket.sla = sla_state(ticket, now)
        assert ticket.sla == row["sla"]
    assert {row["sla"]["level"] for row in rows if row["sla"]} == {"late", "soon", "ok",
                                                                   "paused"}
    with timezone.override("Asia/Shanghai"), translation.override(language):
        expected = engines["django"].from_string(TEMPLATE_ROW).render(
            {"tickets": tickets, "can_bulk": can_bulk})
        built = result_rows_html(rows, can_bulk=can_bulk)
    assert built == expected
    assert "<script>" not in built and "&lt;script&gt;" in built


def test_it_shows_the_empty_row_when_no_ticket_matches(client_for, manager):
    from django.urls import reverse

    html = client_for(manager).get(reverse("service:ticket_list"),
                                   {"q": "no such ticket"}).content.decode()
    assert "No tickets in this queue match these filters." in html
