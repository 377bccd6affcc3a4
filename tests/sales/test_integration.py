"""Sales in the customers module: merge handlers, GDPR export and erasure, global search, the
"Opportunities" panel of the 360 page and the timeline describers (sales.integration)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import search
from crm.events import event_record
from crm.models import Event
from customers import panels
from customers.gdpr import gdpr_erase, gdpr_export
from customers.merge import customer_merge
from customers.models import Customer
from customers.timeline import describe
from sales import integration
from sales.models import CustomerPurchaseStats, Opportunity, Order
from sales.pipeline_services import opportunity_create, opportunity_move
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    LeadFactory,
    OpportunityFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _registered():
    """The app registers all of this at start-up (SalesConfig.ready); again here, idempotent
    by key, and left in place: later test modules (the 360 page's query counts, search)
    expect the registries as a running app has them."""
    integration.register()


def placed_order(customer, total, days_ago, status="completed", contact=None):
    product = ProductFactory()
    order = OrderFactory(customer=customer, contact=contact, status=status, total=total,
                         ordered_at=timezone.now() - datetime.timedelta(days=days_ago))
    OrderLineFactory(order=order, product=product, quantity=1, unit_price=total,
                     line_total=total)
    return order


# --- merge ------------------------------------------------------------------------------------
def test_it_moves_opportunities_orders_and_leads_when_customers_merge(manager, pipeline,
                                                                       own_customer,
                                                                       team_customer):
    source, target = own_customer, team_customer
    contact = ContactFactory(customer=source, first_name="Lin", last_name="Wu")
    deal = OpportunityFactory(customer=source, contact=contact, name="Robot cell")
    trashed_deal = OpportunityFactory(customer=source, deleted_at=timezone.now())
    placed_order(source, Decimal("100.00"), 40)
    placed_order(source, Decimal("300.00"), 10)
    placed_order(source, Decimal("999.00"), 5, status="cancelled")
    placed_order(target, Decimal("200.00"), 90)
    lead = LeadFactory(converted_customer=source, converted_contact=contact,
                       status="converted")
    integration.refresh_purchase_stats([source.pk, target.pk])
    assert CustomerPurchaseStats.objects.get(customer=source).order_count == 2

    customer_merge(actor=manager, source=source, target=target, choices={},
                   source_version=source.version, target_version=target.version)

    deal.refresh_from_db()
    assert deal.customer == target
    assert deal.contact.customer_id == target.pk  # the contact moved with the customer
    assert Opportunity.objects.get(pk=trashed_deal.pk).customer == target
    assert Order.objects.filter(customer=target).count() == 4
    assert not Order.objects.filter(customer=source).exists()
    lead.refresh_from_db()
    assert lead.converted_customer == target
    stats = CustomerPurchaseStats.objects.get(customer=target)
    assert stats.order_count == 3
    assert stats.total_spent == Decimal("600.00")
    assert stats.average_order_value == Decimal("200.00")
    assert stats.first_order_at < stats.last_order_at
    assert not CustomerPurchaseStats.objects.filter(customer=source).exists()
    merged = Event.objects.get(name="customer.merged")
    assert merged.payload["moved"]["sales.orders"] == 3
    assert merged.payload["moved"]["sales.opportunities"] == 2
    assert merged.payload["moved"]["sales.leads"] == 1


def test_it_merges_a_customer_without_sales_records(manager, pipeline, own_customer,
                                                    team_customer):
    placed_order(team_customer, Decimal("50.00"), 3)
    customer_merge(actor=manager, source=own_customer, target=team_customer, choices={},
                   source_version=own_customer.version, target_version=team_customer.version)
    assert CustomerPurchaseStats.objects.get(customer=team_customer).order_count == 1
    assert Customer.objects.get(pk=own_customer.pk).deleted_at is not None


def test_the_fallback_statement_computes_the_figures(own_customer, team_customer,
                                                     monkeypatch):
    """The one-statement upsert used when sales.purchase_stats is not there."""
    import builtins

    real_import = builtins.__import__

    def no_purchase_stats(name, *args, **kwargs):
        if name == "sales.purchase_stats":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_purchase_stats)
    placed_order(own_customer, Decimal("10.00"), 30)
    placed_order(own_customer, Decimal("30.00"), 1, status="confirmed")
    placed_order(own_customer, Decimal("70.00"), 1, status="draft")
    integration.refresh_purchase_stats([own_customer.pk, team_customer.pk])
    stats = CustomerPurchaseStats.objects.get(customer=own_customer)
    assert (stats.order_count, stats.total_spent, stats.average_order_value) == (
        2, Decimal("40.00"), Decimal("20.00"))
    empty = CustomerPurchaseStats.objects.get(customer=team_customer)
    assert (empty.order_count, empty.total_spent, empty.last_order_at) == (0, 0, None)


# --- GDPR -------------------------------------------------------------------------------------
def test_it_exports_the_customers_sales_records(manager, pipeline, team_customer):
    contact = ContactFactory(customer=team_customer, first_name="Mei", last_name="Lin")
    other = ContactFactory(customer=team_customer)
    LeadFactory(first_name="Mei", last_name="Lin", email="mei@lin.example",
                message="Call me after 5", converted_customer=team_customer,
                converted_contact=contact, status="converted")
    OpportunityFactory(customer=team_customer, contact=contact, name="Vision upgrade",
                       amount=Decimal("12345.00"))
    OpportunityFactory(customer=team_customer, contact=other, name="Other deal")
    order = placed_order(team_customer, Decimal("880.00"), 3, contact=contact)

    data = gdpr_export(actor=manager, customer=team_customer)["modules"]["sales"]
    assert data["leads"][0]["email"] == "mei@lin.example"
    assert data["leads"][0]["message"] == "Call me after 5"
    assert {o["name"] for o in data["opportunities"]} == {"Vision upgrade", "Other deal"}
    assert data["orders"][0]["number"] == order.number
    assert data["orders"][0]["total"] == "880.00"
    assert data["orders"][0]["lines"][0]["line_total"] == "880.00"

    one = gdpr_export(actor=manager, customer=team_customer, contact=contact)
    sales = one["modules"]["sales"]
    assert [o["name"] for o in sales["opportunities"]] == ["Vision upgrade"]
    assert len(sales["leads"]) == 1 and len(sales["orders"]) == 1


def test_the_export_query_count_does_not_grow_with_orders(manager, team_customer):
    placed_order(team_customer, Decimal("1.00"), 1)
    with CaptureQueriesContext(connection) as few:
        integration._gdpr_export(team_customer, None)
    for days in range(2, 8):
        placed_order(team_customer, Decimal("1.00"), days)
    with CaptureQueriesContext(connection) as many:
        integration._gdpr_export(team_customer, None)
    assert len(many) == len(few)


def test_erasure_anonymizes_converted_leads_and_keeps_the_amounts(manager, pipeline,
                                                                  team_customer):
    contact = ContactFactory(customer=team_customer, first_name="Mei", last_name="Lin")
    lead = LeadFactory(first_name="Mei", last_name="Lin", email="mei@lin.example",
                       phone="+86 138 0013 8000", message="Call me after 5",
                       description="Met at the Shanghai fair", company="Beta Foods",
                       converted_customer=team_customer, converted_contact=contact,
                       status="converted", score=40)
    unrelated = LeadFactory(first_name="Mei", email="someone@else.example")
    deal = OpportunityFactory(customer=team_customer, contact=contact,
                              amount=Decimal("5000.00"))
    order = placed_order(team_customer, Decimal("880.00"), 3, contact=contact)
    integration.refresh_purchase_stats([team_customer.pk])

    counts = gdpr_erase(actor=manager, customer=team_customer, contact=contact,
                        confirmation="Mei Lin")

    assert counts["sales"] == 1
    lead.refresh_from_db()
    assert lead.first_name == "Erased"
    assert (lead.last_name, lead.email, lead.phone, lead.phone_digits, lead.message,
            lead.description) == ("", "", "", "", "", "")
    assert lead.company == "Beta Foods"  # a company's name is not personal data
    assert lead.status == "converted" and lead.score == 40
    unrelated.refresh_from_db()
    assert unrelated.email == "someone@else.example"
    deal.refresh_from_db()
    order.refresh_from_db()
    assert deal.amount == Decimal("5000.00")
    assert order.total == Decimal("880.00") and order.lines.count() == 1
    assert CustomerPurchaseStats.objects.get(customer=team_customer).total_spent == Decimal(
        "880.00")


def test_erasing_a_person_customer_scrubs_their_leads_and_lead_history(manager, team):
    person = CustomerFactory(name="Zhao Wenjing", kind=Customer.Kind.PERSON, owner=manager,
                             team=team)
    lead = LeadFactory(first_name="Wenjing", last_name="Zhao", company="Zhao Wenjing",
                       email="zw@example.org", converted_customer=person, status="converted")
    event_record(name="lead.converted", actor=manager, customer_id=None, subject=lead,
                 payload={"name": "Wenjing Zhao", "email": "zw@example.org"})
    order = placed_order(person, Decimal("66.00"), 2)

    gdpr_erase(actor=manager, customer=person, confirmation="Zhao Wenjing")

    lead.refresh_from_db()
    assert (lead.first_name, lead.company, lead.email) == ("Erased", "", "")
    payload = Event.objects.get(name="lead.converted", customer_id=None).payload
    assert "zw@example.org" not in str(payload) and "Wenjing Zhao" not in str(payload)
    order.refresh_from_db()
    assert order.total == Decimal("66.00")


# --- search -----------------------------------------------------------------------------------
@pytest.fixture
def findable(pipeline, rep, own_customer):
    LeadFactory(first_name="Wenjing", last_name="Zhao", company="Hangzhou Lighting",
                email="wenjing@hz.example", phone="+86 138 0013 8000", owner=rep)
    OpportunityFactory(customer=own_customer, name="Acme Robotics line expansion")
    order = OrderFactory(customer=own_customer, number="SO-778899")
    ProductFactory(sku="RB-ARM-06", name="Industrial robot arm")
    return order


def result_titles(user, kind, query):
    provider = {p.kind: p for p in search.providers()}[kind]
    return [r.title for r in provider.provider(user, query, 5)]


@pytest.mark.parametrize(("kind", "query", "title"), [
    ("leads", "Wenjing", "Wenjing Zhao"),
    ("leads", "Hangzhou Lihgting", "Wenjing Zhao"),  # typo
    ("leads", "wenjing@hz", "Wenjing Zhao"),
    ("leads", "138-0013", "Wenjing Zhao"),  # phone digits
    ("opportunities", "Robtics line", "Acme Robotics line expansion"),
    ("orders", "778899", "SO-778899"),
    ("products", "RB-ARM", "Industrial robot arm"),
    ("products", "robot arm", "Industrial robot arm"),
])
def test_it_finds_each_kind_of_sales_record(rep, findable, kind, query, title):
    assert title in result_titles(rep, kind, query)


def test_it_hides_sales_records_from_an_outsider(outsider, findable):
    for kind, query in [("leads", "Wenjing"), ("opportunities", "Acme Robotics"),
                        ("orders", "SO-778899")]:
        assert result_titles(outsider, kind, query) == []


def test_the_search_page_groups_sales_results(client_for, rep, findable):
    response = client_for(rep).get(reverse("search:page"), {"q": "Acme Robotics"})
    assert response.status_code == 200
    kinds = [group.kind for group in response.context["groups"]]
    assert "opportunities" in kinds


@pytest.mark.parametrize("kind", ["leads", "opportunities", "orders", "products"])
def test_each_search_provider_runs_one_query(rep, findable, django_assert_num_queries, kind):
    provider = {p.kind: p for p in search.providers()}[kind]
    provider.provider(rep, "robot", 5)  # loads the user's permissions and team reach
    for n in range(5):
        LeadFactory(first_name=f"Robot{n}", owner=rep)
        OpportunityFactory(customer=findable.customer, name=f"Robot deal {n}")
        OrderFactory(customer=findable.customer, number=f"SO-ROBOT{n}")
        ProductFactory(name=f"Robot part {n}")
    with django_assert_num_queries(1):
        results = provider.provider(rep, "robot", 3)
    assert len(results) == 3


# --- the 360 panel ----------------------------------------------------------------------------
def detail(customer):
    return reverse("customers:detail", kwargs={"uuid": customer.uuid})


def test_the_panel_shows_open_opportunities_and_figures(client_for, rep, pipeline,
                                                        own_customer):
    OpportunityFactory(customer=own_customer, name="Open robot cell",
                       stage=pipeline["Proposal"], amount=Decimal("25000.00"))
    OpportunityFactory(customer=own_customer, name="Won deal", stage=pipeline["Won"],
                       amount=Decimal("40000.00"))
    OpportunityFactory(customer=own_customer, name="Lost deal", stage=pipeline["Lost"])
    response = client_for(rep).get(detail(own_customer))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Open robot cell" in html and "Proposal" in html
    assert "Won deal" not in html and "Lost deal" not in html
    panel = next(p for p in response.context["panels"] if p.key == "sales.opportunities")
    assert "40,000.00" in panel.html or "40000.00" in panel.html
    assert 'data-testid="customer-opportunity-figures"' in panel.html


def test_the_panel_offers_a_new_opportunity_only_to_those_who_may_add(
        client_for, rep, analyst, pipeline, own_customer):
    context = integration.opportunity_panel_context(own_customer, rep)
    if context["create_url"]:  # once sales:opportunity_create is wired
        assert context["create_url"].endswith(f"?customer={own_customer.uuid}")
    assert integration.opportunity_panel_context(own_customer, analyst)["create_url"] == ""
    response = client_for(analyst).get(detail(own_customer))
    assert 'data-testid="customer-new-opportunity"' not in response.content.decode()


def test_the_panel_is_hidden_from_who_may_not_see_opportunities(client_for, role_groups,
                                                                 own_customer):
    from tests.factories import UserFactory

    support = UserFactory(roles=["Support"])
    assert not any(p.key == "sales.opportunities" for p in panels.panels_for(support))


def test_an_outsider_gets_404_for_the_customer_page(client_for, outsider, own_customer):
    assert client_for(outsider).get(detail(own_customer)).status_code == 404


def test_the_panel_shows_only_opportunities_the_user_may_see(client_for, rep, outsider,
                                                             pipeline, team, own_customer):
    OpportunityFactory(customer=own_customer, name="Someone else's deal", owner=outsider,
                       team=None)
    html = client_for(rep).get(detail(own_customer)).content.decode()
    assert "Someone else&#x27;s deal" not in html and "Someone else's deal" not in html


def test_the_panel_runs_two_queries_whatever_the_rows(rep, pipeline, own_customer):
    OpportunityFactory(customer=own_customer)
    integration.opportunity_panel_context(own_customer, rep)  # warms the user's reach
    with CaptureQueriesContext(connection) as few:
        integration.opportunity_panel_context(own_customer, rep)
    for n in range(12):
        OpportunityFactory(customer=own_customer, stage=pipeline["Proposal" if n % 3 else "Won"])
    with CaptureQueriesContext(connection) as many:
        context = integration.opportunity_panel_context(own_customer, rep)
    assert len(few) == len(many) == 2
    assert len(context["opportunities"]) == 5 and context["more_open"]


def test_the_360_page_query_count_does_not_grow_with_opportunities(client_for, rep, pipeline,
                                                                   own_customer):
    client = client_for(rep)
    OpportunityFactory(customer=own_customer)
    client.get(detail(own_customer))  # the first request also checks 2FA, saves the session
    with CaptureQueriesContext(connection) as few:
        client.get(detail(own_customer))
    for _n in range(10):
        OpportunityFactory(customer=own_customer)
    with CaptureQueriesContext(connection) as many:
        client.get(detail(own_customer))
    assert len(many) == len(few)


# --- timeline ---------------------------------------------------------------------------------
def test_it_describes_opportunity_events(rep, pipeline, own_customer):
    deal = opportunity_create(actor=rep, data={
        "name": "Robot cell", "customer": own_customer, "amount": Decimal("12000"),
        "expected_close_date": datetime.date.today()})
    opportunity_move(actor=rep, opportunity=deal, stage=pipeline["Proposal"],
                     expected_version=deal.version)
    deal.refresh_from_db()
    opportunity_move(actor=rep, opportunity=deal, stage=pipeline["Lost"],
                     expected_version=deal.version, lost_reason="Budget frozen")
    texts = {e.name: describe(e) for e in Event.objects.filter(customer_id=own_customer.pk)}
    assert "Robot cell" in texts["opportunity.created"]
    assert "12,000.00" in texts["opportunity.created"]
    assert "Prospecting" in texts["opportunity.stage_changed"] or "Proposal" in texts[
        "opportunity.stage_changed"]
    assert "Budget frozen" in texts["opportunity.lost"]


@pytest.mark.parametrize(("name", "payload", "expected"), [
    ("opportunity.won", {"name": "Big deal", "amount": "5000", "currency": "CNY"},
     "Opportunity won: Big deal (5,000.00 CNY)"),
    ("opportunity.deleted", {"name": "Big deal"}, "Opportunity Big deal moved to the trash"),
    ("opportunity.updated", {"name": "Big deal", "fields": ["amount"]},
     "Opportunity Big deal changed: amount"),
    ("lead.converted", {"name": "Wenjing Zhao"}, "Converted from the lead Wenjing Zhao"),
    ("plan.created", {"title": "Win plan"}, "Development plan started: Win plan"),
    ("plan.step_done", {"action": "Site visit"}, "Plan step done: Site visit"),
    ("plan.closed", {"title": "Win plan", "status": "succeeded"},
     "Development plan succeeded: Win plan"),
    ("plan.closed", {}, "Development plan ended"),
    ("opportunity.won", {}, "Opportunity won"),
    ("lead.something_new", {"name": "X1"}, "Lead: X1"),
])
def test_it_describes_sales_events_in_words(name, payload, expected):
    assert describe(Event(name=name, payload=payload)) == expected
