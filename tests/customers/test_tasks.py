"""Tasks: who sees and changes them, "My tasks", the calendar, create/edit, quick done, the
360 panel, the timeline describers and the navigation entry."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from crm import navigation
from crm.exceptions import StaleObjectError
from crm.models import Event
from customers import panels, task_services
from customers.models import Task
from customers.task_selectors import task_list_for_user
from customers.task_ui import PANEL_KEY, register
from customers.timeline import describe
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
MAX_QUERIES = 12


@pytest.fixture(autouse=True)
def _registered():
    register()
    yield


@pytest.fixture
def mate(team):
    """A second Sales rep in rep's team: sees the team's customers, not rep's private tasks."""
    user = UserFactory(email="tia.teammate@example.com", first_name="Tia", roles=[roles.SALES])
    team.members.add(user)
    return user


def make_task(assignee, *, created_by=None, customer=None, due=None, title="Call back",
              status=Task.Status.OPEN, **extra) -> Task:
    due = due or timezone.now() + timedelta(days=3)
    return Task.objects.create(
        title=title, assignee=assignee, created_by=created_by or assignee, customer=customer,
        due_at=due, remind_at=extra.pop("remind_at", due), status=status,
        done_at=timezone.now() if status == Task.Status.DONE else None, **extra)


def local_input(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def form_data(assignee, **overrides) -> dict:
    due = timezone.now() + timedelta(days=2)
    data = {"title": "Send the quote", "description": "With the 5% discount",
            "due_at": local_input(due), "remind_at": "", "priority": "high",
            "assignee": assignee.pk}
    data.update(overrides)
    return data


def task_url(name, task=None):
    return reverse(f"customers:{name}", kwargs={"uuid": task.uuid} if task else None)


# --- access: every view ---------------------------------------------------------------------
OBJECT_VIEWS = [("task_detail", "get"), ("task_edit", "get"), ("task_edit", "post"),
                ("task_done", "post")]
ALL_VIEWS = [("tasks", "get"), ("task_create", "get"), ("task_create", "post"),
             ("task_calendar", "get"), *OBJECT_VIEWS]


@pytest.mark.parametrize(("name", "method"), ALL_VIEWS)
def test_it_sends_anonymous_users_to_the_login_page(client, rep, name, method):
    task = make_task(rep)
    target = task_url(name, task if (name, method) in OBJECT_VIEWS else None)
    response = getattr(client, method)(target)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize(("name", "method"), OBJECT_VIEWS)
def test_it_hides_other_peoples_tasks_from_an_outsider(client_for, rep, outsider, own_customer,
                                                       name, method):
    task = make_task(rep, customer=own_customer)
    response = getattr(client_for(outsider), method)(task_url(name, task), {"done": "1"})
    assert response.status_code == 404
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN


@pytest.mark.parametrize(("name", "method"), [("task_edit", "get"), ("task_edit", "post"),
                                              ("task_done", "post")])
def test_it_refuses_writes_to_the_read_only_analyst(client_for, rep, analyst, own_customer,
                                                    name, method):
    task = make_task(rep, customer=own_customer)  # the analyst sees every customer
    client = client_for(analyst)
    assert client.get(task_url("task_detail", task)).status_code == 200
    response = getattr(client, method)(task_url(name, task), {"done": "1", "title": "X"})
    assert response.status_code == 403
    task.refresh_from_db()
    assert (task.status, task.title) == (Task.Status.OPEN, "Call back")


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_refuses_the_create_form_to_the_analyst(client_for, analyst, method):
    response = getattr(client_for(analyst), method)(task_url("task_create"),
                                                    form_data(analyst))
    assert response.status_code == 403
    assert not Task.objects.exists()


def test_it_shows_the_analyst_the_list_and_calendar_without_write_buttons(client_for, analyst):
    make_task(analyst, title="Read the report")
    client = client_for(analyst)
    page = client.get(task_url("tasks")).text
    assert "Read the report" in page
    assert "mark-done" not in page and "New task" not in page
    assert client.get(task_url("task_calendar")).status_code == 200


# --- who sees, who changes ------------------------------------------------------------------
def test_it_shows_a_task_to_assignee_creator_customer_viewers_managers_and_admins(
        rep, mate, manager, admin, outsider, analyst, own_customer, team_customer):
    private = make_task(rep, title="private")  # no customer
    on_team = make_task(rep, customer=team_customer, title="team customer")
    by_outsider = make_task(mate, created_by=outsider, title="made by outsider")

    def visible(user):
        return set(task_list_for_user(user).values_list("title", flat=True))

    assert visible(rep) == {"private", "team customer"}
    assert visible(mate) == {"team customer", "made by outsider"}  # teammate: via customer
    assert visible(manager) == {"private", "team customer", "made by outsider"}  # managed
    assert visible(admin) == {"private", "team customer", "made by outsider"}
    assert visible(outsider) == {"made by outsider"}  # the creator
    assert visible(analyst) == {"team customer"}  # sees every customer, no one's private tasks
    assert {private.pk, on_team.pk, by_outsider.pk} == set(Task.objects.values_list("pk",
                                                                                      flat=True))


def test_it_lets_a_teammate_see_but_not_change_a_task_on_a_team_customer(client_for, rep,
                                                                        mate, team_customer):
    task = make_task(rep, customer=team_customer)
    client = client_for(mate)
    assert client.get(task_url("task_detail", task)).status_code == 200
    assert client.post(task_url("task_done", task), {"done": "1"}).status_code == 403


def test_it_lets_the_manager_of_the_assignees_team_change_the_task(client_for, rep, manager,
                                                                  team):
    task = make_task(rep)
    response = client_for(manager).post(task_url("task_done", task), {"done": "1"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == Task.Status.DONE


def test_it_lets_the_creator_change_a_task_assigned_to_someone_else(client_for, rep, mate):
    task = make_task(mate, created_by=rep)
    response = client_for(rep).post(task_url("task_done", task), {"done": "1"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == Task.Status.DONE


# --- My tasks -------------------------------------------------------------------------------
def test_it_lists_overdue_first_then_today_then_upcoming_then_done(client_for, rep):
    now = timezone.now()
    end_of_today = timezone.localtime(now).replace(hour=23, minute=59, second=0)
    make_task(rep, title="Upcoming one", due=now + timedelta(days=5))
    make_task(rep, title="Overdue one", due=now - timedelta(days=2))
    if end_of_today > now + timedelta(minutes=1):
        make_task(rep, title="Today one", due=end_of_today)
    make_task(rep, title="Finished one", status=Task.Status.DONE)

    page = client_for(rep).get(task_url("tasks")).text
    positions = [page.index(t) for t in ("Overdue one", "Upcoming one", "Finished one")]
    assert positions == sorted(positions)
    assert 'data-testid="section-overdue"' in page and 'data-testid="section-done"' in page
    overdue_row = page[page.rindex("<tr", 0, page.index("Overdue one")):page.index("Overdue one")]
    assert "table-danger" in overdue_row
    if end_of_today > now + timedelta(minutes=1):
        assert page.index("Overdue one") < page.index("Today one") < page.index("Upcoming one")


def test_it_lists_only_the_users_own_tasks(client_for, rep, mate):
    make_task(rep, title="Mine")
    make_task(mate, title="Not mine")
    page = client_for(rep).get(task_url("tasks")).text
    assert "Mine" in page and "Not mine" not in page


def test_it_filters_by_status_due_range_and_scope(client_for, rep, mate):
    now = timezone.now()
    make_task(rep, title="Soon", due=now + timedelta(days=1))
    make_task(rep, title="Later", due=now + timedelta(days=40))
    make_task(rep, title="Closed", status=Task.Status.DONE)
    make_task(mate, created_by=rep, title="Delegated")
    client = client_for(rep)

    page = client.get(task_url("tasks"), {"status": "done"}).text
    assert "Closed" in page and "Soon" not in page

    upto = timezone.localdate(now + timedelta(days=10)).isoformat()
    page = client.get(task_url("tasks"), {"status": "open", "due_to": upto}).text
    assert "Soon" in page and "Later" not in page and "Closed" not in page

    page = client.get(task_url("tasks"), {"scope": "created"}).text
    assert "Delegated" in page and "Soon" not in page


def test_it_reports_and_ignores_a_bad_filter(client_for, rep):
    make_task(rep, title="Still here")
    response = client_for(rep).get(task_url("tasks"), {"due_from": "yesterday-ish",
                                                       "status": "bogus"})
    assert response.status_code == 200
    assert "Some filters were not valid" in response.text
    assert "Still here" in response.text


def test_it_returns_only_the_results_to_htmx(client_for, rep):
    make_task(rep, title="Partial")
    response = client_for(rep).get(task_url("tasks"), **HX)
    assert "Partial" in response.text
    assert "<html" not in response.text and "filter-bar" not in response.text


# --- quick done / undone ----------------------------------------------------------------------
def test_it_marks_done_and_open_again_with_htmx_and_records_events(client_for, rep,
                                                                   own_customer):
    task = make_task(rep, customer=own_customer, title="Ship samples")
    client = client_for(rep)

    response = client.post(task_url("task_done", task), {"done": "1"}, **HX)
    assert response.status_code == 200
    assert f'id="task-{task.uuid}"' in response.text and 'data-status="done"' in response.text
    task.refresh_from_db()
    assert task.status == Task.Status.DONE and task.done_at is not None

    # A second click on a stale button changes nothing and records nothing.
    client.post(task_url("task_done", task), {"done": "1"}, **HX)
    assert Event.objects.filter(name="task.done").count() == 1

    response = client.post(task_url("task_done", task), {"done": "0"}, **HX)
    assert 'data-status="open"' in response.text
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN and task.done_at is None

    events = list(Event.objects.filter(name__startswith="task.").order_by("id")
                  .values_list("name", "customer_id"))
    assert events == [("task.done", own_customer.pk), ("task.reopened", own_customer.pk)]


def test_it_redirects_back_without_htmx(client_for, rep):
    task = make_task(rep)
    response = client_for(rep).post(task_url("task_done", task),
                                    {"done": "1", "next": "/customers/tasks/?status=open"})
    assert response.status_code == 302 and response.url == "/customers/tasks/?status=open"
    response = client_for(rep).post(task_url("task_done", task),
                                    {"done": "0", "next": "https://evil.example/"})
    assert response.url == task_url("tasks")


# --- create -----------------------------------------------------------------------------------
def test_it_creates_a_task_for_a_customer_from_the_360_link(client_for, rep, own_customer):
    client = client_for(rep)
    target = task_url("task_create") + f"?customer={own_customer.uuid}"
    page = client.get(target).text
    assert own_customer.name in page
    assert 'name="customer"' not in page.split('data-testid="task-customer"')[0]  # no select

    response = client.post(target, form_data(rep))
    assert response.status_code == 302
    task = Task.objects.get()
    assert (task.customer, task.assignee, task.created_by) == (own_customer, rep, rep)
    assert task.remind_at == task.due_at  # no reminder time: the due time drives it
    event = Event.objects.get(name="task.created")
    assert event.customer_id == own_customer.pk and event.payload["title"] == "Send the quote"


def test_it_creates_a_task_without_customer(client_for, rep):
    response = client_for(rep).post(task_url("task_create"), form_data(rep))
    assert response.status_code == 302
    task = Task.objects.get()
    assert task.customer is None
    assert Event.objects.get(name="task.created").customer_id is None


def test_it_refuses_a_customer_the_user_cannot_see(client_for, rep, other_customer):
    client = client_for(rep)
    target = task_url("task_create") + f"?customer={other_customer.uuid}"
    assert client.get(target).status_code == 404
    assert client.post(target, form_data(rep)).status_code == 404
    assert client.get(task_url("task_create") + "?customer=not-a-uuid").status_code == 404
    assert not Task.objects.exists()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("title", "", "This field is required"),
    ("due_at", "next tuesday", "Enter a valid date/time"),
    ("remind_at", "2999-01-01T10:00", "must not come after the due time"),
])
def test_it_shows_bad_input_and_creates_nothing(client_for, rep, field, value, message):
    response = client_for(rep).post(task_url("task_create"), form_data(rep, **{field: value}))
    assert response.status_code == 200
    assert message in response.text
    assert not Task.objects.exists() and not Event.objects.exists()


def test_it_lets_a_rep_assign_to_teammates_but_not_to_strangers(client_for, rep, manager,
                                                                outsider, team):
    client = client_for(rep)
    page = client.get(task_url("task_create")).text
    assert "Olly" not in page and "data-autocomplete-url" in page
    found = client.get(reverse("customers:autocomplete_users"),
                       {"scope": "assignee", "q": ""}).json()["results"]
    names = " ".join(r["text"] for r in found)
    assert "Mia" in names and "Olly" not in names
    response = client.post(task_url("task_create"), form_data(outsider))
    assert response.status_code == 200 and not Task.objects.exists()
    assert client.post(task_url("task_create"), form_data(manager)).status_code \
        == 302
    assert Task.objects.get().assignee == manager


def test_the_service_refuses_an_assignee_outside_the_reps_teams(rep, outsider):
    with pytest.raises(Exception, match="only to yourself"):
        task_services.task_create(actor=rep, data={
            "title": "X", "due_at": timezone.now(), "assignee": outsider})
    assert not Task.objects.exists()


# --- edit -------------------------------------------------------------------------------------
def test_it_edits_a_task_and_arms_the_reminder_again(client_for, rep, own_customer):
    task = make_task(rep, customer=own_customer)
    Task.objects.filter(pk=task.pk).update(reminded_at=timezone.now())
    new_due = timezone.now() + timedelta(days=9)
    response = client_for(rep).post(task_url("task_edit", task), form_data(
        rep, title="Call back about pricing", due_at=local_input(new_due), version=task.version))
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.title == "Call back about pricing" and task.version == 2
    assert task.remind_at == task.due_at and task.reminded_at is None
    event = Event.objects.get(name="task.updated")
    assert event.customer_id == own_customer.pk
    assert {"title", "due_at", "remind_at"} <= set(event.payload["fields"])


def test_it_refuses_a_stale_edit_and_changes_nothing(client_for, rep):
    task = make_task(rep)
    task_services.task_update(actor=rep, task=task, data={"title": "Changed elsewhere"},
                              expected_version=1)
    response = client_for(rep).post(task_url("task_edit", task),
                                    form_data(rep, title="My change", version=1))
    assert response.status_code == 200
    assert "Someone else changed this record" in response.text
    task.refresh_from_db()
    assert task.title == "Changed elsewhere"
    with pytest.raises(StaleObjectError):
        task_services.task_update(actor=rep, task=task, data={"title": "Y"}, expected_version=1)


# --- calendar ---------------------------------------------------------------------------------
def test_it_puts_tasks_on_their_due_days(client_for, rep):
    due = dt.datetime(2026, 11, 17, 10, 30, tzinfo=timezone.get_current_timezone())
    make_task(rep, title="Quarterly review", due=due)
    make_task(rep, title="December thing", due=due + timedelta(days=30))
    page = client_for(rep).get(task_url("task_calendar"), {"month": "2026-11"}).text
    assert "November 2026" in page
    cell = page[page.index('data-date="2026-11-17"'):]
    cell = cell[:cell.index("</td>")]
    assert "Quarterly review" in cell
    assert "December thing" not in page.split('data-testid="calendar-list"')[0].split(
        'data-date="2026-12-07"')[0]


@pytest.mark.parametrize("bad", ["2026-13", "nonsense", "99999-01", "2026-1"])
def test_it_shows_the_current_month_for_a_bad_month(client_for, rep, bad):
    response = client_for(rep).get(task_url("task_calendar"), {"month": bad})
    assert response.status_code == 200
    assert "is not a month like 2026-11" in response.text
    assert timezone.localdate().strftime("%B %Y") in response.text


# --- the 360 panel ----------------------------------------------------------------------------
def test_it_shows_the_customers_open_tasks_on_the_360_page(client_for, rep, own_customer):
    make_task(rep, customer=own_customer, title="Panel task")
    make_task(rep, customer=own_customer, title="Closed panel task", status=Task.Status.DONE)
    page = client_for(rep).get(reverse("customers:detail", kwargs={"uuid": own_customer.uuid}))
    assert "Open tasks" in page.text and "Panel task" in page.text
    assert "Closed panel task" not in page.text
    assert f"/customers/tasks/new/?customer={own_customer.uuid}" in page.text


def test_the_panel_is_registered_once_for_users_with_the_permission(rep):
    register()
    assert [p.key for p in panels.panels_for(rep)].count(PANEL_KEY) == 1


# --- timeline and navigation ------------------------------------------------------------------
def test_it_describes_task_events_on_the_timeline(rep, own_customer):
    task = task_services.task_create(actor=rep, customer=own_customer, data={
        "title": "Book the demo", "due_at": timezone.now() + timedelta(days=1), "assignee": rep})
    task_services.task_set_done(actor=rep, task=task, done=True)
    task_services.task_set_done(actor=rep, task=task, done=False)
    texts = [describe(e) for e in Event.objects.filter(customer_id=own_customer.pk)
             .order_by("id")]
    assert texts == ["Task added: Book the demo", "Task done: Book the demo",
                     "Task reopened: Book the demo"]


def test_it_offers_my_tasks_in_the_navigation(rep, analyst):
    assert "tasks" in [item.key for item in navigation.items_for(rep)]
    assert "tasks" in [item.key for item in navigation.items_for(analyst)]


# --- query counts -----------------------------------------------------------------------------
def measure(client, target) -> int:
    client.get(target)  # the first request stamps the session
    with CaptureQueriesContext(connection) as captured:
        response = client.get(target)
    assert response.status_code == 200
    return len(captured.captured_queries)


def seed(rep, customer, count):
    now = timezone.now()
    other = CustomerFactory(owner=rep)
    for i in range(count):
        make_task(rep, customer=customer if i % 2 else other, title=f"Task {i}",
                  due=now + timedelta(hours=i * 7 - 30))
        make_task(rep, customer=customer, title=f"Done {i}", status=Task.Status.DONE)


@pytest.mark.parametrize("target", ["tasks", "task_calendar"])
def test_the_list_pages_query_count_stays_flat(client_for, rep, own_customer,
                                              django_assert_num_queries, target):
    client = client_for(rep)
    url = task_url(target)
    seed(rep, own_customer, 1)
    few = measure(client, url)
    seed(rep, own_customer, 30)
    with django_assert_num_queries(few):
        assert client.get(url).status_code == 200
    assert few <= MAX_QUERIES


def test_the_detail_page_query_count_stays_flat(client_for, rep, own_customer,
                                               django_assert_num_queries):
    client = client_for(rep)
    task = make_task(rep, customer=own_customer)
    few = measure(client, task_url("task_detail", task))
    seed(rep, own_customer, 20)
    with django_assert_num_queries(few):
        assert client.get(task_url("task_detail", task)).status_code == 200
    assert few <= MAX_QUERIES


def test_the_360_panel_adds_one_query_whatever_the_number_of_tasks(client_for, rep,
                                                                   own_customer):
    client = client_for(rep)
    target = reverse("customers:detail", kwargs={"uuid": own_customer.uuid})
    panels.unregister(PANEL_KEY)
    without = measure(client, target)
    register()
    make_task(rep, customer=own_customer)
    few = measure(client, target)
    seed(rep, own_customer, 25)
    many = measure(client, target)
    assert few == many == without + 1
