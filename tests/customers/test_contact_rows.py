"""The contact list's rows are built in Python (customers.views.contacts.result_rows_html):
the same markup, byte for byte, as the row template the list rendered before, in both
languages."""

from __future__ import annotations

import datetime

import pytest
from django.template import engines
from django.utils import translation

from customers.models import Contact
from customers.views.contacts import LIST_COLUMNS, result_rows_html
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db

# The row markup of _contact_results.html before the rows were built in Python.
TEMPLATE_ROW = """{% load i18n %}{% translate "Customer" as label_customer %}{% translate "Job title" as label_title %}{% translate "E-mail" as label_email %}{% translate "Phone" as label_phone %}{% translate "Channel" as label_channel %}{% translate "Marketing" as label_marketing %}{% translate "Birthday" as label_birthday %}{% translate "Primary" as label_primary %}{% translate "Agrees" as label_agrees %}{% translate "No consent" as label_no_consent %}{% for contact in contacts %}{% url 'customers:detail' uuid=contact.customer.uuid as customer_url %}
    <tr data-testid="contact-row">
      <td>
        <a href="{{ customer_url }}#contacts" class="fw-semibold text-break">{{ contact }}</a>
        {% if contact.is_primary %}<span class="badge text-bg-primary ms-1">{{ label_primary }}</span>{% endif %}
      </td>
      <td data-label="{{ label_customer }}" class="small"><a href="{{ customer_url }}" class="text-break">{{ contact.customer.name }}</a></td>
      <td data-label="{{ label_title }}" class="small text-break">{{ contact.title|default:"—" }}</td>
      <td data-label="{{ label_email }}" class="small text-break">{% if contact.email %}<a href="mailto:{{ contact.email }}">{{ contact.email }}</a>{% else %}—{% endif %}</td>
      <td data-label="{{ label_phone }}" class="small text-nowrap">{{ contact.phone|default:contact.mobile|default:"—" }}</td>
      <td data-label="{{ label_channel }}" class="small">{{ contact.get_preferred_channel_display }}</td>
      <td data-label="{{ label_marketing }}" class="small">{% if contact.marketing_consent %}<span class="badge text-bg-success">{{ label_agrees }}</span>{% else %}<span class="badge text-bg-secondary">{{ label_no_consent }}</span>{% endif %}</td>
      <td data-label="{{ label_birthday }}" class="small text-nowrap">{% if contact.birthday %}<time datetime="{{ contact.birthday|date:'Y-m-d' }}">{{ contact.birthday|date:"SHORT_DATE_FORMAT" }}</time>{% else %}—{% endif %}</td>
    </tr>
  {% endfor %}"""  # noqa: E501


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_it_builds_the_rows_exactly_as_the_template_did(rep, language):
    nasty = CustomerFactory(name='<script>alert("x")</script> & Sons', owner=rep)
    plain = CustomerFactory(name="Plain", owner=rep)
    ContactFactory(customer=nasty, first_name="Ann & <Co>", last_name="O'Neil",
                   title='Head of "R&D"', email="a&b@example.com", phone="+86 <138>",
                   mobile="139", preferred_channel="wechat", is_primary=True,
                   marketing_consent=True, birthday=datetime.date(1980, 2, 29))
    ContactFactory(customer=plain, first_name="Bo", last_name="", title="", email="",
                   phone="", mobile="+1 555 <0100>", preferred_channel="phone",
                   birthday=None)
    ContactFactory(customer=plain, first_name="Cy", last_name="Zed", title="", email="",
                   phone="", mobile="", birthday=datetime.date(2001, 12, 3))
    # A channel outside the choices shows its raw value.
    ContactFactory(customer=plain, first_name="Di", last_name="Odd",
                   preferred_channel="pigeon<>")
    contacts = list(Contact.objects.select_related("customer").order_by("first_name"))
    with translation.override(language):
        expected = engines["django"].from_string(TEMPLATE_ROW).render({"contacts": contacts})
        rows = list(Contact.objects.order_by("first_name").values(*LIST_COLUMNS))
        built = result_rows_html(rows)
    assert built == expected
    assert "<script>" not in built and "&lt;script&gt;" in built
    assert built.count('data-testid="contact-row"') == 4


def test_it_builds_no_rows_for_an_empty_page():
    assert result_rows_html([]) == ""
