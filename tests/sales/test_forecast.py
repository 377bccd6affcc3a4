"""The forecast (/sales/forecast/) and its drill-down, checked against hand-computed figures."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from sales.forecast import add_months, forecast_build, quarter_start
from sales.models import SalesTarget
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db

FORECAST = "/sales/forecast/"
DRILL = "/sales/forecast/drill/"
JAN = datetime.date(2031, 1, 1)
D = Decimal


def _at(day: datetime.date):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


@pytest.fixture
def book(pipeline, rep, manager, team, own_customer, team_customer, other_customer):
    """Opportunities and targets of January to June 2031 (see the expected figures below)."""
    p = pipeline
    mk = OpportunityFactory
    made = {
        "A": mk(name="A", customer=own_customer, stage=p["Prospecting"], amount=D("10000"),
                expected_close_date=datetime.date(2031, 1, 15)),            # 1000 weighted
        "B": mk(name="B", customer=own_customer, stage=p["Proposal"], amount=D("4000"),
                expected_close_date=datetime.date(2031, 2, 10)),            # 2000
        "C": mk(name="C", customer=team_customer, stage=p["Negotiation"], amount=D("8000"),
                expected_close_date=datetime.date(2031, 2, 20)),            # 6000 (manager)
        "D": mk(name="D", customer=own_customer, stage=p["Proposal"], amount=D("3000"),
                currency="USD", expected_close_date=datetime.date(2031, 1, 5)),  # left out
        "E": mk(name="E", customer=own_customer, stage=p["Won"], amount=D("5000"),
                expected_close_date=datetime.date(2030, 12, 1),
                closed_at=_at(datetime.date(2031, 1, 20))),                 # won in January
        "F": mk(name="F", customer=team_customer, stage=p["Won"], amount=D("2000"),
                expected_close_date=datetime.date(2031, 5, 1),
                closed_at=_at(datetime.date(2031, 4, 2))),                  # won in April
        "G": mk(name="G", customer=own_customer, stage=p["Lost"], amount=D("9999"),
                lost_reason="Price", expected_close_date=datetime.date(2031, 1, 10)),
        "H": mk(name="H", customer=own_customer, stage=p["Prospecting"], amount=D("10000"),
                expected_close_date=datetime.date(2031, 8, 1)),             # out of range
        "I": mk(name="I", customer=own_customer, stage=p["Qualification"], amount=D("1000"),
                probability=40, expected_close_date=datetime.date(2031, 3, 31)),  # 400
        "X": mk(name="X", customer=other_customer, stage=p["Proposal"], amount=D("100000"),
                expected_close_date=datetime.date(2031, 1, 1)),  # the outsider's
    }
    month, quarter = SalesTarget.Period.MONTH, SalesTarget.Period.QUARTER
    SalesTarget.objects.create(team=team, period=month, period_start=JAN, amount=D("10000"))
    SalesTarget.objects.create(team=team, period=quarter, period_start=JAN, amount=D("30000"))
    SalesTarget.objects.create(user=rep, period=month, period_start=datetime.date(2031, 2, 1),
                               amount=D("5000"))
    SalesTarget.objects.create(user=rep, period=quarter, period_start=datetime.date(2031, 4, 1),
                               amount=D("3000"))
    return made


def test_the_period_helpers():
    assert add_months(datetime.date(2031, 11, 1), 3) == datetime.date(2032, 2, 1)
    assert add_months(datetime.date(2031, 1, 1), -1) == datetime.date(2030, 12, 1)
    assert quarter_start(datetime.date(2031, 8, 19)) == datetime.date(2031, 7, 1)


def test_it_computes_the_figures_by_hand(manager, book):
    f = forecast_build(manager, start=JAN, months=6)
    months = {p.start.month: p.figure for p in f.month_rows}
    assert [p.start for p in f.month_rows] == [add_months(JAN, i) for i in range(6)]
    assert (months[1].weighted, months[1].count, months[1].won) == (D("1000"), 1, D("5000"))
    assert months[1].target == D("10000") and months[1].gap == D("4000")
    assert (months[2].weighted, months[2].count, months[2].target) == (D("8000"), 2, None)
    assert months[3].weighted == D("400")
    assert (months[4].weighted, months[4].won) == (D("0"), D("2000"))
    q1, q2 = f.quarter_rows
    assert (q1.figure.weighted, q1.figure.won, q1.figure.target) == (D("9400"), D("5000"),
                                                                    D("40000"))
    assert q1.figure.gap == D("25600")
    assert (q2.figure.won, q2.figure.target) == (D("2000"), None)
    assert (f.total.weighted, f.total.won, f.total.target) == (D("9400"), D("7000"), D("40000"))
    assert f.total.gap == D("23600") and f.total.attainment == 17
    reps = {r.label.split()[0]: r.figure for r in f.rep_rows}
    assert (reps["Bob"].weighted, reps["Bob"].won, reps["Bob"].target) == (D("3400"), D("5000"),
                                                                         D("8000"))
    assert reps["Bob"].gap == D("-400")
    assert (reps["Mia"].weighted, reps["Mia"].won, reps["Mia"].target) == (D("6000"), D("2000"),
                                                                         None)
    (east,) = f.team_rows
    assert (east.label, east.figure.weighted, east.figure.won, east.figure.target) == (
        "Sales East", D("9400"), D("7000"), D("40000"))
    assert (f.other_currency_open, f.other_currency_won) == (1, 0)


def test_it_narrows_to_an_owner_and_uses_their_targets(manager, rep, book):
    f = forecast_build(manager, start=JAN, months=6, owner_id=rep.pk)
    assert (f.total.weighted, f.total.won) == (D("3400"), D("5000"))
    months = {p.start.month: p.figure for p in f.month_rows}
    assert months[2].target == D("5000") and months[1].target is None
    assert f.quarter_rows[1].figure.target == D("3000")
    assert f.total.target == D("8000")


def test_a_rep_sees_only_what_they_may(rep, outsider, analyst, book):
    mine = forecast_build(rep, start=JAN, months=6)
    assert mine.total.weighted == D("9400")  # own and team opportunities
    theirs = forecast_build(outsider, start=JAN, months=6)
    assert theirs.total.weighted == D("50000") and theirs.total.target is None
    everything = forecast_build(analyst, start=JAN, months=6)
    assert everything.total.weighted == D("59400")


def test_the_owner_filter_and_the_rep_links_use_uuids(client_for, manager, rep, team, book):
    response = client_for(manager).get(FORECAST, {"start": "2031-01", "owner": str(rep.uuid)})
    assert response.context["forecast"].total.weighted == D("3400")
    html = response.content.decode()
    assert f"owner={rep.uuid}" in html and f"owner={rep.pk}&" not in html


def test_the_page_shows_the_figures_with_drill_links(client_for, manager, book):
    response = client_for(manager).get(FORECAST, {"start": "2031-01", "months": "6"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="forecast-data"' in html and "chart.umd.min.js" in html
    assert "9,400.00" in html and "7,000.00" in html and "40,000.00" in html
    assert f"{DRILL}?kind=open&amp;start=2031-02&amp;months=1" in html
    assert "left out" in html  # the USD opportunity
    assert response.context["chart"]["weighted"][:3] == [1000.0, 8000.0, 400.0]


def test_it_defaults_to_six_months_from_this_month_and_ignores_bad_choices(client_for,
                                                                         manager, book):
    client = client_for(manager)
    response = client.get(FORECAST)
    this_month = timezone.localdate().replace(day=1)
    assert response.context["forecast"].start == this_month
    assert response.context["forecast"].months == 6
    response = client.get(FORECAST, {"start": "2031-13", "months": "99", "owner": "x"})
    assert response.status_code == 200
    assert response.context["form_errors"]
    assert response.context["forecast"].months == 6


def test_the_drill_down_lists_the_opportunities_behind_a_figure(client_for, manager, rep, book):
    client = client_for(manager)

    def names(params):
        response = client.get(DRILL, params)
        assert response.status_code == 200
        return sorted(o.name for o in response.context["page"].object_list)

    assert names({"kind": "open", "start": "2031-02", "months": "1"}) == ["B", "C"]
    assert names({"kind": "open", "start": "2031-01", "months": "6",
                  "owner": str(rep.uuid)}) == ["A", "B", "I"]
    assert names({"kind": "won", "start": "2031-01", "months": "6"}) == ["E", "F"]
    assert names({"kind": "open", "start": "2031-01", "months": "1"}) == ["A"]  # not USD D


def test_the_drill_down_refuses_bad_input(client_for, manager, book):
    response = client_for(manager).get(DRILL, {"start": "January", "months": "0"})
    assert response.status_code == 400
    assert client_for(manager).get(DRILL, {"start": "2031-01", "owner": "7"}).status_code == 400
    assert "This link is not valid" in response.content.decode()


def test_an_outsider_drills_into_nothing_of_others(client_for, outsider, book):
    response = client_for(outsider).get(DRILL, {"start": "2031-01", "months": "6"})
    assert sorted(o.name for o in response.context["page"].object_list) == ["X"]


def test_it_redirects_anonymous_users(client):
    for url in (FORECAST, DRILL):
        assert "/login/" in client.get(url)["Location"]


def test_it_refuses_users_without_the_sales_view(client_for, role_groups):
    from tests.factories import UserFactory

    nobody = UserFactory(email="nobody@example.com", roles=[])
    assert client_for(nobody).get(FORECAST).status_code == 403
    assert client_for(nobody).get(DRILL, {"start": "2031-01"}).status_code == 403


def test_the_forecast_query_count_does_not_grow(client_for, manager, team, own_customer,
                                               pipeline, django_assert_num_queries):
    client = client_for(manager)
    params = {"start": "2031-01", "months": "6"}
    client.get(FORECAST, params)

    def measure():
        # (the manager's team reach is one query: customers.permissions)
        with django_assert_num_queries(6):
            assert client.get(FORECAST, params).status_code == 200

    OpportunityFactory(customer=own_customer, expected_close_date=datetime.date(2031, 2, 1))
    measure()
    for i in range(40):
        OpportunityFactory(customer=own_customer,
                           stage=pipeline["Won" if i % 2 else "Proposal"],
                           closed_at=_at(datetime.date(2031, 1 + i % 6, 3)) if i % 2 else None,
                           expected_close_date=datetime.date(2031, 1 + i % 6, 1 + i % 28))
        SalesTarget.objects.get_or_create(team=team, period="month",
                                          period_start=datetime.date(2031, 1 + i % 6, 1),
                                          defaults={"amount": D("100")})
    measure()


def test_the_drill_query_count_does_not_grow(client_for, manager, own_customer, pipeline,
                                            django_assert_num_queries):
    client = client_for(manager)
    params = {"start": "2031-01", "months": "6"}
    client.get(DRILL, params)

    def measure():
        with django_assert_num_queries(4):
            assert client.get(DRILL, params).status_code == 200

    OpportunityFactory(customer=own_customer, expected_close_date=datetime.date(2031, 2, 1))
    measure()
    OpportunityFactory.create_batch(60, customer=own_customer,
                                    expected_close_date=datetime.date(2031, 3, 1))
    measure()


def test_the_analyst_reads_the_whole_forecast(client_for, analyst, book):
    response = client_for(analyst).get(FORECAST, {"start": "2031-01"})
    assert response.status_code == 200
    assert response.context["forecast"].total.weighted == D("59400")
    assert response.context["can_edit_targets"] is False


# --- review fixes -------------------------------------------------------------------------------
@pytest.mark.parametrize("start", ["9998-01", "9999-12", "1899-12", "0001-01"])
def test_it_refuses_a_month_out_of_range_with_a_clear_error(client_for, manager, pipeline,
                                                            start):
    response = client_for(manager).get(FORECAST, {"start": start, "months": 12})
    assert response.status_code == 200
    assert "Choose a month between 1900 and 9997." in response.content.decode()
    response = client_for(manager).get(DRILL, {"start": start, "months": 24})
    assert response.status_code == 400


def test_it_accepts_the_last_month_of_the_range(client_for, manager, pipeline):
    assert client_for(manager).get(FORECAST, {"start": "9997-12", "months": 12}).status_code \
        == 200
    assert client_for(manager).get(DRILL, {"start": "9997-12", "months": 24}).status_code \
        == 200


def test_it_labels_quarters_through_a_translatable_format(client_for, manager, pipeline):
    from django.utils import translation

    response = client_for(manager).get(FORECAST, {"start": "2031-01", "months": 6})
    labels = [p.label for p in response.context["forecast"].quarter_rows]
    assert labels[:2] == ["2031 Q1", "2031 Q2"]
    with translation.override("de"):
        assert translation.gettext("%(year)d Q%(quarter)d") % {"year": 2031, "quarter": 1}


def test_it_renders_the_owner_as_an_autocomplete(client_for, manager, pipeline):
    from tests.factories import UserFactory

    UserFactory(first_name="Zebedee")
    html = client_for(manager).get(FORECAST).content.decode()
    assert 'data-autocomplete-url="/customers/autocomplete/users/' in html
    assert "Zebedee" not in html
