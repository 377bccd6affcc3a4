"""Customer development plans: the services and the pages (htmx steps)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.exceptions import ApplicationError
from crm.models import Event
from sales import pipeline_services, plan_services
from sales.models import DevelopmentPlan, PlanStep

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today


@pytest.fixture
def deal(rep, own_customer, pipeline):
    return pipeline_services.opportunity_create(actor=rep, data={
        "name": "Robot arms", "customer": own_customer, "amount": Decimal("10000"),
        "expected_close_date": timezone.localdate() + datetime.timedelta(days=30)})


@pytest.fixture
def plan(rep, deal):
    return plan_services.plan_create(actor=rep, opportunity=deal, title="Win the pilot",
                                     goal="Signed pilot by March")


@pytest.fixture
def step(rep, plan):
    return plan_services.step_add(actor=rep, plan=plan, action="Demo on site",
                                  planned_date=timezone.localdate() - datetime.timedelta(days=2))


def plan_url(name, plan, step=None):
    kwargs = {"uuid": plan.uuid}
    if step is not None:
        kwargs["step_uuid"] = step.uuid
    return reverse(f"sales:{name}", kwargs=kwargs)


# --- services -----------------------------------------------------------------------------------
def test_it_creates_a_plan_with_an_event(plan, deal):
    assert plan.opportunity == deal and plan.status == DevelopmentPlan.Status.ACTIVE
    event = Event.objects.get(name="plan.created")
    assert event.customer_id == deal.customer_id


def test_it_records_a_result_and_marks_the_step_done(rep, step):
    assert step.is_overdue
    step = plan_services.step_record_result(actor=rep, step=step, result="Went well")
    assert step.done_at is not None and step.done_by == rep and not step.is_overdue
    event = Event.objects.get(name="plan.step_done")
    assert event.customer_id == step.plan.opportunity.customer_id
    assert event.payload["result"] == "Went well"


def test_it_requires_a_result_to_mark_a_step_done(rep, step):
    with pytest.raises(ApplicationError, match="Write the result"):
        plan_services.step_record_result(actor=rep, step=step, result="  ")
    step.refresh_from_db()
    assert step.done_at is None


def test_it_reopens_a_done_step(rep, step):
    plan_services.step_record_result(actor=rep, step=step, result="Done")
    step.refresh_from_db()
    step = plan_services.step_reopen(actor=rep, step=step)
    assert step.done_at is None and step.result == "Done"


def test_it_closes_a_plan_and_makes_it_read_only(rep, plan, step):
    closed = plan_services.plan_close(actor=rep, plan=plan, status="succeeded",
                                      outcome="Pilot signed")
    assert closed.status == "succeeded" and closed.closed_at is not None
    assert Event.objects.get(name="plan.closed").payload["status"] == "succeeded"
    with pytest.raises(ApplicationError, match="has ended"):
        plan_services.step_add(actor=rep, plan=plan, action="More", planned_date=TODAY())
    with pytest.raises(ApplicationError, match="has ended"):
        plan_services.step_record_result(actor=rep, step=step, result="late")
    with pytest.raises(ApplicationError, match="has ended"):
        plan_services.plan_close(actor=rep, plan=plan, status="failed", outcome="x")
    assert PlanStep.objects.filter(plan=plan).count() == 1


def test_it_refuses_a_bad_closing_status_or_no_outcome(rep, plan):
    with pytest.raises(ApplicationError):
        plan_services.plan_close(actor=rep, plan=plan, status="active", outcome="x")
    with pytest.raises(ApplicationError):
        plan_services.plan_close(actor=rep, plan=plan, status="failed", outcome="")
    plan.refresh_from_db()
    assert plan.status == "active"


def test_it_lets_only_those_who_may_change_the_opportunity_plan(analyst, outsider, deal, plan,
                                                                 step):
    for user in (analyst, outsider):
        with pytest.raises(PermissionDenied):
            plan_services.plan_create(actor=user, opportunity=deal, title="Mine")
        with pytest.raises(PermissionDenied):
            plan_services.step_add(actor=user, plan=plan, action="x", planned_date=TODAY())
        with pytest.raises(PermissionDenied):
            plan_services.step_record_result(actor=user, step=step, result="x")
        with pytest.raises(PermissionDenied):
            plan_services.plan_close(actor=user, plan=plan, status="failed", outcome="x")


# --- pages --------------------------------------------------------------------------------------
def test_it_sends_anonymous_users_to_log_in(client, deal, plan, step):
    for path, method in [(reverse("sales:plan_create", kwargs={"uuid": deal.uuid}), "post"),
                         (plan_url("plan_detail", plan), "get"),
                         (plan_url("plan_step_add", plan), "post"),
                         (plan_url("plan_step_result", plan, step), "post"),
                         (plan_url("plan_step_reopen", plan, step), "post"),
                         (plan_url("plan_close", plan), "post")]:
        response = getattr(client, method)(path)
        assert response.status_code == 302 and "/login/" in response["Location"], path


def test_it_hides_plans_from_outsiders(client_for, outsider, deal, plan, step):
    client = client_for(outsider)
    assert client.post(reverse("sales:plan_create", kwargs={"uuid": deal.uuid}),
                       {"title": "x"}).status_code == 404
    assert client.get(plan_url("plan_detail", plan)).status_code == 404
    assert client.post(plan_url("plan_step_add", plan)).status_code == 404
    assert client.post(plan_url("plan_step_result", plan, step)).status_code == 404
    assert client.post(plan_url("plan_step_reopen", plan, step)).status_code == 404
    assert client.post(plan_url("plan_close", plan)).status_code == 404


def test_it_refuses_plan_writes_to_read_only_users(client_for, analyst, deal, plan, step):
    client = client_for(analyst)
    assert client.get(plan_url("plan_detail", plan)).status_code == 200
    assert client.post(reverse("sales:plan_create", kwargs={"uuid": deal.uuid}),
                       {"title": "x"}).status_code == 403
    assert client.post(plan_url("plan_step_add", plan), {
        "action": "x", "planned_date": "2030-01-01"}).status_code == 403
    assert client.post(plan_url("plan_step_result", plan, step),
                       {"result": "x", "done": "on"}).status_code == 403
    assert client.post(plan_url("plan_step_reopen", plan, step)).status_code == 403
    assert client.post(plan_url("plan_close", plan),
                       {"status": "failed", "outcome": "x", "version": 1}).status_code == 403
    step.refresh_from_db()
    assert step.done_at is None


def test_it_creates_a_plan_from_the_opportunity_page(client_for, rep, deal):
    response = client_for(rep).post(reverse("sales:plan_create", kwargs={"uuid": deal.uuid}),
                                    {"title": "Expand", "goal": "Two more sites"})
    plan = DevelopmentPlan.objects.get(title="Expand")
    assert response["Location"] == plan_url("plan_detail", plan)


def test_it_shows_steps_by_date_with_overdue_ones_marked(client_for, rep, plan, step):
    plan_services.step_add(actor=rep, plan=plan, action="Send proposal",
                           planned_date=timezone.localdate() + datetime.timedelta(days=3))
    plan_services.step_add(actor=rep, plan=plan, action="Kick-off call",
                           planned_date=timezone.localdate() - datetime.timedelta(days=9))
    response = client_for(rep).get(plan_url("plan_detail", plan))
    assert [s.action for s in response.context["steps"]] == [
        "Kick-off call", "Demo on site", "Send proposal"]
    html = response.content.decode()
    assert html.count('data-testid="overdue"') == 2


def test_it_adds_a_step_with_htmx(client_for, rep, plan):
    response = client_for(rep).post(plan_url("plan_step_add", plan), {
        "action": "Call the CFO", "planned_date": "2030-05-01"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and "Call the CFO" in html and "<html" not in html
    assert plan.steps.get().planned_date == datetime.date(2030, 5, 1)


def test_it_shows_step_errors_and_adds_nothing(client_for, rep, plan):
    response = client_for(rep).post(plan_url("plan_step_add", plan), {
        "action": "", "planned_date": "not a date"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "alert-danger" in response.content.decode()
    assert not plan.steps.exists()


def test_it_records_a_result_with_htmx(client_for, rep, plan, step):
    response = client_for(rep).post(plan_url("plan_step_result", plan, step),
                                    {"result": "Customer liked it", "done": "on",
                                     "version": step.version},
                                    headers={"HX-Request": "true"})
    assert "Customer liked it" in response.content.decode()
    step.refresh_from_db()
    assert step.done_at is not None and step.result == "Customer liked it"
    client_for(rep).post(plan_url("plan_step_reopen", plan, step))
    step.refresh_from_db()
    assert step.done_at is None


def test_it_refuses_a_done_step_without_a_result(client_for, rep, plan, step):
    response = client_for(rep).post(plan_url("plan_step_result", plan, step),
                                    {"result": "", "done": "on", "version": step.version},
                                    headers={"HX-Request": "true"})
    assert "alert-danger" in response.content.decode()
    step.refresh_from_db()
    assert step.done_at is None


def test_it_closes_the_plan_from_its_page(client_for, rep, plan):
    client = client_for(rep)
    response = client.post(plan_url("plan_close", plan), {
        "status": "failed", "outcome": "Budget frozen", "version": plan.version}, follow=True)
    plan.refresh_from_db()
    assert plan.status == "failed"
    html = response.content.decode()
    assert "Budget frozen" in html and "Add a step" not in html


def test_it_refuses_a_stale_plan_close(client_for, rep, plan):
    client_for(rep).post(plan_url("plan_close", plan), {
        "status": "failed", "outcome": "x", "version": plan.version + 5})
    plan.refresh_from_db()
    assert plan.status == "active"


def test_it_shows_plans_and_overdue_counts_on_the_opportunity(client_for, rep, deal, plan, step):
    response = client_for(rep).get(reverse("sales:opportunity_detail",
                                           kwargs={"uuid": deal.uuid}))
    (shown,) = response.context["plans"]
    assert shown.step_count == 1 and shown.overdue_count == 1
    assert "1 overdue" in response.content.decode()


def test_it_reads_the_plan_page_in_the_same_queries(client_for, rep, plan):
    client = client_for(rep)

    def count():
        client.get(plan_url("plan_detail", plan))
        with CaptureQueriesContext(connection) as ctx:
            client.get(plan_url("plan_detail", plan))
        return len([q for q in ctx.captured_queries if "django_session" not in q["sql"]])

    few = count()
    for i in range(20):
        step = plan_services.step_add(actor=rep, plan=plan, action=f"Step {i}",
                                      planned_date=TODAY() + datetime.timedelta(days=i - 10))
        if i % 2:
            plan_services.step_record_result(actor=rep, step=step, result="ok")
    assert count() == few <= 12



# --- review fixes -------------------------------------------------------------------------------
def test_it_refuses_a_stale_step_result(client_for, rep, plan, step):
    stale = step.version
    plan_services.step_record_result(actor=rep, step=step, result="Moved to May", done=False)
    response = client_for(rep).post(plan_url("plan_step_result", plan, step),
                                    {"result": "Overwrites", "done": "on", "version": stale},
                                    headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "Someone else changed this record" in html
    step.refresh_from_db()
    assert step.result == "Moved to May" and step.done_at is None


def test_it_carries_the_step_version_in_the_result_form(client_for, rep, plan, step):
    html = client_for(rep).get(plan_url("plan_detail", plan)).content.decode()
    assert f'name="version" value="{step.version}"' in html


def test_it_refuses_a_step_result_without_its_version(client_for, rep, plan, step):
    response = client_for(rep).post(plan_url("plan_step_result", plan, step),
                                    {"result": "x", "done": "on"},
                                    headers={"HX-Request": "true"})
    assert "The form was incomplete" in response.content.decode()
    step.refresh_from_db()
    assert step.done_at is None
