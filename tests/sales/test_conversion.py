"""Lead conversion: duplicate matching, the conversion service, and the convert page."""

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
from customers.models import Contact, Customer
from sales.conversion import (
    CONTACT,
    CONTACT_CREATE,
    EMAIL,
    NAME,
    PHONE,
    convert_lead,
    find_matches,
)
from sales.models import Lead, Opportunity
from tests.factories import ContactFactory, CustomerFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(rep, team):
    return LeadFactory(first_name="Lena", last_name="Lead", company="Zeta Widgets",
                       email="lena@zeta.example", phone="", owner=rep, team=team)


def convert_url(lead):
    return reverse("sales:lead_convert", kwargs={"uuid": lead.uuid})


def opportunity_data(**overrides):
    return {"name": "First deal", "amount": Decimal("5000"),
            "expected_close_date": timezone.localdate() + datetime.timedelta(days=20),
            **overrides}


# --- matching ---------------------------------------------------------------------------------
def test_it_finds_a_customer_with_the_same_email(rep, lead, own_customer):
    own_customer.email = "LENA@zeta.example"
    own_customer.save()
    matches = find_matches(lead, rep)
    assert [c.pk for c in matches] == [own_customer.pk]
    assert EMAIL in matches[0].match_reasons


def test_it_finds_a_customer_with_the_same_phone_digits(rep, lead, own_customer):
    own_customer.phone = "+86 138-0013 8000"
    own_customer.save()
    lead.phone = "+8613800138000"
    lead.save()
    matches = find_matches(lead, rep)
    assert [c.pk for c in matches] == [own_customer.pk]
    assert matches[0].match_reasons == [PHONE]


def test_it_finds_a_customer_whose_contact_has_the_leads_email(rep, lead, own_customer):
    ContactFactory(customer=own_customer, email="lena@zeta.example")
    matches = find_matches(lead, rep)
    assert [c.pk for c in matches] == [own_customer.pk]
    assert CONTACT in matches[0].match_reasons


def test_it_finds_a_customer_with_a_similar_name(rep, lead, team):
    similar = CustomerFactory(name="Zeta Widget Ltd", owner=rep, team=team)
    CustomerFactory(name="Completely Different Co", owner=rep, team=team)
    matches = find_matches(lead, rep)
    assert [c.pk for c in matches] == [similar.pk]
    assert matches[0].match_reasons == [NAME]
    assert matches[0].match_score >= 0.4


def test_it_puts_exact_matches_before_similar_names(rep, lead, team, own_customer):
    CustomerFactory(name="Zeta Widgets", owner=rep, team=team)
    own_customer.email = "lena@zeta.example"
    own_customer.save()
    matches = find_matches(lead, rep)
    assert matches[0].pk == own_customer.pk
    assert len(matches) == 2


def test_it_finds_only_customers_the_user_can_see(rep, lead, other_customer):
    other_customer.email = "lena@zeta.example"
    other_customer.name = "Zeta Widgets"
    other_customer.save()
    assert find_matches(lead, rep) == []


def test_it_finds_matches_in_two_queries_at_most(rep, lead, team):
    for i in range(15):
        CustomerFactory(name=f"Zeta Widgets {i}", owner=rep, team=team)
    find_matches(lead, rep)  # warm the policy cache
    with CaptureQueriesContext(connection) as ctx:
        matches = find_matches(lead, rep)
    assert len(ctx.captured_queries) <= 2
    assert len(matches) == 10


# --- the service ------------------------------------------------------------------------------
def test_it_links_to_an_existing_customer_instead_of_duplicating(rep, lead, own_customer,
                                                                 pipeline):
    own_customer.email = "lena@zeta.example"
    own_customer.save()
    before = Customer.objects.count()
    result = convert_lead(actor=rep, lead=lead, customer=own_customer,
                          opportunity_data=opportunity_data())
    assert Customer.objects.count() == before
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED
    assert lead.converted_at is not None
    assert lead.converted_customer == own_customer
    assert lead.converted_contact == result.contact
    assert result.contact.email == "lena@zeta.example"
    opportunity = lead.converted_opportunity
    assert opportunity.customer == own_customer and opportunity.lead == lead
    assert opportunity.contact == result.contact
    assert opportunity.amount == Decimal("5000")
    event = Event.objects.get(name="lead.converted")
    assert event.customer_id == own_customer.pk
    assert event.payload["customer_created"] is False


def test_it_links_the_customers_contact_with_the_same_email(rep, lead, own_customer, pipeline):
    existing = ContactFactory(customer=own_customer, email="Lena@Zeta.example")
    before = Contact.objects.count()
    result = convert_lead(actor=rep, lead=lead, customer=own_customer,
                          create_opportunity=False)
    assert result.contact == existing and not result.contact_created
    assert Contact.objects.count() == before
    assert Opportunity.objects.count() == 0


def test_it_creates_a_contact_when_asked_even_if_one_matches(rep, lead, own_customer):
    ContactFactory(customer=own_customer, email="lena@zeta.example")
    result = convert_lead(actor=rep, lead=lead, customer=own_customer,
                          contact_mode=CONTACT_CREATE, create_opportunity=False)
    assert result.contact_created
    assert own_customer.contacts.count() == 2


def test_it_creates_a_customer_from_the_lead(rep, lead, pipeline):
    result = convert_lead(actor=rep, lead=lead, opportunity_data=opportunity_data())
    customer = result.customer
    assert result.customer_created
    assert customer.name == "Zeta Widgets" and customer.kind == Customer.Kind.COMPANY
    assert customer.email == "lena@zeta.example"
    assert customer.owner == rep and customer.team == lead.team
    assert result.contact.customer == customer and result.contact.is_primary
    assert result.opportunity.stage == pipeline["Prospecting"]
    assert Event.objects.filter(name="lead.converted", customer_id=customer.pk).exists()


