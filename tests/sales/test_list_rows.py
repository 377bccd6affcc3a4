"""The lead and opportunity lists build their table rows in Python (sales.views.leads and
sales.views.opportunities result_rows_html, from plain values): the page must stay the same,
byte for byte, as the row templates rendered it."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.template import engines
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from customers.models import DictionaryEntry
from sales.models import Lead, Opportunity
from tests.factories import (
    CustomerFactory,
    DictionaryEntryFactory,
    LeadFactory,
    OpportunityFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# The row markup the lists' templates rendered before the rows were built in Python.
LEAD_ROW = """{% load i18n %}{% for lead in leads %}
    <tr>
      <td><a href="{% url 'sales:lead_detail' uuid=lead.uuid %}" class="fw-semibold text-break">{{ lead.full_name }}</a>{% if lead.email %}<div class="small text-body-secondary text-break">{{ lead.email }}</div>{% endif %}</td>
      <td data-label="{% translate 'Company' %}" class="small text-break">{{ lead.company|default:"—" }}</td>
      <td data-label="{% translate 'Status' %}" class="small">{% include "sales/leads/_status_badge.html" %}</td>
      <td data-label="{% translate 'Score' %}" class="small text-md-end"><span class="badge rounded-pill text-bg-light border">{{ lead.score }}</span></td>
      <td data-label="{% translate 'Owner' %}" class="small">{% if lead.owner %}{{ lead.owner.get_full_name|default:lead.owner.email }}{% else %}<span class="text-body-secondary">{% translate "Unassigned" %}</span>{% endif %}{% if lead.team %}<div class="text-body-secondary">{{ lead.team.name }}</div>{% endif %}</td>
      <td data-label="{% translate 'Source' %}" class="small">{{ lead.source.label|default:"—" }}</td>
      <td data-label="{% translate 'Region' %}" class="small">{{ lead.region.label|default:"—" }}</td>
      <td data-label="{% translate 'Created' %}" class="small text-nowrap"><time datetime="{{ lead.created_at|date:'c' }}">{{ lead.created_at|date:"SHORT_DATE_FORMAT" }}</time></td>
    </tr>
  {% endfor %}"""  # noqa: E501

OPPORTUNITY_ROW = """{% load i18n %}{% for opportunity in opportunities %}
    <tr data-testid="opportunity-row">
      <td><a href="{% url 'sales:opportunity_detail' uuid=opportunity.uuid %}" class="fw-semibold text-break">{{ opportunity.name }}</a></td>
      <td data-label="{% translate 'Customer' %}" class="small text-break"><a href="{% url 'customers:detail' uuid=opportunity.customer.uuid %}">{{ opportunity.customer.name }}</a></td>
      <td data-label="{% translate 'Stage' %}" class="small">{% include "sales/opportunities/_stage_badge.html" with stage=opportunity.stage %}</td>
      <td data-label="{% translate 'Amount' %}" class="small text-lg-end text-nowrap">{{ opportunity.amount|floatformat:"2g" }} {{ opportunity.currency }}</td>
      <td data-label="{% translate 'Weighted' %}" class="small text-lg-end text-nowrap">{{ opportunity.weighted_amount|floatformat:"2g" }} <span class="text-body-secondary">({{ opportunity.probability }}%)</span></td>
      <td data-label="{% translate 'Expected close' %}" class="small text-nowrap"><time datetime="{{ opportunity.expected_close_date|date:'Y-m-d' }}">{{ opportunity.expected_close_date|date:"SHORT_DATE_FORMAT" }}</time></td>
      <td data-label="{% translate 'Owner' %}" class="small">{% if opportunity.owner %}{{ opportunity.owner.get_full_name|default:opportunity.owner.email }}{% else %}<span class="text-body-secondary">—</span>{% endif %}</td>
      <td data-label="{% translate 'Team' %}" class="small">{{ opportunity.team.name|default:"—" }}</td>
    </tr>
  {% endfor %}"""  # noqa: E501

LEADS = reverse("sales:lead_list")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_it_builds_the_lead_rows_exactly_as_the_template_did(rep, team, language, settings):
    from sales.filters_leads import LeadFilter
    from sales.views.leads import LIST_COLUMNS, result_rows_html

    settings.TIME_ZONE = "Asia/Shanghai"
    rep.first_name, rep.last_name = "Ann & <Co>", "O'Neil"
    rep.save()
    nameless = UserFactory(first_name="", last_name="", email="only@mail.example")
    source = DictionaryEntryFactory(kind=DictionaryEntry.Kind.SOURCE, label='Fair <&> "1"')
    region = DictionaryEntryFactory(kind=DictionaryEntry.Kind.REGION, label="North & South",
                                    is_active=False)
    team.name = "East <&>"
    team.save()
    nameless_team = TeamFactory(name="")
    LeadFactory(first_name="Blank team", owner=rep, team=nameless_team,
                source=DictionaryEntryFactory(kind=DictionaryEntry.Kind.SOURCE, label=""))
    LeadFactory(first_name='<script>alert("x")</script>', last_name="& Sons",
                company="A&B <1>", email="x&y@lead.example", owner=rep, team=team,
                source=source, region=region, status=Lead.Status.CONTACTED, score=-7)
    LeadFactory(first_name="Solo", last_name="", company="", email="", owner=None, team=None,
                status=Lead.Status.NEW, score=0)
    LeadFactory(first_name="Mail", owner=nameless, team=team, status=Lead.Status.QUALIFIED,
                score=1234567)
    LeadFactory(first_name="Won", owner=rep, status=Lead.Status.CONVERTED)
    LeadFactory(first_name="Lost", owner=None, team=team, status=Lead.Status.UNQUALIFIED)
    odd = LeadFactory(first_name="Odd", owner=rep)
    # A status outside the choices shows as itself (get_status_display), escaped.
    Lead.objects.filter(pk=odd.pk).update(status="<x>")
    # Just before midnight in UTC: the next day in Shanghai.
    Lead.objects.filter(first_name="Solo").update(
        created_at=datetime.datetime(2026, 3, 1, 23, 30, 15, 123456, tzinfo=datetime.UTC))
    leads = list(Lead.objects.select_related("owner", "team", "source", "region")
                 .order_by("first_name"))
    with timezone.override("Asia/Shanghai"), translation.override(language):
        expected = engines["django"].from_string(LEAD_ROW).render({"leads": leads})
        rows = list(Lead.objects.order_by("first_name").values(*LIST_COLUMNS))
        ids = {row[name] for row in rows for name in ("source_id", "region_id")} - {None}
        built = result_rows_html(rows, *LeadFilter(None, queryset=Lead.objects.all())
                                 .lookups(ids, choices=True))
    assert built == expected
    assert "<script>" not in built and "&lt;script&gt;" in built


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_it_builds_the_opportunity_rows_exactly_as_the_template_did(rep, team, pipeline,
                                                                     language):
    from sales.filters_opportunities import OpportunityFilter
    from sales.views.opportunities import LIST_COLUMNS, result_rows_html

    rep.first_name, rep.last_name = "Ann & <Co>", "O'Neil"
    rep.save()
    nameless = UserFactory(first_name="", last_name="", email="only@mail.example")
    team.name = "East <&>"
    team.save()
    won, lost, open_ = pipeline["Won"], pipeline["Lost"], pipeline["Proposal"]
    open_.name = "Pro<po>sal & co"
    open_.save()
    customer = CustomerFactory(name='<script>alert("x")</script> & Sons', owner=rep, team=team)
    plain = CustomerFactory(name="Plain", owner=None, team=None)
    today = datetime.date(2026, 2, 28)
    cases = [
        ("A <&> deal", customer, open_, Decimal("1234567.89"), 33, rep, team),
        ("B zero", plain, won, Decimal("0.00"), 100, None, None),
        ("C big", customer, lost, Decimal("999999999999.99"), 0, nameless, team),
        ("D round", plain, open_, Decimal("10.05"), 33, rep, None),
        ("E half", plain, open_, Decimal("0.50"), 1, None, team),
        ("F wan", customer, open_, Decimal("12345.6"), 75, rep, team),
    ]
    for i, (name, who, stage, amount, probability, owner, in_team) in enumerate(cases):
        OpportunityFactory(name=name, customer=who, stage=stage, amount=amount,
                           probability=probability, owner=owner, team=in_team,
                           currency="C&Y" if i == 0 else "CNY",
                           expected_close_date=today + datetime.timedelta(days=i * 40))
    opportunities = list(Opportunity.objects.select_related("customer", "owner", "team",
                                                            "stage").order_by("name"))
    with translation.override(language):
        expected = engines["django"].from_string(OPPORTUNITY_ROW).render(
            {"opportunities": opportunities})
        built = result_rows_html(
            list(Opportunity.objects.order_by("name").values(*LIST_COLUMNS)),
            *OpportunityFilter(None, queryset=Opportunity.objects.all()).lookups())
    assert built == expected
    assert "<script>" not in built and "&lt;script&gt;" in built


def test_it_shows_the_empty_rows_when_nothing_matches(client_for, rep, pipeline):
    html = client_for(rep).get(LEADS, {"q": "no such lead"}).content.decode()
    assert "No leads match these filters." in html
    html = client_for(rep).get(reverse("sales:opportunity_list"),
                                {"q": "no such deal"}).content.decode()
    assert "No opportunities match these filters." in html


def test_it_carries_the_lead_count_to_the_next_pages(client_for, rep, team):
    LeadFactory.create_batch(55, owner=rep, team=team)
    client = client_for(rep)
    first = client.get(LEADS).context["page"]
    assert (first.count, first.count_capped) == (55, False)
    with CaptureQueriesContext(connection) as queries:
        second = client.get(LEADS, {"after": first.next_cursor}).context["page"]
    assert (second.count, len(second.object_list)) == (55, 5)
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"]]
    # Another filter with the same cursor: counted afresh, not carried.
    other = client.get(LEADS, {"after": first.next_cursor, "status": "unqualified"}).context["page"]
    assert other.count == 0
    # A cursor counted for another user's visible set does not carry either.
    with CaptureQueriesContext(connection) as queries:
        page = client_for(team.manager).get(LEADS, {"after": first.next_cursor}).context["page"]
    assert (page.count, len(page.object_list)) == (55, 5)
    assert [q for q in queries.captured_queries if "COUNT(" in q["sql"]]


def test_it_names_an_inactive_source_but_does_not_offer_it(client_for, rep, team):
    retired = DictionaryEntryFactory(kind=DictionaryEntry.Kind.SOURCE, label="Old fair",
                                     is_active=False)
    DictionaryEntryFactory(kind=DictionaryEntry.Kind.SOURCE, label="Website")
    LeadFactory(first_name="Lina", owner=rep, team=team, source=retired)
    client = client_for(rep)
    html = client.get(LEADS).content.decode()
    assert '<td data-label="Source" class="small">Old fair</td>' in html
    assert ">Website</option>" in html and ">Old fair</option>" not in html
    assert '<div class="text-body-secondary">Sales East</div>' in html
    partial = client.get(LEADS, HTTP_HX_REQUEST="true").content.decode()
    assert '<td data-label="Source" class="small">Old fair</td>' in partial


def _queries(client, path, **extra):
    client.get(path, **extra)  # warm up: content types, session, caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, **extra)
    assert response.status_code == 200
    # Sessions are cached_db: a session read now and then is noise, not the page's work.
    return len([q for q in ctx.captured_queries if "django_session" not in q["sql"]])


@pytest.mark.parametrize("htmx", [False, True])
def test_the_lists_name_teams_sources_and_stages_in_the_same_queries(client_for, rep, team,
                                                                      own_customer, pipeline,
                                                                      htmx):
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    client = client_for(rep)
    LeadFactory(owner=rep, team=team)
    OpportunityFactory(customer=own_customer)
    few = [_queries(client, LEADS, **extra),
           _queries(client, reverse("sales:opportunity_list"), **extra)]
    for i in range(12):
        LeadFactory(owner=rep, team=TeamFactory() if i % 2 else team,
                    source=DictionaryEntryFactory(kind=DictionaryEntry.Kind.SOURCE),
                    region=DictionaryEntryFactory(kind=DictionaryEntry.Kind.REGION))
        OpportunityFactory(customer=own_customer, team=TeamFactory() if i % 2 else None,
                           stage=pipeline["Proposal"] if i % 3 else pipeline["Won"])
    many = [_queries(client, LEADS, **extra),
            _queries(client, reverse("sales:opportunity_list"), **extra)]
    assert few == many
    assert max(many) <= 12
