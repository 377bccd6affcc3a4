"""Reads of the kanban board: one column per active stage, the first cards of each column and
the column totals, in a fixed number of queries whatever the size of the pipeline.

The visible opportunities are read as disjoint branches (sales.selectors'
visible_branches: the user's teams' records; the owners' records outside those teams), each
an index range, so nothing below reads the heap of a million rows:

- the totals: ONE query; per column a capped count (at most COUNT_CAP + 1 index entries per
  branch, an index-only scan) and, only for a column under the cap, its sum in CRM_CURRENCY and
  the count in other currencies (totals are exact or not shown);
- the cards: ONE query; per column and branch the first `limit` (expected close, id) from the
  opportunity_board index (stage, expected_close_date, id), or the branch's (team, stage,
  expected close, id) / (owner, stage, expected close, id) index, merged per column, then
  those few hundred rows with their relations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import conditional_escape, escape, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.pagination import COUNT_CAP
from crm.prepared import STAND_IN
from sales import selectors
from sales.models import Opportunity, PipelineRollup, PipelineStage
from sales.permissions import sales_policy_for
from sales.selectors import pipeline_rollup_for_user

COLUMN_LIMIT = 50
CARD_ORDER = ("expected_close_date", "id")
URL_SLOT = "00000000-0000-0000-0000-000000000000"
CARD_FIELDS = ("id", "uuid", "version", "name", "amount", "currency", "probability",
               "expected_close_date", "stage_entered_at", "stage", "owner", "team", "customer",
               "customer__uuid", "customer__name", "owner__first_name", "owner__last_name",
               "owner__email")


@dataclass
class Column:
    stage: PipelineStage
    count: int = 0
    total: Decimal = Decimal("0")
    other_currency: int = 0
    cards: list[Opportunity] = field(default_factory=list)
    # The cards' markup (cards_html), built once board_load has them all.
    cards_html: str = ""
    # More than COUNT_CAP cards: the count shows "10,000+" and there is no total.
    capped: bool = False

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))

    @property
    def more_text(self) -> str:
        """The link under the cards: "214,474 more" (grouped: the rollup's counts are
        exact, whatever their size), or "Thousands more" past the cap."""
        if self.capped:
            return _("Thousands more")
        return ngettext("%(counter)s more", "%(counter)s more", self.more) % {
            "counter": intcomma(self.more)}

    def totals(self) -> dict:
        return {"stage": self.stage.pk, "count": self.count, "capped": self.capped,
                "total": None if self.total is None else str(self.total),
                "other_currency": self.other_currency}


def visible_branches(user) -> list[Q] | None:
    """The disjoint branches of the opportunities `user` may see (None: everything); see
    sales.selectors.visible_branches."""
    return selectors.visible_branches(user, "opportunity")


def _sql(qs: QuerySet) -> tuple[str, list] | None:
    """The ORM's SQL and parameters of `qs`; None when it can match nothing."""
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:
        return None
    return sql, list(params)


def _branch_sql(queryset: QuerySet, stage_id: int, branches, columns: tuple[str, ...],
                limit: int, ordered: bool) -> tuple[str, list] | None:
    """One column's rows (`columns`, at most `limit` per branch), the branches UNION ALL'd:
    each `(SELECT ... LIMIT n)` is one index range."""
    parts, params = [], []
    for branch in branches or [Q()]:
        qs = queryset.filter(branch, stage_id=stage_id).order_by(
            *(CARD_ORDER if ordered else ())).values_list(*columns)[:limit]
        built = _sql(qs)
        if built is None:
            continue
        parts.append(f"({built[0]})")
        params += built[1]
    if not parts:
        return None
    return " UNION ALL ".join(parts), params


def _stage_sqls(queryset: QuerySet, stage_ids, branches, columns: tuple[str, ...], limit: int,
                ordered: bool) -> dict[int, tuple[str, list]]:
    """{stage id: _branch_sql(...)} of every stage, compiled once: the columns' SQL differ
    only in the stage parameter (compiling costs about a millisecond a branch, and a board
    compiles its six columns two or three times over). Stages that can match nothing are
    left out."""
    built = _branch_sql(queryset, STAND_IN, branches, columns, limit, ordered)
    if built is None:
        return {}
    sql, params = built
    return {stage_id: (sql, [stage_id if p == STAND_IN else p for p in params])
            for stage_id in stage_ids}


