"""GDPR tools: the privacy page, export (JSON), erasure and the consent history."""

from __future__ import annotations

import json

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.models import Event
from customers import dedupe_ui, gdpr, services
from customers.models import (
    Contact,
    Customer,
    CustomerTag,
    Interaction,
    Segment,
    SegmentMember,
    Task,
)
from tests.factories import CustomerFactory, InteractionFactory, TagFactory

pytestmark = pytest.mark.django_db

NATIONAL_ID = "310101199001011234"
NOTES = "Prefers calls after 6pm, allergic to nuts"


@pytest.fixture(autouse=True)
def _registered():
    dedupe_ui.register()
    gdpr.register_gdpr_exporter("tests.extra", lambda customer, contact: {"orders": 2})
    yield
    gdpr.unregister_gdpr("tests.extra")


@pytest.fixture
def company(manager, team):
    return CustomerFactory(name="Tau Instruments", owner=manager, team=team)


@pytest.fixture
def contact(manager, company):
    contact = services.contact_create(actor=manager, customer=company, data={
        "first_name": "Wenjing", "last_name": "Xiaolong", "title": "Procurement lead",
        "email": "wenjing.xiaolong@tau.example", "phone": "+86 571 8888 1234",
        "mobile": "+86 139 0000 4321", "birthday": "1990-01-01", "national_id": NATIONAL_ID,
        "private_notes": NOTES, "custom_data": {"hobby": "Kitesurfing"},
    })
    contact = services.contact_update(actor=manager, contact=contact, data={
        "marketing_consent": True, "consent_method": "web_form",
        "consent_source": "Spring fair signup sheet"}, expected_version=contact.version)
    contact = services.contact_update(actor=manager, contact=contact, data={
        "marketing_consent": False}, expected_version=contact.version)
    services.interaction_log(actor=manager, customer=company, data={
        "kind": "call", "contact": contact, "subject": "Wenjing asked about pricing",
        "body": "Her home number is 0571 1234", "outcome": "Send Wenjing a quote"})
    services.interaction_log(actor=manager, customer=company, data={
        "kind": "meeting", "contact": contact, "subject": "Visit", "body": "Met Wenjing"})
    return contact


def url(name, customer, contact=None):
    kwargs = {"uuid": customer.uuid}
    if contact is not None:
        kwargs["contact_uuid"] = contact.uuid
    return reverse(f"customers:{name}", kwargs=kwargs)


PERSONAL = ["Wenjing", "Xiaolong", "wenjing.xiaolong@tau.example", "8888 1234", "88881234",
            "0000 4321", NATIONAL_ID, "allergic", "Kitesurfing", "Spring fair",
            "Procurement lead", "home number", "1990-01-01"]


