"""The pipeline rollup (sales.models.PipelineRollup), kept by the database's statement
triggers: after any mix of writes (services, queryset updates, bulk inserts, soft and hard
deletes, restores, reassignments) it holds what a GROUP BY over the live opportunities gives,
and the forecast read from it shows what the opportunities add up to."""

from __future__ import annotations

import datetime
import importlib
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, F, Sum

from sales.forecast import forecast_build
from sales.models import Opportunity, PipelineRollup
from sales.pipeline_services import (
    opportunity_create,
    opportunity_delete,
    opportunity_move,
    opportunity_restore,
    opportunity_update,
)
from sales.selectors import pipeline_rollup_for_user
from tests.factories import CustomerFactory, OpportunityFactory, TeamFactory

pytestmark = pytest.mark.django_db
D = Decimal
MAR = datetime.date(2031, 3, 1)


def from_opportunities() -> dict:
    """The rollup computed from scratch: live opportunities by (month, owner, team, stage,
    currency)."""
    rows = (Opportunity.objects.alive().order_by()
            .values("expected_close_date", "owner_id", "team_id", "stage_id", "currency",
                    "amount", "probability"))
    result: dict = {}
    for row in rows:
        key = (row["expected_close_date"].replace(day=1), row["owner_id"], row["team_id"],
               row["stage_id"], row["currency"])
        n, amount, weighted = result.get(key, (0, D("0"), D("0")))
        result[key] = (n + 1, amount + row["amount"],
                       weighted + row["amount"] * row["probability"])
    return result


def from_rollup() -> dict:
    return {(r.month, r.owner_id, r.team_id, r.stage_id, r.currency): (r.n, r.amount, r.weighted)
            for r in PipelineRollup.objects.all() if r.n or r.amount or r.weighted}


@pytest.fixture
def deals(rep, manager, team, pipeline):
    customer = CustomerFactory(owner=rep, team=team)
    return [
        opportunity_create(actor=rep, data={
            "name": "Arms", "customer": customer, "amount": D("1200.50"),
            "expected_close_date": MAR + datetime.timedelta(days=30)}),
        OpportunityFactory(customer=customer, owner=rep, team=team, stage=pipeline["Proposal"],
                           amount=D("300"), expected_close_date=MAR),
        OpportunityFactory(customer=customer, owner=manager, team=None,
                           stage=pipeline["Negotiation"], amount=D("77.77"), currency="USD",
                           expected_close_date=MAR + datetime.timedelta(days=3)),
    ]


def test_it_adds_up_what_every_kind_of_write_leaves(rep, manager, team, pipeline, deals):
    assert from_rollup() == from_opportunities()
    assert sum(n for n, _a, _w in from_rollup().values()) == 3
    arms, proposal, usd = deals
    # the services: edit amount, date and team; move; soft delete and restore
    arms = opportunity_update(actor=rep, opportunity=arms, data={
        "amount": D("999.99"), "expected_close_date": datetime.date(2031, 7, 9)},
        expected_version=arms.version)
    opportunity_move(actor=rep, opportunity=proposal, stage=pipeline["Won"],
                     expected_version=proposal.version)
    opportunity_delete(actor=manager, opportunity=usd)
    assert from_rollup() == from_opportunities()
    opportunity_restore(actor=manager, opportunity=usd)
    # set-based writes: a reassignment, a probability change, a bulk insert, a hard delete
    west = TeamFactory(name="West", members=[rep])
    Opportunity.objects.filter(owner=rep).update(team=west, probability=F("probability") + 5)
    Opportunity.objects.bulk_create([
        Opportunity(name=f"Bulk {i}", customer=arms.customer, owner=None, team=None,
                    stage=pipeline["Prospecting"], amount=D(i), probability=10,
                    expected_close_date=MAR + datetime.timedelta(days=40 * i))
        for i in range(1, 6)])
    Opportunity.objects.filter(name="Bulk 2").delete()
    Opportunity.objects.filter(name="Bulk 3").update(currency="EUR")
    assert from_rollup() == from_opportunities()
    assert sum(n for n, _a, _w in from_rollup().values()) == 7


def test_a_statement_that_changes_no_figure_writes_nothing(deals):
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, xmin::text FROM sales_pipelinerollup ORDER BY id")
        before = cursor.fetchall()
        Opportunity.objects.update(name="Renamed", version=F("version") + 1)
        cursor.execute("SELECT id, xmin::text FROM sales_pipelinerollup ORDER BY id")
        assert cursor.fetchall() == before


def test_truncating_the_opportunities_empties_it(deals):
    with connection.cursor() as cursor:
        # (the deferred foreign-key checks of the fixture's inserts must run first)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE sales_opportunity CASCADE")
    assert not PipelineRollup.objects.exists()


def test_the_migration_fills_it_from_the_opportunities_already_there(deals):
    migration = importlib.import_module("sales.migrations.0009_pipeline_rollup_triggers")
    expected = from_opportunities()
    PipelineRollup.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(migration.FORWARD[-1])
    assert from_rollup() == expected


@pytest.mark.parametrize("who", ["rep", "manager", "analyst", "outsider"])
def test_the_forecast_from_it_is_what_the_visible_opportunities_add_up_to(request, deals, who):
    user = request.getfixturevalue(who)
    forecast = forecast_build(user, start=MAR, months=6)
    visible = (Opportunity.objects.alive().filter(
        pk__in=[d.pk for d in Opportunity.objects.all() if _sees(user, d)],
        stage__is_won=False, stage__is_lost=False, currency="CNY",
        expected_close_date__gte=MAR, expected_close_date__lt=datetime.date(2031, 9, 1))
        .aggregate(n=Count("id"), total=Sum("amount"),
                   weighted=Sum(F("amount") * F("probability"))))
    assert forecast.total.count == visible["n"] == (0 if who == "outsider" else 2)
    assert forecast.total.pipeline == (visible["total"] or D("0"))
    assert forecast.total.weighted == (visible["weighted"] or D("0")) / 100
    # the one in dollars is counted apart, by those who see it
    assert forecast.other_currency_open == (1 if who in ("manager", "analyst") else 0)


def _sees(user, opportunity) -> bool:
    from sales.permissions import sales_policy_for
    return (user.has_perm("sales.view_opportunity")
            and sales_policy_for(user).can_view("opportunity", opportunity))


def test_only_what_the_user_may_see_is_read(rep, outsider, deals):
    assert pipeline_rollup_for_user(rep).exists()
    assert not pipeline_rollup_for_user(outsider).exists()
