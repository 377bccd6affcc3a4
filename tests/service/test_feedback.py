"""The feedback pages (service/views/feedback.py): the list with its filters, logging feedback
from the list or the customer's page, and changing its status."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import navigation
from crm.models import Event
from service import feedback_ui, services
from service.models import Feedback
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

LIST = "/service/feedback/"
CREATE = "/service/feedback/new/"


def status_url(feedback) -> str:
    return reverse("service:feedback_status", kwargs={"uuid": feedback.uuid})


@pytest.fixture
def logged(manager, team_customer):
    return services.feedback_create(actor=manager, data={
        "customer": team_customer, "kind": "complaint", "channel": "phone",
        "body": "Deliveries are always late."})


@pytest.fixture
def foreign(admin, other_customer):
    return services.feedback_create(actor=admin, data={
        "customer": other_customer, "kind": "praise", "channel": "email",
        "body": "Great work on the outsider's account."})


# --- access -----------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [LIST, CREATE, "/service/feedback/lookup/customers/?q=ab"])
def test_it_sends_anonymous_visitors_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response.url


def test_anonymous_status_changes_go_to_login(client, logged):
    response = client.post(status_url(logged), {"status": "closed"})
    assert response.status_code == 302 and "/login/" in response.url
    logged.refresh_from_db()
    assert logged.status == "open"


def test_an_outsider_sees_none_of_the_others_feedback(client_for, outsider, logged):
    html = client_for(outsider).get(LIST).content.decode()
    assert "Deliveries are always late" not in html


def test_an_outsider_gets_404_for_a_foreign_status_change(client_for, outsider, logged):
    response = client_for(outsider).post(status_url(logged), {"status": "closed"})
    assert response.status_code == 404
    logged.refresh_from_db()
    assert logged.status == "open"


def test_an_outsider_gets_404_logging_for_a_foreign_customer(client_for, role_groups,
                                                             team_customer):
    from accounts import roles
    from tests.factories import UserFactory

    stranger = UserFactory(email="sue.support@example.com", roles=[roles.SUPPORT])
    response = client_for(stranger).get(f"{CREATE}?customer={team_customer.uuid}")
    assert response.status_code == 404


def test_the_analyst_reads_but_may_not_log_or_change(client_for, analyst, logged):
    client = client_for(analyst)
    html = client.get(LIST).content.decode()
    assert "Deliveries are always late" in html
    assert 'data-testid="feedback-status-form"' not in html and "Log feedback" not in html
    assert client.get(CREATE).status_code == 403
    assert client.post(status_url(logged), {"status": "closed"}).status_code == 403
    logged.refresh_from_db()
    assert logged.status == "open"


def test_who_may_not_read_feedback_gets_403(client_for, role_groups):
    from accounts import roles
    from tests.factories import UserFactory

    marketer = UserFactory(email="mo.marketing@example.com", roles=[roles.MARKETING])
    assert client_for(marketer).get(LIST).status_code == 403


# --- list and filters -------------------------------------------------------------------------
def test_the_list_shows_visible_feedback_newest_first(client_for, manager, logged,
                                                      own_customer):
    services.feedback_create(actor=manager, data={
        "customer": own_customer, "kind": "suggestion", "body": "Offer a portal."})
    html = client_for(manager).get(LIST).content.decode()
    assert html.index("Offer a portal.") < html.index("Deliveries are always late")
    assert "2 entries" in html


@pytest.mark.parametrize(("query", "shown", "hidden"), [
    ("kind=complaint", "Deliveries", "Offer a portal"),
    ("kind=suggestion", "Offer a portal", "Deliveries"),
    ("status=acknowledged", "Offer a portal", "Deliveries"),
    ("q=Beta", "Deliveries", "Offer a portal"),
])
def test_it_filters_the_list(client_for, manager, logged, own_customer, query, shown, hidden):
    other = services.feedback_create(actor=manager, data={
        "customer": own_customer, "kind": "suggestion", "body": "Offer a portal."})
    services.feedback_set_status(actor=manager, feedback=other, status="acknowledged")
    html = client_for(manager).get(f"{LIST}?{query}").content.decode()
    assert shown in html and hidden not in html


def test_it_filters_by_customer_and_creation_date(client_for, manager, logged, own_customer):
    services.feedback_create(actor=manager, data={
        "customer": own_customer, "kind": "praise", "body": "Nice people."})
    Feedback.objects.filter(pk=logged.pk).update(created_at="2020-01-15T10:00:00Z")
    client = client_for(manager)
    html = client.get(f"{LIST}?customer={own_customer.uuid}").content.decode()
    assert "Nice people." in html and "Deliveries" not in html
    html = client.get(f"{LIST}?created_after=2020-01-01&created_before=2020-01-31").content \
        .decode()
    assert "Deliveries" in html and "Nice people." not in html


def test_bad_filters_give_a_message_not_an_error(client_for, manager, logged):
    response = client_for(manager).get(f"{LIST}?created_after=yesterday&kind=bogus&after=zz")
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()


def test_htmx_requests_get_only_the_results(client_for, manager, logged):
    response = client_for(manager).get(LIST, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "Deliveries are always late" in html and "<html" not in html


def test_the_list_query_count_does_not_grow_with_rows(client_for, manager, team_customer,
                                                      logged):
    client = client_for(manager)
    client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    contact = ContactFactory(customer=team_customer)
    for n in range(15):
        services.feedback_create(actor=manager, data={
            "customer": team_customer, "contact": contact, "kind": "other",
            "body": f"Note {n}"})
    with CaptureQueriesContext(connection) as many:
        response = client.get(LIST)
    assert len(many) == len(few) <= 12
    assert "Note 14" in response.content.decode()


def test_the_list_pages_by_keyset(client_for, manager, team_customer):
    for n in range(55):
        Feedback.objects.create(kind="other", customer=team_customer, body=f"Row {n:02d}")
    client = client_for(manager)
    first = client.get(LIST)
    page = first.context["page"]
    assert len(page.object_list) == 50 and page.has_next
    second = client.get(f"{LIST}?after={page.next_cursor}")
    assert len(second.context["page"].object_list) == 5


# --- logging feedback -------------------------------------------------------------------------
def test_it_logs_feedback_from_the_customer_page(client_for, manager, team_customer):
    contact = ContactFactory(customer=team_customer, first_name="Lena", last_name="Ng")
    client = client_for(manager)
    detail = reverse("customers:detail", kwargs={"uuid": team_customer.uuid})
    page = client.get(f"{CREATE}?customer={team_customer.uuid}&next={detail}")
    assert page.status_code == 200 and "Beta Foods" in page.content.decode()
    response = client.post(CREATE, {"customer": team_customer.uuid, "kind": "suggestion",
                                    "channel": "email", "contact": contact.uuid,
                                    "body": "Ship in recyclable boxes.", "next": detail})
    assert response.status_code == 302 and response.url == detail
    feedback = Feedback.objects.get(body="Ship in recyclable boxes.")
    assert feedback.customer == team_customer and feedback.contact == contact
    assert feedback.logged_by == manager and feedback.status == "open"
    assert Event.objects.filter(name="feedback.created", customer_id=team_customer.pk).exists()


def test_it_logs_feedback_for_a_customer_picked_from_the_search(client_for, manager,
                                                                 team_customer, other_customer):
    client = client_for(manager)
    found = client.get("/service/feedback/lookup/customers/?q=Foods").content.decode()
    assert "Beta Foods" in found
    assert "Gamma" not in client.get("/service/feedback/lookup/customers/?q=Gamma") \
        .content.decode().split("No customer matches")[0]
    response = client.post(CREATE, {"customer": team_customer.uuid, "kind": "praise",
                                    "channel": "phone", "body": "Lovely."})
    assert response.status_code == 302 and response.url == LIST
    assert Feedback.objects.filter(body="Lovely.", customer=team_customer).exists()


def test_bad_input_is_refused_and_logs_nothing(client_for, manager, team_customer,
                                               other_customer):
    client = client_for(manager)
    for data in ({"customer": team_customer.uuid, "kind": "complaint", "channel": "phone",
                  "body": "   "},
                 {"customer": team_customer.uuid, "kind": "rant", "channel": "phone",
                  "body": "x"},
                 {"customer": "", "kind": "complaint", "channel": "phone", "body": "x"},
                 {"customer": other_customer.uuid, "kind": "complaint", "channel": "phone",
                  "body": "not my customer"}):
        response = client.post(CREATE, data)
        assert response.status_code == 400, data
        assert "Nothing was saved yet" in response.content.decode()
    assert Feedback.objects.count() == 0


def test_a_contact_of_another_customer_is_refused(client_for, manager, team_customer,
                                                  own_customer):
    stranger = ContactFactory(customer=own_customer)
    response = client_for(manager).post(CREATE, {
        "customer": team_customer.uuid, "kind": "other", "channel": "phone",
        "contact": stranger.uuid, "body": "x"})
    assert response.status_code == 400
    assert Feedback.objects.count() == 0


def test_an_offsite_next_is_ignored(client_for, manager, team_customer):
    response = client_for(manager).post(CREATE, {
        "customer": team_customer.uuid, "kind": "other", "channel": "phone", "body": "x",
        "next": "https://evil.example/"})
    assert response.url == LIST


# --- status -----------------------------------------------------------------------------------
def test_it_changes_the_status(client_for, manager, logged):
    response = client_for(manager).post(status_url(logged), {"status": "acknowledged",
                                                              "next": f"{LIST}?kind=complaint"})
    assert response.status_code == 302 and response.url == f"{LIST}?kind=complaint"
    logged.refresh_from_db()
    assert logged.status == "acknowledged"
    assert Event.objects.filter(name="feedback.status_changed").count() == 1


def test_an_unknown_status_changes_nothing(client_for, manager, logged):
    client = client_for(manager)
    client.post(status_url(logged), {"status": "deleted"})
    logged.refresh_from_db()
    assert logged.status == "open"
    assert "Choose one of the offered statuses" in client.get(LIST).content.decode()


def test_the_navigation_offers_feedback_to_who_may_read_it(manager, role_groups):
    from accounts import roles
    from tests.factories import UserFactory

    feedback_ui.register()
    assert "feedback" in [item.key for item in navigation.items_for(manager)]
    marketer = UserFactory(email="mo.marketing@example.com", roles=[roles.MARKETING])
    assert "feedback" not in [item.key for item in navigation.items_for(marketer)]
    item = next(i for i in navigation.items_for(manager) if i.key == "feedback")
    assert item.url == LIST and item.order == 55