def board_totals(queryset: QuerySet[Opportunity], stage_ids,
                 cap: int = COUNT_CAP, *, branches: list[Q] | None = None) -> dict[int, dict]:
    """{stage id: {"count", "total", "other_currency", "capped"}} of `queryset`, in ONE query.
    Per column: a capped count over LIMITed subqueries (crm.pagination's capped count, per
    column and branch: at most `cap` + 1 index entries each) and its sum: with branches in
    the same pass (their indexes cover amount and currency); without, only when the column
    is under the cap (the sum subquery sits in a CASE: PostgreSQL runs it only then).
    A column past the cap says count=cap, capped=True and has no total (totals are exact or
    not shown). Only CRM_CURRENCY amounts are added up; the others are counted. `branches`:
    disjoint filters covering `queryset` (see visible_branches) that make each subquery an
    index range; None reads `queryset` as one."""
    parts, params = [], []
    amounts = _stage_sqls(queryset, stage_ids, branches, ("amount", "currency"), cap + 1, False)
    ids_of = ({} if branches is not None
              else _stage_sqls(queryset, stage_ids, branches, ("id",), cap + 1, False))
    for stage_id, rows in amounts.items():
        if branches is not None:
            # The branch indexes (team / owner, stage, ...) cover amount and currency: one
            # index-only pass counts and adds up at once.
            parts.append(
                "SELECT %s, COUNT(*), ARRAY["  # noqa: S608 (the ORM's SQL, wrapped)
                "COALESCE(SUM(t.amount) FILTER (WHERE t.currency = %s), 0), "
                "COUNT(*) FILTER (WHERE t.currency <> %s)] "
                f"FROM (SELECT * FROM ({rows[0]}) AS u LIMIT %s) AS t")
            params += [stage_id, settings.CRM_CURRENCY, settings.CRM_CURRENCY, *rows[1],
                       cap + 1]
            continue
        # Everything visible: count along the opportunity_board index (index-only), add up
        # only under the cap.
        ids = ids_of[stage_id]
        parts.append(
            "SELECT %s, c.n, CASE WHEN c.n <= %s THEN ("  # noqa: S608 (the ORM's SQL, wrapped)
            "SELECT ARRAY[COALESCE(SUM(t.amount) FILTER (WHERE t.currency = %s), 0), "
            f"COUNT(*) FILTER (WHERE t.currency <> %s)] FROM ({rows[0]}) AS t) END "
            f"FROM (SELECT COUNT(*) AS n FROM (SELECT 1 FROM ({ids[0]}) AS u LIMIT %s) AS v) "
            "AS c")
        params += [stage_id, cap, settings.CRM_CURRENCY, settings.CRM_CURRENCY, *rows[1],
                   *ids[1], cap + 1]
    if not parts:
        return {}
    with connection.cursor() as cursor:
        # The ORM's own SQL and parameters, wrapped: nothing of the user's is inlined.
        cursor.execute(" UNION ALL ".join(parts), params)
        result = cursor.fetchall()
    totals = {}
    for stage_id, n, sums in result:
        if not n:
            continue
        if n > cap:
            totals[stage_id] = {"count": cap, "total": None, "other_currency": 0,
                                "capped": True}
        else:
            total, other = sums
            totals[stage_id] = {"count": n, "total": total or Decimal("0"),
                                "other_currency": int(other), "capped": False}
    return totals


def board_cards(queryset: QuerySet[Opportunity], stage_ids, limit: int = COLUMN_LIMIT, *,
                branches: list[Q] | None = None) -> list[Opportunity]:
    """The first `limit` cards of every stage (soonest expected close first), in one query:
    the ids come from one index range per column and branch (LIMIT `limit` each), merged per
    column; then only those rows are read, with their relations."""
    parts, params = [], []
    columns = _stage_sqls(queryset, stage_ids, branches, ("id", "expected_close_date"), limit,
                          True)
    for column in columns.values():
        # Every branch is sorted already: the column's first `limit` of their union.
        parts.append(f"(SELECT c.id FROM ({column[0]}) AS c "  # noqa: S608
                     "ORDER BY c.expected_close_date, c.id LIMIT %s)")
        params += [*column[1], limit]
    if not parts:
        return []
    # The ORM's own SQL and parameters, wrapped: nothing of the user's is inlined.
    ids = RawSQL(" UNION ALL ".join(parts), params)  # noqa: S611
    # Only what a card shows and what its move needs: a few hundred cards, each with its
    # customer and owner (not every column of four tables).
    return list(queryset.filter(id__in=ids).select_related(None)
                .select_related("customer", "owner").only(*CARD_FIELDS)
                .order_by("stage_id", *CARD_ORDER))