def test_it_refuses_to_convert_twice(rep, lead, own_customer):
    convert_lead(actor=rep, lead=lead, customer=own_customer, create_opportunity=False)
    customers, contacts = Customer.objects.count(), Contact.objects.count()
    with pytest.raises(ApplicationError, match="already been converted"):
        convert_lead(actor=rep, lead=lead, customer=own_customer, create_opportunity=False)
    assert (Customer.objects.count(), Contact.objects.count()) == (customers, contacts)
    assert Event.objects.filter(name="lead.converted").count() == 1


def test_it_refuses_a_customer_the_actor_cannot_see(rep, lead, other_customer):
    with pytest.raises(ApplicationError, match="customer you can see"):
        convert_lead(actor=rep, lead=lead, customer=other_customer, create_opportunity=False)
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW
    assert not other_customer.contacts.exists()


def test_it_changes_nothing_when_the_opportunity_is_incomplete(rep, lead, pipeline):
    before = Customer.objects.count()
    with pytest.raises(ApplicationError):
        convert_lead(actor=rep, lead=lead, opportunity_data={"name": "", "amount": 1})
    assert Customer.objects.count() == before
    lead.refresh_from_db()
    assert lead.converted_at is None


def test_it_refuses_a_user_without_the_convert_permission(analyst, lead, own_customer):
    with pytest.raises(PermissionDenied):
        convert_lead(actor=analyst, lead=lead, customer=own_customer, create_opportunity=False)


# --- the page -----------------------------------------------------------------------------------
def test_it_sends_anonymous_users_to_log_in(client, lead):
    response = client.get(convert_url(lead))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_it_hides_the_lead_from_outsiders(client_for, outsider, lead):
    assert client_for(outsider).get(convert_url(lead)).status_code == 404
    assert client_for(outsider).post(convert_url(lead), {}).status_code == 404


def test_it_refuses_read_only_users(client_for, analyst, lead):
    assert client_for(analyst).get(convert_url(lead)).status_code == 403
    assert client_for(analyst).post(convert_url(lead), {}).status_code == 403


def test_it_shows_the_matches_first_with_the_new_customer_prefilled(client_for, rep, lead,
                                                                    own_customer):
    own_customer.email = "lena@zeta.example"
    own_customer.save()
    response = client_for(rep).get(convert_url(lead))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Link to Acme Robotics") < html.index("Create a new customer")
    assert 'value="Zeta Widgets"' in html
    assert response.context["form"].initial["target"] == str(own_customer.uuid)


def _post(lead, **overrides):
    data = {"target": "new", "kind": "company", "name": "Zeta Widgets",
            "email": "lena@zeta.example", "phone": "", "contact_mode": "auto",
            "create_opportunity": "on", "opportunity_name": "Zeta pilot", "amount": "1200",
            "expected_close_date": (timezone.localdate()
                                    + datetime.timedelta(days=10)).isoformat(),
            "version": lead.version}
    data.update(overrides)
    return data


def test_it_links_the_lead_to_the_chosen_match(client_for, rep, lead, own_customer, pipeline):
    own_customer.email = "lena@zeta.example"
    own_customer.save()
    before = Customer.objects.count()
    response = client_for(rep).post(convert_url(lead), _post(lead, target=own_customer.uuid))
    lead.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == reverse("sales:opportunity_detail",
                                           kwargs={"uuid": lead.converted_opportunity.uuid})
    assert Customer.objects.count() == before
    assert lead.converted_customer == own_customer


def test_it_creates_a_new_customer_from_the_page(client_for, rep, lead, pipeline):
    response = client_for(rep).post(convert_url(lead), _post(lead, name="Zeta Widgets GmbH"))
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.converted_customer.name == "Zeta Widgets GmbH"
    assert lead.converted_opportunity.amount == Decimal("1200")


def test_it_shows_errors_and_changes_nothing_on_bad_input(client_for, rep, lead, pipeline):
    before = Customer.objects.count()
    response = client_for(rep).post(convert_url(lead), _post(lead, name="",
                                                             opportunity_name=""))
    assert response.status_code == 200
    assert "Give the new customer a name." in response.content.decode()
    assert "Give the opportunity a name." in response.content.decode()
    assert Customer.objects.count() == before
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW


def test_it_refuses_a_stale_conversion_form(client_for, rep, lead, pipeline):
    data = _post(lead)
    Lead.objects.filter(pk=lead.pk).update(version=lead.version + 1)
    response = client_for(rep).post(convert_url(lead), data)
    assert response.status_code == 200
    assert "Someone else changed this record" in response.content.decode()
    assert not Customer.objects.filter(name="Zeta Widgets").exists()


def test_it_does_not_convert_twice_from_the_page(client_for, rep, lead, own_customer, pipeline):
    client = client_for(rep)
    client.post(convert_url(lead), _post(lead, target="new"))
    lead.refresh_from_db()
    customers = Customer.objects.count()
    response = client.post(convert_url(lead), _post(lead))
    assert response.status_code == 200
    assert "already been converted" in response.content.decode()
    assert Customer.objects.count() == customers


def test_it_reads_the_convert_page_in_a_bounded_number_of_queries(client_for, rep, lead, team,
                                                                    django_assert_max_num_queries):
    for i in range(12):
        CustomerFactory(name=f"Zeta Widgets {i}", owner=rep, team=team)
    client = client_for(rep)
    with django_assert_max_num_queries(12):
        response = client.get(convert_url(lead))
    assert len(response.context["matches"]) == 10
