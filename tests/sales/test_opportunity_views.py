"""Opportunity pages: list (filters, totals, pagination), detail, create/edit, move, trash."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import navigation
from crm.models import Event
from sales import opportunity_ui, pipeline_services, plan_services
from sales.models import Opportunity, OpportunityStageHistory
from sales.views.opportunities import duration_text
from tests.factories import CustomerFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

LIST = reverse("sales:opportunity_list")
CREATE = reverse("sales:opportunity_create")
TRASH = reverse("sales:opportunity_trash")


def url(name, opportunity):
    return reverse(f"sales:opportunity_{name}", kwargs={"uuid": opportunity.uuid})


@pytest.fixture(autouse=True)
def _nav():
    opportunity_ui.register()


@pytest.fixture
def deal(rep, own_customer, pipeline):
    return pipeline_services.opportunity_create(actor=rep, data={
        "name": "Robot arms", "customer": own_customer, "amount": Decimal("10000"),
        "expected_close_date": timezone.localdate() + datetime.timedelta(days=30)})


def names(response):
    return [o["name"] for o in response.context["page"].object_list]


# --- access -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["list", "create", "trash"])
def test_it_sends_anonymous_users_to_log_in_from_pages(client, name):
    response = client.get(reverse(f"sales:opportunity_{name}"))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("name", ["detail", "edit", "move", "delete", "restore"])
def test_it_sends_anonymous_users_to_log_in_from_an_opportunity(client, deal, name):
    response = client.post(url(name, deal)) if name in ("move", "delete", "restore") \
        else client.get(url(name, deal))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("name,method", [("detail", "get"), ("edit", "get"), ("edit", "post"),
                                         ("move", "post"), ("delete", "post")])
def test_it_hides_the_opportunity_from_outsiders(client_for, outsider, deal, name, method):
    client = client_for(outsider)
    assert getattr(client, method)(url(name, deal)).status_code == 404


def test_it_hides_the_trashed_opportunity_from_outsiders(client_for, outsider, rep, deal):
    pipeline_services.opportunity_delete(actor=rep, opportunity=deal)
    assert client_for(outsider).post(url("restore", deal)).status_code == 404


def test_it_lists_no_opportunities_of_others_to_outsiders(client_for, outsider, deal):
    response = client_for(outsider).get(LIST)
    assert response.status_code == 200 and names(response) == []


@pytest.mark.parametrize("name,method", [("edit", "get"), ("edit", "post"), ("move", "post"),
                                         ("delete", "post")])
def test_it_refuses_writes_to_read_only_users(client_for, analyst, deal, name, method):
    client = client_for(analyst)
    assert getattr(client, method)(url(name, deal)).status_code == 403


def test_it_refuses_create_and_restore_to_read_only_users(client_for, analyst, rep, deal,
                                                           own_customer):
    client = client_for(analyst)
    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, {}).status_code == 403
    assert client.get(CREATE + f"?customer={own_customer.uuid}").status_code == 403
    pipeline_services.opportunity_delete(actor=rep, opportunity=deal)
    assert client.post(url("restore", deal)).status_code == 403


def test_it_lets_read_only_users_see_the_list_and_detail(client_for, analyst, deal):
    client = client_for(analyst)
    assert names(client.get(LIST)) == ["Robot arms"]
    response = client.get(url("detail", deal))
    assert response.status_code == 200 and "move_form" not in response.context


def test_it_registers_the_navigation_entry(rep, analyst, outsider, role_groups):
    from tests.factories import UserFactory

    assert "opportunities" in [i.key for i in navigation.items_for(rep)]
    nobody = UserFactory(email="no.roles@example.com")
    assert "opportunities" not in [i.key for i in navigation.items_for(nobody)]


# --- list ---------------------------------------------------------------------------------------
@pytest.fixture
def several(rep, own_customer, team_customer, manager, pipeline):
    today = timezone.localdate()
    make = OpportunityFactory
    return {
        "small": make(name="Small pumps", customer=own_customer, amount=Decimal("100"),
                      expected_close_date=today + datetime.timedelta(days=5)),
        "big": make(name="Big turbines", customer=own_customer, amount=Decimal("90000"),
                    stage=pipeline["Negotiation"], probability=75,
                    expected_close_date=today + datetime.timedelta(days=60)),
        "won": make(name="Won valves", customer=team_customer, amount=Decimal("5000"),
                    stage=pipeline["Won"], probability=100, owner=manager),
        "lost": make(name="Lost gears", customer=team_customer, amount=Decimal("2000"),
                     stage=pipeline["Lost"], probability=0, lost_reason="Price", owner=manager),
    }


def test_it_filters_by_open_won_lost(client_for, rep, several):
    client = client_for(rep)
    assert sorted(names(client.get(LIST, {"state": "open"}))) == ["Big turbines", "Small pumps"]
    assert names(client.get(LIST, {"state": "won"})) == ["Won valves"]
    assert names(client.get(LIST, {"state": "lost"})) == ["Lost gears"]


def test_it_filters_by_stage_owner_amount_and_close_date(client_for, rep, manager, several,
                                                         pipeline):
    client = client_for(rep)
    assert names(client.get(LIST, {"stage": pipeline["Negotiation"].uuid})) == ["Big turbines"]
    assert sorted(names(client.get(LIST, {"owner": manager.uuid}))) == ["Lost gears",
                                                                        "Won valves"]
    assert sorted(names(client.get(LIST, {"amount_min": "1000", "amount_max": "6000"}))) == [
        "Lost gears", "Won valves"]
    soon = (timezone.localdate() + datetime.timedelta(days=10)).isoformat()
    assert names(client.get(LIST, {"close_before": soon, "state": "open"})) == ["Small pumps"]
    far = (timezone.localdate() + datetime.timedelta(days=40)).isoformat()
    assert names(client.get(LIST, {"close_after": far})) == ["Big turbines"]


def test_it_filters_by_team_and_customer(client_for, rep, team, several):
    client = client_for(rep)
    assert len(names(client.get(LIST, {"team": team.uuid}))) == 4
    assert sorted(names(client.get(LIST, {"customer": "delta"}))) == []
    assert sorted(names(client.get(LIST, {"customer": "Beta"}))) == ["Lost gears", "Won valves"]


def test_it_searches_names_forgiving_typos(client_for, rep, several):
    client = client_for(rep)
    assert names(client.get(LIST, {"q": "turbine"})) == ["Big turbines"]
    assert names(client.get(LIST, {"q": "Big turbnes"})) == ["Big turbines"]


def test_it_sorts_by_a_whitelisted_ordering_only(client_for, rep, several):
    client = client_for(rep)
    assert names(client.get(LIST, {"ordering": "-amount"}))[0] == "Big turbines"
    assert names(client.get(LIST, {"ordering": "amount"}))[0] == "Small pumps"
    response = client.get(LIST, {"ordering": "customer__owner__password"})
    assert response.status_code == 200
    assert response.context["filter_errors"]


def test_it_totals_the_filtered_set(client_for, rep, several):
    response = client_for(rep).get(LIST, {"state": "open"})
    totals = response.context["totals"]
    assert totals["count"] == 2
    assert totals["amount"] == Decimal("90100.00")
    assert totals["weighted"] == Decimal("67510.00")  # 90000*75% + 100*10%


def test_it_ignores_bad_filter_input_with_a_message(client_for, rep, several):
    response = client_for(rep).get(LIST, {"amount_min": "lots", "close_after": "someday"})
    assert response.status_code == 200
    assert len(response.context["filter_errors"]) == 2


def test_it_returns_only_the_results_for_htmx(client_for, rep, several):
    response = client_for(rep).get(LIST, {"state": "won"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "Won valves" in html and "<form method=\"get\"" not in html
    assert "<html" not in html


def test_it_pages_with_a_cursor(client_for, rep, own_customer, pipeline):
    OpportunityFactory.create_batch(55, customer=own_customer)
    client = client_for(rep)
    first = client.get(LIST)
    assert len(first.context["page"].object_list) == 50
    second = client.get(LIST, {"after": first.context["page"].next_cursor})
    assert len(second.context["page"].object_list) == 5
    assert not {o["id"] for o in first.context["page"]} & {o["id"] for o in second.context["page"]}


def _count_queries(client, path, params=None):
    client.get(path, params or {})  # warm up: content types, session, caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params or {})
    assert response.status_code == 200
    # Sessions are cached_db: the Redis test cache is shared with other test runs, so a
    # session read from the database now and then is noise, not the page's own work.
    return len([q for q in ctx.captured_queries if "django_session" not in q["sql"]])


@pytest.mark.parametrize("persona", ["rep", "manager"])
def test_it_lists_in_the_same_few_queries_for_few_and_many(request, client_for, own_customer,
                                                           team_customer, pipeline, persona):
    user = request.getfixturevalue(persona)
    client = client_for(user)
    OpportunityFactory(customer=own_customer)
    few = _count_queries(client, LIST, {"state": "open", "q": "deal"})
    for i in range(30):
        OpportunityFactory(customer=team_customer if i % 2 else own_customer,
                           stage=pipeline["Proposal"] if i % 3 else pipeline["Prospecting"])
    many = _count_queries(client, LIST, {"state": "open", "q": "deal"})
    assert few == many
    assert many <= 12


# --- detail -------------------------------------------------------------------------------------
def test_it_shows_the_figures_and_the_stage_history(client_for, rep, deal, pipeline):
    deal = pipeline_services.opportunity_move(actor=rep, opportunity=deal,
                                              stage=pipeline["Proposal"],
                                              expected_version=deal.version)
    OpportunityStageHistory.objects.filter(opportunity=deal, from_stage__isnull=False).update(
        seconds_in_previous=3 * 86400 + 4 * 3600)
    response = client_for(rep).get(url("detail", deal))
    html = response.content.decode()
    assert response.status_code == 200
    assert "10,000.00" in html and "5,000.00" in html  # amount, weighted at 50%
    rows = response.context["stage_rows"]
    assert [r["entry"].to_stage.name for r in rows] == ["Prospecting", "Proposal"]
    assert rows[0]["duration"] == "3 days, 4 hours"
    assert rows[1]["current"]
    assert reverse("customers:detail", kwargs={"uuid": deal.customer.uuid}) in html


def test_it_humanizes_durations():
    assert duration_text(30) == "less than a minute"
    assert duration_text(5 * 60) == "5 minutes"
    assert duration_text(86400 + 60) == "1 day"
    assert duration_text(2 * 86400 + 3600 * 5 + 60) == "2 days, 5 hours"


def test_it_reads_the_detail_in_the_same_queries_with_much_history(client_for, rep, deal,
                                                                   pipeline):
    client = client_for(rep)
    few = _count_queries(client, url("detail", deal))
    stages = [pipeline["Qualification"], pipeline["Proposal"], pipeline["Prospecting"]]
    for i in range(30):
        deal = pipeline_services.opportunity_move(actor=rep, opportunity=deal,
                                                  stage=stages[i % 3],
                                                  expected_version=deal.version)
    for p in range(3):
        plan = plan_services.plan_create(actor=rep, opportunity=deal, title=f"Plan {p}")
        for s in range(10):
            plan_services.step_add(actor=rep, plan=plan, action=f"Step {s}",
                                   planned_date=timezone.localdate()
                                   + datetime.timedelta(days=s - 5))
    many = _count_queries(client, url("detail", deal))
    assert few == many
    assert many <= 12


# --- move ---------------------------------------------------------------------------------------
def test_it_moves_the_opportunity_and_records_history(client_for, rep, deal, pipeline):
    response = client_for(rep).post(url("move", deal), {
        "stage": pipeline["Proposal"].uuid, "version": deal.version})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.stage == pipeline["Proposal"]
    assert deal.stage_history.count() == 2
    assert Event.objects.filter(name="opportunity.stage_changed").exists()


def test_it_refuses_a_move_to_lost_without_a_reason(client_for, rep, deal, pipeline):
    client = client_for(rep)
    response = client.post(url("move", deal), {"stage": pipeline["Lost"].uuid,
                                               "version": deal.version}, follow=True)
    assert "Say why the opportunity was lost." in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage == pipeline["Prospecting"]
    client.post(url("move", deal), {"stage": pipeline["Lost"].uuid, "version": deal.version,
                                    "lost_reason": "Budget cut"})
    deal.refresh_from_db()
    assert deal.stage == pipeline["Lost"] and deal.lost_reason == "Budget cut"
    assert deal.closed_at is not None


def test_it_refuses_a_stale_move(client_for, rep, deal, pipeline):
    response = client_for(rep).post(url("move", deal), {
        "stage": pipeline["Proposal"].uuid, "version": deal.version - 1 or 99}, follow=True)
    assert "Someone else changed this opportunity" in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage == pipeline["Prospecting"]


# --- create and edit ----------------------------------------------------------------------------
def test_it_creates_from_a_customer(client_for, rep, own_customer, pipeline):
    client = client_for(rep)
    response = client.get(CREATE, {"customer": own_customer.uuid})
    assert response.status_code == 200 and "customer_code" not in response.context["form"].fields
    response = client.post(CREATE + f"?customer={own_customer.uuid}", {
        "name": "Grippers", "amount": "2500", "currency": "CNY",
        "expected_close_date": "2030-01-31"})
    opportunity = Opportunity.objects.get(name="Grippers")
    assert response["Location"] == url("detail", opportunity)
    assert opportunity.customer == own_customer and opportunity.owner == rep
    assert opportunity.probability == pipeline["Prospecting"].probability


def test_it_creates_from_the_list_by_customer_code(client_for, rep, own_customer, other_customer,
                                                  pipeline):
    client = client_for(rep)
    data = {"name": "Sensors", "amount": "10", "currency": "cny",
            "expected_close_date": "2030-01-31", "stage": pipeline["Proposal"].uuid}
    response = client.post(CREATE, {**data, "customer_code": other_customer.code})
    assert response.status_code == 200
    assert "No customer you can see has this code." in response.content.decode()
    response = client.post(CREATE, {**data, "customer_code": own_customer.code.lower()})
    opportunity = Opportunity.objects.get(name="Sensors")
    assert opportunity.customer == own_customer and opportunity.currency == "CNY"


def test_it_refuses_to_create_for_a_customer_the_user_cannot_see(client_for, rep,
                                                                  other_customer, pipeline):
    assert client_for(rep).get(CREATE, {"customer": other_customer.uuid}).status_code == 404


def test_it_refuses_a_lost_stage_without_a_reason_on_create(client_for, rep, own_customer,
                                                            pipeline):
    response = client_for(rep).post(CREATE + f"?customer={own_customer.uuid}", {
        "name": "Nope", "amount": "1", "currency": "CNY", "expected_close_date": "2030-01-01",
        "stage": pipeline["Lost"].uuid})
    assert response.status_code == 200
    assert "Say why the opportunity was lost." in response.content.decode()
    assert not Opportunity.objects.filter(name="Nope").exists()


def _edit_data(deal, **overrides):
    return {"name": deal.name, "amount": str(deal.amount), "currency": deal.currency,
            "probability": deal.probability,
            "expected_close_date": deal.expected_close_date.isoformat(),
            "version": deal.version, **overrides}


def test_it_edits_an_opportunity(client_for, rep, deal):
    response = client_for(rep).post(url("edit", deal), _edit_data(deal, amount="12345.67"))
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.amount == Decimal("12345.67") and deal.version == 2
    assert Event.objects.filter(name="opportunity.updated").exists()


def test_it_refuses_a_stale_edit(client_for, rep, deal):
    data = _edit_data(deal, amount="1")
    pipeline_services.opportunity_update(actor=rep, opportunity=deal, data={"name": "Renamed"},
                                         expected_version=deal.version)
    response = client_for(rep).post(url("edit", deal), data)
    assert response.status_code == 200
    assert "Someone else changed this record" in response.content.decode()
    deal.refresh_from_db()
    assert deal.amount == Decimal("10000") and deal.name == "Renamed"


def test_it_shows_clear_errors_on_bad_input(client_for, rep, deal):
    response = client_for(rep).post(url("edit", deal), _edit_data(deal, amount="-5",
                                                                  probability="150"))
    assert response.status_code == 200
    form = response.context["form"]
    assert "amount" in form.errors and "probability" in form.errors
    deal.refresh_from_db()
    assert deal.amount == Decimal("10000")


# --- trash --------------------------------------------------------------------------------------
def test_it_moves_to_the_trash_and_restores(client_for, rep, deal):
    client = client_for(rep)
    assert client.post(url("delete", deal))["Location"] == LIST
    assert names(client.get(LIST)) == []
    assert [o.pk for o in client.get(TRASH).context["page"]] == [deal.pk]
    assert client.get(url("detail", deal)).status_code == 404
    assert client.post(url("restore", deal))["Location"] == TRASH
    assert names(client.get(LIST)) == ["Robot arms"]


def test_it_reads_the_trash_in_the_same_queries(client_for, rep, own_customer, pipeline):
    client = client_for(rep)
    OpportunityFactory(customer=own_customer, deleted_at=timezone.now())
    few = _count_queries(client, TRASH)
    for _ in range(10):
        OpportunityFactory(customer=own_customer, deleted_at=timezone.now())
    assert _count_queries(client, TRASH) == few


def test_it_shows_each_customer_only_what_the_user_sees(client_for, manager, rep, team,
                                                        pipeline):
    mine = CustomerFactory(owner=rep, team=team)
    OpportunityFactory(name="Team deal", customer=mine)
    assert names(client_for(manager).get(LIST)) == ["Team deal"]


# --- review fixes -------------------------------------------------------------------------------
def test_it_keeps_the_owner_and_team_when_an_edit_leaves_them_empty(client_for, rep, deal):
    team_id = deal.team_id
    assert deal.owner == rep and team_id is not None
    client = client_for(rep)
    response = client.post(url("edit", deal), _edit_data(deal, owner="", team="",
                                                         name="Renamed arms"))
    assert response.status_code == 302 and response["Location"] == url("detail", deal)
    deal.refresh_from_db()
    assert deal.name == "Renamed arms"
    assert deal.owner == rep and deal.team_id == team_id
    assert client.get(url("detail", deal)).status_code == 200


def test_it_never_saves_a_null_owner_or_team_through_the_service(rep, deal):
    team_id = deal.team_id
    pipeline_services.opportunity_update(actor=rep, opportunity=deal,
                                         data={"owner": None, "team": None, "name": "Kept"},
                                         expected_version=deal.version)
    deal.refresh_from_db()
    assert (deal.owner, deal.team_id, deal.name) == (rep, team_id, "Kept")


def test_it_says_so_when_an_edit_puts_the_opportunity_out_of_reach(client_for, rep, outsider,
                                                                   pipeline):
    customer = CustomerFactory(owner=rep, team=None)
    lone = OpportunityFactory(customer=customer, owner=rep, team=None, name="Lone deal")
    client = client_for(rep)
    response = client.post(url("edit", lone), _edit_data(lone, owner=str(outsider.uuid)),
                           follow=True)
    assert response.redirect_chain[-1][0] == LIST
    html = response.content.decode()
    assert "no longer among the opportunities you can see" in html
    lone.refresh_from_db()
    assert lone.owner == outsider


@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", "x" * 40])
def test_it_answers_404_to_a_malformed_customer_on_create(client_for, rep, pipeline, bad):
    client = client_for(rep)
    assert client.get(CREATE, {"customer": bad}).status_code == 404
    assert client.post(CREATE + f"?customer={bad}", {"name": "x"}).status_code == 404


@pytest.mark.parametrize("value", ["1e200000", "1000000000001", "1e13"])
def test_it_refuses_absurd_amount_bounds_with_a_form_error(client_for, rep, deal, value):
    response = client_for(rep).get(LIST, {"amount_min": value})
    assert response.status_code == 200
    assert response.context["filter_errors"]
    response = client_for(rep).get(LIST, {"amount_max": value})
    assert response.status_code == 200 and response.context["filter_errors"]


def test_it_caps_the_totals_and_shows_no_sums_past_the_cap(rep, own_customer, pipeline):
    from sales.filters_opportunities import OpportunityFilter
    from sales.selectors import opportunity_list_for_user

    OpportunityFactory.create_batch(3, customer=own_customer, amount=Decimal("100"))
    filterset = OpportunityFilter({}, queryset=opportunity_list_for_user(rep))
    assert filterset.totals(cap=2) == {"count": 2, "capped": True, "amount": None,
                                       "weighted": None}
    exact = filterset.totals(cap=3)
    assert exact["capped"] is False and exact["count"] == 3
    assert exact["amount"] == Decimal("300.00") and exact["weighted"] == Decimal("30.00")


def test_it_says_to_narrow_the_filters_when_the_set_is_past_the_cap(client_for, rep,
                                                                    own_customer, pipeline,
                                                                    monkeypatch):
    from sales import filters_opportunities

    monkeypatch.setattr(filters_opportunities.OpportunityFilter.totals, "__defaults__", (2,))
    OpportunityFactory.create_batch(3, customer=own_customer)
    response = client_for(rep).get(LIST)
    html = response.content.decode()
    assert response.context["totals"]["capped"] is True
    assert 'data-testid="totals-capped"' in html and "narrow the filters" in html
    assert 'data-testid="total-amount"' not in html


def test_it_computes_the_totals_for_the_first_page_only(client_for, rep, own_customer,
                                                        pipeline):
    OpportunityFactory.create_batch(55, customer=own_customer)
    client = client_for(rep)
    first = client.get(LIST)
    assert first.context["totals"]["count"] == 55
    with CaptureQueriesContext(connection) as ctx:
        second = client.get(LIST, {"after": first.context["page"].next_cursor},
                            headers={"HX-Request": "true"})
    assert second.context["totals"] is None
    assert 'data-testid="totals"' not in second.content.decode()
    assert not any("SUM(" in q["sql"] for q in ctx.captured_queries)


def test_it_renders_owner_selects_as_autocompletes(client_for, rep, deal):
    from tests.factories import UserFactory

    UserFactory(first_name="Zebedee", last_name="Unlisted")
    client = client_for(rep)
    for response in (client.get(LIST), client.get(url("edit", deal)), client.get(CREATE)):
        html = response.content.decode()
        assert 'data-autocomplete-url="/customers/autocomplete/users/' in html
        assert "Zebedee" not in html
    # The chosen owner is still rendered (and posted as its uuid).
    html = client.get(LIST, {"owner": str(rep.uuid)}).content.decode()
    assert f'value="{rep.uuid}" selected' in html
