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
from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

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

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))

    def totals(self) -> dict:
        return {"stage": self.stage.pk, "count": self.count, "total": str(self.total),
                "other_currency": self.other_currency}


def board_totals(queryset: QuerySet[Opportunity], stage_ids) -> dict[int, dict]:
    """{stage id: {"count", "total", "other_currency"}} of `queryset`, in one grouped query.
    Only CRM_CURRENCY amounts are added up; the others are counted."""
    home = Q(currency=settings.CRM_CURRENCY)
    rows = (queryset.filter(stage_id__in=stage_ids).order_by().values("stage_id")
            .annotate(n=Count("id"), total=Sum("amount", filter=home),
                      other=Count("id", filter=~home)))
    return {row["stage_id"]: {"count": row["n"], "total": row["total"] or Decimal("0"),
                              "other_currency": row["other"]} for row in rows}


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
    policy = sales_policy_for(user)
    may_change = user.has_perm("sales.change_opportunity")
    now = timezone.now()
    for card in board_cards(queryset, ids, limit):
        card.days_in_stage = max(0, (now - card.stage_entered_at).days)
        card.can_move = may_change and policy.can("change", card, "opportunity")
        columns[card.stage_id].cards.append(card)
    return [columns[pk] for pk in ids]
