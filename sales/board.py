"""Reads of the kanban board: one column per active stage, the first cards of each column and
the column totals, in a fixed number of queries whatever the size of the pipeline.

- the totals: ONE grouped aggregate (count, sum in CRM_CURRENCY, count in other currencies);
- the cards: ONE query, ROW_NUMBER() OVER (PARTITION BY stage ORDER BY expected close, id)
  <= the column limit, served by the opportunity_board index (stage, expected_close_date, id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from crm.pagination import COUNT_CAP
from sales.models import Opportunity, PipelineStage
from sales.permissions import sales_policy_for

COLUMN_LIMIT = 50


@dataclass
class Column:
    stage: PipelineStage
    count: int = 0
    total: Decimal = Decimal("0")
    other_currency: int = 0
    cards: list[Opportunity] = field(default_factory=list)
    # More than COUNT_CAP cards: the count shows "10,000+" and there is no total.
    capped: bool = False

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))

    def totals(self) -> dict:
        return {"stage": self.stage.pk, "count": self.count, "capped": self.capped,
                "total": None if self.total is None else str(self.total),
                "other_currency": self.other_currency}


def board_totals(queryset: QuerySet[Opportunity], stage_ids,
                 cap: int = COUNT_CAP) -> dict[int, dict]:
    """{stage id: {"count", "total", "other_currency", "capped"}} of `queryset`, in ONE query
    that reads at most `cap` + 1 rows per column: a UNION ALL of one LIMITed subquery per
    stage (crm.pagination's capped count, per column). A column past the cap says
    count=cap, capped=True and has no total (totals are exact or not shown). Only
    CRM_CURRENCY amounts are added up; the others are counted."""
    parts, params = [], []
    for stage_id in stage_ids:
        inner = (queryset.filter(stage_id=stage_id).order_by()
                 .values_list("amount", "currency")[: cap + 1])
        try:
            sql, inner_params = inner.query.sql_with_params()
        except EmptyResultSet:
            continue
        parts.append("SELECT %s, COUNT(*), SUM(t.amount) FILTER (WHERE t.currency = %s), "  # noqa: S608 (the ORM's SQL, wrapped)
                     f"COUNT(*) FILTER (WHERE t.currency <> %s) FROM ({sql}) AS t")
        params += [stage_id, settings.CRM_CURRENCY, settings.CRM_CURRENCY, *inner_params]
    if not parts:
        return {}
    with connection.cursor() as cursor:
        # The ORM's own SQL and parameters, wrapped: nothing of the user's is inlined.
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    totals = {}
    for stage_id, n, total, other in rows:
        if not n:
            continue
        if n > cap:
            totals[stage_id] = {"count": cap, "total": None, "other_currency": 0,
                                "capped": True}
        else:
            totals[stage_id] = {"count": n, "total": total or Decimal("0"),
                                "other_currency": other, "capped": False}
    return totals


def board_cards(queryset: QuerySet[Opportunity], stage_ids,
                limit: int = COLUMN_LIMIT) -> list[Opportunity]:
    """The first `limit` cards of every stage (soonest expected close first), in one query."""
    ranked = queryset.filter(stage_id__in=stage_ids).annotate(
        board_rank=Window(RowNumber(), partition_by=[F("stage_id")],
                          order_by=[F("expected_close_date").asc(), F("id").asc()]))
    return list(ranked.filter(board_rank__lte=limit).order_by(
        "stage_id", "expected_close_date", "id"))


def board_load(user, queryset: QuerySet[Opportunity], stages,
               limit: int = COLUMN_LIMIT) -> list[Column]:
    """The columns of the board for `user`: `queryset` is the (filtered) opportunities the
    user may see, `stages` the active stages. Two queries; each card gets `days_in_stage`
    and `can_move` (from the policy's cached team reach: no query per card)."""
    stages = list(stages)
    ids = [s.pk for s in stages]
    columns = {s.pk: Column(stage=s) for s in stages}
    for stage_id, data in board_totals(queryset, ids).items():
        column = columns[stage_id]
        column.count, column.total = data["count"], data["total"]
        column.other_currency = data["other_currency"]
        column.capped = data["capped"]
    policy = sales_policy_for(user)
    may_change = user.has_perm("sales.change_opportunity")
    now = timezone.now()
    for card in board_cards(queryset, ids, limit):
        card.days_in_stage = max(0, (now - card.stage_entered_at).days)
        card.can_move = may_change and policy.can("change", card, "opportunity")
        columns[card.stage_id].cards.append(card)
    return [columns[pk] for pk in ids]
