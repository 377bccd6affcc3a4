"""Custom fields: the admin page (definitions CRUD, admins only), the fields on the customer and
contact forms, their values on the 360 page, and the list filters they add."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from crm.models import Event
from customers import custom_fields, field_services
from customers.models import Contact, Customer, CustomFieldDefinition
from tests.factories import ContactFactory, CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db

FIELDS = reverse("customers:field_list")
FIELD_CREATE = reverse("customers:field_create")
LIST = reverse("customers:list")
CREATE = reverse("customers:create")
Entity = CustomFieldDefinition.Entity


def field_edit(d):
    return reverse("customers:field_edit", kwargs={"uuid": d.uuid})


def field_active(d):
    return reverse("customers:field_set_active", kwargs={"uuid": d.uuid})


def edit_url(customer):
    return reverse("customers:edit", kwargs={"uuid": customer.uuid})


def detail_url(customer):
    return reverse("customers:detail", kwargs={"uuid": customer.uuid})


def contact_url(name, customer, contact=None):
    kwargs = {"uuid": customer.uuid}
    if contact is not None:
        kwargs["contact_uuid"] = contact.uuid
    return reverse(f"customers:{name}", kwargs=kwargs)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def define(key, field_type="text", *, entity=Entity.CUSTOMER, label=None, **extra):
    return CustomFieldDefinition.objects.create(
        entity=entity, key=key, label=label or key.replace("_", " ").title(),
        field_type=field_type, **extra)


@pytest.fixture
def all_types():
    """One customer field of each type; the required ones are text and choice."""
    return {
        "note": define("note", "text", required=True, help_text="Anything worth knowing",
                       order=1),
        "seats": define("seats", "number", order=2),
        "renewal": define("renewal", "date", order=3),
        "plan": define("plan", "choice", choices=["Basic", "Pro", "Enterprise"],
                       required=True, order=4),
        "vip": define("vip", "boolean", order=5),
    }


def customer_post(customer=None, **overrides):
    """A complete POST for the customer form (edit: the record's values and version)."""
    data = {"kind": "company", "name": "Delta Systems", "code": "", "email": "",
            "phone": "", "website": "", "status": "active", "industry": "", "source": "",
            "level": "", "region": "", "owner": "", "team": "", "address": "", "city": "",
            "postcode": "", "country": "", "description": ""}
    if customer is not None:
        data.update({"kind": customer.kind, "name": customer.name, "code": customer.code,
                     "status": customer.status, "owner": customer.owner_id or "",
                     "team": customer.team_id or "", "version": customer.version})
    data.update(overrides)
    return data


def definition_post(**overrides):
    data = {"entity": "customer", "key": "contract_type", "label": "Contract type",
            "field_type": "choice", "choices": "Annual\nMonthly\n", "required": "",
            "help_text": "", "order": "0"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- access -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "name", "needs_object"), [
    ("get", "field_list", False), ("get", "field_create", False), ("post", "field_create", False),
    ("get", "field_edit", True), ("post", "field_edit", True),
    ("post", "field_set_active", True),
])
def test_it_sends_anonymous_visitors_to_sign_in(client, method, name, needs_object):
    kwargs = {"uuid": define("x").uuid} if needs_object else {}
    response = getattr(client, method)(reverse(f"customers:{name}", kwargs=kwargs))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("persona", ["manager", "rep", "analyst", "outsider"])
def test_it_refuses_everyone_but_admins(request, client_for, persona):
    user = request.getfixturevalue(persona)
    definition = define("plan", "choice", choices=["A"], version=1)
    client = client_for(user)
    assert client.get(FIELDS).status_code == 403
    assert client.get(FIELD_CREATE).status_code == 403
    assert client.post(FIELD_CREATE, definition_post()).status_code == 403
    assert client.get(field_edit(definition)).status_code == 403
    assert client.post(field_edit(definition), definition_post(label="Hacked",
                                                               version=1)).status_code == 403
    assert client.post(field_active(definition), {"active": "0", "version": "1"}) \
        .status_code == 403
    definition.refresh_from_db()
    assert (definition.label, definition.is_active) == ("Plan", True)
    assert CustomFieldDefinition.objects.count() == 1


def test_it_gives_404_for_an_unknown_definition(client_for, admin):
    client = client_for(admin)
    missing = reverse("customers:field_edit", kwargs={"uuid": uuid.uuid4()})
    assert client.get(missing).status_code == 404
    assert client.post(reverse("customers:field_set_active", kwargs={"uuid": uuid.uuid4()}),
                       {"active": "0", "version": "1"}).status_code == 404


