"""The ticket queues (service:ticket_list): tabs, filters, search, sorts, keyset pages, SLA
badges, bulk assign, query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from service import ticket_ui
from service.models import Ticket, TicketAssignment
from tests.factories import CustomerFactory, TeamFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db
LIST = reverse("service:ticket_list")


@pytest.fixture(autouse=True)
def _ui():
    ticket_ui.register()


@pytest.fixture
def desk_customer(support_team, agent):
    return CustomerFactory(name="Delta Care", owner=agent, team=support_team)


def _desk_tickets(n, support_team, desk_customer, **fields):
    now = timezone.now()
    values = {"team": support_team, "customer": desk_customer, "status": "new",
              "first_response_due_at": now + timedelta(hours=8),
              "resolution_due_at": now + timedelta(days=2)}
    values.update(fields)
    return [TicketFactory(**values) for _ in range(n)]


def _numbers(response):
    return [t["number"] for t in response.context["page"].object_list]


# --- access and default queue ------------------------------------------------------------------
def test_it_sends_anonymous_users_to_the_login_page(client, db):
    response = client.get(LIST)
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("accounts:login"))


def test_it_refuses_the_list_without_the_view_permission(client_for, db):
    nobody = UserFactory(email="no@example.com", roles=[])
    assert client_for(nobody).get(LIST).status_code == 403


def test_it_starts_agents_on_their_own_tickets_and_managers_on_all(client_for, agent, manager,
                                                                   analyst, support_team):
    assert client_for(agent).get(LIST).context["queue"] == "mine"
    assert client_for(manager).get(LIST).context["queue"] == "all"
    assert client_for(analyst).get(LIST).context["queue"] == "all"


def test_it_shows_outsiders_none_of_the_desk_tickets(client_for, outsider, support_team,
                                                     desk_customer):
    _desk_tickets(3, support_team, desk_customer)
    response = client_for(outsider).get(LIST, {"queue": "all"})
    assert response.status_code == 200 and _numbers(response) == []


def test_it_refuses_bulk_assign_to_the_analyst(client_for, analyst, agent, support_team,
                                               desk_customer):
    (one,) = _desk_tickets(1, support_team, desk_customer)
    response = client_for(analyst).post(reverse("service:ticket_bulk_assign"), {
        "selected": [str(one.uuid)], "assignee": str(agent.uuid)})
    assert response.status_code == 403
    assert Ticket.objects.get(pk=one.pk).assignee_id is None


def test_it_refuses_bulk_assign_of_tickets_the_user_cannot_see(client_for, agent, outsider,
                                                               support_team, desk_customer,
                                                               role_groups):
    (one,) = _desk_tickets(1, support_team, desk_customer)
    from django.contrib.auth.models import Group

    outsider.groups.add(*Group.objects.filter(name=roles.SUPPORT))
    outsider = type(outsider).objects.get(pk=outsider.pk)
    # Support now, but not in the desk's team: the ticket stays invisible.
    response = client_for(outsider).post(reverse("service:ticket_bulk_assign"), {
        "selected": [str(one.uuid)], "assignee": str(agent.uuid)}, follow=True)
    assert "Nothing was assigned" in response.content.decode()
    assert Ticket.objects.get(pk=one.pk).assignee_id is None


# --- queues -----------------------------------------------------------------------------------
def test_it_lists_the_queues(client_for, agent, manager, support_team, desk_customer):
    now = timezone.now()
    mine = _desk_tickets(1, support_team, desk_customer, assignee=agent, status="assigned",
                         subject="mine")[0]
    free = _desk_tickets(1, support_team, desk_customer, subject="free")[0]
    late = _desk_tickets(1, support_team, desk_customer, subject="late", assignee=manager,
                         status="in_progress", first_response_due_at=now - timedelta(hours=1))[0]
    c = client_for(agent)
    assert _numbers(c.get(LIST, {"queue": "mine"})) == [mine.number]
    assert _numbers(c.get(LIST, {"queue": "unassigned"})) == [free.number]
    assert _numbers(c.get(LIST, {"queue": "breaching"})) == [late.number]
    assert set(_numbers(c.get(LIST, {"queue": "all"}))) == {mine.number, free.number,
                                                             late.number}
    # An unknown queue falls back to the user's default.
    assert c.get(LIST, {"queue": "bogus"}).context["queue"] == "mine"


@pytest.mark.parametrize("queue", ["mine", "unassigned", "breaching", "all"])
def test_it_reads_every_queue_in_the_same_few_queries(client_for, agent, support_team,
                                                      desk_customer, queue):
    now = timezone.now()
    late = {"first_response_due_at": now - timedelta(minutes=5)}
    _desk_tickets(1, support_team, desk_customer, assignee=agent, status="assigned", **late)
    _desk_tickets(1, support_team, desk_customer, **late)
    c = client_for(agent)
    c.get(LIST, {"queue": queue})  # warm the content types and the session
    with CaptureQueriesContext(connection) as few:
        response = c.get(LIST, {"queue": queue})
    assert len(response.context["page"].object_list) >= 1
    for i in range(15):
        other = CustomerFactory(name=f"C{i}", team=support_team)
        _desk_tickets(1, support_team, other, assignee=agent, status="in_progress", **late)
        _desk_tickets(1, support_team, other, **late)
    with CaptureQueriesContext(connection) as many:
        response = c.get(LIST, {"queue": queue, "status": "open", "ordering": "priority"})
    assert len(response.context["page"].object_list) >= 15
    assert len(many.captured_queries) == len(few.captured_queries), [
        q["sql"] for q in many.captured_queries]
    assert len(many.captured_queries) <= 12, [q["sql"] for q in many.captured_queries]


def test_it_reads_the_manager_queue_and_its_results_fragment_in_few_queries(
        client_for, manager, support_team, desk_customer):
    _desk_tickets(30, support_team, desk_customer)
    c = client_for(manager)
    c.get(LIST)
    with CaptureQueriesContext(connection) as full:
        c.get(LIST)
    with CaptureQueriesContext(connection) as fragment:
        response = c.get(LIST, headers={"HX-Request": "true"})
    assert len(full.captured_queries) <= 12
    assert len(fragment.captured_queries) < len(full.captured_queries)
    html = response.content.decode()
    assert "<html" not in html and 'data-testid="ticket-table"' in html


# --- filters, search, sorts, pages ----------------------------------------------------------------
def test_it_filters_by_open_status_priority_channel_and_breach(client_for, manager,
                                                               support_team, desk_customer):
    done = _desk_tickets(1, support_team, desk_customer, status="resolved")[0]
    urgent = _desk_tickets(1, support_team, desk_customer, priority="urgent",
                           channel="chat")[0]
    breached = _desk_tickets(1, support_team, desk_customer, resolution_breached=True)[0]
    c = client_for(manager)
    assert done.number not in _numbers(c.get(LIST, {"status": "open"}))
    assert _numbers(c.get(LIST, {"status": "resolved"})) == [done.number]
    assert _numbers(c.get(LIST, {"priority": "urgent"})) == [urgent.number]
    assert _numbers(c.get(LIST, {"channel": "chat"})) == [urgent.number]
    assert _numbers(c.get(LIST, {"breached": "yes"})) == [breached.number]
    assert breached.number not in _numbers(c.get(LIST, {"breached": "no"}))


def test_it_filters_by_team_assignee_category_customer_and_dates(client_for, manager, agent,
                                                                 support_team, desk_customer):
    from customers.models import DictionaryEntry
    from tests.factories import DictionaryEntryFactory

    billing = DictionaryEntryFactory(kind=DictionaryEntry.Kind.TICKET_CATEGORY, code="billing")
    theirs = _desk_tickets(1, support_team, desk_customer, assignee=agent, category=billing)[0]
    other_team = TeamFactory(name="Field", manager=manager)
    elsewhere = _desk_tickets(1, other_team, CustomerFactory(name="Zeta Zinc", team=other_team))[0]
    old = _desk_tickets(1, support_team, desk_customer)[0]
    Ticket.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    c = client_for(manager)
    assert _numbers(c.get(LIST, {"assignee": str(agent.uuid)})) == [theirs.number]
    assert _numbers(c.get(LIST, {"category": str(billing.uuid)})) == [theirs.number]
    assert _numbers(c.get(LIST, {"team": str(other_team.uuid)})) == [elsewhere.number]
    assert _numbers(c.get(LIST, {"customer": "zeta"})) == [elsewhere.number]
    day = (timezone.localdate() - timedelta(days=40)).isoformat()
    assert _numbers(c.get(LIST, {"created_before": day})) == [old.number]
    assert old.number not in _numbers(c.get(LIST, {"created_after": timezone.localdate()}))


def test_it_searches_number_subject_and_requester(client_for, manager, support_team,
                                                  desk_customer):
    a = _desk_tickets(1, support_team, desk_customer, subject="Broken hinge")[0]
    b = _desk_tickets(1, support_team, desk_customer, requester_email="zed@shop.example")[0]
    c = client_for(manager)
    assert _numbers(c.get(LIST, {"q": "hinge"})) == [a.number]
    assert _numbers(c.get(LIST, {"q": "zed@shop"})) == [b.number]
    assert _numbers(c.get(LIST, {"q": b.number.lower()})) == [b.number]


def test_it_reports_bad_filters_and_ignores_them(client_for, manager, support_team,
                                                 desk_customer):
    _desk_tickets(2, support_team, desk_customer)
    response = client_for(manager).get(LIST, {"status": "bogus", "created_after": "nope",
                                              "ordering": "DROP"})
    assert response.status_code == 200
    assert "Some filters were not valid" in response.content.decode()


def test_it_sorts_by_priority_and_due_time(client_for, manager, support_team, desk_customer):
    now = timezone.now()
    low = _desk_tickets(1, support_team, desk_customer, priority="low",
                        first_response_due_at=now + timedelta(hours=1))[0]
    urgent = _desk_tickets(1, support_team, desk_customer, priority="urgent",
                           first_response_due_at=now + timedelta(hours=5))[0]
    high = _desk_tickets(1, support_team, desk_customer, priority="high",
                         first_response_due_at=now + timedelta(hours=3))[0]
    c = client_for(manager)
    assert _numbers(c.get(LIST, {"ordering": "priority"})) == [urgent.number, high.number,
                                                               low.number]
    assert _numbers(c.get(LIST, {"ordering": "due"})) == [low.number, high.number,
                                                          urgent.number]
    assert _numbers(c.get(LIST, {"ordering": "created"})) == [low.number, urgent.number,
                                                              high.number]


@pytest.mark.parametrize("ordering", ["-created", "priority", "due"])
def test_it_pages_with_a_cursor_in_every_sort(client_for, manager, support_team, desk_customer,
                                              ordering):
    now = timezone.now()
    for i in range(55):
        _desk_tickets(1, support_team, desk_customer, priority=["low", "high", "urgent"][i % 3],
                      first_response_due_at=now + timedelta(minutes=i % 7))
    c = client_for(manager)
    first = c.get(LIST, {"ordering": ordering})
    page = first.context["page"]
    assert len(page.object_list) == 50 and page.next_cursor
    second = c.get(LIST, {"ordering": ordering, "after": page.next_cursor})
    numbers = _numbers(first) + _numbers(second)
    assert len(numbers) == 55 == len(set(numbers))
    # A tampered cursor shows the first page.
    assert _numbers(c.get(LIST, {"ordering": ordering, "after": "garbage"})) == _numbers(first)


@pytest.mark.parametrize("queue", ["all", "breaching"])
def test_it_carries_the_count_to_deeper_pages_but_not_across_filters(client_for, manager,
                                                                     support_team,
                                                                     desk_customer, queue):
    now = timezone.now()
    _desk_tickets(55, support_team, desk_customer, first_response_due_at=now)
    c = client_for(manager)
    page = c.get(LIST, {"queue": queue}).context["page"]
    assert (page.count, page.count_capped) == (55, False)
    with CaptureQueriesContext(connection) as ctx:
        second = c.get(LIST, {"queue": queue, "after": page.next_cursor}).context["page"]
    assert (second.count, len(second.object_list)) == (55, 5)
    counted = any("COUNT(" in q["sql"] for q in ctx.captured_queries)
    # The breaching queue moves with the clock: it counts every page.
    assert counted is (queue == "breaching")
    # Other filters, other count: the cursor's count is not reused.
    filtered = c.get(LIST, {"queue": queue, "priority": "urgent", "after": page.next_cursor})
    assert filtered.context["page"].count == 0

def test_it_shows_sla_badges_late_soon_and_paused(client_for, manager, support_team,
                                                  desk_customer):
    now = timezone.now()
    late = _desk_tickets(1, support_team, desk_customer,
                         first_response_due_at=now - timedelta(minutes=1))[0]
    soon = _desk_tickets(1, support_team, desk_customer,
                         first_response_due_at=now + timedelta(minutes=90))[0]
    paused = _desk_tickets(1, support_team, desk_customer, status="waiting", paused_at=now)[0]
    calm = _desk_tickets(1, support_team, desk_customer)[0]
    response = client_for(manager).get(LIST)
    levels = {t["number"]: t["sla"]["level"] for t in response.context["page"].object_list}
    assert levels == {late.number: "late", soon.number: "soon", paused.number: "paused",
                      calm.number: "ok"}
    html = response.content.decode()
    assert 'data-sla="late"' in html and "text-bg-danger" in html
    assert 'data-sla="soon"' in html and "text-bg-warning" in html
    assert 'data-sla="paused"' in html


# --- bulk assign ----------------------------------------------------------------------------
def test_it_bulk_assigns_the_selected_tickets(client_for, manager, agent, support_team,
                                              desk_customer):
    tickets = _desk_tickets(3, support_team, desk_customer)
    response = client_for(manager).post(reverse("service:ticket_bulk_assign"), {
        "selected": [str(t.uuid) for t in tickets], "assignee": str(agent.uuid),
        "next": LIST + "?queue=unassigned"}, follow=True)
    assert "3 tickets assigned to" in response.content.decode()
    assert response.redirect_chain[-1][0] == LIST + "?queue=unassigned"
    assert set(Ticket.objects.values_list("assignee_id", "status")) == {(agent.pk, "assigned")}
    assert TicketAssignment.objects.count() == 3


def test_it_bulk_assigns_all_or_nothing(client_for, manager, agent, support_team,
                                        desk_customer):
    ok = _desk_tickets(2, support_team, desk_customer)
    other_team = TeamFactory(name="Field", manager=manager)
    outside = _desk_tickets(1, other_team, CustomerFactory(team=other_team))[0]
    response = client_for(manager).post(reverse("service:ticket_bulk_assign"), {
        "selected": [str(t.uuid) for t in [*ok, outside]], "assignee": str(agent.uuid)},
        follow=True)
    html = response.content.decode()
    assert "Nothing was assigned" in html and "is not a member of the team" in html
    assert not Ticket.objects.filter(assignee__isnull=False).exists()
    assert not TicketAssignment.objects.exists()


def test_it_asks_for_a_selection_and_an_agent(client_for, manager, support_team,
                                              desk_customer):
    (one,) = _desk_tickets(1, support_team, desk_customer)
    c = client_for(manager)
    html = c.post(reverse("service:ticket_bulk_assign"), {"assignee": ""},
                  follow=True).content.decode()
    assert "Select at least one ticket." in html and "Choose an agent." in html
    html = c.post(reverse("service:ticket_bulk_assign"), {"selected": ["not-a-uuid"],
                                                          "assignee": ""},
                  follow=True).content.decode()
    assert "The selection was not valid." in html
    assert Ticket.objects.get(pk=one.pk).assignee_id is None


# --- review fixes -------------------------------------------------------------------------------
def test_it_matches_short_search_terms_exactly(client_for, manager, support_team,
                                               desk_customer):
    short, = _desk_tickets(1, support_team, desk_customer, subject="PC")
    _desk_tickets(1, support_team, desk_customer, subject="PC keyboard broken")
    client = client_for(manager)
    response = client.get(LIST, {"queue": "all", "q": "pc"})
    assert [t["id"] for t in response.context["page"].object_list] == [short.pk]
    response = client.get(LIST, {"queue": "all", "q": "pc k"})
    assert [t["subject"] for t in response.context["page"].object_list] == ["PC keyboard broken"]
    response = client.get(LIST, {"queue": "all", "customer": "de"})
    assert list(response.context["page"].object_list) == []


def test_it_renders_the_assignee_filter_and_bulk_form_as_autocompletes(client_for, manager,
                                                                     agent, support_team,
                                                                     desk_customer):
    UserFactory(first_name="Zebedee", roles=[roles.SUPPORT])
    _desk_tickets(2, support_team, desk_customer)
    response = client_for(manager).get(LIST, {"queue": "all", "assignee": str(agent.uuid)})
    html = response.content.decode()
    assert "Zebedee" not in html
    assert 'data-autocomplete-url="/customers/autocomplete/users/' in html
    assert 'data-autocomplete-url="/service/tickets/lookup/agents/' in html
    assert f'value="{agent.uuid}" selected' in html


def test_it_bulk_assigns_through_the_autocomplete_value(client_for, manager, agent,
                                                        support_team, desk_customer):
    tickets = _desk_tickets(2, support_team, desk_customer)
    response = client_for(manager).post(reverse("service:ticket_bulk_assign"), {
        "selected": [str(t.uuid) for t in tickets], "assignee": str(agent.uuid)})
    assert response.status_code == 302
    assert Ticket.objects.filter(assignee=agent).count() == 2


def test_the_count_is_fresh_after_a_bulk_assign_from_a_deeper_page(
        client_for, manager, agent, support_team, desk_customer):
    """The "next" cursor carries the first page's count; coming back from a bulk assign,
    the list counts again (the assigned tickets left the queue) and keeps the position."""
    _desk_tickets(55, support_team, desk_customer)
    client = client_for(manager)
    first = client.get(LIST, {"queue": "unassigned"})
    assert first.context["page"].count == 55
    second_url = f'{LIST}?queue=unassigned&after={first.context["page"].next_cursor}'
    second = client.get(second_url)
    rows = second.context["page"].object_list
    assert len(rows) == 5 and second.context["page"].count == 55

    response = client.post(reverse("service:ticket_bulk_assign"), {
        "selected": [str(row["uuid"]) for row in rows], "assignee": str(agent.uuid),
        "next": second_url}, follow=True)

    assert "5 tickets assigned to" in response.content.decode()
    assert response.context["page"].count == 50
    assert "after=" in response.redirect_chain[-1][0]
