"""The customer's 360-degree page, contacts, the communication log quick-add and sharing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import get_perms

from crm.models import Event
from customers import panels, services
from customers.models import Contact, CustomerUserObjectPermission, Interaction
from tests.factories import ContactFactory, InteractionFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}

# Pinned from a measurement (warm session): raise only with a written reason.
# Detail: the user with their roles and permissions (one query), teams, customer, tags,
# contacts, log figures, audit history, the imports that touched it (imports write no auditlog
# entry per customer), interactions, events. Timeline: the same minus contacts/figures/history.
# 10, plus one for the "Open tasks" panel (customers/task_ui.py); each module's panel adds its own:
# sales' Opportunities (2: open ones, won/lost figures) and Purchase history (2: figures, last
# orders), service's Service panel (3: figures, last tickets, recent feedback).
DETAIL_QUERIES = 11 + 2 + 2 + 3
TIMELINE_QUERIES = 6


def url(name, customer, contact=None):
    kwargs = {"uuid": customer.uuid}
    if contact is not None:
        kwargs["contact_uuid"] = contact.uuid
    return reverse(f"customers:{name}", kwargs=kwargs)


def interaction_data(**overrides):
    data = {"kind": "call", "direction": "outbound", "occurred_at": "", "contact": "",
            "subject": "Discussed the renewal", "body": "They want a quote.",
            "outcome": "Send quote"}
    data.update(overrides)
    return data


def contact_data(**overrides):
    data = {"first_name": "Dana", "last_name": "Lee", "title": "Buyer",
            "email": "dana@acme.example", "phone": "+86 10 1234 5678", "mobile": "",
            "birthday": "", "preferred_channel": "email", "marketing_consent": "",
            "consent_method": "", "consent_source": "", "national_id": "", "private_notes": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def contact(own_customer):
    return ContactFactory(customer=own_customer, first_name="Dana", last_name="Lee",
                          national_id="110101199003078888", private_notes="Prefers tea")


# --- access: every view ---------------------------------------------------------------------
VIEWS = [
    # (url name, method, needs a contact, the analyst's status)
    ("detail", "get", False, 200),
    ("timeline", "get", False, 200),
    ("interaction_create", "post", False, 403),
    ("contact_create", "get", False, 403),
    ("contact_create", "post", False, 403),
    ("contact_edit", "get", True, 403),
    ("contact_edit", "post", True, 403),
    ("contact_delete", "post", True, 403),
    ("share", "get", False, 403),
    ("share", "post", False, 403),
]


def call(client, method, name, customer, contact, needs_contact):
    target = url(name, customer, contact if needs_contact else None)
    headers = HX if name == "timeline" else {}
    return getattr(client, method)(target, **headers)


@pytest.mark.parametrize(("name", "method", "needs_contact", "analyst_status"), VIEWS)
def test_it_requires_login(client, own_customer, contact, name, method, needs_contact,
                           analyst_status):
    response = call(client, method, name, own_customer, contact, needs_contact)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize(("name", "method", "needs_contact", "analyst_status"), VIEWS)
def test_it_checks_ownership(client_for, outsider, own_customer, contact, name, method,
                             needs_contact, analyst_status):
    response = call(client_for(outsider), method, name, own_customer, contact, needs_contact)
    assert response.status_code == 404


@pytest.mark.parametrize(("name", "method", "needs_contact", "analyst_status"), VIEWS)
def test_it_requires_write_access(client_for, analyst, own_customer, contact, name, method,
                                  needs_contact, analyst_status):
    response = call(client_for(analyst), method, name, own_customer, contact, needs_contact)
    assert response.status_code == analyst_status
    assert Interaction.objects.count() == 0
    assert Contact.objects.alive().count() == 1


@pytest.mark.parametrize(("name", "method", "needs_contact", "analyst_status"), VIEWS)
def test_the_owner_gets_through(client_for, rep, own_customer, contact, name, method,
                                needs_contact, analyst_status):
    response = call(client_for(rep), method, name, own_customer, contact, needs_contact)
    # A bare POST is an invalid form: shown again (200) or, for delete, done (302).
    assert response.status_code in (200, 302)


def test_the_timeline_without_htmx_goes_to_the_page(client_for, rep, own_customer):
    response = client_for(rep).get(url("timeline", own_customer) + "?kinds=call")
    assert response.status_code == 302
    assert response.url == url("detail", own_customer) + "?kinds=call#timeline"


def test_a_teammate_sees_the_page_but_no_edit_or_share(client_for, rep, team_customer):
    response = client_for(rep).get(url("detail", team_customer))
    assert response.status_code == 200
    assert url("edit", team_customer) not in response.text
    assert url("share", team_customer) not in response.text
    assert client_for(rep).get(url("share", team_customer)).status_code == 403


# --- the 360-degree page ----------------------------------------------------------------------
def test_the_page_shows_the_customer_at_a_glance(client_for, rep, own_customer, contact):
    own_customer.tags.add(TagFactory(name="VIP"))
    ContactFactory(customer=own_customer, first_name="Eli", last_name="Zhang", is_primary=True)
    Contact.objects.filter(pk=contact.pk).update(is_primary=False)
    InteractionFactory(customer=own_customer, subject="First call",
                       occurred_at=timezone.now() - timedelta(days=2))
    services.customer_update(actor=rep, customer=own_customer, data={"name": "Acme Robotics Ltd"},
                             expected_version=own_customer.version)

    response = client_for(rep).get(url("detail", own_customer))
    text = response.text
    assert response.status_code == 200
    assert "Acme Robotics Ltd" in text and own_customer.code in text and "VIP" in text
    assert url("edit", own_customer) in text and url("share", own_customer) in text
    # primary first; the sensitive fields never on the page
    assert text.index("Eli Zhang") < text.index("Dana Lee")
    assert "110101199003078888" not in text and "Prefers tea" not in text
    assert response.context["figures"]["contacts"] == 2
    assert response.context["figures"]["interactions"] == 1
    assert "First call" in text
    assert "Changed name" in text  # the event, in words
    history = response.context["history"]
    assert history and "name" in [f.lower() for f in history[0]["fields"]]


def test_the_analyst_sees_no_write_buttons(client_for, analyst, own_customer, contact):
    text = client_for(analyst).get(url("detail", own_customer)).text
    assert url("contact_create", own_customer) not in text
    assert url("contact_edit", own_customer, contact) not in text
    assert url("interaction_create", own_customer) not in text
    assert url("edit", own_customer) not in text


def test_the_edit_form_shows_the_sensitive_fields(client_for, rep, own_customer, contact):
    text = client_for(rep).get(url("contact_edit", own_customer, contact)).text
    assert "110101199003078888" in text and "Prefers tea" in text


def test_registered_panels_render_in_order(client_for, rep, own_customer, settings):
    settings.TEMPLATES = [{
        **settings.TEMPLATES[0], "APP_DIRS": False,
        "OPTIONS": {**settings.TEMPLATES[0]["OPTIONS"], "loaders": [
            ("django.template.loaders.locmem.Loader",
             {"test/panel.html": "<p>{{ word }} for {{ customer.name }}</p>"}),
            "django.template.loaders.filesystem.Loader",
            "django.template.loaders.app_directories.Loader",
        ]},
    }]
    panels.register("test.second", "Second panel", "test/panel.html",
                    lambda customer, user: {"word": "Beta"}, order=20)
    panels.register("test.first", "First panel", "test/panel.html",
                    lambda customer, user: {"word": "Alpha"}, order=10)
    panels.register("test.hidden", "Hidden panel", "test/panel.html",
                    lambda customer, user: {"word": "Gamma"}, visible=lambda user: False)
    try:
        text = client_for(rep).get(url("detail", own_customer)).text
    finally:
        for key in ("test.first", "test.second", "test.hidden"):
            panels.unregister(key)
    assert "Alpha for Acme Robotics" in text and "Beta for Acme Robotics" in text
    assert text.index("First panel") < text.index("Second panel")
    assert "Hidden panel" not in text and "Gamma" not in text


def test_no_panels_render_nothing(client_for, rep, own_customer, monkeypatch):
    from customers import panels

    monkeypatch.setattr(panels, "_panels", {})  # as if no module had registered one
    response = client_for(rep).get(url("detail", own_customer))
    assert response.context["panels"] == []
    assert 'id="panel-' not in response.text


# --- the communication log quick-add ----------------------------------------------------------
def test_quick_add_with_htmx_returns_the_fragment(client_for, rep, own_customer, contact):
    response = client_for(rep).post(
        url("interaction_create", own_customer),
        interaction_data(contact=str(contact.pk)), **HX,
    )
    assert response.status_code == 200
    text = response.text
    assert "<html" not in text
    assert 'id="interaction-form"' in text
    assert 'id="timeline-list" aria-live="polite" hx-swap-oob="true"' in text
    assert 'id="key-figures" hx-swap-oob="true"' in text
    assert "Discussed the renewal" in text
    interaction = Interaction.objects.get()
    assert (interaction.customer, interaction.contact, interaction.user) == (
        own_customer, contact, rep)
    assert Event.objects.filter(name="interaction.logged", customer_id=own_customer.pk).count() == 1
    # the fresh form is empty again
    assert response.context["interaction_form"].is_bound is False


def test_quick_add_without_htmx_redirects(client_for, rep, own_customer):
    client = client_for(rep)
    response = client.post(url("interaction_create", own_customer), interaction_data())
    assert response.status_code == 302
    assert response.url == url("detail", own_customer) + "#timeline"
    assert Interaction.objects.filter(customer=own_customer).count() == 1
    page = client.get(response.url).text
    assert "Call logged: Discussed the renewal" in page


@pytest.mark.parametrize("headers", [HX, {}])
def test_invalid_quick_add_changes_nothing(client_for, rep, own_customer, headers):
    response = client_for(rep).post(url("interaction_create", own_customer),
                                    interaction_data(subject=""), **headers)
    assert response.status_code == 200
    assert "This field is required." in response.text
    assert Interaction.objects.count() == 0
    assert not Event.objects.filter(name="interaction.logged").exists()


def test_quick_add_refuses_a_contact_of_another_customer(client_for, rep, own_customer,
                                                         team_customer):
    stranger = ContactFactory(customer=team_customer)
    response = client_for(rep).post(url("interaction_create", own_customer),
                                    interaction_data(contact=str(stranger.pk)), **HX)
    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert Interaction.objects.count() == 0


def test_quick_add_keeps_the_timeline_filter(client_for, rep, own_customer):
    response = client_for(rep).post(url("interaction_create", own_customer),
                                    interaction_data(kind="note", kinds="events"), **HX)
    assert response.status_code == 200
    assert response.context["timeline_kinds"] == ["events"]
    assert all(not item.is_interaction for item in response.context["timeline"].items)


# --- contacts ----------------------------------------------------------------------------------
def test_a_rep_adds_a_contact(client_for, rep, own_customer):
    response = client_for(rep).post(url("contact_create", own_customer), contact_data(
        marketing_consent="on", consent_method="web_form", consent_source="Spring fair"))
    assert response.status_code == 302
    contact = Contact.objects.get(customer=own_customer)
    assert (contact.first_name, contact.is_primary, contact.marketing_consent) == (
        "Dana", True, True)
    assert contact.consent_at is not None
    assert Event.objects.filter(name="contact.created", customer_id=own_customer.pk).exists()


def test_consent_without_a_method_is_refused(client_for, rep, own_customer):
    response = client_for(rep).post(url("contact_create", own_customer),
                                    contact_data(marketing_consent="on"))
    assert response.status_code == 200
    assert "Say how the contact gave consent to marketing." in response.text
    assert not Contact.objects.exists()


def test_a_rep_edits_a_contact(client_for, rep, own_customer, contact):
    response = client_for(rep).post(url("contact_edit", own_customer, contact), contact_data(
        title="Head of purchasing", version=contact.version,
        national_id="110101199003078888", private_notes="Prefers tea"))
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.title == "Head of purchasing"
    assert contact.version == 2


def test_a_stale_contact_edit_is_refused(client_for, rep, own_customer, contact):
    services.contact_update(actor=rep, contact=contact, data={"title": "CEO"},
                            expected_version=1)
    response = client_for(rep).post(url("contact_edit", own_customer, contact),
                                    contact_data(title="Intern", version=1))
    assert response.status_code == 200
    assert "Someone else changed this record" in response.text
    contact.refresh_from_db()
    assert contact.title == "CEO"


def test_a_contact_of_another_customer_is_not_found(client_for, rep, own_customer,
                                                    team_customer):
    stranger = ContactFactory(customer=team_customer)
    client = client_for(rep)
    assert client.get(url("contact_edit", own_customer, stranger)).status_code == 404
    assert client.post(url("contact_delete", own_customer, stranger)).status_code == 404
    assert Contact.objects.alive().filter(pk=stranger.pk).exists()


def test_a_rep_removes_a_contact_softly(client_for, rep, own_customer, contact):
    response = client_for(rep).post(url("contact_delete", own_customer, contact))
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.deleted_at is not None
    assert client_for(rep).get(url("contact_delete", own_customer, contact)).status_code == 405


# --- sharing ----------------------------------------------------------------------------------
def test_sharing_and_unsharing(client_for, rep, outsider, own_customer):
    client = client_for(rep)
    page = client.get(url("share", own_customer))
    colleagues = list(page.context["form"].fields["colleague"].queryset)
    assert rep not in colleagues and outsider in colleagues

    response = client.post(url("share", own_customer),
                           {"colleague": outsider.pk, "can_change": "on"})
    assert response.status_code == 302
    assert set(get_perms(outsider, own_customer)) == {"view_customer", "change_customer"}
    page = client.get(url("share", own_customer))
    assert "can view and edit" in page.text and outsider.email in page.text

    response = client.post(url("share", own_customer), {"unshare": str(outsider.uuid)})
    assert response.status_code == 302
    assert not CustomerUserObjectPermission.objects.filter(user=outsider).exists()
    assert Event.objects.filter(name="customer.unshared").exists()


def test_sharing_refuses_bad_input(client_for, rep, own_customer):
    client = client_for(rep)
    inactive = UserFactory(is_active=False)
    response = client.post(url("share", own_customer), {"colleague": inactive.pk})
    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    response = client.post(url("share", own_customer), {"unshare": "not-a-uuid"}, follow=True)
    assert "does not share this customer" in response.text
    assert not CustomerUserObjectPermission.objects.exists()


# --- query counts -----------------------------------------------------------------------------
def seed(customer, rep, count):
    contacts = [ContactFactory(customer=customer) for _ in range(count)]
    for i in range(count):
        InteractionFactory(customer=customer, user=rep, contact=contacts[i % len(contacts)],
                           occurred_at=timezone.now() - timedelta(hours=i))
        services.customer_update(actor=rep, customer=customer,
                                 data={"description": f"note {i}"},
                                 expected_version=customer.version)
        customer.refresh_from_db()


def count_queries(client, target, pin, django_assert_max_num_queries, **headers):
    client.get(target, **headers)  # the first request stamps the session
    with django_assert_max_num_queries(pin) as captured:
        response = client.get(target, **headers)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize(("name", "pin", "headers"), [
    ("detail", DETAIL_QUERIES, {}),
    ("timeline", TIMELINE_QUERIES, HX),
])
def test_query_counts_stay_flat(client_for, rep, own_customer, django_assert_max_num_queries,
                                name, pin, headers):
    client = client_for(rep)
    target = url(name, own_customer)
    seed(own_customer, rep, 1)
    few = count_queries(client, target, pin, django_assert_max_num_queries, **headers)
    seed(own_customer, rep, 40)
    own_customer.tags.add(TagFactory(), TagFactory())
    many = count_queries(client, target, pin, django_assert_max_num_queries, **headers)
    assert many == few == pin


def test_the_tags_show_in_name_order_and_escaped(client_for, rep, own_customer):
    own_customer.tags.add(TagFactory(name="zeta", color="danger"),
                          TagFactory(name='<b>"alpha"</b>', color="warning"))
    html = client_for(rep).get(url("detail", own_customer)).text
    assert ('<div class="mt-1"><span class="badge text-bg-warning me-1">'
            '&lt;b&gt;&quot;alpha&quot;&lt;/b&gt;</span>'
            '<span class="badge text-bg-danger me-1">zeta</span></div>') in html


def test_a_customer_without_tags_shows_no_tag_row(client_for, rep, own_customer):
    html = client_for(rep).get(url("detail", own_customer)).text
    assert 'class="badge text-bg-' not in html.split('class="row g-4"')[0]