def leftovers(contact) -> list[str]:
    """Personal values still anywhere in the database rows about this contact: its raw row
    (the encrypted columns included, decrypted by hand), its interactions, events, history."""
    from crm.crypto import decrypt

    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(c)::text, national_id, private_notes "
                       "FROM customers_contact c WHERE id = %s", [contact.pk])
        raw, national_id, notes = cursor.fetchone()
        texts = [raw, decrypt(national_id) if national_id else "",
                 decrypt(notes) if notes else ""]
        cursor.execute("SELECT row_to_json(i)::text FROM customers_interaction i "
                       "WHERE contact_id = %s", [contact.pk])
        texts += [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT payload::text FROM {Event._meta.db_table}")
        texts += [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT row_to_json(l)::text FROM {LogEntry._meta.db_table} l")
        texts += [row[0] for row in cursor.fetchall()]
    blob = "\n".join(texts).casefold()
    return [value for value in PERSONAL if value.casefold() in blob]


# --- export -----------------------------------------------------------------------------------
def test_it_exports_everything_held_about_a_customer(client_for, manager, company, contact,
                                                     rep):
    tag = TagFactory(name="fair-2026")
    CustomerTag.objects.create(customer=company, tag=tag)
    SegmentMember.objects.create(segment=Segment.objects.create(name="Hangzhou"),
                                 customer=company)
    Task.objects.create(title="Send the catalogue", due_at=timezone.now(), assignee=rep,
                        customer=company)
    response = client_for(manager).post(url("gdpr_export", company))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["customer"]["name"] == "Tau Instruments"
    assert data["customer"]["tags"] == ["fair-2026"]
    assert data["customer"]["segments"][0]["segment"] == "Hangzhou"
    exported = data["contacts"][0]
    assert exported["national_id"] == NATIONAL_ID  # decrypted
    assert exported["private_notes"] == NOTES
    assert exported["custom_data"] == {"hobby": "Kitesurfing"}
    history = [e["event"] for e in exported["consent_history"]]
    assert history == ["contact.consent_given", "contact.consent_withdrawn"]
    assert exported["consent_history"][0]["details"]["source"] == "Spring fair signup sheet"
    assert {i["subject"] for i in data["interactions"]} == {"Wenjing asked about pricing",
                                                           "Visit"}
    assert data["tasks"][0]["title"] == "Send the catalogue"
    assert "contact.created" in [e["event"] for e in data["timeline"]]
    assert data["modules"]["tests.extra"] == {"orders": 2}
    event = Event.objects.get(name="gdpr.exported")
    assert event.actor == manager and event.customer_id == company.pk
    assert event.payload == {"scope": "customer", "contact": None}


def test_it_exports_one_contact(client_for, manager, company, contact):
    response = client_for(manager).post(url("gdpr_contact_export", company, contact))
    data = json.loads(response.content)
    assert data["scope"] == "contact"
    assert data["contact"]["national_id"] == NATIONAL_ID
    assert len(data["contact"]["consent_history"]) == 2
    assert len(data["interactions"]) == 2
    assert Event.objects.get(name="gdpr.exported").payload["contact"] == str(contact.uuid)


# --- erasure ----------------------------------------------------------------------------------
def test_it_erases_a_contacts_personal_data_everywhere(client_for, manager, company, contact):
    assert leftovers(contact)  # the values are there before
    interactions = Interaction.objects.filter(customer=company).count()
    response = client_for(manager).post(url("gdpr_contact_erase", company, contact),
                                        {"confirmation": "  wenjing   XIAOLONG "})
    assert response.status_code == 302
    assert leftovers(contact) == []
    contact.refresh_from_db()
    assert contact.first_name == "Erased" and contact.email == "" and contact.birthday is None
    assert contact.national_id == "" and contact.private_notes == ""
    # the records stay: same counts, dates; subjects become the interaction type
    assert Interaction.objects.filter(customer=company).count() == interactions
    assert set(Interaction.objects.filter(contact=contact).values_list("subject", "body")) \
        == {("Call", ""), ("Meeting", "")}
    assert Contact.objects.filter(pk=contact.pk).exists()
    company.refresh_from_db()
    assert company.name == "Tau Instruments"  # a company's own data stays
    erased = Event.objects.get(name="gdpr.erased")
    assert erased.actor == manager and erased.customer_id == company.pk
    assert erased.payload["counts"]["interactions"] == 2
    assert "Wenjing" not in json.dumps(erased.payload)


def test_it_refuses_an_erasure_without_the_exact_name(client_for, manager, company, contact):
    response = client_for(manager).post(url("gdpr_contact_erase", company, contact),
                                        {"confirmation": "Wenjing"})
    assert response.status_code == 200
    assert "Type the name exactly as shown" in response.content.decode()
    contact.refresh_from_db()
    assert contact.first_name == "Wenjing" and contact.national_id == NATIONAL_ID
    assert not Event.objects.filter(name="gdpr.erased").exists()


def test_it_refuses_to_erase_a_companys_own_fields(client_for, manager, company, contact):
    client = client_for(manager)
    page = client.get(url("gdpr_erase", company))
    assert page.status_code == 200 and page.context["refused"]
    response = client.post(url("gdpr_erase", company), {"confirmation": "Tau Instruments"})
    assert "not personal data" in response.content.decode()
    company.refresh_from_db()
    contact.refresh_from_db()
    assert company.name == "Tau Instruments" and contact.first_name == "Wenjing"


def test_it_erases_a_person_customer(client_for, manager, team):
    person = CustomerFactory(kind=Customer.Kind.PERSON, name="Liang Qiuyue", owner=manager,
                             team=team, email="qiuyue@mail.example", phone="138 1111 2222",
                             address="12 West Lake Road", custom_data={"pet": "Mochi"})
    services.contact_create(actor=manager, customer=person,
                            data={"first_name": "Liang", "last_name": "Qiuyue"})
    InteractionFactory(customer=person, subject="Qiuyue called", body="about her order")
    response = client_for(manager).post(url("gdpr_erase", person),
                                        {"confirmation": "Liang Qiuyue"})
    assert response.status_code == 302
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(c)::text FROM customers_customer c WHERE id = %s",
                       [person.pk])
        raw = cursor.fetchone()[0]
        cursor.execute(f"SELECT string_agg(payload::text, ' ') FROM {Event._meta.db_table}")
        events = cursor.fetchone()[0]
    for value in ("Qiuyue", "qiuyue@mail", "1111", "West Lake", "Mochi"):
        assert value not in raw and value not in events
    assert Interaction.objects.get(customer=person).subject == "Call"
    assert Contact.objects.get(customer=person).first_name == "Erased"


# --- consent history --------------------------------------------------------------------------
def test_it_shows_a_contacts_consent_history(client_for, analyst, company, contact):
    response = client_for(analyst).get(url("consent_history", company, contact))
    assert response.status_code == 200
    names = [e.name for e in response.context["events"]]
    assert names == ["contact.consent_given", "contact.consent_withdrawn"]
    assert "Spring fair signup sheet" in response.content.decode()


# --- access -----------------------------------------------------------------------------------
VIEWS = [("gdpr", False, "get"), ("gdpr_export", False, "post"), ("gdpr_erase", False, "get"),
         ("gdpr_contact_export", True, "post"), ("gdpr_contact_erase", True, "post"),
         ("consent_history", True, "get")]


@pytest.mark.parametrize(("name", "with_contact", "method"), VIEWS)
def test_it_needs_login(client, company, contact, name, with_contact, method):
    response = getattr(client, method)(url(name, company, contact if with_contact else None))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize(("name", "with_contact", "method"), VIEWS)
def test_it_checks_ownership(client_for, outsider, company, contact, name, with_contact,
                             method):
    client = client_for(outsider)
    response = getattr(client, method)(url(name, company, contact if with_contact else None))
    assert response.status_code == 404


@pytest.mark.parametrize("persona", ["analyst", "rep"])
@pytest.mark.parametrize(("name", "with_contact", "method"), VIEWS[:-1])
def test_it_requires_write_access(client_for, request, company, contact, persona, name,
                                  with_contact, method):
    client = client_for(request.getfixturevalue(persona))
    data = {"confirmation": "Wenjing Xiaolong"} if method == "post" else None
    response = getattr(client, method)(url(name, company, contact if with_contact else None),
                                       data)
    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.first_name == "Wenjing"
    assert not Event.objects.filter(name__startswith="gdpr.").exists()


def test_the_360_page_offers_the_tools(client_for, manager, rep, company):
    detail = reverse("customers:detail", kwargs={"uuid": company.uuid})
    body = client_for(manager).get(detail).content.decode()
    assert url("gdpr", company) in body and "?customer=" in body
    assert url("gdpr", company) not in client_for(rep).get(detail).content.decode()


@pytest.mark.parametrize("name", ["gdpr", "consent_history"])
def test_the_query_count_does_not_grow_with_rows(client_for, manager, company, contact,
                                                 django_assert_num_queries, name):
    client = client_for(manager)
    target = url(name, company, contact if name == "consent_history" else None)
    client.get(target)
    with CaptureQueriesContext(connection) as few:
        assert client.get(target).status_code == 200
    for i in range(12):
        services.contact_create(actor=manager, customer=company,
                                data={"first_name": f"Person{i}"})
        contact = services.contact_update(actor=manager, contact=contact, data={
            "marketing_consent": i % 2 == 0, "consent_method": "email"},
            expected_version=contact.version)
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get(target).status_code == 200


def test_it_finds_a_customer_in_the_trash_for_export_and_erasure(client_for, manager,
                                                                team_customer):
    from customers import services

    services.customer_soft_delete(actor=manager, customer=team_customer)
    response = client_for(manager).get(f"/customers/gdpr/{team_customer.uuid}/")
    assert response.status_code == 200


def test_erasing_a_contact_scrubs_their_name_from_the_customers_tasks(manager, team_customer):
    from django.utils import timezone

    from customers.gdpr import REDACTED, gdpr_erase
    from customers.models import Task
    from tests.factories import ContactFactory

    contact = ContactFactory(customer=team_customer, first_name="Wilhelmina", last_name="Zed")
    task = Task.objects.create(title="Call Wilhelmina about the renewal", due_at=timezone.now(),
                               assignee=manager, customer=team_customer,
                               description="Wilhelmina prefers mornings")
    other = Task.objects.create(title="Send the brochure", due_at=timezone.now(),
                                assignee=manager, customer=team_customer)
    gdpr_erase(actor=manager, customer=team_customer, contact=contact,
               confirmation="Wilhelmina Zed")
    task.refresh_from_db()
    other.refresh_from_db()
    assert (task.title, task.description) == (REDACTED, REDACTED)
    assert other.title == "Send the brochure"
