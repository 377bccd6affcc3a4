"""Customer personas: who owns what, for the access tests of every customers view.

- `rep` (Sales, team "Sales East" managed by `manager`) owns `own_customer`.
- `team_customer` belongs to team "Sales East" but is owned by nobody in particular.
- `outsider` (Sales, no team) sees neither; `analyst` sees all and changes nothing.
"""

import pytest

from accounts import roles
from tests.factories import CustomerFactory, UserFactory


@pytest.fixture
def outsider(role_groups):
    return UserFactory(email="olly.outsider@example.com", first_name="Olly",
                       roles=[roles.SALES])


@pytest.fixture
def own_customer(rep, team):
    return CustomerFactory(name="Acme Robotics", owner=rep, team=team)


@pytest.fixture
def team_customer(manager, team):
    return CustomerFactory(name="Beta Foods", owner=manager, team=team)


@pytest.fixture
def other_customer(outsider):
    return CustomerFactory(name="Gamma Textiles", owner=outsider)