def test_it_takes_post_only_to_deactivate(client_for, admin):
    assert client_for(admin).get(field_active(define("x"))).status_code == 405


def test_it_refuses_writes_through_the_services_too(rep):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        field_services.custom_field_create(actor=rep, data={"entity": "customer",
                                                            "key": "x", "label": "X",
                                                            "field_type": "text"})
    assert not CustomFieldDefinition.objects.exists()


# --- the admin page ---------------------------------------------------------------------------
def test_it_lists_definitions_by_entity(client_for, admin):
    define("plan", "choice", choices=["Basic", "Pro"], required=True, order=2)
    define("old_code", "text", is_active=False)
    define("shoe_size", "number", entity=Entity.CONTACT)
    response = client_for(admin).get(FIELDS)
    assert response.status_code == 200
    groups = {g["entity"]: [d.key for d in g["definitions"]] for g in response.context["groups"]}
    assert groups == {"customer": ["plan", "old_code"], "contact": ["shoe_size"]}
    html = response.content.decode()
    assert "Basic, Pro" in html and "Inactive" in html and "Reactivate" in html


def test_it_creates_a_definition_and_records_an_event(client_for, admin):
    response = client_for(admin).post(FIELD_CREATE, definition_post(
        choices="Annual\n  Monthly \n\nAnnual\n", required="on", help_text="As signed"))
    assert response.status_code == 302
    assert response["Location"] == FIELDS
    definition = CustomFieldDefinition.objects.get()
    assert (definition.entity, definition.key, definition.field_type, definition.required) == (
        "customer", "contract_type", "choice", True)
    assert definition.choices == ["Annual", "Monthly"]  # one per line, trimmed, no repeats
    event = Event.objects.get(name="custom_field.created")
    assert event.actor == admin and event.payload["key"] == "contract_type"


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"key": "Contract Type"}, "key", "lowercase letters"),
    ({"key": "contract__type"}, "key", "lowercase letters"),
    ({"key": "9lives"}, "key", "lowercase letters"),
    ({"key": ""}, "key", "required"),
    ({"label": ""}, "label", "required"),
    ({"field_type": "choice", "choices": " \n "}, "choices", "needs at least one choice"),
    ({"field_type": "text", "choices": "A\nB"}, "choices", "Only a choice field has choices"),
    ({"field_type": "colour", "choices": ""}, "field_type", "valid choice"),
    ({"entity": "order"}, "entity", "valid choice"),
])
def test_it_refuses_a_bad_definition_and_changes_nothing(client_for, admin, overrides, field,
                                                         message):
    response = client_for(admin).post(FIELD_CREATE, definition_post(**overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors.get(field or "__all__", []))
    assert not CustomFieldDefinition.objects.exists()
    assert not Event.objects.exists()


def test_it_keeps_keys_unique_per_entity(client_for, admin):
    define("contract_type", "text", is_active=False)
    client = client_for(admin)
    response = client.post(FIELD_CREATE, definition_post())
    assert "already used" in " ".join(response.context["form"].errors["key"])
    assert CustomFieldDefinition.objects.count() == 1
    # The same key on contacts is another field.
    response = client.post(FIELD_CREATE, definition_post(entity="contact"))
    assert response.status_code == 302
    assert CustomFieldDefinition.objects.filter(key="contract_type").count() == 2


def test_it_edits_a_definition_but_never_its_key(client_for, admin):
    definition = define("plan", "choice", choices=["Basic"])
    response = client_for(admin).post(field_edit(definition), definition_post(
        key="renamed", entity="contact", label="Plan name", choices="Basic\nPro",
        required="on", version=definition.version))
    assert response.status_code == 302
    definition.refresh_from_db()
    assert (definition.key, definition.entity) == ("plan", "customer")
    assert (definition.label, definition.choices, definition.required) == (
        "Plan name", ["Basic", "Pro"], True)
    assert definition.version == 2
    assert Event.objects.get(name="custom_field.updated").payload["fields"]


def test_it_shows_choices_one_per_line_on_the_edit_form(client_for, admin):
    definition = define("plan", "choice", choices=["Basic", "Pro"])
    html = client_for(admin).get(field_edit(definition)).content.decode()
    assert "Basic\nPro</textarea>" in html
    assert 'data-testid="field-key">plan<' in html


def test_it_refuses_a_stale_edit(client_for, admin):
    definition = define("plan", "choice", choices=["Basic"])
    stale = definition.version
    field_services.custom_field_update(actor=admin, definition=definition,
                                       data={"label": "Tier"}, expected_version=stale)
    response = client_for(admin).post(field_edit(definition), definition_post(
        label="Plan", choices="Basic", version=stale))
    assert response.status_code == 200
    assert "Someone else changed this record" in response.content.decode()
    definition.refresh_from_db()
    assert definition.label == "Tier"


def test_it_refuses_choices_on_an_edit_to_another_type(client_for, admin):
    definition = define("plan", "choice", choices=["Basic"])
    response = client_for(admin).post(field_edit(definition), definition_post(
        field_type="number", choices="Basic", version=definition.version))
    assert response.status_code == 200
    definition.refresh_from_db()
    assert definition.field_type == "choice"


def test_it_deactivates_and_reactivates_keeping_values(client_for, admin, own_customer):
    definition = define("plan", "choice", choices=["Basic"])
    Customer.objects.filter(pk=own_customer.pk).update(custom_data={"plan": "Basic"})
    client = client_for(admin)
    response = client.post(field_active(definition),
                           {"active": "0", "version": definition.version})
    assert response.status_code == 302
    definition.refresh_from_db()
    assert definition.is_active is False
    assert "deactivated" in messages_of(response)[0]
    assert Customer.objects.get(pk=own_customer.pk).custom_data == {"plan": "Basic"}
    # A stale button (the version it carried) changes nothing.
    response = client.post(field_active(definition), {"active": "1", "version": "1"})
    assert "Someone else changed this record" in messages_of(response)[-1]
    definition.refresh_from_db()
    assert definition.is_active is False
    client.post(field_active(definition), {"active": "1", "version": definition.version})
    definition.refresh_from_db()
    assert definition.is_active is True
    assert [e.name for e in Event.objects.order_by("id")] == [
        "custom_field.deactivated", "custom_field.reactivated"]
    assert CustomFieldDefinition.objects.count() == 1  # never deleted


def test_it_ignores_a_bad_version_on_deactivate(client_for, admin):
    definition = define("plan")
    client_for(admin).post(field_active(definition), {"active": "0", "version": "abc"})
    definition.refresh_from_db()
    assert definition.is_active is True


def test_the_admin_page_query_count_does_not_grow(client_for, admin,
                                                  django_assert_num_queries):
    client = client_for(admin)

    def measure():
        client.get(FIELDS)
        # The user with their roles and permissions (one query), the definitions.
        with django_assert_num_queries(2) as captured:
            response = client.get(FIELDS)
        assert response.status_code == 200
        return len(captured.captured_queries)

    define("a")
    few = measure()
    for i in range(30):
        define(f"f{i}", entity=Entity.CONTACT if i % 2 else Entity.CUSTOMER)
    assert measure() == few


# --- values -----------------------------------------------------------------------------------
def test_it_serialises_values_to_plain_json(all_types):
    d = all_types
    assert custom_fields.to_json(d["seats"], Decimal("12")) == 12
    assert isinstance(custom_fields.to_json(d["seats"], Decimal("12")), int)
    assert custom_fields.to_json(d["seats"], Decimal("2.5")) == 2.5
    assert custom_fields.to_json(d["renewal"], datetime.date(2025, 3, 1)) == "2025-03-01"
    assert custom_fields.to_json(d["vip"], True) is True
    assert custom_fields.to_json(d["vip"], False) is False
    assert custom_fields.to_json(d["note"], "  hi ") == "hi"
    assert custom_fields.to_json(d["note"], "") is None
    # A value that no longer fits its (changed) type reads back as it is.
    assert custom_fields.from_json(d["renewal"], "soon") == "soon"


def test_it_merges_without_touching_other_keys(all_types):
    definitions = [all_types["note"], all_types["seats"]]
    stored = {"note": "old", "seats": 3, "retired": "kept", "renewal": "2024-01-01"}
    merged = custom_fields.merge(stored, definitions, {"cf_note": "new", "cf_seats": None})
    assert merged == {"note": "new", "retired": "kept", "renewal": "2024-01-01"}
    assert stored["seats"] == 3  # the stored dict itself is not changed


def test_it_filters_a_range_of_numbers_and_dates(rep, all_types):
    low = CustomerFactory(owner=rep, custom_data={"seats": 5, "renewal": "2025-01-10"})
    high = CustomerFactory(owner=rep, custom_data={"seats": 50, "renewal": "2025-06-01"})
    CustomerFactory(owner=rep, custom_data={})
    qs = Customer.objects.all()
    assert list(qs.filter(custom_fields.range_q(all_types["seats"], low=Decimal(10)))) == [high]
    assert list(qs.filter(custom_fields.range_q(
        all_types["renewal"], high=datetime.date(2025, 2, 1)))) == [low]
    with pytest.raises(ValueError):
        custom_fields.range_q(all_types["plan"], low="A")


def test_the_equality_filter_uses_containment(all_types):
    sql = str(Customer.objects.filter(
        custom_fields.equals_q(all_types["plan"], "Pro")).query)
    assert '"custom_data" @>' in sql  # the operator the GIN jsonb_path_ops index serves


# --- customer form ----------------------------------------------------------------------------
def test_the_form_shows_the_fields_in_their_own_fieldset(client_for, rep, all_types):
    define("retired", is_active=False)
    define("shoe_size", "number", entity=Entity.CONTACT)
    response = client_for(rep).get(CREATE)
    form = response.context["form"]
    names = [n for n in form.fields if n.startswith("cf_")]
    assert names == ["cf_note", "cf_seats", "cf_renewal", "cf_plan", "cf_vip"]
    assert form.fields["cf_note"].required and form.fields["cf_plan"].required
    assert not form.fields["cf_seats"].required
    html = response.content.decode()
    assert "Custom fields</legend>" in html
    assert "Anything worth knowing" in html


def test_it_round_trips_every_type_through_create_and_edit(client_for, rep, all_types):
    client = client_for(rep)
    response = client.post(CREATE, customer_post(
        cf_note=" Met at the fair ", cf_seats="12", cf_renewal="2025-03-01", cf_plan="Pro",
        cf_vip="true"))
    assert response.status_code == 302
    customer = Customer.objects.get(name="Delta Systems")
    assert customer.custom_data == {"note": "Met at the fair", "seats": 12,
                                    "renewal": "2025-03-01", "plan": "Pro", "vip": True}
    form = client.get(edit_url(customer)).context["form"]
    assert form["cf_seats"].value() == Decimal("12")
    assert form["cf_renewal"].value() == datetime.date(2025, 3, 1)
    assert (form["cf_plan"].value(), form["cf_vip"].value()) == ("Pro", "true")

    response = client.post(edit_url(customer), customer_post(
        customer, cf_note="Renewed", cf_seats="7.5", cf_renewal="", cf_plan="Basic",
        cf_vip="false"))
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.custom_data == {"note": "Renewed", "seats": 7.5, "plan": "Basic",
                                    "vip": False}
    assert "custom_data" in Event.objects.filter(name="customer.updated").last() \
        .payload["fields"]


def test_it_keeps_values_of_inactive_definitions(client_for, rep, own_customer, all_types):
    define("legacy_id", is_active=False)
    Customer.objects.filter(pk=own_customer.pk).update(
        custom_data={"legacy_id": "X-1", "unknown": 1, "note": "n", "plan": "Pro"})
    own_customer.refresh_from_db()
    response = client_for(rep).post(edit_url(own_customer), customer_post(
        own_customer, cf_note="changed", cf_plan="Pro"))
    assert response.status_code == 302
    own_customer.refresh_from_db()
    assert own_customer.custom_data == {"legacy_id": "X-1", "unknown": 1, "note": "changed",
                                        "plan": "Pro"}


@pytest.mark.parametrize(("overrides", "field"), [
    ({"cf_note": ""}, "cf_note"),
    ({"cf_plan": ""}, "cf_plan"),
    ({"cf_plan": "Gold"}, "cf_plan"),
    ({"cf_seats": "many"}, "cf_seats"),
    ({"cf_seats": "NaN"}, "cf_seats"),
    ({"cf_renewal": "2025-02-30"}, "cf_renewal"),
    ({"cf_vip": "maybe"}, "cf_vip"),
])
def test_it_refuses_bad_values_and_changes_nothing(client_for, rep, own_customer, all_types,
                                                   overrides, field):
    Customer.objects.filter(pk=own_customer.pk).update(custom_data={"note": "n", "plan": "Pro"})
    own_customer.refresh_from_db()
    data = customer_post(own_customer, **{"cf_note": "x", "cf_plan": "Basic", **overrides})
    client = client_for(rep)
    response = client.post(edit_url(own_customer), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    own_customer.refresh_from_db()
    assert own_customer.custom_data == {"note": "n", "plan": "Pro"}
    assert own_customer.version == 1
    response = client.post(CREATE, customer_post(**{"cf_note": "x", "cf_plan": "Basic",
                                                    **overrides}))
    assert response.status_code == 200
    assert not Customer.objects.filter(name="Delta Systems").exists()


def test_an_edit_keeps_a_choice_retired_since(client_for, rep, own_customer, all_types):
    Customer.objects.filter(pk=own_customer.pk).update(
        custom_data={"note": "n", "plan": "Legacy"})
    own_customer.refresh_from_db()
    response = client_for(rep).post(edit_url(own_customer), customer_post(
        own_customer, cf_note="n2", cf_plan="Legacy"))
    assert response.status_code == 302
    own_customer.refresh_from_db()
    assert own_customer.custom_data["plan"] == "Legacy"


def test_a_stale_edit_changes_no_custom_value(client_for, rep, own_customer, all_types):
    data = customer_post(own_customer, cf_note="mine", cf_plan="Pro")
    Customer.objects.filter(pk=own_customer.pk).update(version=5)
    response = client_for(rep).post(edit_url(own_customer), data)
    assert response.status_code == 200
    own_customer.refresh_from_db()
    assert own_customer.custom_data == {}


# --- contact form -----------------------------------------------------------------------------
def contact_post(**overrides):
    data = {"first_name": "Dana", "last_name": "Lee", "title": "", "email": "", "phone": "",
            "mobile": "", "birthday": "", "preferred_channel": "email",
            "marketing_consent": "", "consent_method": "", "consent_source": "",
            "national_id": "", "private_notes": ""}
    data.update(overrides)
    return data


def test_it_round_trips_contact_fields(client_for, rep, own_customer):
    define("shoe_size", "number", entity=Entity.CONTACT, required=True, help_text="EU size",
           order=1)
    define("met_on", "date", entity=Entity.CONTACT, order=2)
    define("decision_maker", "boolean", entity=Entity.CONTACT, order=3)
    define("plan", "choice", choices=["A"])  # a customer field: not on the contact form
    client = client_for(rep)
    response = client.get(contact_url("contact_create", own_customer))
    assert [n for n in response.context["form"].fields if n.startswith("cf_")] == [
        "cf_shoe_size", "cf_met_on", "cf_decision_maker"]
    assert "EU size" in response.content.decode()
    response = client.post(contact_url("contact_create", own_customer), contact_post())
    assert response.status_code == 200  # the required field is missing
    assert "cf_shoe_size" in response.context["form"].errors
    assert not Contact.objects.exists()

    response = client.post(contact_url("contact_create", own_customer), contact_post(
        cf_shoe_size="42", cf_met_on="2024-11-05", cf_decision_maker="true"))
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert contact.custom_data == {"shoe_size": 42, "met_on": "2024-11-05",
                                   "decision_maker": True}
    Contact.objects.filter(pk=contact.pk).update(
        custom_data={**contact.custom_data, "old": "kept"})
    contact.refresh_from_db()
    response = client.post(contact_url("contact_edit", own_customer, contact), contact_post(
        cf_shoe_size="43", cf_met_on="", cf_decision_maker="false", version=contact.version))
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.custom_data == {"shoe_size": 43, "decision_maker": False, "old": "kept"}


# --- the 360 page -----------------------------------------------------------------------------
def test_the_360_page_shows_the_values(client_for, rep, own_customer, all_types):
    define("shoe_size", "number", entity=Entity.CONTACT, label="Shoe size")
    define("hidden", is_active=False)
    Customer.objects.filter(pk=own_customer.pk).update(custom_data={
        "note": "Met at the fair", "seats": 1200, "renewal": "2025-03-01", "plan": "Pro",
        "vip": False, "hidden": "secret"})
    ContactFactory(customer=own_customer, custom_data={"shoe_size": 42})
    response = client_for(rep).get(detail_url(own_customer))
    rows = [(r.label, r.value) for r in response.context["custom_values"]]
    assert rows == [("Note", "Met at the fair"), ("Seats", "1,200"),
                    ("Renewal", "03/01/2025"), ("Plan", "Pro"), ("Vip", "No")]
    html = response.content.decode()
    assert 'data-testid="custom-plan">Pro<' in html
    assert "secret" not in html
    assert 'data-testid="contact-custom-shoe_size">42<' in html


def test_the_360_page_query_count_stays_flat_with_custom_fields(
        client_for, rep, own_customer, all_types, django_assert_num_queries):
    from tests.customers.test_profile_views import DETAIL_QUERIES

    client = client_for(rep)
    target = detail_url(own_customer)

    def measure():
        client.get(target)
        with django_assert_num_queries(DETAIL_QUERIES):
            response = client.get(target)
        return response

    Customer.objects.filter(pk=own_customer.pk).update(custom_data={"plan": "Pro"})
    ContactFactory(customer=own_customer, custom_data={"x": 1})
    measure()
    for i in range(10):
        define(f"extra_{i}", entity=Entity.CONTACT)
        ContactFactory(customer=own_customer, custom_data={f"extra_{i}": "v"})
    assert len(measure().context["contacts"]) == 11


# --- the list filters -------------------------------------------------------------------------
@pytest.fixture
def book(rep, all_types):
    return {
        "pro": CustomerFactory(name="Pro One", owner=rep, custom_data={"plan": "Pro",
                                                                        "vip": True,
                                                                        "note": "east"}),
        "pro2": CustomerFactory(name="Pro Two", owner=rep, custom_data={"plan": "Pro",
                                                                         "vip": False}),
        "basic": CustomerFactory(name="Basic One", owner=rep, custom_data={"plan": "Basic",
                                                                            "note": "East"}),
        "none": CustomerFactory(name="Nothing Set", owner=rep),
    }


def names(response) -> set[str]:
    return {c["name"] for c in response.context["page"].object_list}


def test_it_filters_the_list_by_a_choice_field(client_for, rep, book, other_customer):
    Customer.objects.filter(pk=other_customer.pk).update(custom_data={"plan": "Pro"})
    response = client_for(rep).get(LIST, {"cf_plan": "Pro"})
    assert names(response) == {"Pro One", "Pro Two"}  # not the outsider's customer
    assert response.context["filter_errors"] == []


def test_it_filters_by_yes_no_and_exact_text(client_for, rep, book):
    client = client_for(rep)
    assert names(client.get(LIST, {"cf_vip": "true"})) == {"Pro One"}
    assert names(client.get(LIST, {"cf_vip": "false"})) == {"Pro Two"}
    assert names(client.get(LIST, {"cf_note": "East"})) == {"Basic One"}
    assert names(client.get(LIST, {"cf_plan": "Pro", "cf_vip": "true"})) == {"Pro One"}
    # The htmx results fragment filters the same way.
    response = client.get(LIST, {"cf_plan": "Basic"}, HTTP_HX_REQUEST="true")
    assert names(response) == {"Basic One"}


def test_it_ignores_a_bad_filter_value_with_a_message(client_for, rep, book):
    response = client_for(rep).get(LIST, {"cf_plan": "Gold", "cf_vip": "perhaps"})
    assert names(response) == {"Pro One", "Pro Two", "Basic One", "Nothing Set"}
    labels = [label for label, _errors in response.context["filter_errors"]]
    assert set(labels) == {"Plan", "Vip"}
    assert "Some filters were not valid and were ignored" in response.content.decode()


def test_the_filters_sit_under_more_filters(client_for, rep, book):
    define("seats_extra", "number")  # numbers and dates are not list filters
    define("retired", "choice", choices=["A"], is_active=False)
    response = client_for(rep).get(LIST, {"cf_plan": "Pro"})
    html = response.content.decode()
    more = html[html.index('id="more-filters"'):]
    assert 'name="cf_plan"' in more and 'name="cf_vip"' in more and 'name="cf_note"' in more
    assert 'name="cf_seats' not in html and 'name="cf_retired"' not in html
    assert 'class="collapse show" id="more-filters"' in html  # open: a custom filter is in use


def test_the_list_query_count_holds_with_custom_fields(client_for, rep, team, all_types,
                                                       django_assert_num_queries):
    """The definitions ride in the filter bar's dictionary query: still LIST_QUERIES (less
    the planner's row estimate, which a filtered list does not ask for)."""
    from tests.customers.test_customer_views import LIST_QUERIES

    client = client_for(rep)

    def measure(params):
        client.get(LIST, params)
        with django_assert_num_queries(LIST_QUERIES - 1):
            response = client.get(LIST, params)
        return len(response.context["page"].object_list)

    tags = [TagFactory(), TagFactory()]
    CustomerFactory.create_batch(3, owner=rep, team=team, tags=tags,
                                 custom_data={"plan": "Pro"})
    assert measure({"cf_plan": "Pro"}) == 3
    CustomerFactory.create_batch(57, owner=rep, team=team, tags=tags,
                                 custom_data={"plan": "Pro"})
    assert measure({"cf_plan": "Pro"}) == 50
