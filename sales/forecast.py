"""Reads of the forecast and of target attainment, set-based: one grouped query per table.

- the open pipeline: ONE query over the pipeline rollup (sales.models.PipelineRollup, kept by
  the database) grouped by (expected close month, owner, team), weighted (amount *
  probability / 100) and plain sums in CRM_CURRENCY, and the count of open opportunities in
  other currencies (left out of the sums);
- the won amounts: ONE query grouped by (close month, owner, team);
- the targets: ONE query over the period;
then rolled up in Python into the month, quarter, rep and team tables (a few dozen rows).

Targets: a rep's row compares with the rep's own targets, a team's row with the team's; the
month and quarter rows with the team targets (or the chosen owner's or team's). A quarter's
target is its quarter targets plus the month targets of its months; a quarter target counts
in full wherever its quarter overlaps the range (the page says when a quarter is partly out).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, DecimalField, ExpressionWrapper, Q, QuerySet, Sum, Value
from django.db.models.functions import TruncMonth
from django.utils import timezone

from accounts.models import Team
from sales.models import Opportunity, SalesTarget
from sales.selectors import (
    opportunity_list_for_user,
    pipeline_rollup_for_user,
    target_list_for_user,
    visible_branches,
)

ZERO = Decimal("0")
MONEY = DecimalField(max_digits=20, decimal_places=4)
HUNDRED = Value(Decimal(100))


def home_currency() -> Q:
    return Q(currency=settings.CRM_CURRENCY)


# --- periods -----------------------------------------------------------------------------------
def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def quarter_start(day: datetime.date) -> datetime.date:
    return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def period_end(period: str, start: datetime.date) -> datetime.date:
    """The first day after the month or quarter starting on `start`."""
    return add_months(start, 3 if period == SalesTarget.Period.QUARTER else 1)


def aware(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of `day` in the current time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _as_date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


# --- querysets (the drill-down lists the same rows the figures add up) ---------------------------
def open_opportunities(user) -> QuerySet[Opportunity]:
    return opportunity_list_for_user(user).filter(stage__is_won=False, stage__is_lost=False)


def won_opportunities(user) -> QuerySet[Opportunity]:
    return opportunity_list_for_user(user).filter(stage__is_won=True, closed_at__isnull=False)


def _scope(qs: QuerySet, owner_id: int | None, team_id: int | None) -> QuerySet:
    if owner_id is not None:
        qs = qs.filter(owner__isnull=True) if owner_id == 0 else qs.filter(owner_id=owner_id)
    if team_id is not None:
        qs = qs.filter(team__isnull=True) if team_id == 0 else qs.filter(team_id=team_id)
    return qs


def drill_queryset(user, *, kind: str, start: datetime.date, months: int,
                   owner: str | None = None, team: str | None = None) -> QuerySet:
    """The opportunities behind one figure of the forecast (CRM_CURRENCY only, like the
    figure): open ones by expected close month, or won ones by close date."""
    end = add_months(start, months)
    if kind == "won":
        qs = won_opportunities(user).filter(closed_at__gte=aware(start), closed_at__lt=aware(end))
    else:
        qs = open_opportunities(user).filter(expected_close_date__gte=start,
                                             expected_close_date__lt=end)
    # owner / team: a uuid, or "none" for the opportunities without one
    for name, code in (("owner", owner), ("team", team)):
        if code == "none":
            qs = qs.filter(**{f"{name}__isnull": True})
        elif code:
            qs = qs.filter(**{f"{name}__uuid": code})
    return qs.filter(home_currency())


NAMES = ("owner__first_name", "owner__last_name", "owner__email", "owner__uuid",
         "team__name", "team__uuid")
COUNTS = ("n", "other")


def _grouped(months: list[tuple[datetime.date, QuerySet]], branches: list[Q] | None,
             sums: tuple[str, ...]) -> list[dict]:
    """Per month, the rows of its queryset (a .values("owner_id", "team_id").annotate(...) of
    the opportunities of that month) with the owner's and the team's names, in ONE query.
    Each (month, visibility branch) is its own aggregate over one index range (index-only on
    the covering indexes; see sales.selectors.visible_branches): a hash of a few hundred (owner,
    team) groups, no sort of the rows and no DATE_TRUNC per row; the groups are then summed
    across branches and joined to their user and team (not the million rows)."""
    parts, params = [], []
    for month, grouped in months:
        for branch in branches or [Q()]:
            try:
                sql, branch_params = grouped.filter(branch).query.sql_with_params()
            except EmptyResultSet:
                continue
            parts.append(f"(SELECT %s::date AS month, b.* FROM ({sql}) AS b)")  # noqa: S608
            params += [month, *branch_params]
    if not parts:
        return []
    user, team = get_user_model()._meta.db_table, Team._meta.db_table
    # Counts stay integers (SUM of a bigint is a numeric).
    totals = ", ".join(f"SUM(g.{name})::bigint AS {name}" if name in COUNTS
                       else f"SUM(g.{name}) AS {name}" for name in sums)
    query = (
        f"SELECT g.owner_id, g.team_id, g.month, {totals}, "  # noqa: S608 (the ORM's SQL)
        "u.first_name, u.last_name, u.email, u.uuid, t.name, t.uuid "
        f"FROM ({' UNION ALL '.join(parts)}) AS g "
        f'LEFT JOIN "{user}" AS u ON u.id = g.owner_id '
        f'LEFT JOIN "{team}" AS t ON t.id = g.team_id '
        "GROUP BY g.owner_id, g.team_id, g.month, u.id, t.id")
    names = ("owner_id", "team_id", "month", *sums, *NAMES)
    with connection.cursor() as cursor:
        # The ORM's own SQL and parameters, wrapped: nothing of the user's is inlined.
        cursor.execute(query, params)
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _open_pipeline(user, start: datetime.date, end: datetime.date, owner_id: int | None,
                   team_id: int | None) -> list[dict]:
    """The open pipeline of the months from `start` to `end` by month, owner and team, with
    the owner's and the team's names: ONE query over the rollup (sales.models.PipelineRollup:
    a few thousand rows for a year, where the opportunities are hundreds of thousands), the
    stages open now, what `user` may see. Its sums are sum_weighted, sum_amount, sum_n
    and sum_other."""
    home = home_currency()
    rows = (
        _scope(pipeline_rollup_for_user(user), owner_id, team_id)
        .filter(stage__is_won=False, stage__is_lost=False, month__gte=start, month__lt=end)
        .order_by()
        .values("month", "owner_id", "team_id", *NAMES)
        # Named apart from the rollup's own columns (an aggregate may not reuse them).
        .annotate(sum_weighted=ExpressionWrapper(Sum("weighted", filter=home) / HUNDRED,
                                                 output_field=MONEY),
                  sum_amount=Sum("amount", filter=home), sum_n=Sum("n", filter=home),
                  sum_other=Sum("n", filter=~home)))
    return list(rows)


# --- the forecast ------------------------------------------------------------------------------
@dataclass
class Figure:
    weighted: Decimal = ZERO
    pipeline: Decimal = ZERO
    count: int = 0
    won: Decimal = ZERO
    won_count: int = 0
    target: Decimal | None = None

    def add_target(self, amount: Decimal) -> None:
        self.target = (self.target or ZERO) + amount

    @property
    def gap(self) -> Decimal | None:
        """What the target still lacks after the won amount and the weighted pipeline
        (negative: covered)."""
        if self.target is None:
            return None
        return self.target - self.won - self.weighted

    @property
    def attainment(self) -> int | None:
        if not self.target:
            return None
        return int(self.won * 100 / self.target)


@dataclass
class Row:
    key: int | None  # owner or team id (None: nobody)
    label: str
    code: str | None = None  # their uuid, for the drill-down links
    figure: Figure = field(default_factory=Figure)


@dataclass
class Period:
    start: datetime.date
    months: int
    figure: Figure = field(default_factory=Figure)

    @property
    def end(self) -> datetime.date:
        return add_months(self.start, self.months)


@dataclass
class Forecast:
    start: datetime.date
    months: int
    month_rows: list[Period]
    quarter_rows: list[Period]
    rep_rows: list[Row]
    team_rows: list[Row]
    total: Figure
    other_currency_open: int = 0
    other_currency_won: int = 0

    @property
    def end(self) -> datetime.date:
        return add_months(self.start, self.months)

    def chart(self) -> dict:
        return {
            "labels": [p.start.isoformat()[:7] for p in self.month_rows],
            "weighted": [float(p.figure.weighted) for p in self.month_rows],
            "won": [float(p.figure.won) for p in self.month_rows],
            "target": [float(p.figure.target) if p.figure.target is not None else None
                       for p in self.month_rows],
        }


def _name(first: str | None, last: str | None, email: str | None) -> str:
    return " ".join(p for p in (first, last) if p) or email or ""


def forecast_build(user, *, start: datetime.date, months: int, owner_id: int | None = None,
                   team_id: int | None = None) -> Forecast:
    """The forecast of what `user` may see from the month of `start`, for `months` months.
    Three queries (pipeline, won, targets), whatever the number of opportunities. The drill-down
    (drill_queryset) lists the opportunities themselves: the same figures, row by row."""
    start = month_start(start)
    end = add_months(start, months)
    home = home_currency()
    month_rows = [Period(add_months(start, i), 1) for i in range(months)]
    by_month = {p.start: p for p in month_rows}
    quarters: dict[datetime.date, Period] = {}
    for p in month_rows:
        q = quarters.setdefault(quarter_start(p.start), Period(quarter_start(p.start), 0))
        q.months += 1
    reps: dict[int | None, Row] = {}
    teams: dict[int | None, Row] = {}
    total = Figure()
    branches = visible_branches(user, "opportunity")

    def rep_row(row) -> Row:
        key = row["owner_id"]
        return reps.setdefault(key, Row(key, _name(row["owner__first_name"],
                                                   row["owner__last_name"],
                                                   row["owner__email"]), row["owner__uuid"]))

    def team_row(row) -> Row:
        return teams.setdefault(row["team_id"], Row(row["team_id"], row["team__name"] or "",
                                                    row["team__uuid"]))

    # 1. the open pipeline by expected close month, owner and team (from the rollup)
    pipeline = _open_pipeline(user, start, end, owner_id, team_id)
    other_open = 0
    for row in pipeline:
        other_open += row["sum_other"] or 0
        if not row["sum_n"]:
            continue
        weighted, amount = row["sum_weighted"] or ZERO, row["sum_amount"] or ZERO
        month = _as_date(row["month"])
        for fig in (by_month[month].figure, quarters[quarter_start(month)].figure,
                    rep_row(row).figure, team_row(row).figure, total):
            fig.weighted += weighted
            fig.pipeline += amount
            fig.count += row["sum_n"]

    # 2. the won amounts by close month, owner and team
    won_scoped = _scope(won_opportunities(user), owner_id, team_id).order_by()
    won = _grouped([
        (p.start, won_scoped.filter(closed_at__gte=aware(p.start), closed_at__lt=aware(p.end))
         .values("owner_id", "team_id")
         .annotate(won=Sum("amount", filter=home), n=Count("currency", filter=home),
                   other=Count("currency", filter=~home)))
        for p in month_rows], branches, ("won", "n", "other"))
    other_won = 0
    for row in won:
        other_won += row["other"]
        if not row["n"]:
            continue
        month = month_start(_as_date(row["month"]))
        for fig in (by_month[month].figure, quarters[quarter_start(month)].figure,
                    rep_row(row).figure, team_row(row).figure, total):
            fig.won += row["won"] or ZERO
            fig.won_count += row["n"]

    # 3. the targets of the period (quarter targets from the quarter of `start`)
    targets = target_list_for_user(user).filter(
        period_start__gte=quarter_start(start), period_start__lt=end,
        currency=settings.CRM_CURRENCY)
    if owner_id:
        targets = targets.filter(user_id=owner_id)
    elif team_id:
        targets = targets.filter(team_id=team_id)
    period_targets = False
    for target in targets:
        is_quarter = target.period == SalesTarget.Period.QUARTER
        if not is_quarter and target.period_start not in by_month:
            continue
        if target.user_id is not None:
            row = reps.setdefault(target.user_id, Row(target.user_id, _name(
                target.user.first_name, target.user.last_name, target.user.email),
                target.user.uuid))
        else:
            row = teams.setdefault(target.team_id, Row(target.team_id, target.team.name,
                                                       target.team.uuid))
        row.figure.add_target(target.amount)
        # The month and quarter rows: the team targets, or the chosen owner's.
        if (target.user_id is not None) != bool(owner_id):
            continue
        if is_quarter:
            if target.period_start in quarters:
                quarters[target.period_start].figure.add_target(target.amount)
                period_targets = True
        else:
            by_month[target.period_start].figure.add_target(target.amount)
            quarters[quarter_start(target.period_start)].figure.add_target(target.amount)
            period_targets = True
    total.target = sum((q.figure.target or ZERO for q in quarters.values()),
                       ZERO) if period_targets else None

    def ordered(rows: dict) -> list[Row]:
        # (the id last: two reps of the same name keep one order)
        return sorted(rows.values(), key=lambda r: (r.key is None, r.label.lower(), r.key or 0))

    return Forecast(start=start, months=months, month_rows=month_rows,
                    quarter_rows=sorted(quarters.values(), key=lambda p: p.start),
                    rep_rows=ordered(reps), team_rows=ordered(teams), total=total,
                    other_currency_open=other_open, other_currency_won=other_won)


# --- attainment of targets -----------------------------------------------------------------------
def target_attainment(targets) -> dict[int, Decimal]:
    """{target pk: won amount in CRM_CURRENCY in its period}: opportunities in a won stage
    closed in the period, owned by the target's user or in the target's team. One grouped
    query for any number of targets."""
    targets = list(targets)
    if not targets:
        return {}
    first = min(t.period_start for t in targets)
    last = max(period_end(t.period, t.period_start) for t in targets)
    won = Opportunity.objects.alive().filter(
        home_currency(), stage__is_won=True, closed_at__gte=aware(first),
        closed_at__lt=aware(last))
    user_ids = {t.user_id for t in targets if t.user_id}
    team_ids = {t.team_id for t in targets if t.team_id}
    by_user: dict[tuple[int, datetime.date], Decimal] = defaultdict(lambda: ZERO)
    by_team: dict[tuple[int, datetime.date], Decimal] = defaultdict(lambda: ZERO)
    # One query grouped by (owner, team, month): each group feeds both the owner's and the
    # team's sums.
    rows = (won.filter(Q(owner_id__in=user_ids) | Q(team_id__in=team_ids)).order_by()
            .values("owner_id", "team_id", month=TruncMonth("closed_at"))
            .annotate(total=Sum("amount")))
    for row in rows:
        month = month_start(_as_date(row["month"]))
        if row["owner_id"] in user_ids:
            by_user[(row["owner_id"], month)] += row["total"] or ZERO
        if row["team_id"] in team_ids:
            by_team[(row["team_id"], month)] += row["total"] or ZERO
    result = {}
    for t in targets:
        sums, key = (by_user, t.user_id) if t.user_id else (by_team, t.team_id)
        months = 3 if t.period == SalesTarget.Period.QUARTER else 1
        result[t.pk] = sum((sums[(key, add_months(t.period_start, i))] for i in range(months)),
                           ZERO)
    return result
