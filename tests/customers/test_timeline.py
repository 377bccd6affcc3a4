"""The customer timeline: interactions and business events as one keyset-paged stream."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Event
from customers import services
from customers.timeline import (
    Cursor,
    describe,
    register_describer,
    timeline_for_customer,
    unregister_describer,
)
from tests.factories import InteractionFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def interaction(customer, minutes_ago, kind="call", **kwargs):
    return InteractionFactory(customer=customer, kind=kind,
                              occurred_at=NOW - timedelta(minutes=minutes_ago), **kwargs)


def event(customer, minutes_ago, name="customer.updated", **kwargs):
    return Event.objects.create(name=name, customer_id=customer.pk,
                                created_at=NOW - timedelta(minutes=minutes_ago), **kwargs)


def keys(page):
    return [(item.source, item.obj.pk) for item in page.items]


def test_it_merges_interactions_and_events_newest_first(own_customer, team_customer):
    call = interaction(own_customer, 10)
    created = event(own_customer, 30, "customer.created")
    note = interaction(own_customer, 20, kind="note")
    updated = event(own_customer, 5, payload={"fields": ["name"]})
    event(own_customer, 1, "interaction.logged")  # the interaction itself is shown
    interaction(team_customer, 2)  # another customer's
    event(team_customer, 3)

    page = timeline_for_customer(own_customer)
    assert keys(page) == [("e", updated.pk), ("i", call.pk), ("i", note.pk),
                          ("e", created.pk)]
    assert page.next_cursor is None


def test_it_pages_through_70_mixed_items_exactly_once(own_customer):
    expected = set()
    for i in range(40):
        # pairs share a timestamp, so the tie-breaks (source, id) are exercised
        expected.add(("i", interaction(own_customer, i // 2, kind=["call", "email"][i % 2]).pk))
    for i in range(30):
        expected.add(("e", event(own_customer, i // 3).pk))

    seen, cursor, pages = [], None, 0
    while True:
        page = timeline_for_customer(own_customer, before=cursor, limit=30)
        pages += 1
        seen.extend(keys(page))
        stamps = [item.cursor.key() for item in page.items]
        assert stamps == sorted(stamps, reverse=True)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == 70
    assert set(seen) == expected


def test_it_runs_two_queries_per_page(own_customer, django_assert_num_queries):
    for i in range(5):
        interaction(own_customer, i)
        event(own_customer, i)
    with django_assert_num_queries(2):
        page = timeline_for_customer(own_customer, limit=3)
        [item.actor for item in page.items]
        [item.text for item in page.items]


def test_the_kind_filter(own_customer):
    call = interaction(own_customer, 1, kind="call")
    mail = interaction(own_customer, 2, kind="email")
    interaction(own_customer, 3, kind="note")
    change = event(own_customer, 4)

    assert keys(timeline_for_customer(own_customer, kinds=["call"])) == [("i", call.pk)]
    assert keys(timeline_for_customer(own_customer, kinds=["call", "email"])) == [
        ("i", call.pk), ("i", mail.pk)]
    assert keys(timeline_for_customer(own_customer, kinds=["events"])) == [("e", change.pk)]
    # unknown kinds are ignored: everything
    assert len(timeline_for_customer(own_customer, kinds=["bogus"]).items) == 4


def b64(value) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize("cursor", [
    "not base64 at all!",
    b64(b"{not json"),
    b64({"t": "yesterday", "s": "i", "i": 1}),
    b64({"t": NOW.isoformat(), "s": "x", "i": 1}),
    b64({"t": NOW.isoformat(), "s": "i", "i": "1; drop"}),
    b64({"t": NOW.replace(tzinfo=None).isoformat(), "s": "i", "i": 1}),
    b64([1, 2, 3]),
    "A" * 500,
])
def test_a_tampered_cursor_is_ignored(own_customer, cursor):
    interaction(own_customer, 1)
    assert Cursor.decode(cursor) is None
    assert len(timeline_for_customer(own_customer, before=cursor).items) == 1


def test_a_tampered_cursor_in_the_url_is_harmless(client_for, rep, own_customer):
    interaction(own_customer, 1, subject="Still here")
    response = client_for(rep).get(
        reverse("customers:timeline", kwargs={"uuid": own_customer.uuid})
        + "?cursor=%%%garbage&kinds=nope", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Still here" in response.text


def test_load_more_in_the_fragment(client_for, rep, own_customer):
    for i in range(35):
        interaction(own_customer, i, subject=f"Call number {i}")
    client = client_for(rep)
    page = client.get(reverse("customers:detail", kwargs={"uuid": own_customer.uuid}))
    assert "Call number 29" in page.text and "Call number 30" not in page.text
    more = page.context["timeline_more_url"]
    assert more
    fragment = client.get(more, HTTP_HX_REQUEST="true")
    assert "Call number 30" in fragment.text and "Call number 34" in fragment.text
    assert "Call number 29" not in fragment.text
    assert "Load more" not in fragment.text


def test_events_are_described_in_words(rep, own_customer):
    services.customer_update(actor=rep, customer=own_customer,
                             data={"name": "Acme Ltd", "email": "hello@acme.example"},
                             expected_version=own_customer.version)
    contact = services.contact_create(actor=rep, customer=own_customer,
                                      data={"first_name": "Dana", "last_name": "Lee"})
    services.contact_update(actor=rep, contact=contact,
                            data={"marketing_consent": True, "consent_method": "web_form"},
                            expected_version=contact.version)
    texts = [item.text for item in timeline_for_customer(own_customer).items]
    assert texts == [
        "Marketing consent given (Web form)",
        "Contact changed: agrees to marketing, consent given by, consent recorded",
        "Contact added: Dana Lee",
        "Changed name, e-mail",
    ]


def test_describers(own_customer):
    assert describe(Event(name="customer.created")) == "Customer created"
    assert describe(Event(name="customer.updated", payload={})) == "Customer details changed"
    assert describe(Event(name="customer.owner_changed", payload={"to": 3})) == "Owner changed"
    assert describe(Event(name="customer.shared", payload={"with": 3, "can_change": True})
                    ) == "Shared with a colleague, who can also edit it"
    assert describe(Event(name="contact.consent_withdrawn")) == "Marketing consent withdrawn"
    assert describe(Event(name="customer.deleted")) == "Moved to the trash"
    assert describe(Event(name="customer.restored")) == "Restored from the trash"
    # the fallback, a pattern describer from another module, and a describer that breaks
    assert describe(Event(name="nosuchmodule.opened")) == "Event: nosuchmodule.opened"
    register_describer("test.*", lambda e: f"Test {e.payload['n']}")
    try:
        assert describe(Event(name="test.thing", payload={"n": 7})) == "Test 7"
        assert describe(Event(name="test.thing", payload={})) == "Event: test.thing"
    finally:
        unregister_describer("test.*")
