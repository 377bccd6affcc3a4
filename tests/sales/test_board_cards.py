"""The board's cards built in Python (sales.board.cards_html): byte for byte what the card
template (kept below) rendered per card, for a user who may move them and one who may not, in
both languages, every value escaped."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.template import engines
from django.utils import translation

from sales.board import board_load
from sales.selectors import opportunity_list_for_user, stage_list
from tests.factories import CustomerFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

TEMPLATE_CARD = """{% load i18n %}{# The links, the owner and the "Move to" options come worked out from sales.board.board_load. #}<article class="card board-card shadow-sm{% if card.can_move %} board-card-movable{% endif %}" data-testid="card"
  data-uuid="{{ card.uuid }}" data-version="{{ card.version }}" data-stage="{{ card.stage_id }}" data-close="{{ card.close_iso }}"
  data-name="{{ card.name }}"{% if card.can_move %} data-movable{% endif %}>
  <div class="card-body p-2">
    <div class="d-flex justify-content-between gap-2">
      <h3 class="h6 mb-1 text-break"><a href="{{ card.detail_url }}">{{ card.name }}</a></h3>
      {% if card.can_move %}<i class="bi bi-grip-vertical text-body-tertiary board-handle" aria-hidden="true"></i>{% endif %}
    </div>
    <div class="small text-break"><a href="{{ card.customer_url }}" class="link-secondary">{{ card.customer.name }}</a></div>
    <div class="small fw-semibold">{{ card.amount|floatformat:"2g" }} {{ card.currency }}</div>
    <div class="small text-body-secondary d-flex flex-wrap column-gap-2">
      <span title="{% translate 'Owner' %}"><i class="bi bi-person me-1" aria-hidden="true"></i>{{ card.owner_label|default:"—" }}</span>
      <span title="{% translate 'Expected close' %}"><i class="bi bi-calendar-event me-1" aria-hidden="true"></i><time datetime="{{ card.close_iso }}">{{ card.close_text }}</time></span>
      <span title="{% translate 'Days in this stage' %}" data-days><i class="bi bi-hourglass-split me-1" aria-hidden="true"></i>{{ card.days_text }}</span>
    </div>
    {% if card.can_move %}
    <div class="input-group input-group-sm mt-1">
      <label class="input-group-text" for="move-{{ card.uuid }}">{% translate "Move to" %}</label>
      <select class="form-select" id="move-{{ card.uuid }}" data-move-select>
        {{ card.move_options }}
      </select>
    </div>
    {% endif %}
  </div>
</article>
"""  # noqa: E501

TEMPLATE_COLUMN = ("{% for card in column.cards %}{% include card_template %}{% endfor %}")


@pytest.fixture
def cards(rep, team, pipeline):
    customer = CustomerFactory(name='Acme <b>"Robotics"</b> & Sons', owner=rep, team=team)
    today = datetime.date.today()
    OpportunityFactory(customer=customer, owner=rep, team=team, stage=pipeline["Proposal"],
                       name="Robot <arms> & 'legs'", amount=Decimal("1234567.891"),
                       currency="USD", expected_close_date=today)
    OpportunityFactory(customer=customer, owner=None, team=team, stage=pipeline["Proposal"],
                       name="Nobody's", amount=Decimal("0"),
                       expected_close_date=today + datetime.timedelta(days=40))
    OpportunityFactory(customer=customer, owner=rep, team=team, stage=pipeline["Won"],
                       name="Won one", amount=Decimal("12"))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("who", ["rep", "analyst"])
def test_it_builds_the_cards_exactly_as_the_template_did(request, cards, language, who):
    user = request.getfixturevalue(who)
    card_template = engines["django"].from_string(TEMPLATE_CARD)
    column_template = engines["django"].from_string(TEMPLATE_COLUMN)
    with translation.override(language):
        columns = board_load(user, opportunity_list_for_user(user), list(stage_list()))
        shown = [column for column in columns if column.cards]
        assert sum(len(column.cards) for column in shown) == 3
        for column in shown:
            expected = column_template.render({"column": column,
                                               "card_template": card_template.template})
            assert column.cards_html == expected
    html = "".join(column.cards_html for column in shown)
    assert "Robot &lt;arms&gt; &amp; &#x27;legs&#x27;" in html and "<arms>" not in html
    assert "Acme &lt;b&gt;&quot;Robotics&quot;&lt;/b&gt; &amp; Sons" in html
    assert ("data-movable" in html) == (who == "rep")
    assert "—" in html  # the card without an owner


def test_an_empty_column_has_no_markup(rep, pipeline):
    columns = board_load(rep, opportunity_list_for_user(rep), list(stage_list()))
    assert [column.cards_html for column in columns] == [""] * len(columns)
