"""The 360 page's timeline entries are built in Python (customers.views.profile.
timeline_items_html): the markup must stay what the template produced, byte for byte."""

from datetime import UTC, datetime

import pytest
from django.template import engines
from django.utils import timezone, translation

from crm.events import event_record
from customers.models import Interaction
from customers.timeline import timeline_for_customer
from customers.views.profile import timeline_items_html
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

# The loop _timeline.html had before the entries were built in Python.
TEMPLATE_LOOP = """{% load i18n %}{% for item in timeline.items %}
<article class="d-flex gap-3 py-2 border-bottom" data-testid="timeline-item" data-source="{{ item.source }}">
  <div class="rounded-circle p-2 lh-1 flex-shrink-0 align-self-start {% if item.is_interaction %}text-bg-primary{% else %}text-bg-light border{% endif %}" aria-hidden="true"><i class="bi bi-{{ item.icon }}"></i></div>
  <div class="flex-grow-1 text-break">
    {% if item.is_interaction %}{% with interaction=item.obj %}
    <div class="d-flex flex-wrap align-items-baseline gap-2">
      <span class="fw-semibold text-break">{{ interaction.subject }}</span>
      <span class="badge text-bg-light border">{{ interaction.get_kind_display }} · {{ interaction.get_direction_display }}</span>
    </div>
    <div class="small text-body-secondary">
      <time datetime="{{ item.timestamp|date:'c' }}">{{ item.timestamp|date:"SHORT_DATETIME_FORMAT" }}</time>
      {% if interaction.user %}· {{ interaction.user }}{% endif %}
      {% if interaction.contact %}· {% blocktranslate with name=interaction.contact %}with {{ name }}{% endblocktranslate %}{% endif %}
    </div>
    {% if interaction.body %}<div class="small mt-1 text-break timeline-body">{{ interaction.body|linebreaksbr }}</div>{% endif %}
    {% if interaction.outcome %}<div class="small mt-1"><span class="fw-semibold">{% translate "Outcome:" %}</span> {{ interaction.outcome }}</div>{% endif %}
    {% endwith %}{% else %}
    <div class="text-break">{{ item.text }}</div>
    <div class="small text-body-secondary">
      <time datetime="{{ item.timestamp|date:'c' }}">{{ item.timestamp|date:"SHORT_DATETIME_FORMAT" }}</time>
      {% if item.actor %}· {{ item.actor }}{% endif %}
    </div>
    {% endif %}
  </div>
</article>
{% empty %}
{% if not timeline_from_cursor %}<p class="text-body-secondary small mb-0" data-testid="timeline-empty">{% translate "Nothing on the timeline yet." %}</p>{% endif %}
{% endfor %}"""  # noqa: E501


def render_both(items, *, from_cursor=False):
    expected = engines["django"].from_string(TEMPLATE_LOOP).render({
        "timeline": {"items": items}, "timeline_from_cursor": from_cursor})
    return expected, timeline_items_html(items, from_cursor=from_cursor)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_it_builds_the_entries_exactly_as_the_template_did(own_customer, rep, language,
                                                           settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    rep.first_name, rep.last_name = "Ann & <Co>", "O'Neil"
    rep.save()
    contact = ContactFactory(customer=own_customer, first_name='<i>"Bo"</i>', last_name="")
    when = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)
    Interaction.objects.create(customer=own_customer, contact=contact, user=rep,
                               kind=Interaction.Kind.CALL,
                               direction=Interaction.Direction.INBOUND,
                               subject="Price <talk> & more", occurred_at=when,
                               body="line one\nline <two>\r\nthree", outcome='Deal "soon"')
    Interaction.objects.create(customer=own_customer, user=None,
                               kind=Interaction.Kind.NOTE,
                               direction=Interaction.Direction.OUTBOUND,
                               subject="Bare", occurred_at=when, body="", outcome="")
    event_record(name="customer.updated", actor=rep, customer_id=own_customer.pk,
                 subject=own_customer, payload={"fields": ["name"]})
    event_record(name="customer.updated", actor=None, customer_id=own_customer.pk,
                 subject=own_customer, payload={})
    items = timeline_for_customer(own_customer, limit=10).items
    assert {item.is_interaction for item in items} == {True, False}
    with timezone.override("Asia/Shanghai"), translation.override(language):
        expected, built = render_both(items)
    assert built == expected
    assert "<talk>" not in built and "&lt;talk&gt;" in built and "<br>" in built


@pytest.mark.parametrize("from_cursor", [False, True])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_it_shows_an_empty_page_as_the_template_did(language, from_cursor):
    with translation.override(language):
        expected, built = render_both([], from_cursor=from_cursor)
    assert built == expected
    assert ('data-testid="timeline-empty"' in built) is not from_cursor
