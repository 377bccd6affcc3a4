"""The forecast reads what the user may see as disjoint branches (the team's records; the
owners' records outside those teams) and month by month: every opportunity counts once."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import roles
from sales.forecast import forecast_build
from tests.factories import CustomerFactory, OpportunityFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
JAN = datetime.date(2031, 1, 1)
D = Decimal


@pytest.fixture
def spread(pipeline, manager, rep, team, outsider):
    west = TeamFactory(name="Sales West", members=[rep])
    stranger = UserFactory(email="sam.stranger@example.com", first_name="Sam",
                           roles=[roles.SALES])
    p = pipeline
    mk = OpportunityFactory
    close = datetime.date(2031, 1, 31)  # the last day of January

    def won_at(day):
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 30)))

    return [
        mk(customer=CustomerFactory(owner=rep), owner=rep, team=None, stage=p["Proposal"],
           amount=D("100"), expected_close_date=close),                       # 50 weighted
        mk(customer=CustomerFactory(owner=stranger), owner=stranger, team=team,
           stage=p["Proposal"], amount=D("1000"), expected_close_date=close),  # 500
        mk(customer=CustomerFactory(owner=rep), owner=rep, team=west, stage=p["Proposal"],
           amount=D("10000"), expected_close_date=datetime.date(2031, 2, 1)),  # 5000, Feb
        mk(customer=CustomerFactory(owner=rep), owner=rep, team=team, stage=p["Won"],
           amount=D("7"), expected_close_date=close, closed_at=won_at(close)),
        mk(customer=CustomerFactory(owner=outsider), owner=outsider, team=None,
           stage=p["Proposal"], amount=D("99999"), expected_close_date=close),
    ]


@pytest.mark.parametrize("who", ["manager", "rep"])
def test_it_counts_every_branch_once(request, spread, who):
    f = forecast_build(request.getfixturevalue(who), start=JAN, months=3)
    assert (f.total.weighted, f.total.pipeline, f.total.count) == (D("5550"), D("11100"), 3)
    assert (f.total.won, f.total.won_count) == (D("7"), 1)
    jan, feb, _ = f.month_rows
    assert (jan.figure.weighted, jan.figure.won, feb.figure.weighted) == (D("550"), D("7"),
                                                                          D("5000"))
    teams = {r.label: r.figure.weighted for r in f.team_rows}
    assert teams == {"Sales East": D("500"), "Sales West": D("5000"), "": D("50")}
    reps = {r.label.split()[0]: r.figure.weighted for r in f.rep_rows}
    assert reps["Sam"] == D("500") and reps["Bob"] == D("5050")


def test_the_outsider_sees_only_their_own(spread, outsider):
    f = forecast_build(outsider, start=JAN, months=3)
    assert (f.total.pipeline, f.total.count, f.total.won) == (D("99999"), 1, D("0"))


def test_it_splits_a_month_at_local_midnight(spread, settings, manager):
    # Won at 23:30 local time on January 31st: January, in whatever zone the site runs.
    f = forecast_build(manager, start=JAN, months=2)
    assert [m.figure.won for m in f.month_rows] == [D("7"), D("0")]
