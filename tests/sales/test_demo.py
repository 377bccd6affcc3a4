"""The sales demo builder: every kind of record, every stage and status, figures that add up,
and a second run that changes nothing."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum

from crm import demo
from sales import demo as sales_demo
from sales.models import (
    CustomerPurchaseStats,
    DevelopmentPlan,
    Lead,
    LeadAssignmentRule,
    LeadScoreRule,
    Opportunity,
    OpportunityStageHistory,
    Order,
    OrderLine,
    PipelineStage,
    PlanStep,
    Product,
    SalesTarget,
    StockMovement,
    WebForm,
)

pytestmark = pytest.mark.django_db

MODELS = [Product, Lead, LeadScoreRule, LeadAssignmentRule, WebForm, Opportunity,
          OpportunityStageHistory, DevelopmentPlan, PlanStep, Order, OrderLine, SalesTarget,
          StockMovement, CustomerPurchaseStats]


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture
def built(monkeypatch, role_groups, pipeline):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-123")
    demo.register(30, "sales", sales_demo.build)
    call_command("demo_data", stdout=io.StringIO())  # users, teams, customers, then sales
    return counts()


def test_it_builds_the_sales_demo_once(built):
    assert built["Product"] == 40 and built["Lead"] == 150
    assert built["Opportunity"] == 200 and built["Order"] == 300
    assert built["LeadScoreRule"] == 6 and built["LeadAssignmentRule"] == 2
    out = io.StringIO()
    sales_demo.build(out)
    assert "already there" in out.getvalue()
    call_command("demo_data", stdout=io.StringIO())
    assert counts() == built


def test_it_covers_every_stage_and_status(built):
    stages = set(Opportunity.objects.values_list("stage_id", flat=True))
    assert stages == set(PipelineStage.objects.values_list("id", flat=True))
    assert set(Lead.objects.values_list("status", flat=True)) == set(Lead.Status.values)
    assert {"draft", "confirmed", "completed", "cancelled"} <= set(
        Order.objects.values_list("status", flat=True))
    assert Lead.objects.filter(web_form__slug="contact-us").count() >= 20
    assert WebForm.objects.get(slug="contact-us").submission_count >= 20
    assert not Lead.objects.filter(status="converted", converted_customer=None).exists()
    assert Opportunity.objects.filter(stage__is_lost=True).exclude(lost_reason="").exists()
    assert not Opportunity.objects.filter(stage__is_lost=True, lost_reason="").exists()
    assert Product.objects.filter(stock_quantity__lte=5).exists()  # a few low on stock
    assert Lead.objects.filter(first_name__regex=r"[\u4e00-\u9fff]").exists()  # Chinese names
    assert PlanStep.objects.filter(done_at__isnull=True).exists()
    assert PlanStep.objects.filter(done_at__isnull=False).exists()
    assert SalesTarget.objects.filter(team__isnull=False).exists()
    assert SalesTarget.objects.filter(user__isnull=False).exists()


def test_the_stage_history_ends_in_the_current_stage(built):
    last = {}
    for row in OpportunityStageHistory.objects.order_by("changed_at", "id"):
        last[row.opportunity_id] = row.to_stage_id
    assert last == dict(Opportunity.objects.values_list("id", "stage_id"))


def test_the_purchase_figures_match_the_orders(built):
    expected = {row["customer_id"]: row for row in Order.objects.filter(
        status__in=Order.PLACED).values("customer_id").annotate(n=Count("id"),
                                                                 total=Sum("total"))}
    stats = {s.customer_id: s for s in CustomerPurchaseStats.objects.filter(order_count__gt=0)}
    assert set(stats) == set(expected)
    for customer_id, row in expected.items():
        assert stats[customer_id].order_count == row["n"]
        assert stats[customer_id].total_spent == row["total"]


def test_the_order_totals_and_stock_ledger_add_up(built):
    for order in Order.objects.annotate(lines_total=Sum("lines__line_total"))[:50]:
        assert order.total == order.lines_total
    ledger = dict(StockMovement.objects.values("product_id").annotate(s=Sum("quantity"))
                  .values_list("product_id", "s"))
    for product in Product.objects.all():
        assert ledger[product.pk] == product.stock_quantity


def test_it_runs_in_a_few_seconds(monkeypatch, role_groups, pipeline):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-123")
    call_command("demo_data", stdout=io.StringIO())  # users and customers only
    demo.register(30, "sales", sales_demo.build)
    started = time.monotonic()
    sales_demo.build(io.StringIO())
    assert time.monotonic() - started < 8
    assert Opportunity.objects.count() == 200
