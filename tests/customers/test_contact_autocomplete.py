"""The 360 page's quick-add finds any of a busy customer's contacts by autocomplete."""

import pytest

from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

URL = "/customers/autocomplete/contacts/"


def test_a_customer_with_more_contacts_than_listed_gets_a_searching_contact_field(
        client_for, rep, own_customer):
    ContactFactory.create_batch(21, customer=own_customer)

    page = client_for(rep).get(f"/customers/{own_customer.uuid}/")

    assert page.status_code == 200
    assert f"{URL}?customer={own_customer.uuid}" in page.text


def test_a_small_customer_keeps_the_plain_contact_select(client_for, rep, own_customer):
    ContactFactory.create_batch(3, customer=own_customer)

    page = client_for(rep).get(f"/customers/{own_customer.uuid}/")

    assert URL not in page.text


def test_the_endpoint_finds_that_customers_contacts_only(client_for, rep, own_customer,
                                                         team_customer):
    wanted = ContactFactory(customer=own_customer, first_name="Xiaoming", last_name="Li")
    ContactFactory(customer=team_customer, first_name="Xiaoming", last_name="Wu")

    data = client_for(rep).get(URL, {"customer": own_customer.uuid, "q": "xiao",
                                     "key": "pk"}).json()

    assert data == {"results": [{"id": str(wanted.pk), "text": "Xiaoming Li"}]}


def test_the_endpoint_hides_customers_the_user_may_not_see(client, client_for, rep,
                                                           other_customer):
    ContactFactory(customer=other_customer, first_name="Secret")

    assert client_for(rep).get(URL, {"customer": other_customer.uuid}).status_code == 404
    assert client_for(rep).get(URL, {"customer": "not-a-uuid"}).status_code == 404
    client.logout()
    assert client.get(URL, {"customer": other_customer.uuid}).status_code == 302


def test_a_contact_found_by_search_can_be_logged(client_for, rep, own_customer):
    from customers.models import Interaction

    contacts = ContactFactory.create_batch(25, customer=own_customer)

    response = client_for(rep).post(f"/customers/{own_customer.uuid}/interactions/new/", {
        "kind": "call", "direction": "outbound", "subject": "Called the last one",
        "contact": contacts[-1].pk})

    assert response.status_code == 302
    assert Interaction.objects.get(subject="Called the last one").contact == contacts[-1]
