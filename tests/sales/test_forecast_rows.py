"""The forecast's cells and rep and team rows built in Python (sales.forecast_ui): byte for
byte what the template's cell include (kept below) and row loops rendered, in both languages,
every value escaped."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import engines
from django.utils import translation

from sales.forecast import Figure, Row
from sales.forecast_ui import cell_texts, cells_html, rows_html

TEMPLATE_CELLS = """{% load i18n %}{# The links and the labels come once from forecast.html: this is drawn for every rep and team. #}
<td data-label="{{ label_weighted }}" class="text-end text-nowrap">{% if fig.count %}<a href="{{ drill_url }}?kind=open&amp;{{ q }}" data-testid="drill-open">{{ fig.weighted|floatformat:"2g" }}</a>{% else %}<span class="text-body-secondary">0.00</span>{% endif %}</td>
<td data-label="{{ label_open }}" class="text-end">{{ fig.count }}</td>
<td data-label="{{ label_won }}" class="text-end text-nowrap">{% if fig.won_count %}<a href="{{ drill_url }}?kind=won&amp;{{ q }}" data-testid="drill-won">{{ fig.won|floatformat:"2g" }}</a>{% else %}<span class="text-body-secondary">0.00</span>{% endif %}</td>
<td data-label="{{ label_target }}" class="text-end text-nowrap">{% if fig.target is not None %}<a href="{{ targets_url }}" class="link-body-emphasis">{{ fig.target|floatformat:"2g" }}</a>{% if fig.attainment is not None %} <span class="small text-body-secondary">({{ fig.attainment }}%)</span>{% endif %}{% else %}<span class="text-body-secondary">—</span>{% endif %}</td>
<td data-label="{{ label_gap }}" class="text-end text-nowrap">{% if fig.gap is None %}<span class="text-body-secondary">—</span>{% elif fig.gap > 0 %}<span class="text-danger">{{ fig.gap|floatformat:"2g" }}</span>{% else %}<span class="text-success"><i class="bi bi-check-lg" aria-hidden="true"></i> {{ label_covered }}</span>{% endif %}</td>
"""  # noqa: E501

LABELS = """{% load i18n %}{% url 'sales:forecast_drill' as drill_url %}{% url 'sales:target_list' as targets_url %}
{% translate 'Weighted pipeline' as label_weighted %}{% translate 'Open' as label_open %}{% translate 'Won' as label_won %}
{% translate 'Target' as label_target %}{% translate 'Gap' as label_gap %}{% translate "covered" as label_covered %}"""  # noqa: E501

TEMPLATE_ROWS = LABELS + """<tbody>
      {% for row in rows %}
        <tr><th scope="row">{{ row.label|default:_("Nobody") }}</th>{% include cells with fig=row.figure q=row.query %}</tr>
      {% empty %}<tr><td colspan="6" class="text-center text-body-secondary py-3">{% translate "Nothing in this range." %}</td></tr>
      {% endfor %}
      </tbody>"""  # noqa: E501


def figures():
    """Every branch of the cells: nothing open or won, no target, a target with and without
    attainment, a gap to close, a covered one, large and fractional amounts."""
    return [
        Figure(),
        Figure(weighted=Decimal("1234567.891"), pipeline=Decimal("2000000"), count=3),
        Figure(won=Decimal("999.5"), won_count=1, target=Decimal("0")),
        Figure(weighted=Decimal("10"), count=1, won=Decimal("20"), won_count=2,
               target=Decimal("100000")),
        Figure(weighted=Decimal("500"), count=4, won=Decimal("700"), won_count=1,
               target=Decimal("1000")),
        Figure(target=Decimal("-5")),
    ]


def rows():
    labels = ["Ann <b>&</b> \"Bo\"", "", "Zed", "团队 一", "x", "y"]
    return [Row(key=i or None, label=label, code=None, figure=fig)
            for i, (label, fig) in enumerate(zip(labels, figures(), strict=True))]


def _with_queries(rows):
    for i, row in enumerate(rows):
        row.query = f"start=2026-11&months=6&owner={'none' if i == 1 else i}&x=<\"'>"
    return rows


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("given", [rows, list])
def test_it_builds_the_rows_exactly_as_the_template_did(language, given):
    engine = engines["django"]
    cells = engine.from_string(TEMPLATE_CELLS).template
    given = _with_queries(given())
    with translation.override(language):
        expected = engine.from_string(TEMPLATE_ROWS).render({"rows": given, "cells": cells})
        texts = cell_texts()
        built = rows_html(given, translation.gettext("Nobody"), texts)
    assert f"<tbody>\n      {built}\n      </tbody>" == expected.split("\n", 2)[2]
    if given:
        assert "Ann &lt;b&gt;&amp;&lt;/b&gt; &quot;Bo&quot;" in built
        assert "x=&lt;&quot;&#x27;&gt;" in built and "<\"" not in built


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_each_figures_cells_are_the_templates(language):
    engine = engines["django"]
    template = engine.from_string(LABELS + "{% include cells with fig=fig q=q %}")
    cells = engine.from_string(TEMPLATE_CELLS).template
    with translation.override(language):
        texts = cell_texts()
        for fig in figures():
            expected = template.render({"fig": fig, "q": "start=2026-01&months=1", "cells": cells})
            assert cells_html(fig, "start=2026-01&months=1", texts) == expected.split("\n", 2)[2]
