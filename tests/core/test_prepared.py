"""The queries every list request runs, always the same but for their parameters, run as
prepared statements (crm.prepared): PostgreSQL plans each once per connection."""

from __future__ import annotations

from django.db import connection
from django.urls import reverse

from customers.permissions import CustomerPolicy


def prepared_runs(like: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT generic_plans + custom_plans FROM pg_prepared_statements "
                       "WHERE statement LIKE %s", [like])
        return [row[0] for row in cursor.fetchall()]


def test_the_list_runs_its_fixed_queries_prepared(client_for, rep, manager):
    for user in (rep, manager):
        client = client_for(user)
        for _ in range(3):
            assert client.get(reverse("customers:list")).status_code == 200
    # The visibility rule's reach: one statement per shape (a manager's has two more parts).
    reach = prepared_runs('%"accounts_team_members"."team_id" AS "team_id"%UNION ALL%')
    assert len(reach) == 2 and min(reach) >= 3
    # The filter bar's lists and the custom field definitions.
    choices = prepared_runs('%"customers_dictionaryentry"%UNION ALL%"accounts_team"%')
    assert len(choices) == 1 and choices[0] >= 6


def test_the_prepared_reach_is_the_users_own(rep, manager, team, outsider):
    """The same statement, each user's answer: the id is bound per run."""
    assert CustomerPolicy(rep)._reach["team"] == [team.pk]
    manager_reach = CustomerPolicy(manager)._reach
    assert manager_reach["managed"] == [team.pk]
    assert sorted(manager_reach["member"]) == sorted([manager.pk, rep.pk])
    assert CustomerPolicy(outsider)._reach == {"team": [], "share": [], "managed": [],
                                               "member": []}


def test_a_compiled_query_answers_for_each_value_and_is_prepared_once(rep, manager, team):
    from accounts.models import Team
    from crm.prepared import STAND_IN, Compiled

    built = []

    def build(manager_id):
        built.append(manager_id)
        return Team.objects.filter(manager_id=manager_id).values("name")

    query = Compiled(build)
    assert query.dicts(manager.pk) == [{"name": team.name}]
    assert query.dicts(rep.pk) == []
    assert query.run(manager.pk) == (["name"], [(team.name,)])
    assert built == [STAND_IN]  # built and compiled once
    assert prepared_runs('%FROM "accounts_team" WHERE "accounts_team"."manager_id" = $1%') == [3]
