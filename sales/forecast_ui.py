"""The forecast tables' figures built in Python: the five cells of every month, quarter, rep
and team row and the rep and team rows themselves, byte for byte what the template's cell
include rendered (tests/sales/test_forecast_rows.py keeps that template). An admin's forecast
has a row for every rep: some four hundred rows of five cells, each a dozen lookups and filters
in the template, were half the page's time."""

from __future__ import annotations

from django.template.defaultfilters import floatformat
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from crm.rows import optional_url

MUTED_ZERO = '<span class="text-body-secondary">0.00</span>'
MUTED_DASH = '<span class="text-body-secondary">—</span>'


def cell_texts() -> dict[str, str]:
    """The cells' labels and links, escaped, once per page."""
    texts = {key: conditional_escape(text) for key, text in (
        ("weighted", _("Weighted pipeline")), ("open", _("Open")), ("won", _("Won")),
        ("target", _("Target")), ("gap", _("Gap")), ("covered", _("covered")))}
    texts["drill"] = escape(optional_url("sales:forecast_drill"))
    texts["targets"] = escape(optional_url("sales:target_list"))
    return texts


def cells_html(fig, query: str, texts: dict[str, str]) -> str:
    """The five cells of one figure (weighted pipeline, open count, won, target, gap) with
    their drill-down links to `query`."""
    query = escape(query)
    if fig.count:
        weighted = (f'<a href="{texts["drill"]}?kind=open&amp;{query}" '
                    f'data-testid="drill-open">{floatformat(fig.weighted, "2g")}</a>')
    else:
        weighted = MUTED_ZERO
    if fig.won_count:
        won = (f'<a href="{texts["drill"]}?kind=won&amp;{query}" '
               f'data-testid="drill-won">{floatformat(fig.won, "2g")}</a>')
    else:
        won = MUTED_ZERO
    if fig.target is not None:
        target = (f'<a href="{texts["targets"]}" class="link-body-emphasis">'
                  f'{floatformat(fig.target, "2g")}</a>')
        attainment = fig.attainment
        if attainment is not None:
            target += f' <span class="small text-body-secondary">({attainment}%)</span>'
    else:
        target = MUTED_DASH
    gap = fig.gap
    if gap is None:
        gap_html = MUTED_DASH
    elif gap > 0:
        gap_html = f'<span class="text-danger">{floatformat(gap, "2g")}</span>'
    else:
        gap_html = (f'<span class="text-success"><i class="bi bi-check-lg" aria-hidden="true">'
                    f'</i> {texts["covered"]}</span>')
    return mark_safe(  # noqa: S308 (every value above is escaped or a number)
        f'\n<td data-label="{texts["weighted"]}" class="text-end text-nowrap">{weighted}</td>'
        f'\n<td data-label="{texts["open"]}" class="text-end">{fig.count}</td>'
        f'\n<td data-label="{texts["won"]}" class="text-end text-nowrap">{won}</td>'
        f'\n<td data-label="{texts["target"]}" class="text-end text-nowrap">{target}</td>'
        f'\n<td data-label="{texts["gap"]}" class="text-end text-nowrap">{gap_html}</td>\n')


def rows_html(rows, nobody: str, texts: dict[str, str]) -> str:
    """The rep or team table's rows (`nobody`: the label of the row without an owner or a
    team), or its "nothing in this range" row."""
    if not rows:
        return mark_safe(  # noqa: S308 (a translated text, escaped)
            '<tr><td colspan="6" class="text-center text-body-secondary py-3">'
            f'{conditional_escape(_("Nothing in this range."))}</td></tr>\n      ')
    nobody = conditional_escape(nobody)
    return mark_safe("".join(  # noqa: S308 (every value is escaped)
        f'\n        <tr><th scope="row">{escape(row.label) if row.label else nobody}</th>'
        f'{cells_html(row.figure, row.query, texts)}</tr>\n      ' for row in rows))
