"""accounts.backends.UserBackend: the signed-in user comes with roles and permissions in one
query (a prepared statement), and what it loads is exactly what ModelBackend would answer,
fresh on every request."""

from __future__ import annotations

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import roles
from accounts.backends import UserBackend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def fresh_model_backend_answer(user) -> set[str]:
    user = type(user).objects.get(pk=user.pk)
    return ModelBackend().get_all_permissions(user)


@pytest.mark.parametrize("role", [roles.SALES, roles.MANAGER, roles.ANALYST, roles.ADMIN])
def test_it_loads_roles_and_permissions_in_one_query(role_groups, role):
    user = UserFactory(roles=[role])
    user.user_permissions.add(Permission.objects.get(codename="export_customer"))

    with CaptureQueriesContext(connection) as queries:
        loaded = UserBackend().get_user(user.pk)
        names = loaded.role_names
        perms = loaded.get_all_permissions()
        loaded.has_perm("customers.view_customer")
        loaded.has_perm("sales.add_order")

    assert len(queries) == 1
    assert names == frozenset({role})
    assert perms == fresh_model_backend_answer(user)
    assert "customers.export_customer" in perms


def test_it_answers_has_perm_like_model_backend(role_groups, rep):
    loaded = UserBackend().get_user(rep.pk)
    reference = type(rep).objects.get(pk=rep.pk)
    for perm in ("customers.view_customer", "customers.change_customer",
                 "accounts.add_team", "sales.add_lead", "service.add_ticket", "nope.nothing"):
        assert loaded.has_perm(perm) == ModelBackend().has_perm(reference, perm)


def test_it_refuses_an_inactive_or_unknown_user(rep):
    rep.is_active = False
    rep.save()
    assert UserBackend().get_user(rep.pk) is None
    assert UserBackend().get_user(999_999_999) is None


def test_a_superuser_still_holds_every_permission():
    boss = UserFactory(is_superuser=True)
    loaded = UserBackend().get_user(boss.pk)
    assert loaded.get_all_permissions() == {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.select_related("content_type")}


def test_a_role_taken_away_counts_from_the_next_request(client_for, rep, role_groups):
    """Nothing is cached across requests: the next page already refuses."""
    client = client_for(rep)
    assert client.get(reverse("customers:create")).status_code == 200

    rep.groups.remove(Group.objects.get(name=roles.SALES))
    rep.groups.add(Group.objects.get(name=roles.ANALYST))

    assert client.get(reverse("customers:create")).status_code == 403


def test_a_signed_in_page_reads_the_user_once(client_for, rep):
    """The user's row, roles and permissions: one query for all three, whatever the page
    asks of them."""
    client = client_for(rep)
    client.get(reverse("home"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("customers:list")).status_code == 200
    role_tables = ('"accounts_user_groups"', '"auth_group_permissions"',
                   '"accounts_user_user_permissions"')
    auth_queries = [q["sql"] for q in queries if any(t in q["sql"] for t in role_tables)]
    assert len(auth_queries) == 1
    # (Logged as "QUERY = ... - PARAMS = ...": a prepared statement's parameters travel apart.)
    assert 'SELECT "accounts_user"."id"' in auth_queries[0]


def test_the_users_query_is_prepared_once_per_connection(client_for, rep):
    """It runs on every request: PostgreSQL plans it once per connection, not each time."""
    client = client_for(rep)
    for _ in range(3):
        assert client.get(reverse("home")).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM "
                       "pg_prepared_statements WHERE statement LIKE %s",
                       ['SELECT "accounts_user"."id"%'])
        prepared = cursor.fetchall()
    assert len(prepared) == 1
    assert prepared[0][1] >= 3  # run from the prepared statement at each request


def test_a_session_with_an_id_that_is_no_number_is_signed_out(rep):
    assert UserBackend().get_user("not-a-number") is None
    assert UserBackend().get_user(None) is None
