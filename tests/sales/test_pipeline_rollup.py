"""The pipeline rollup (sales.models.PipelineRollup), kept by the database's statement
triggers: after any mix of writes (services, queryset updates, bulk inserts, soft and hard
deletes, restores, reassignments) it holds what a GROUP BY over the live opportunities gives,
and the forecast read from it shows what the opportunities add up to."""

from __future__ import annotations

import datetime
import importlib
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.db.models import Count, F, Sum

from sales.forecast import forecast_build
from sales.models import Opportunity, PipelineRollup
from sales.pipeline_rollup import compact_pipeline_rollup
from sales.pipeline_services import (
    opportunity_create,
    opportunity_delete,
    opportunity_move,
    opportunity_restore,
    opportunity_update,
)
from sales.selectors import pipeline_rollup_for_user
from sales.tasks import compact_pipeline_rollup_task, rebuild_pipeline_rollup_task
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
    """The rollup's rows added up per key (the triggers append; a key may have several), the
    keys that add up to nothing left out."""
    result: dict = {}
    for r in PipelineRollup.objects.all():
        key = (r.month, r.owner_id, r.team_id, r.stage_id, r.currency)
        n, amount, weighted = result.get(key, (0, D("0"), D("0")))
        result[key] = (n + r.n, amount + r.amount, weighted + r.weighted)
    return {key: sums for key, sums in result.items() if any(sums)}


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
    # Folded: one row per key, the same sums, the keys that add up to nothing gone.
    assert PipelineRollup.objects.count() > len(from_rollup())
    compact_pipeline_rollup_task.apply().get()
    assert PipelineRollup.objects.count() == len(from_rollup())
    assert from_rollup() == from_opportunities()
    assert compact_pipeline_rollup() == 0  # nothing left to fold


def test_the_rebuild_repairs_what_was_written_around_the_triggers(rep, deals):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # (no pending events for ALTER)
        cursor.execute("ALTER TABLE sales_opportunity DISABLE TRIGGER USER")
        cursor.execute("UPDATE sales_opportunity SET amount = amount + 1000")
        cursor.execute("ALTER TABLE sales_opportunity ENABLE TRIGGER USER")
    PipelineRollup.objects.create(month=MAR, owner=rep, stage=deals[0].stage, currency="CNY",
                                  n=5, amount=D("5"), weighted=D("5"))
    assert from_rollup() != from_opportunities()
    rebuild_pipeline_rollup_task.apply().get()
    assert from_rollup() == from_opportunities()
    assert PipelineRollup.objects.count() == len(from_opportunities())


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


@pytest.mark.django_db(transaction=True)
def test_two_writers_of_the_same_key_do_not_wait_for_each_other(rep, team, pipeline):
    """The triggers append: a transaction holding an opportunity's rollup key does not make
    another writer of that key wait (an upsert would, until the first commits)."""
    customer = CustomerFactory(owner=rep, team=team)
    first, second = (OpportunityFactory(customer=customer, stage=pipeline["Proposal"],
                                        amount=D("10"), expected_close_date=MAR)
                     for _ in range(2))
    holding, done = threading.Event(), threading.Event()
    errors = []

    def hold_first():
        try:
            with transaction.atomic():
                Opportunity.objects.filter(pk=first.pk).update(amount=D("20"))
                holding.set()
                done.wait(10)
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold_first)
    thread.start()
    try:
        assert holding.wait(10)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            Opportunity.objects.filter(pk=second.pk).update(amount=D("30"))
    finally:
        done.set()
        thread.join(10)
    assert not errors
    assert from_rollup() == from_opportunities()
    assert sum(a for _n, a, _w in from_rollup().values()) == D("50")


def test_the_beat_runs_its_upkeep(settings):
    from crm.celery import app

    app.loader.import_default_modules()
    for entry, task in (("compact-pipeline-rollup", "sales.compact_pipeline_rollup"),
                        ("rebuild-pipeline-rollup", "sales.rebuild_pipeline_rollup")):
        assert settings.CELERY_BEAT_SCHEDULE[entry]["task"] == task
        assert task in app.tasks


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_folds_it_twice_at_once_and_rebuilds_it(celery_worker, rep, team, pipeline):
    customer = CustomerFactory(owner=rep, team=team)
    deals = [OpportunityFactory(customer=customer, stage=pipeline["Proposal"], amount=D(i),
                                expected_close_date=MAR) for i in range(1, 7)]
    for deal in deals:  # one statement each: six rows of the same key, and their changes
        Opportunity.objects.filter(pk=deal.pk).update(amount=F("amount") * 10)
    assert PipelineRollup.objects.count() > 1
    expected = from_opportunities()
    # Two folds at once on the worker's two processes: the sums stay, one row per key.
    runs = [compact_pipeline_rollup_task.apply_async(ignore_result=False) for _ in range(2)]
    assert sum(run.get(timeout=60) for run in runs) == 1
    assert from_rollup() == expected == {
        (MAR, rep.pk, team.pk, pipeline["Proposal"].pk, "CNY"): (
            6, D("210"), D("210") * pipeline["Proposal"].probability)}
    assert PipelineRollup.objects.count() == 1
    PipelineRollup.objects.update(n=99)
    rebuild_pipeline_rollup_task.apply_async(ignore_result=False).get(timeout=60)
    assert from_rollup() == expected
