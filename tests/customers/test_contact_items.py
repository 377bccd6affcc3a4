"""The 360 page's contact cards are built in Python (customers.views.profile.
contact_items_html): the markup must stay what the template produced, byte for byte."""

import pytest
from django.template import engines
from django.utils import translation

from customers.custom_fields import DisplayRow
from customers.views.profile import contact_items_html
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

# The loop customer_detail.html had before the cards were built in Python.
TEMPLATE_LOOP = """{% load i18n %}{% for contact in contacts %}
        <li class="list-group-item contact-item" data-testid="contact">
          <div class="d-flex justify-content-between gap-2">
            <div class="text-break">
              <div class="fw-semibold text-break">{{ contact }}{% if contact.is_primary %} <span class="badge text-bg-primary">{% translate "Primary" %}</span>{% endif %}</div>
              {% if contact.title %}<div class="small text-body-secondary">{{ contact.title }}</div>{% endif %}
            </div>
            {% if can_change_contact or can_delete_contact %}
            <div class="d-flex gap-1 flex-shrink-0 align-items-start">
              {% if can_change_contact %}<a class="btn btn-sm btn-outline-secondary" href="{% url 'customers:contact_edit' uuid=customer.uuid contact_uuid=contact.uuid %}" title="{% translate 'Edit' %}"><i class="bi bi-pencil" aria-hidden="true"></i><span class="visually-hidden">{% blocktranslate with name=contact %}Edit {{ name }}{% endblocktranslate %}</span></a>{% endif %}
              {% if can_delete_contact %}
              <form method="post" action="{% url 'customers:contact_delete' uuid=customer.uuid contact_uuid=contact.uuid %}">{% csrf_token %}
                <button type="submit" class="btn btn-sm btn-outline-danger" title="{% translate 'Remove' %}" data-confirm="{% blocktranslate with name=contact %}Remove {{ name }} from this customer's contacts?{% endblocktranslate %}"><i class="bi bi-trash" aria-hidden="true"></i><span class="visually-hidden">{% blocktranslate with name=contact %}Remove {{ name }}{% endblocktranslate %}</span></button>
              </form>
              {% endif %}
            </div>
            {% endif %}
          </div>
          <div class="small mt-1 contact-channels">
            {% if contact.email %}<div class="text-break"><i class="bi bi-envelope me-1" aria-hidden="true"></i><a href="mailto:{{ contact.email }}">{{ contact.email }}</a></div>{% endif %}
            {% if contact.phone %}<div><i class="bi bi-telephone me-1" aria-hidden="true"></i><a href="tel:{{ contact.phone }}">{{ contact.phone }}</a></div>{% endif %}
            {% if contact.mobile %}<div><i class="bi bi-phone me-1" aria-hidden="true"></i><a href="tel:{{ contact.mobile }}">{{ contact.mobile }}</a></div>{% endif %}
          </div>
          {% if contact.custom_rows %}
          <dl class="row small mt-1 mb-0 contact-custom">
            {% for row in contact.custom_rows %}
            <dt class="col-5 fw-normal text-body-secondary text-break">{{ row.label }}</dt><dd class="col-7 mb-0 text-break" data-testid="contact-custom-{{ row.key }}">{{ row.value }}</dd>
            {% endfor %}
          </dl>
          {% endif %}
          <div class="mt-1 d-flex flex-wrap gap-1">
            <span class="badge text-bg-light border">{% blocktranslate with channel=contact.get_preferred_channel_display %}Prefers: {{ channel }}{% endblocktranslate %}</span>
            {% if contact.marketing_consent %}<span class="badge text-bg-success" title="{{ contact.get_consent_method_display }}"><i class="bi bi-check2 me-1" aria-hidden="true"></i>{% translate "Marketing consent" %}</span>
            {% else %}<span class="badge text-bg-secondary">{% translate "No marketing consent" %}</span>{% endif %}
          </div>
        </li>
        {% empty %}
        <li class="list-group-item text-body-secondary small">{% translate "No contacts yet." %}</li>
        {% endfor %}"""  # noqa: E501


def render_both(customer, contacts, *, can_change, can_delete, token="tok<&>en"):
    expected = engines["django"].from_string(TEMPLATE_LOOP).render({
        "customer": customer, "contacts": contacts, "can_change_contact": can_change,
        "can_delete_contact": can_delete, "csrf_token": token})
    built = contact_items_html(customer, contacts, can_change=can_change,
                               can_delete=can_delete, csrf_token=token)
    return expected, built


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize(("can_change", "can_delete"),
                         [(True, True), (True, False), (False, True), (False, False)])
def test_it_builds_the_cards_exactly_as_the_template_did(own_customer, language, can_change,
                                                          can_delete):
    plain = ContactFactory(customer=own_customer, first_name="Plain", last_name="", title="",
                           email="", phone="", mobile="", is_primary=False,
                           marketing_consent=False)
    full = ContactFactory(customer=own_customer, first_name='<b>"Ann"</b>', last_name="O'Neil & Co",
                          title="Head <of> buying", email="ann@example.com",
                          phone="+86 10 <1>", mobile="138 & 0013", is_primary=True,
                          preferred_channel="phone", marketing_consent=True,
                          consent_method="web_form")
    plain.custom_rows = []
    full.custom_rows = [DisplayRow("plan", 'Plan <"x">', "Pro & more"),
                        DisplayRow("size", "Size", "12")]
    with translation.override(language):
        expected, built = render_both(own_customer, [full, plain], can_change=can_change,
                                      can_delete=can_delete)
    assert built == expected
    assert "<b>" not in built and "&lt;b&gt;" in built


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_it_shows_the_empty_card_as_the_template_did(own_customer, language):
    with translation.override(language):
        expected, built = render_both(own_customer, [], can_change=True, can_delete=True)
    assert built == expected
    assert 'class="list-group-item text-body-secondary small"' in built