def totals_rollup(user, filterset) -> QuerySet[PipelineRollup] | None:
    """The pipeline rollup rows the columns' totals can be read from: the board unfiltered
    or filtered by owner and team only (the rollup's own columns), as `user` may see it.
    None when a search or a close date range is in use (or the filters are invalid): those
    read the opportunities (board_totals)."""
    rows = pipeline_rollup_for_user(user)
    if not filterset.is_bound:
        return rows
    if not filterset.is_valid():
        return None
    data = filterset.form.cleaned_data
    if (data.get("q") or "").strip() or data.get("close_after") or data.get("close_before"):
        return None
    if data.get("owner"):
        rows = rows.filter(owner=data["owner"])
    if data.get("team"):
        rows = rows.filter(team=data["team"])
    return rows


def rollup_totals(rows: QuerySet[PipelineRollup], stage_ids) -> dict[int, dict]:
    """board_totals read from the pipeline rollup (sales.models.PipelineRollup): exact
    counts and sums whatever the number of opportunities (never capped), one query over the
    rollup's rows (some 47,000 for a million opportunities)."""
    home = Q(currency=settings.CRM_CURRENCY)
    grouped = (rows.filter(stage_id__in=list(stage_ids)).order_by().values("stage_id")
               .annotate(count=Sum("n"), total=Sum("amount", filter=home),
                         other=Sum("n", filter=~home)))
    return {row["stage_id"]: {"count": row["count"], "total": row["total"] or Decimal("0"),
                              "other_currency": row["other"] or 0, "capped": False}
            for row in grouped if row["count"]}


def column_totals(user, filterset, queryset: QuerySet[Opportunity], stage_ids) -> dict:
    """The columns' totals of the board as filtered: from the rollup when its filters allow
    (totals_rollup), else from the opportunities, capped (board_totals). `queryset` must be
    `filterset.qs` over sales.selectors.opportunity_list_for_user(user): the rollup path
    applies the same filters itself."""
    rows = totals_rollup(user, filterset)
    if rows is not None:
        return rollup_totals(rows, stage_ids)
    return board_totals(queryset, stage_ids, branches=visible_branches(user))


def board_load(user, queryset: QuerySet[Opportunity], stages, limit: int = COLUMN_LIMIT, *,
               filterset=None) -> list[Column]:
    """The columns of the board for `user`: `queryset` is the (filtered) opportunities the
    user may see, `stages` the active stages, `filterset` the filters behind `queryset`
    (given, the totals may come from the rollup: column_totals). Two queries; each card gets
    `days_in_stage` and `can_move` (from the policy's cached team reach: no query per
    card)."""
    stages = list(stages)
    ids = [s.pk for s in stages]
    columns = {s.pk: Column(stage=s) for s in stages}
    branches = visible_branches(user)
    totals = (board_totals(queryset, ids, branches=branches) if filterset is None
              else column_totals(user, filterset, queryset, ids))
    for stage_id, data in totals.items():
        column = columns[stage_id]
        column.count, column.total = data["count"], data["total"]
        column.other_currency = data["other_currency"]
        column.capped = data["capped"]
    policy = sales_policy_for(user)
    may_change = user.has_perm("sales.change_opportunity")
    now = timezone.now()
    # What every card repeats is worked out once, not per card in the template: the two
    # links (reversed once, the uuid put in), the "Move to" options of each stage, the owner.
    detail_url, customer_url = (reverse(name, kwargs={"uuid": URL_SLOT}) for name in (
        "sales:opportunity_detail", "customers:detail"))
    options = {s.pk: format_html_join("", '<option value="{}"{}>{}</option>', (
        (o.pk, " selected" if o.pk == s.pk else "", o.name)
        for o in stages)) for s in stages}
    owners: dict[int | None, str] = {}
    dates: dict = {}
    for card in board_cards(queryset, ids, limit, branches=branches):
        card.days_in_stage = max(0, (now - card.stage_entered_at).days)
        card.can_move = may_change and policy.can("change", card, "opportunity")
        card.detail_url = detail_url.replace(URL_SLOT, str(card.uuid))
        card.customer_url = customer_url.replace(URL_SLOT, str(card.customer.uuid))
        card.move_options = options.get(card.stage_id, "")
        if card.owner_id not in owners:
            owners[card.owner_id] = (card.owner.get_full_name() or card.owner.email
                                     if card.owner_id else "")
        card.owner_label = owners[card.owner_id]
        day = card.expected_close_date
        if day not in dates:
            dates[day] = (day.isoformat(), date_format(day, "SHORT_DATE_FORMAT"))
        card.close_iso, card.close_text = dates[day]
        card.days_text = ngettext("%(counter)s day", "%(counter)s days",
                                  card.days_in_stage) % {"counter": card.days_in_stage}
        columns[card.stage_id].cards.append(card)
    texts = card_texts()
    for column in columns.values():
        column.cards_html = cards_html(column.cards, texts)
    return [columns[pk] for pk in ids]


