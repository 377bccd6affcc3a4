"""The opportunity list's totals read the visible set as disjoint branches (each an index
range): every opportunity counts once, the cap holds across branches."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts import roles
from sales.filters_opportunities import OpportunityFilter
from sales.selectors import opportunity_list_for_user, visible_branches
from tests.factories import CustomerFactory, OpportunityFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
LIST = "/sales/opportunities/"


@pytest.fixture
def spread(pipeline, manager, rep, team, outsider):
    west = TeamFactory(name="Sales West", members=[rep])
    stranger = UserFactory(email="sam.stranger@example.com", roles=[roles.SALES])
    p = pipeline["Proposal"]  # 50 %
    mk = OpportunityFactory
    mk(customer=CustomerFactory(owner=rep), owner=rep, team=None, stage=p, amount=Decimal("1"))
    mk(customer=CustomerFactory(owner=stranger), owner=stranger, team=team, stage=p,
       amount=Decimal("10"))
    mk(customer=CustomerFactory(owner=rep), owner=rep, team=west, stage=p,
       amount=Decimal("100"))
    mk(customer=CustomerFactory(owner=outsider), owner=outsider, team=None, stage=p,
       amount=Decimal("1000"))


@pytest.mark.parametrize("who", ["manager", "rep"])
def test_it_adds_up_every_branch_once(client_for, request, spread, who):
    response = client_for(request.getfixturevalue(who)).get(LIST)
    assert response.context["totals"] == {"count": 3, "capped": False,
                                          "amount": Decimal("111.00"),
                                          "weighted": Decimal("55.50")}


def test_it_caps_the_count_across_branches(spread, manager):
    filterset = OpportunityFilter({}, queryset=opportunity_list_for_user(manager))
    branches = visible_branches(manager, "opportunity")
    assert filterset.totals(cap=2, branches=branches) == {
        "count": 2, "capped": True, "amount": None, "weighted": None}
    assert filterset.totals(cap=3, branches=branches)["amount"] == Decimal("111.00")


def test_it_filters_every_branch(client_for, spread, rep):
    response = client_for(rep).get(LIST, {"amount_min": "5"})
    assert response.context["totals"]["count"] == 2
    assert response.context["totals"]["amount"] == Decimal("110.00")
