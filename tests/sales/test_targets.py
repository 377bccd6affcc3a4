"""Sales targets: the services (who may set which, normalised periods, duplicates) and the
pages (list with attainment, create, edit with optimistic locking, delete)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from crm.exceptions import ApplicationError, StaleObjectError
from crm.models import Event
from sales import target_services
from sales.models import SalesTarget
from tests.factories import OpportunityFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "/sales/forecast/targets/"
NEW = "/sales/forecast/targets/new/"
D = Decimal


def edit_url(target):
    return f"/sales/forecast/targets/{target.uuid}/edit/"


def delete_url(target):
    return f"/sales/forecast/targets/{target.uuid}/delete/"


def _at(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


@pytest.fixture
def rep_target(rep, team):
    return SalesTarget.objects.create(user=rep, period="month",
                                      period_start=datetime.date(2031, 3, 1), amount=D("10000"))


@pytest.fixture
def team_target(team):
    return SalesTarget.objects.create(team=team, period="quarter",
                                      period_start=datetime.date(2031, 1, 1), amount=D("40000"))


# --- services -------------------------------------------------------------------------------
def test_it_normalises_the_period_start(manager, rep, team):
    target = target_services.target_create(actor=manager, data={
        "user": rep, "period": "month", "period_start": datetime.date(2031, 3, 17),
        "amount": D("5")})
    assert target.period_start == datetime.date(2031, 3, 1)
    target = target_services.target_create(actor=manager, data={
        "team": team, "period": "quarter", "period_start": datetime.date(2031, 8, 30),
        "amount": D("5")})
    assert target.period_start == datetime.date(2031, 7, 1)
    assert Event.objects.filter(name="salestarget.created").count() == 2


def test_it_refuses_a_duplicate_with_a_clear_message(manager, rep, rep_target):
    with pytest.raises(ApplicationError, match="already has a target"):
        target_services.target_create(actor=manager, data={
            "user": rep, "period": "month", "period_start": datetime.date(2031, 3, 28),
            "amount": D("1")})
    assert SalesTarget.objects.count() == 1


def test_managers_set_only_their_teams_and_members(manager, rep, outsider, team, admin):
    other_team = TeamFactory(name="West")
    for who in ({"user": outsider}, {"team": other_team}):
        with pytest.raises(PermissionDenied):
            target_services.target_create(actor=manager, data={
                **who, "period": "month", "period_start": datetime.date(2031, 1, 1),
                "amount": D("1")})
    with pytest.raises(PermissionDenied):
        target_services.target_create(actor=rep, data={
            "user": rep, "period": "month", "period_start": datetime.date(2031, 1, 1),
            "amount": D("1")})
    target_services.target_create(actor=admin, data={
        "team": other_team, "period": "month", "period_start": datetime.date(2031, 1, 1),
        "amount": D("1")})


def test_it_needs_a_user_or_a_team(admin, rep, team):
    with pytest.raises(ApplicationError):
        target_services.target_create(actor=admin, data={
            "user": rep, "team": team, "period": "month",
            "period_start": datetime.date(2031, 1, 1), "amount": D("1")})


def test_it_refuses_a_stale_update(manager, rep_target):
    target_services.target_update(actor=manager, target=rep_target, data={"amount": D("7")},
                                  expected_version=1)
    with pytest.raises(StaleObjectError):
        target_services.target_update(actor=manager, target=rep_target,
                                      data={"amount": D("8")}, expected_version=1)
    rep_target.refresh_from_db()
    assert rep_target.amount == D("7")


# --- the list -------------------------------------------------------------------------------
def test_it_redirects_anonymous_users(client, rep_target):
    for url in (LIST, NEW, edit_url(rep_target)):
        assert "/login/" in client.get(url)["Location"]
    assert "/login/" in client.post(delete_url(rep_target))["Location"]


def test_it_shows_attainment_from_won_opportunities(client_for, manager, rep, own_customer,
                                                   team_customer, pipeline, rep_target,
                                                   team_target):
    won = pipeline["Won"]
    # rep: 2,500 won in March 2031 (plus one in April and one in USD that do not count)
    OpportunityFactory(customer=own_customer, stage=won, amount=D("2500"),
                       closed_at=_at(datetime.date(2031, 3, 9)))
    OpportunityFactory(customer=own_customer, stage=won, amount=D("999"),
                       closed_at=_at(datetime.date(2031, 4, 1)))
    OpportunityFactory(customer=own_customer, stage=won, amount=D("999"), currency="USD",
                       closed_at=_at(datetime.date(2031, 3, 9)))
    OpportunityFactory(customer=own_customer, stage=pipeline["Proposal"], amount=D("999"),
                       expected_close_date=datetime.date(2031, 3, 9))
    # the team, Q1: 2,500 (rep's) + 7,500 (manager's, February) = 10,000 of 40,000
    OpportunityFactory(customer=team_customer, stage=won, amount=D("7500"),
                       closed_at=_at(datetime.date(2031, 2, 2)))
    response = client_for(manager).get(LIST)
    assert response.status_code == 200
    rows = {t.pk: t for t in response.context["page"].object_list}
    assert (rows[rep_target.pk].won, rows[rep_target.pk].percent) == (D("2500"), 25)
    assert (rows[team_target.pk].won, rows[team_target.pk].percent) == (D("10000"), 25)
    html = response.content.decode()
    assert 'data-width="25"' in html and "25%" in html


def test_it_filters_targets(client_for, manager, rep, team, rep_target, team_target):
    client = client_for(manager)

    def pks(params):
        return {t.pk for t in client.get(LIST, params).context["page"].object_list}

    assert pks({}) == {rep_target.pk, team_target.pk}
    assert pks({"period": "quarter"}) == {team_target.pk}
    assert pks({"user": rep.pk}) == {rep_target.pk}
    assert pks({"team": team.pk}) == {team_target.pk}
    assert pks({"starting_from": "2031-02-01"}) == {rep_target.pk}
    response = client.get(LIST, {"period": "decade"})
    assert response.context["filter_errors"]


def test_an_outsider_sees_none_of_them(client_for, outsider, rep_target, team_target):
    response = client_for(outsider).get(LIST)
    assert list(response.context["page"].object_list) == []


def test_the_target_list_query_count_does_not_grow(client_for, manager, rep, team,
                                                  own_customer, pipeline,
                                                  django_assert_num_queries):
    client = client_for(manager)
    client.get(LIST)

    def measure():
        # A manager's team reach (teams, shares, managed teams and members) is one query.
        with django_assert_num_queries(6):
            assert client.get(LIST).status_code == 200

    SalesTarget.objects.create(user=rep, period="month", period_start=datetime.date(2031, 1, 1),
                               amount=D("1"))
    SalesTarget.objects.create(team=team, period="month", period_start=datetime.date(2031, 1, 1),
                               amount=D("1"))
    measure()
    for month in range(2, 13):
        day = datetime.date(2031, month, 1)
        SalesTarget.objects.create(user=rep, period="month", period_start=day, amount=D("1"))
        SalesTarget.objects.create(team=team, period="month", period_start=day, amount=D("1"))
        OpportunityFactory(customer=own_customer, stage=pipeline["Won"], closed_at=_at(day))
    measure()


# --- create, edit, delete -------------------------------------------------------------------
def test_a_manager_creates_a_target(client_for, manager, rep, team):
    response = client_for(manager).post(NEW, {
        "user": rep.pk, "period": "quarter", "period_start": "2031-05-20", "amount": "9000"})
    assert response.status_code == 302
    target = SalesTarget.objects.get()
    assert (target.user, target.period_start, target.amount) == (
        rep, datetime.date(2031, 4, 1), D("9000"))


def test_the_form_shows_duplicate_and_missing_owner_errors(client_for, manager, rep,
                                                          rep_target):
    client = client_for(manager)
    response = client.post(NEW, {"user": rep.pk, "period": "month",
                                 "period_start": "2031-03-30", "amount": "1"})
    assert response.status_code == 200
    assert "already has a target" in response.content.decode()
    response = client.post(NEW, {"period": "month", "period_start": "2031-03-30",
                                 "amount": "1"})
    assert "Choose a user or a team" in response.content.decode()
    response = client.post(NEW, {"user": rep.pk, "period": "month",
                                 "period_start": "soon", "amount": "-5"})
    assert response.status_code == 200 and response.context["form"].errors
    assert SalesTarget.objects.count() == 1


def test_a_manager_may_not_pick_an_outsider(client_for, manager, outsider, team):
    response = client_for(manager).post(NEW, {"user": outsider.pk, "period": "month",
                                              "period_start": "2031-01-01", "amount": "1"})
    assert response.status_code == 200
    assert not SalesTarget.objects.exists()


def test_it_edits_with_optimistic_locking(client_for, manager, rep_target):
    client = client_for(manager)
    data = {"user": rep_target.user_id, "period": "month", "period_start": "2031-03-01",
            "amount": "12000", "version": 1}
    assert client.post(edit_url(rep_target), data).status_code == 302
    rep_target.refresh_from_db()
    assert rep_target.amount == D("12000") and rep_target.version == 2
    response = client.post(edit_url(rep_target), {**data, "amount": "1"})  # stale version 1
    assert response.status_code == 200
    assert "Someone else changed this record" in response.content.decode()
    rep_target.refresh_from_db()
    assert rep_target.amount == D("12000")


def test_the_read_only_analyst_gets_403(client_for, analyst, rep_target):
    client = client_for(analyst)
    assert client.get(LIST).status_code == 200
    assert client.get(NEW).status_code == 403
    assert client.get(edit_url(rep_target)).status_code == 403
    assert client.post(edit_url(rep_target), {"amount": "1"}).status_code == 403
    assert client.post(delete_url(rep_target)).status_code == 403
    assert SalesTarget.objects.filter(pk=rep_target.pk).exists()


def test_a_rep_sees_their_target_but_may_not_change_it(client_for, rep, rep_target):
    client = client_for(rep)
    assert client.get(NEW).status_code == 403
    assert rep_target.pk in {t.pk for t in client.get(LIST).context["page"].object_list}
    assert client.get(edit_url(rep_target)).status_code == 403
    assert client.post(delete_url(rep_target)).status_code == 403


def test_an_outsider_gets_404(client_for, outsider, rep_target):
    client = client_for(outsider)
    assert client.get(edit_url(rep_target)).status_code == 404
    assert client.post(delete_url(rep_target)).status_code == 404


def test_a_manager_deletes_a_target(client_for, manager, rep_target):
    response = client_for(manager).post(delete_url(rep_target))
    assert response.status_code == 302
    assert not SalesTarget.objects.exists()
    assert Event.objects.filter(name="salestarget.deleted").exists()


def test_users_without_the_permission_get_403(client_for, role_groups):
    nobody = UserFactory(email="nobody@example.com", roles=[])
    assert client_for(nobody).get(LIST).status_code == 403