def card_texts() -> dict[str, str]:
    """The cards' translated labels, escaped: once per page, not per card."""
    return {key: conditional_escape(text) for key, text in (
        ("owner", _("Owner")), ("close", _("Expected close")),
        ("days", _("Days in this stage")), ("move", _("Move to")))}


def cards_html(cards: list[Opportunity], texts: dict[str, str]) -> str:
    """The markup of a column's cards, as board_load prepared them: byte for byte what the
    card template rendered per card (tests/sales/test_board_cards.py holds that template),
    every value escaped, without an include and some twenty lookups and filters per card
    (a board of 300 cards spent most of its time there)."""
    out = []
    for card in cards:
        uuid = card.uuid
        name = escape(card.name)
        movable = card.can_move
        out.append(
            f'<article class="card board-card shadow-sm{" board-card-movable" if movable else ""}'
            f'" data-testid="card"\n  data-uuid="{uuid}" data-version="{card.version}" '
            f'data-stage="{card.stage_id}" data-close="{escape(card.close_iso)}"\n  '
            f'data-name="{name}"{" data-movable" if movable else ""}>\n'
            f'  <div class="card-body p-2">\n'
            f'    <div class="d-flex justify-content-between gap-2">\n'
            f'      <h3 class="h6 mb-1 text-break"><a href="{escape(card.detail_url)}">{name}</a>'
            f'</h3>\n      '
            f'{MOVE_HANDLE if movable else ""}\n    </div>\n'
            f'    <div class="small text-break"><a href="{escape(card.customer_url)}" '
            f'class="link-secondary">{escape(card.customer.name)}</a></div>\n'
            f'    <div class="small fw-semibold">{floatformat(card.amount, "2g")} '
            f'{escape(card.currency)}</div>\n'
            f'    <div class="small text-body-secondary d-flex flex-wrap column-gap-2">\n'
            f'      <span title="{texts["owner"]}"><i class="bi bi-person me-1" '
            f'aria-hidden="true"></i>{escape(card.owner_label) or "—"}</span>\n'
            f'      <span title="{texts["close"]}"><i class="bi bi-calendar-event me-1" '
            f'aria-hidden="true"></i><time datetime="{escape(card.close_iso)}">'
            f'{escape(card.close_text)}</time></span>\n'
            f'      <span title="{texts["days"]}" data-days><i class="bi bi-hourglass-split '
            f'me-1" aria-hidden="true"></i>{escape(card.days_text)}</span>\n    </div>\n    ')
        if movable:
            out.append(
                f'\n    <div class="input-group input-group-sm mt-1">\n'
                f'      <label class="input-group-text" for="move-{uuid}">{texts["move"]}'
                f'</label>\n      <select class="form-select" id="move-{uuid}" '
                f'data-move-select>\n        {conditional_escape(card.move_options)}\n'
                f'      </select>\n    </div>\n    ')
        out.append("\n  </div>\n</article>\n")
    return mark_safe("".join(out))  # noqa: S308 (every value above is escaped)


MOVE_HANDLE = ('<i class="bi bi-grip-vertical text-body-tertiary board-handle" '
               'aria-hidden="true"></i>')
