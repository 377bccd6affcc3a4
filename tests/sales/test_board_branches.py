"""The visibility branches (sales.selectors.visible_branches) that the board, the forecast and the
opportunity list's totals read as index ranges: disjoint, together exactly what the user may
see, so every opportunity is shown and counted once."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from accounts import roles
from sales.board import board_cards, board_load, board_totals, visible_branches
from sales.models import Opportunity
from sales.selectors import opportunity_list_for_user, stage_list
from tests.factories import CustomerFactory, OpportunityFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
BOARD = "/sales/pipeline/"


@pytest.fixture
def spread(pipeline, manager, rep, team, outsider):
    """Opportunities reached every way: the rep's own outside any team, a team one owned by
    a stranger, a managed member's in another team, and the outsider's (seen by nobody here)."""
    other_team = TeamFactory(name="Sales West", members=[rep])
    stranger = UserFactory(email="sam.stranger@example.com", roles=[roles.SALES])
    p = pipeline["Prospecting"]
    mk = OpportunityFactory
    return {
        "own_no_team": mk(name="own-no-team", customer=CustomerFactory(owner=rep), owner=rep,
                          team=None, stage=p, amount=Decimal("1")),
        "team_stranger": mk(name="team-stranger", customer=CustomerFactory(owner=stranger),
                            owner=stranger, team=team, stage=p, amount=Decimal("10")),
        "member_west": mk(name="member-west", customer=CustomerFactory(owner=rep), owner=rep,
                          team=other_team, stage=p, amount=Decimal("100")),
        "own_team": mk(name="own-team", customer=CustomerFactory(owner=rep), owner=rep,
                       team=team, stage=p, amount=Decimal("1000")),
        "outsider": mk(name="outsider", customer=CustomerFactory(owner=outsider),
                       owner=outsider, team=None, stage=p, amount=Decimal("10000")),
    }


@pytest.mark.parametrize("who", ["rep", "manager", "outsider"])
def test_it_splits_what_a_user_sees_into_disjoint_branches(request, spread, who):
    user = request.getfixturevalue(who)
    visible = set(opportunity_list_for_user(user).values_list("pk", flat=True))
    seen = []
    for branch in visible_branches(user):
        seen += list(Opportunity.objects.alive().filter(branch).values_list("pk", flat=True))
    assert len(seen) == len(set(seen))  # no opportunity in two branches
    assert set(seen) >= visible  # every visible one in a branch


def test_it_has_no_branches_for_those_who_see_everything(admin, analyst):
    assert visible_branches(admin) is None
    assert visible_branches(analyst) is None


def test_it_counts_and_sums_each_card_once_on_the_board(spread, manager, rep, pipeline):
    stage = pipeline["Prospecting"]
    # The manager: the team's (any owner) and the managed members' (any team).
    columns = board_load(manager, opportunity_list_for_user(manager), stage_list())
    column = next(c for c in columns if c.stage == stage)
    assert sorted(c.name for c in column.cards) == ["member-west", "own-no-team", "own-team",
                                                    "team-stranger"]
    assert (column.count, column.total, column.capped) == (4, Decimal("1111"), False)
    # The rep: their own and their teams' (Sales East and Sales West).
    columns = board_load(rep, opportunity_list_for_user(rep), stage_list())
    column = next(c for c in columns if c.stage == stage)
    assert (column.count, column.total) == (4, Decimal("1111"))


def test_it_caps_a_column_across_branches(spread, manager, pipeline):
    stage = pipeline["Prospecting"]
    qs = opportunity_list_for_user(manager)
    totals = board_totals(qs, [stage.pk], cap=3, branches=visible_branches(manager))
    assert totals[stage.pk] == {"count": 3, "total": None, "other_currency": 0,
                                "capped": True}
    exact = board_totals(qs, [stage.pk], cap=4, branches=visible_branches(manager))
    assert exact[stage.pk]["total"] == Decimal("1111")


def test_it_takes_the_soonest_cards_of_every_branch(spread, manager, pipeline):
    stage = pipeline["Prospecting"]
    today = datetime.date(2031, 1, 1)
    for i, opp in enumerate(["member_west", "team_stranger", "own_no_team", "own_team"]):
        Opportunity.objects.filter(pk=spread[opp].pk).update(
            expected_close_date=today + datetime.timedelta(days=i))
    cards = board_cards(opportunity_list_for_user(manager), [stage.pk], limit=2,
                        branches=visible_branches(manager))
    assert [c.name for c in cards] == ["member-west", "team-stranger"]
    cards = board_cards(opportunity_list_for_user(manager), [stage.pk], limit=3,
                        branches=visible_branches(manager))
    assert [c.name for c in cards] == ["member-west", "team-stranger", "own-no-team"]


def test_it_filters_every_branch_on_the_page(client_for, spread, manager):
    response = client_for(manager).get(BOARD, {"q": "member"})
    names = [c.name for col in response.context["columns"] for c in col.cards]
    assert names == ["member-west"]
    assert "outsider" not in response.content.decode()


def test_it_answers_the_move_with_branch_totals(client_for, spread, rep, pipeline):
    deal = spread["own_team"]
    response = client_for(rep).post(BOARD + "move/", {
        "opportunity": str(deal.uuid), "stage": pipeline["Proposal"].pk,
        "version": deal.version})
    assert response.status_code == 200, response.content
    columns = {c["stage"]: c for c in response.json()["columns"]}
    assert columns[pipeline["Prospecting"].pk]["count"] == 3
    assert columns[pipeline["Prospecting"].pk]["total"] == "111.00"
    assert columns[pipeline["Proposal"].pk]["total"] == "1000.00"

