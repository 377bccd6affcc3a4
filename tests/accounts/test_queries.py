"""Query counts of the accounts pages stay flat as the data grows (no N+1)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts import roles
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

# Pinned from a measurement (the page, warm session): raise only with a written reason.
USER_LIST_QUERIES = 8
TEAM_LIST_QUERIES = 4
HOME_QUERIES = 10
USER_DETAIL_QUERIES = 8


def seed(admin, count):
    """`count` more users with two roles and two teams each; teams have managers."""
    teams = [TeamFactory(manager=admin, members=[admin]) for _ in range(3)]
    for _ in range(count):
        user = UserFactory(roles=[roles.SALES, roles.MARKETING])
        for team in teams[:2]:
            team.members.add(user)
    return teams


def queries_for(client, url, pin, django_assert_max_num_queries):
    client.get(url)  # the first request stamps the session (idle timeout, two-factor gate)
    with django_assert_max_num_queries(pin) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize(("url_name", "pin"), [
    ("accounts:user_list", USER_LIST_QUERIES),
    ("accounts:team_list", TEAM_LIST_QUERIES),
    ("home", HOME_QUERIES),
])
def test_it_keeps_list_pages_flat(client_for, admin, django_assert_max_num_queries, url_name,
                                  pin):
    client = client_for(admin)
    url = reverse(url_name)
    TeamFactory(manager=admin, members=[admin])
    few = queries_for(client, url, pin, django_assert_max_num_queries)

    seed(admin, 29)
    for _ in range(30):
        TeamFactory(manager=UserFactory(), members=UserFactory.create_batch(2))
    many = queries_for(client, url, pin, django_assert_max_num_queries)

    assert many == few


@pytest.mark.parametrize(("params", "pin"), [
    # The role (and team) value is looked up twice: the selector and the view each build and
    # validate their own UserFilter.
    ("?role=Sales", USER_LIST_QUERIES + 2),
    ("?team={team}", USER_LIST_QUERIES + 2),
    ("?status=active&ordering=-email", USER_LIST_QUERIES),
    ("?q=example&page=2", USER_LIST_QUERIES),
])
def test_it_keeps_the_filtered_user_list_flat(client_for, admin, django_assert_max_num_queries,
                                              params, pin):
    client = client_for(admin)
    team = TeamFactory(members=[admin])
    url = reverse("accounts:user_list") + params.format(team=team.uuid)
    seed(admin, 1)
    few = queries_for(client, url, pin, django_assert_max_num_queries)
    seed(admin, 60)
    team.members.add(*UserFactory.create_batch(30, roles=[roles.ANALYST]))
    many = queries_for(client, url, pin, django_assert_max_num_queries)
    assert many == few


def test_it_keeps_the_user_page_flat(client_for, admin, django_assert_max_num_queries):
    client = client_for(admin)
    subject = UserFactory(roles=[roles.SALES])
    url = reverse("accounts:user_detail", kwargs={"uuid": subject.uuid})
    few = queries_for(client, url, USER_DETAIL_QUERIES, django_assert_max_num_queries)

    teams = seed(admin, 29)
    subject.groups.set(Group.objects.filter(name__in=roles.ROLES))
    for team in teams:
        team.members.add(subject)
    many = queries_for(client, url, USER_DETAIL_QUERIES, django_assert_max_num_queries)

    assert many == few


def test_it_keeps_the_home_page_of_a_manager_flat(client_for, manager,
                                                 django_assert_max_num_queries):
    client = client_for(manager)
    TeamFactory(manager=manager, members=[manager])
    few = queries_for(client, reverse("home"), HOME_QUERIES, django_assert_max_num_queries)
    for _ in range(10):
        TeamFactory(manager=manager, members=[manager, *UserFactory.create_batch(3)])
    many = queries_for(client, reverse("home"), HOME_QUERIES, django_assert_max_num_queries)
    assert many == few
