"""The kanban board (/sales/pipeline/) and its move endpoint."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from crm.models import Event
from sales.models import OpportunityStageHistory
from sales.pipeline_services import opportunity_create
from tests.factories import CustomerFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

BOARD = "/sales/pipeline/"
MOVE = "/sales/pipeline/move/"


@pytest.fixture(autouse=True)
def _nav():
    from sales import board_ui

    board_ui.register()


@pytest.fixture
def deal(rep, own_customer, pipeline):
    return opportunity_create(actor=rep, data={
        "name": "Robot arms", "customer": own_customer, "amount": Decimal("12000"),
        "expected_close_date": datetime.date.today() + datetime.timedelta(days=20)})


def _move(client, deal, stage, version=None, **extra):
    return client.post(MOVE, {"opportunity": str(deal.uuid), "stage": stage.pk,
                              "version": deal.version if version is None else version, **extra})


# --- the board ------------------------------------------------------------------------------
def test_it_redirects_anonymous_users_to_login(client):
    for url in (BOARD, MOVE):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_it_shows_one_column_per_active_stage_with_counts_and_sums(client_for, rep, own_customer,
                                                                  pipeline, deal):
    OpportunityFactory(customer=own_customer, stage=pipeline["Proposal"], amount=Decimal("500"))
    OpportunityFactory(customer=own_customer, stage=pipeline["Proposal"], amount=Decimal("250"))
    OpportunityFactory(customer=own_customer, stage=pipeline["Proposal"], amount=Decimal("99"),
                       currency="USD")
    pipeline["Lost"].is_active = False
    pipeline["Lost"].save()
    response = client_for(rep).get(BOARD)
    assert response.status_code == 200
    columns = {c.stage.name: c for c in response.context["columns"]}
    assert list(columns) == ["Prospecting", "Qualification", "Proposal", "Negotiation", "Won"]
    assert (columns["Prospecting"].count, columns["Prospecting"].total) == (1, Decimal("12000"))
    # Only the company currency is added up; the USD one is counted apart.
    assert (columns["Proposal"].count, columns["Proposal"].total) == (3, Decimal("750"))
    assert columns["Proposal"].other_currency == 1
    html = response.content.decode()
    assert "Robot arms" in html and "Acme Robotics" in html
    assert 'data-movable' in html
    assert "<script>" not in html.replace("<script src", "")


def test_it_hides_opportunities_the_user_may_not_see(client_for, outsider, deal):
    response = client_for(outsider).get(BOARD)
    assert response.status_code == 200
    assert sum(c.count for c in response.context["columns"]) == 0
    assert "Robot arms" not in response.content.decode()


def test_it_shows_the_board_read_only_to_the_analyst(client_for, analyst, deal):
    response = client_for(analyst).get(BOARD)
    assert "Robot arms" in response.content.decode()
    assert "data-movable" not in response.content.decode()
    assert response.context["can_move"] is False


def test_it_filters_by_owner_team_close_range_and_search(client_for, manager, rep, team,
                                                        own_customer, team_customer, pipeline,
                                                        deal):
    OpportunityFactory(name="Frozen peas", customer=team_customer,
                       expected_close_date=datetime.date(2030, 1, 15))
    client = client_for(manager)

    def names(params):
        response = client.get(BOARD, params)
        return sorted(c.name for col in response.context["columns"] for c in col.cards)

    assert names({}) == ["Frozen peas", "Robot arms"]
    assert names({"owner": rep.uuid}) == ["Robot arms"]
    assert names({"team": team.uuid}) == ["Frozen peas", "Robot arms"]
    assert names({"close_after": "2029-12-01"}) == ["Frozen peas"]
    assert names({"close_before": "2029-12-01"}) == ["Robot arms"]
    assert names({"q": "beta bar"}) == []
    assert names({"q": "beta"}) == ["Frozen peas"]
    assert names({"q": "robot"}) == ["Robot arms"]


def test_it_ignores_bad_filters_with_a_message(client_for, rep, deal):
    response = client_for(rep).get(BOARD, {"close_after": "yesterday", "owner": "abc"})
    assert response.status_code == 200
    assert response.context["filter_errors"]
    assert "Robot arms" in response.content.decode()


def test_it_shows_at_most_the_column_limit_and_links_to_the_rest(client_for, rep, own_customer,
                                                                pipeline, monkeypatch):
    monkeypatch.setattr("sales.views.board.COLUMN_LIMIT", 2)
    today = datetime.date.today()
    OpportunityFactory.create_batch(3, customer=own_customer, expected_close_date=today)
    OpportunityFactory(name="Latest", customer=own_customer,
                       expected_close_date=today + datetime.timedelta(days=90))
    response = client_for(rep).get(BOARD, {"q": "deal"})
    first = response.context["columns"][0]
    assert (first.count, len(first.cards), first.more) == (3, 2, 1)
    response = client_for(rep).get(BOARD)
    first = response.context["columns"][0]
    assert (first.count, len(first.cards), first.more) == (4, 2, 2)
    assert "Latest" not in [c.name for c in first.cards]  # soonest expected close first
    html = response.content.decode()
    assert f"stage={pipeline['Prospecting'].uuid}" in html and "2 more" in html


def test_the_board_query_count_does_not_grow_with_opportunities(client_for, rep, own_customer,
                                                               pipeline,
                                                               django_assert_num_queries):
    client = client_for(rep)
    client.get(BOARD)

    def measure():
        with django_assert_num_queries(6) as ctx:
            response = client.get(BOARD)
        assert response.status_code == 200
        return ctx

    for stage in ("Prospecting", "Proposal", "Won"):
        OpportunityFactory(customer=own_customer, stage=pipeline[stage])
    measure()
    for stage in pipeline.values():
        OpportunityFactory.create_batch(
            30, customer=own_customer, stage=stage,
            lost_reason="x" if stage.is_lost else "")
    measure()


# --- the move endpoint ----------------------------------------------------------------------
def test_it_moves_a_card_records_history_and_answers_the_totals(client_for, rep, pipeline, deal):
    response = _move(client_for(rep), deal, pipeline["Proposal"])
    assert response.status_code == 200
    data = response.json()
    deal.refresh_from_db()
    assert deal.stage == pipeline["Proposal"] and deal.probability == 50
    assert data["version"] == deal.version == 2
    totals = {c["stage"]: c for c in data["columns"]}
    assert totals[pipeline["Proposal"].pk]["count"] == 1
    assert Decimal(totals[pipeline["Proposal"].pk]["total"]) == Decimal("12000")
    assert totals[pipeline["Prospecting"].pk]["count"] == 0
    assert OpportunityStageHistory.objects.filter(opportunity=deal,
                                                  to_stage=pipeline["Proposal"]).exists()
    assert Event.objects.filter(name="opportunity.stage_changed",
                                customer_id=deal.customer_id).exists()


def test_it_refuses_a_stale_move_and_changes_nothing(client_for, rep, pipeline, deal):
    response = _move(client_for(rep), deal, pipeline["Proposal"], version=deal.version + 5)
    assert response.status_code == 409
    assert "Someone else changed this opportunity" in response.json()["error"]
    deal.refresh_from_db()
    assert deal.stage == pipeline["Prospecting"] and deal.version == 1
    assert OpportunityStageHistory.objects.filter(opportunity=deal).count() == 1


def test_it_answers_404_to_an_outsider(client_for, outsider, pipeline, deal):
    response = _move(client_for(outsider), deal, pipeline["Proposal"])
    assert response.status_code == 404
    deal.refresh_from_db()
    assert deal.stage == pipeline["Prospecting"]


def test_it_answers_403_to_the_read_only_analyst(client_for, analyst, pipeline, deal):
    response = _move(client_for(analyst), deal, pipeline["Proposal"])
    assert response.status_code == 403
    assert response.json()["error"]
    deal.refresh_from_db()
    assert deal.stage == pipeline["Prospecting"]


def test_it_answers_403_to_a_teammate_who_may_only_look(client_for, team, pipeline,
                                                       team_customer, rep):
    theirs = OpportunityFactory(customer=team_customer)  # the manager's, in rep's team
    response = _move(client_for(rep), theirs, pipeline["Proposal"])
    assert response.status_code == 403


@pytest.mark.parametrize("stage", ["999999", "abc", "", "-1"])
def test_it_refuses_a_bad_stage_with_400(client_for, rep, pipeline, deal, stage):
    response = client_for(rep).post(MOVE, {"opportunity": str(deal.uuid), "stage": stage,
                                           "version": 1})
    assert response.status_code == 400
    assert response.json()["error"]
    deal.refresh_from_db()
    assert deal.stage == pipeline["Prospecting"]


def test_it_refuses_an_inactive_stage_with_400(client_for, rep, pipeline, deal):
    stage = pipeline["Negotiation"]
    stage.is_active = False
    stage.save()
    assert _move(client_for(rep), deal, stage).status_code == 400


def test_it_refuses_bad_input_with_400(client_for, rep, pipeline, deal):
    client = client_for(rep)
    assert client.post(MOVE, {"opportunity": "nope", "stage": pipeline["Won"].pk,
                              "version": 1}).status_code == 400
    assert client.post(MOVE, {"opportunity": str(deal.uuid), "stage": pipeline["Won"].pk,
                              "version": "x"}).status_code == 400
    assert client.get(MOVE).status_code == 405


def test_it_asks_why_when_moving_to_lost(client_for, rep, pipeline, deal):
    client = client_for(rep)
    response = _move(client, deal, pipeline["Lost"])
    assert response.status_code == 400
    assert "lost" in response.json()["error"]
    deal.refresh_from_db()
    assert deal.stage == pipeline["Prospecting"]
    response = _move(client, deal, pipeline["Lost"], lost_reason="Price too high")
    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.stage == pipeline["Lost"] and deal.lost_reason == "Price too high"
    assert deal.closed_at is not None


def test_the_totals_follow_the_board_filters(client_for, rep, own_customer, pipeline, deal):
    other = CustomerFactory(name="Delta", owner=rep)
    OpportunityFactory(customer=other, stage=pipeline["Proposal"], amount=Decimal("7"))
    response = client_for(rep).post(f"{MOVE}?q=robot", {
        "opportunity": str(deal.uuid), "stage": pipeline["Proposal"].pk, "version": 1})
    totals = {c["stage"]: c for c in response.json()["columns"]}
    assert totals[pipeline["Proposal"].pk]["count"] == 1  # Delta's is filtered out


def test_it_adds_the_pipeline_entry_to_the_navigation(client_for, rep, analyst, role_groups):
    from tests.factories import UserFactory

    html = client_for(rep).get(reverse("home")).content.decode()
    assert f'href="{BOARD}"' in html and 'href="/sales/forecast/"' in html
    nobody = UserFactory(email="nobody@example.com", roles=[])
    html = client_for(nobody).get(reverse("home")).content.decode()
    assert f'href="{BOARD}"' not in html


# --- review fixes -------------------------------------------------------------------------------
def test_it_caps_each_column_count_and_drops_its_sum_past_the_cap(rep, own_customer, pipeline):
    from sales.board import board_totals
    from sales.selectors import opportunity_list_for_user

    OpportunityFactory.create_batch(3, customer=own_customer, stage=pipeline["Prospecting"],
                                    amount=Decimal("10"))
    OpportunityFactory(customer=own_customer, stage=pipeline["Proposal"], amount=Decimal("7"))
    ids = [pipeline["Prospecting"].pk, pipeline["Proposal"].pk, pipeline["Won"].pk]
    totals = board_totals(opportunity_list_for_user(rep), ids, cap=2)
    assert totals[pipeline["Prospecting"].pk] == {"count": 2, "total": None,
                                                  "other_currency": 0, "capped": True}
    assert totals[pipeline["Proposal"].pk]["count"] == 1
    assert totals[pipeline["Proposal"].pk]["total"] == Decimal("7")
    assert pipeline["Won"].pk not in totals
    exact = board_totals(opportunity_list_for_user(rep), ids, cap=3)
    assert exact[pipeline["Prospecting"].pk]["total"] == Decimal("30")


def test_it_shows_10000_plus_and_no_sum_on_a_capped_column(client_for, rep, own_customer,
                                                            pipeline, monkeypatch):
    from sales import board

    monkeypatch.setattr(board.board_totals, "__defaults__", (2,))
    OpportunityFactory.create_batch(3, customer=own_customer, stage=pipeline["Prospecting"],
                                    amount=Decimal("10"))
    # A search reads the opportunities themselves: capped.
    response = client_for(rep).get(BOARD, {"q": "Deal"})
    column = next(c for c in response.context["columns"]
                  if c.stage == pipeline["Prospecting"])
    assert column.capped and column.count == 2 and column.total is None
    html = response.content.decode()
    assert "2+</span>" in html and "Narrow the filters to see the total" in html
    # Unfiltered, or by owner or team, the totals come from the rollup: exact, never capped.
    for query in ({}, {"owner": str(rep.uuid)}, {"team": str(own_customer.team.uuid)}):
        response = client_for(rep).get(BOARD, query)
        column = next(c for c in response.context["columns"]
                      if c.stage == pipeline["Prospecting"])
        assert (column.capped, column.count, column.total) == (False, 3, Decimal("30")), query


@pytest.mark.parametrize("who", ["rep", "manager", "analyst", "outsider", "admin_user"])
def test_the_rollup_totals_are_the_opportunities_totals(request, who, rep, manager, team,
                                                        pipeline):
    from sales.board import board_totals, rollup_totals, totals_rollup, visible_branches
    from sales.filters_board import BoardFilter
    from sales.selectors import opportunity_list_for_user

    mine = CustomerFactory(owner=rep, team=team)
    theirs = CustomerFactory(owner=manager, team=None)
    for i, (customer, stage) in enumerate([(mine, "Prospecting"), (mine, "Prospecting"),
                                           (theirs, "Proposal"), (mine, "Won"),
                                           (theirs, "Prospecting")]):
        OpportunityFactory(customer=customer, stage=pipeline[stage], amount=Decimal(i * 7 + 1),
                           currency="USD" if i == 2 else "CNY")
    user = request.getfixturevalue(who)
    ids = [stage.pk for stage in pipeline.values()]
    for data in (None, {"owner": str(rep.uuid)}, {"team": str(team.uuid)},
                 {"owner": str(manager.uuid), "team": ""}):
        filterset = BoardFilter(data, queryset=opportunity_list_for_user(user))
        rows = totals_rollup(user, filterset)
        assert rows is not None
        assert rollup_totals(rows, ids) == board_totals(filterset.qs, ids,
                                                        branches=visible_branches(user))
    # A search or a date range cannot be read from the rollup.
    for data in ({"q": "Deal"}, {"close_after": "2030-01-01"}, {"close_before": "bad"}):
        filterset = BoardFilter(data, queryset=opportunity_list_for_user(user))
        assert totals_rollup(user, filterset) is None


@pytest.mark.parametrize("who", ["rep", "manager", "admin_user"])
def test_the_columns_sql_compiled_once_is_each_columns_own(request, pipeline, who):
    from sales.board import _branch_sql, _stage_sqls, visible_branches
    from sales.selectors import opportunity_list_for_user

    user = request.getfixturevalue(who)
    queryset = opportunity_list_for_user(user).filter(amount__gte=5)
    branches = visible_branches(user)
    ids = [stage.pk for stage in pipeline.values()]
    for columns, ordered in ((("id", "expected_close_date"), True), (("amount",), False)):
        once = _stage_sqls(queryset, ids, branches, columns, 50, ordered)
        assert once == {pk: _branch_sql(queryset, pk, branches, columns, 50, ordered)
                        for pk in ids}


def test_the_more_link_groups_big_counts_in_both_languages(pipeline):
    from django.contrib.humanize.templatetags.humanize import intcomma
    from django.utils import translation

    from sales.board import Column

    column = Column(stage=pipeline["Prospecting"], count=214_524)
    with translation.override("en"):
        assert column.more_text == "214,524 more"
    with translation.override("zh-hans"):
        # (grouped as the Chinese number format groups, which is not at all)
        assert column.more_text == f"还有 {intcomma(214_524)} 个" == "还有 214524 个"
    column.capped = True
    with translation.override("en"):
        assert column.more_text == "Thousands more"
