"""Segments: the rule language and its compiler (against real rows), segment_queryset and its
access rules, the services, and every segment view (access, behaviour, query counts)."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from crm.exceptions import ApplicationError, StaleObjectError
from crm.models import Event
from crm.navigation import items_for
from customers import segment_services as services
from customers import segment_ui
from customers.models import (
    Customer,
    CustomFieldDefinition,
    DictionaryEntry,
    Interaction,
    Segment,
    SegmentMember,
)
from customers.permissions import policy_for
from customers.segments import (
    MAX_RULES,
    NUMBER,
    NUMBER_OPERATORS,
    RulesError,
    compile_rules,
    describe_rules,
    field_specs,
    number_q,
    register_field,
    segment_queryset,
    unregister_field,
    validate_rules,
)
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    DictionaryEntryFactory,
    TagFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _registered():
    segment_ui.register()
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def marketer(role_groups):
    return UserFactory(email="mo.marketing@example.com", first_name="Mo",
                       roles=[roles.MARKETING])


@pytest.fixture
def nobody(role_groups):
    """Signed in, but holds no role at all."""
    return UserFactory(email="nora.nobody@example.com", first_name="Nora")


def rules(*children, op="and"):
    return {"op": op, "rules": list(children)}


def rule(field, operator, value=None):
    return {"field": field, "operator": operator, "value": value}


def names(tree) -> set[str]:
    return set(Customer.objects.filter(compile_rules(tree)).values_list("name", flat=True))


# --- the compiler: text fields ------------------------------------------------------------------
@pytest.fixture
def people():
    CustomerFactory(name="Acme Robotics", code="C-ACME", email="hi@acme.example",
                    city="Shanghai", country="China")
    CustomerFactory(name="acme foods", code="C-FOOD", email="", city="Beijing",
                    country="China")
    CustomerFactory(name="Beta Works", code="C-BETA", email="b@beta.example", city="",
                    country="Germany")


def test_it_matches_text_equals_case_insensitively(people):
    assert names(rules(rule("name", "equals", "ACME ROBOTICS"))) == {"Acme Robotics"}
    assert names(rules(rule("code", "equals", "c-beta"))) == {"Beta Works"}


def test_it_matches_text_contains_and_starts_with(people):
    assert names(rules(rule("name", "contains", "cme"))) == {"Acme Robotics", "acme foods"}
    assert names(rules(rule("name", "starts_with", "ACME"))) == {"Acme Robotics",
                                                                  "acme foods"}
    assert names(rules(rule("city", "starts_with", "shang"))) == {"Acme Robotics"}
    assert names(rules(rule("country", "contains", "germ"))) == {"Beta Works"}


def test_it_matches_empty_and_not_empty_text(people):
    assert names(rules(rule("email", "is_empty"))) == {"acme foods"}
    assert names(rules(rule("city", "is_not_empty"))) == {"Acme Robotics", "acme foods"}


# --- choice fields ------------------------------------------------------------------------------
def test_it_matches_kind_and_status_choices():
    CustomerFactory(name="P", kind="person", status="active")
    CustomerFactory(name="C1", kind="company", status="at_risk")
    CustomerFactory(name="C2", kind="company", status="churned")
    assert names(rules(rule("kind", "is", "person"))) == {"P"}
    assert names(rules(rule("kind", "is_not", "person"))) == {"C1", "C2"}
    assert names(rules(rule("status", "any_of", ["at_risk", "churned"]))) == {"C1", "C2"}


def test_it_matches_owner_and_team_by_uuid_keeping_unowned_rows_for_is_not(rep, manager,
                                                                            team):
    CustomerFactory(name="Mine", owner=rep)
    CustomerFactory(name="Boss", owner=manager, team=team)
    CustomerFactory(name="Nobody's")
    assert names(rules(rule("owner", "is", str(rep.uuid)))) == {"Mine"}
    assert names(rules(rule("owner", "is_not", str(rep.uuid)))) == {"Boss", "Nobody's"}
    assert names(rules(rule("owner", "any_of", [str(rep.uuid), str(manager.uuid)]))) == {
        "Mine", "Boss"}
    assert names(rules(rule("team", "is", str(team.uuid)))) == {"Boss"}
    other_team = TeamFactory(name="West")
    assert names(rules(rule("team", "is", str(other_team.uuid)))) == set()


def test_it_matches_dictionary_fields_by_uuid():
    kinds = DictionaryEntry.Kind
    retail = DictionaryEntryFactory(kind=kinds.INDUSTRY, code="retail")
    energy = DictionaryEntryFactory(kind=kinds.INDUSTRY, code="energy")
    web = DictionaryEntryFactory(kind=kinds.SOURCE, code="web")
    gold = DictionaryEntryFactory(kind=kinds.LEVEL, code="gold")
    east = DictionaryEntryFactory(kind=kinds.REGION, code="east")
    CustomerFactory(name="R", industry=retail, source=web, level=gold, region=east)
    CustomerFactory(name="E", industry=energy)
    assert names(rules(rule("industry", "is", str(retail.uuid)))) == {"R"}
    assert names(rules(rule("industry", "any_of", [str(retail.uuid), str(energy.uuid)]))) == {
        "R", "E"}
    assert names(rules(rule("source", "is", str(web.uuid)))) == {"R"}
    assert names(rules(rule("level", "is_not", str(gold.uuid)))) == {"E"}
    assert names(rules(rule("region", "is", str(east.uuid)))) == {"R"}
    # An entry of another list with the same UUID can't match: the kind is part of the filter.
    assert names(rules(rule("region", "is", str(retail.uuid)))) == set()


# --- dates ----------------------------------------------------------------------------------------
def test_it_matches_created_at_by_day_range_and_recent_days():
    now = timezone.now()
    CustomerFactory(name="Old", created_at=timezone.make_aware(datetime.datetime(2024, 3, 10,
                                                                                 15, 0)))
    CustomerFactory(name="Mid", created_at=timezone.make_aware(datetime.datetime(2024, 6, 1,
                                                                                 0, 30)))
    CustomerFactory(name="New", created_at=now - datetime.timedelta(days=2))
    assert names(rules(rule("created_at", "eq", "2024-03-10"))) == {"Old"}
    assert names(rules(rule("created_at", "before", "2024-06-01"))) == {"Old"}
    assert names(rules(rule("created_at", "after", "2024-05-31"))) == {"Mid", "New"}
    assert names(rules(rule("created_at", "between", ["2024-03-10", "2024-06-01"]))) == {
        "Old", "Mid"}
    assert names(rules(rule("created_at", "in_last_days", 7))) == {"New"}


# --- tags, contacts, activity --------------------------------------------------------------------
def test_it_matches_tags_has_any_and_has_none():
    vip, hot, cold = TagFactory(name="VIP"), TagFactory(name="Hot"), TagFactory(name="Cold")
    CustomerFactory(name="Both", tags=[vip, hot])
    CustomerFactory(name="Vip", tags=[vip])
    CustomerFactory(name="Bare")
    tree = rules(rule("tags", "has_any", [str(vip.uuid), str(hot.uuid)]))
    assert names(tree) == {"Both", "Vip"}
    # Each customer once, although "Both" has two of the tags.
    assert Customer.objects.filter(compile_rules(tree)).count() == 2
    assert names(rules(rule("tags", "has_none", [str(hot.uuid)]))) == {"Vip", "Bare"}
    assert names(rules(rule("tags", "has_any", [str(cold.uuid)]))) == set()


def test_it_matches_contacts_with_marketing_consent_ignoring_trashed_contacts():
    yes = CustomerFactory(name="Yes")
    ContactFactory(customer=yes, marketing_consent=True)
    ContactFactory(customer=yes, marketing_consent=False)
    gone = CustomerFactory(name="Gone")
    ContactFactory(customer=gone, marketing_consent=True, deleted_at=timezone.now())
    CustomerFactory(name="None")
    assert names(rules(rule("contact.marketing_consent", "is_true"))) == {"Yes"}
    assert names(rules(rule("contact.marketing_consent", "is_false"))) == {"Gone", "None"}


def test_it_matches_contact_birthday_month():
    march = CustomerFactory(name="March")
    ContactFactory(customer=march, birthday=datetime.date(1990, 3, 14))
    july = CustomerFactory(name="July")
    ContactFactory(customer=july, birthday=datetime.date(1985, 7, 1))
    CustomerFactory(name="Unknown")
    assert names(rules(rule("contact.birthday_month", "is", "3"))) == {"March"}
    assert names(rules(rule("contact.birthday_month", "any_of", ["3", "7"]))) == {"March",
                                                                                  "July"}
    assert names(rules(rule("contact.birthday_month", "is_not", "3"))) == {"July", "Unknown"}


def test_it_matches_last_interaction_recency():
    now = timezone.now()
    recent = CustomerFactory(name="Recent")
    Interaction.objects.create(customer=recent, subject="call",
                               occurred_at=now - datetime.timedelta(days=3))
    Interaction.objects.create(customer=recent, subject="old call",
                               occurred_at=now - datetime.timedelta(days=300))
    stale = CustomerFactory(name="Stale")
    Interaction.objects.create(customer=stale, subject="call",
                               occurred_at=now - datetime.timedelta(days=90))
    CustomerFactory(name="Never")
    assert names(rules(rule("last_interaction", "within_days", 30))) == {"Recent"}
    assert names(rules(rule("last_interaction", "older_than_days", 30))) == {"Stale"}
    assert names(rules(rule("last_interaction", "never"))) == {"Never"}


# --- custom fields --------------------------------------------------------------------------------
@pytest.fixture
def custom_fields():
    kinds = CustomFieldDefinition.FieldType
    for key, kind, choices in [("size", kinds.NUMBER, []), ("renewal", kinds.DATE, []),
                               ("tier", kinds.CHOICE, ["gold", "silver"]),
                               ("partner", kinds.BOOLEAN, []), ("motto", kinds.TEXT, [])]:
        CustomFieldDefinition.objects.create(entity="customer", key=key, label=key.title(),
                                             field_type=kind, choices=choices)
    soon = (timezone.localdate() + datetime.timedelta(days=0)).isoformat()
    CustomerFactory(name="Big", custom_data={"size": 500, "renewal": "2025-01-15",
                                             "tier": "gold", "partner": True,
                                             "motto": "Think big"})
    CustomerFactory(name="Small", custom_data={"size": 12.5, "renewal": soon,
                                               "tier": "silver", "partner": False})
    # A value of the wrong type (the field's type was changed since) must not break a query.
    CustomerFactory(name="Odd", custom_data={"size": "lots", "renewal": 20250101})
    CustomerFactory(name="Blank")


def test_it_matches_custom_number_fields(custom_fields):
    assert names(rules(rule("custom.size", "eq", "500"))) == {"Big"}
    assert names(rules(rule("custom.size", "lt", 100))) == {"Small"}
    assert names(rules(rule("custom.size", "gt", "12.5"))) == {"Big"}
    assert names(rules(rule("custom.size", "between", ["10", "500"]))) == {"Big", "Small"}


def test_it_matches_custom_date_fields(custom_fields):
    today = timezone.localdate().isoformat()
    assert names(rules(rule("custom.renewal", "eq", "2025-01-15"))) == {"Big"}
    assert names(rules(rule("custom.renewal", "before", today))) == {"Big"}
    assert names(rules(rule("custom.renewal", "after", "2025-01-15"))) == {"Small"}
    assert names(rules(rule("custom.renewal", "between", ["2025-01-01", today]))) == {
        "Big", "Small"}
    assert names(rules(rule("custom.renewal", "in_last_days", 5))) == {"Small"}


def test_it_matches_custom_choice_boolean_and_text_fields(custom_fields):
    assert names(rules(rule("custom.tier", "is", "gold"))) == {"Big"}
    assert names(rules(rule("custom.tier", "is_not", "gold"))) == {"Small", "Odd", "Blank"}
    assert names(rules(rule("custom.tier", "any_of", ["gold", "silver"]))) == {"Big", "Small"}
    assert names(rules(rule("custom.partner", "is_true"))) == {"Big"}
    assert names(rules(rule("custom.partner", "is_false"))) == {"Small", "Odd", "Blank"}
    assert names(rules(rule("custom.motto", "contains", "BIG"))) == {"Big"}
    assert names(rules(rule("custom.motto", "equals", "think big"))) == {"Big"}
    assert names(rules(rule("custom.motto", "starts_with", "thi"))) == {"Big"}
    assert names(rules(rule("custom.motto", "is_empty"))) == {"Small", "Odd", "Blank"}
    assert names(rules(rule("custom.motto", "is_not_empty"))) == {"Big"}


def test_it_refuses_a_custom_choice_outside_the_definition(custom_fields):
    with pytest.raises(RulesError) as exc:
        validate_rules(rules(rule("custom.tier", "is", "platinum")))
    assert "Choose a value from the list." in exc.value.messages[0]


def test_it_does_not_know_an_inactive_custom_field(custom_fields):
    CustomFieldDefinition.objects.filter(key="tier").update(is_active=False)
    with pytest.raises(RulesError) as exc:
        compile_rules(rules(rule("custom.tier", "is", "gold")))
    assert "unknown field “custom.tier”" in exc.value.messages[0]


# --- groups ------------------------------------------------------------------------------------
def test_it_combines_nested_and_or_groups():
    CustomerFactory(name="SH active", city="Shanghai", status="active")
    CustomerFactory(name="BJ at risk", city="Beijing", status="at_risk")
    CustomerFactory(name="BJ active", city="Beijing", status="active")
    CustomerFactory(name="GZ churned", city="Guangzhou", status="churned")
    tree = rules(
        rule("status", "is_not", "churned"),
        rules(rule("city", "equals", "Shanghai"),
              rules(rule("city", "equals", "Beijing"), rule("status", "is", "at_risk")),
              op="or"),
    )
    assert names(tree) == {"SH active", "BJ at risk"}
    assert names(rules(rule("city", "equals", "Guangzhou"), rule("status", "is", "at_risk"),
                       op="or")) == {"GZ churned", "BJ at risk"}


# --- validation ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("tree", "message"), [
    (rules(rule("shoe_size", "eq", 3)), "rule 1: unknown field “shoe_size”."),
    (rules(rule("name", "between", ["a", "b"])), "“between” is not an operator for Name."),
    (rules(rule("name", "contains", "")), "rule 1 (Name): Enter a value."),
    (rules(rule("created_at", "eq", "31/12/2024")), "Enter a date as YYYY-MM-DD."),
    (rules(rule("created_at", "between", ["2024-02-01", "2024-01-01"])),
     "The first value must not be after the second."),
    (rules(rule("created_at", "in_last_days", 0)), "between 1 and"),
    (rules(rule("last_interaction", "within_days", "soon")), "whole number of days"),
    (rules(rule("owner", "is", "not-a-uuid")), "Choose a value from the list."),
    (rules(rule("status", "is", "asleep")), "Choose a value from the list."),
    (rules(rule("status", "any_of", [])), "Choose at least one value."),
    (rules(rule("tags", "has_any", "x; DROP TABLE")), "Choose a value from the list."),
    (rules(rule("name", "contains", {"$gt": 1})), "Enter a text."),
    (rules(), "Add at least one rule."),
    (rules(rules()), "rule 1: this group has no rules."),
    (rules(rules(rules(rules(rule("name", "is_empty"))))),
     "groups may be nested at most 3 levels deep"),
    ({"op": "xor", "rules": [rule("name", "is_empty")]}, "“and” or “or”"),
    ([rule("name", "is_empty")], "The rules must be a group"),
    (rules(rule("name", "contains", "a" * 201)), "at most 200 characters"),
    (rules(rule("", "equals", "x")), "choose a field"),
])
def test_it_rejects_invalid_rules_with_a_clear_message(tree, message):
    with pytest.raises(RulesError) as exc:
        validate_rules(tree)
    assert any(message in m for m in exc.value.messages), exc.value.messages


def test_it_lists_every_problem_at_once_and_names_the_nested_rule():
    tree = rules(rule("name", "contains", "ok"),
                 rules(rule("status", "is", "x"), rule("nope", "is", "y")))
    with pytest.raises(RulesError) as exc:
        validate_rules(tree)
    assert len(exc.value.messages) == 2
    assert exc.value.messages[0].startswith("rule 2 › rule 1 (Status)")


def test_it_allows_three_levels_of_groups():
    tree = rules(rules(rules(rule("name", "is_empty"))))
    assert validate_rules(tree)["rules"][0]["rules"][0]["rules"][0]["field"] == "name"


def test_it_limits_the_number_of_rules():
    with pytest.raises(RulesError) as exc:
        validate_rules(rules(*[rule("name", "is_empty")] * (MAX_RULES + 1)))
    assert "at most 50 rules" in exc.value.messages[-1]


def test_it_cleans_values_to_their_stored_form():
    cleaned = validate_rules(rules(
        rule("created_at", "in_last_days", "30"),
        rule("status", "any_of", ["churned", "active", "churned"]),
        rule("name", "contains", "  Acme "),
    ))
    assert [r["value"] for r in cleaned["rules"]] == [30, ["active", "churned"], "Acme"]


# --- the registry -------------------------------------------------------------------------------
def test_it_lets_another_module_register_a_field():
    CustomerFactory(name="Paris", postcode="75001")
    CustomerFactory(name="Lyon", postcode="69001")
    register_field("postcode_number", "Postcode as number", NUMBER, NUMBER_OPERATORS,
                   lambda operator, value: number_q("postcode", operator, str(value)))
    try:
        assert "postcode_number" in field_specs()
        assert names(rules(rule("postcode_number", "eq", "75001"))) == {"Paris"}
    finally:
        unregister_field("postcode_number")
    assert "postcode_number" not in field_specs()


def test_it_refuses_to_register_operators_that_do_not_suit_the_type():
    with pytest.raises(ValueError, match="do not suit"):
        register_field("bad", "Bad", NUMBER, ["contains"], lambda o, v: None)


def test_it_describes_rules_in_words(rep):
    vip = TagFactory(name="VIP")
    tree = rules(rule("status", "is", "active"),
                 rules(rule("city", "contains", "Shang"),
                       rule("tags", "has_any", [str(vip.uuid)]),
                       rule("last_interaction", "within_days", 30), op="or"),
                 rule("owner", "is", str(rep.uuid)))
    assert describe_rules(tree) == (
        "Status is Active and (City contains “Shang” or Tags has any of VIP or "
        "Last interaction within the last 30 days) and Owner is Bob "
        f"{rep.last_name}".rstrip())


# --- segment_queryset ---------------------------------------------------------------------------
def test_it_never_returns_customers_the_user_cannot_see(rep, own_customer, team_customer,
                                                        other_customer, admin):
    segment = services.segment_create(actor=admin, name="Everyone not empty",
                                      rules=rules(rule("name", "is_not_empty")))
    assert set(segment_queryset(segment, rep)) == {own_customer, team_customer}
    assert set(segment_queryset(segment, admin)) == {own_customer, team_customer,
                                                     other_customer}


def test_it_compiles_a_segment_to_one_query(rep, own_customer, admin, team,
                                            django_assert_num_queries):
    vip = TagFactory(name="VIP")
    segment = services.segment_create(actor=admin, name="Complex", rules=rules(
        rule("tags", "has_none", [str(vip.uuid)]),
        rules(rule("last_interaction", "never"), rule("owner", "is", str(rep.uuid)),
              rule("contact.marketing_consent", "is_false"), op="or"),
    ))
    segment.refresh_from_db()
    # The access policy reads the user's teams once per request; prime it outside the count.
    policy = policy_for(rep)
    assert (policy.sees_all, policy.team_ids, policy.managed_team_ids) == (False, [team.pk], [])
    with django_assert_num_queries(1):
        assert list(segment_queryset(segment, rep).values_list("name", flat=True)) == [
            "Acme Robotics"]


def test_it_returns_a_static_lists_visible_members_only(rep, manager, own_customer,
                                                         team_customer, other_customer, admin):
    segment = services.segment_create(actor=admin, name="Static", kind="static")
    services.segment_members_add(actor=admin, segment=segment,
                                 customers=[own_customer, other_customer])
    assert set(segment_queryset(segment, admin)) == {own_customer, other_customer}
    assert set(segment_queryset(segment, rep)) == {own_customer}


def test_it_returns_nothing_for_a_deleted_segment(admin, own_customer):
    segment = services.segment_create(actor=admin, name="X",
                                      rules=rules(rule("name", "is_not_empty")))
    services.segment_soft_delete(actor=admin, segment=segment)
    assert list(segment_queryset(segment, admin)) == []


# --- services -----------------------------------------------------------------------------------
def test_it_creates_a_segment_with_an_event(marketer):
    segment = services.segment_create(actor=marketer, name="VIPs",
                                      rules=rules(rule("status", "is", "active")))
    assert segment.owner == marketer
    assert segment.rules == rules(rule("status", "is", "active"))
    assert Event.objects.filter(name="segment.created", subject_id=str(segment.pk)).exists()


def test_it_refuses_invalid_rules_and_saves_nothing(marketer):
    with pytest.raises(RulesError):
        services.segment_create(actor=marketer, name="Bad",
                                rules=rules(rule("status", "is", "nope")))
    assert not Segment.objects.exists()


def test_it_refuses_writes_to_read_only_roles(analyst, rep, admin):
    for user in (analyst, rep):
        with pytest.raises(PermissionDenied):
            services.segment_create(actor=user, name="No",
                                    rules=rules(rule("name", "is_empty")))
    segment = services.segment_create(actor=admin, name="S",
                                      rules=rules(rule("name", "is_empty")))
    with pytest.raises(PermissionDenied):
        services.segment_update(actor=analyst, segment=segment, data={"name": "T"},
                                expected_version=segment.version)


def test_it_lets_marketing_and_managers_change_anyones_segment(admin, marketer, manager):
    segment = services.segment_create(actor=admin, name="S",
                                      rules=rules(rule("name", "is_empty")))
    segment = services.segment_update(actor=marketer, segment=segment, data={"name": "T"},
                                      expected_version=segment.version)
    segment = services.segment_update(actor=manager, segment=segment, data={"name": "U"},
                                      expected_version=segment.version)
    assert segment.name == "U" and segment.version == 3


def test_it_refuses_a_stale_update(marketer):
    segment = services.segment_create(actor=marketer, name="S",
                                      rules=rules(rule("name", "is_empty")))
    services.segment_update(actor=marketer, segment=segment, data={"name": "First"},
                            expected_version=1)
    with pytest.raises(StaleObjectError):
        services.segment_update(actor=marketer, segment=segment, data={"name": "Second"},
                                expected_version=1)
    segment.refresh_from_db()
    assert segment.name == "First"


def test_it_adds_members_all_or_nothing(manager, own_customer, other_customer, team):
    segment = services.segment_create(actor=manager, name="L", kind="static")
    with pytest.raises(ApplicationError):
        services.segment_members_add(actor=manager, segment=segment,
                                     customers=[own_customer, other_customer])
    assert not SegmentMember.objects.exists()
    assert services.segment_members_add(actor=manager, segment=segment,
                                        customers=[own_customer]) == 1
    assert services.segment_members_add(actor=manager, segment=segment,
                                        customers=[own_customer]) == 0
    assert Event.objects.filter(name="segment.members_added",
                                customer_id=own_customer.pk).count() == 1


def test_it_refuses_members_on_a_rule_based_segment(manager, own_customer, team):
    segment = services.segment_create(actor=manager, name="R",
                                      rules=rules(rule("name", "is_empty")))
    with pytest.raises(ApplicationError, match="Only a static list"):
        services.segment_members_add(actor=manager, segment=segment, customers=[own_customer])


# --- views: access ------------------------------------------------------------------------------
@pytest.fixture
def segment(marketer):
    return services.segment_create(actor=marketer, name="Active ones",
                                   rules=rules(rule("status", "is", "active")))


@pytest.fixture
def static_segment(manager, own_customer, team):
    segment = services.segment_create(actor=manager, name="Hand picked", kind="static")
    services.segment_members_add(actor=manager, segment=segment, customers=[own_customer])
    return segment


def _urls(segment, customer):
    return [
        ("get", reverse("customers:segment_list")),
        ("get", reverse("customers:segment_create")),
        ("post", reverse("customers:segment_builder")),
        ("post", reverse("customers:segment_preview")),
        ("get", reverse("customers:segment_detail", kwargs={"uuid": segment.uuid})),
        ("get", reverse("customers:segment_edit", kwargs={"uuid": segment.uuid})),
        ("post", reverse("customers:segment_delete", kwargs={"uuid": segment.uuid})),
        ("post", reverse("customers:segment_member_add", kwargs={"uuid": segment.uuid})),
        ("post", reverse("customers:segment_member_remove",
                         kwargs={"uuid": segment.uuid, "customer_uuid": customer.uuid})),
    ]


def test_it_sends_anonymous_visitors_to_the_login_page(client, static_segment, own_customer):
    for method, url in _urls(static_segment, own_customer):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(resolve_url(settings.LOGIN_URL)), url


def test_it_forbids_every_write_to_the_read_only_analyst(client_for, analyst, static_segment,
                                                         own_customer):
    client = client_for(analyst)
    urls = _urls(static_segment, own_customer)
    for method, url in urls[1:4] + urls[5:]:  # all but the list and the detail page
        assert getattr(client, method)(url).status_code == 403, url
    for method, url in (urls[0], urls[4]):
        assert getattr(client, method)(url).status_code == 200, url
    assert client.post(reverse("customers:segment_create"),
                       {"name": "X", "kind": "static"}).status_code == 403
    assert Segment.objects.count() == 1
    assert SegmentMember.objects.count() == 1


def test_it_hides_segments_from_users_without_the_permission(client_for, nobody,
                                                             static_segment, own_customer):
    client = client_for(nobody)
    assert client.get(reverse("customers:segment_list")).status_code == 403
    for method, url in _urls(static_segment, own_customer)[4:]:
        assert getattr(client, method)(url).status_code == 404, url


def test_it_answers_404_for_unknown_and_deleted_segments(client_for, admin, segment):
    client = client_for(admin)
    import uuid
    assert client.get(reverse("customers:segment_detail",
                              kwargs={"uuid": uuid.uuid4()})).status_code == 404
    services.segment_soft_delete(actor=admin, segment=segment)
    assert client.get(reverse("customers:segment_detail",
                              kwargs={"uuid": segment.uuid})).status_code == 404
    assert client.get(reverse("customers:segment_edit",
                              kwargs={"uuid": segment.uuid})).status_code == 404


def test_it_shows_an_outsider_the_segment_but_only_their_own_customers(
        client_for, outsider, static_segment, own_customer, other_customer, manager):
    client = client_for(outsider)
    response = client.get(reverse("customers:segment_detail",
                                  kwargs={"uuid": static_segment.uuid}))
    assert response.status_code == 200
    assert own_customer.name not in response.content.decode()
    assert response.context["page"].count == 0
    # Seeing a segment is not changing it: no edit page, no removing members.
    assert client.post(reverse("customers:segment_member_remove", kwargs={
        "uuid": static_segment.uuid, "customer_uuid": own_customer.uuid})).status_code == 403
    assert client.get(reverse("customers:segment_edit",
                              kwargs={"uuid": static_segment.uuid})).status_code == 403


def test_it_shows_the_nav_entry_to_segment_viewers_only(analyst, nobody):
    assert "segments" in [item.key for item in items_for(analyst)]
    assert "segments" not in [item.key for item in items_for(nobody)]


# --- views: behaviour -----------------------------------------------------------------------------
def test_it_creates_a_rule_based_segment_from_the_builder(client_for, marketer):
    client = client_for(marketer)
    response = client.post(reverse("customers:segment_create"), {
        "name": "Shanghai or at risk", "description": "", "kind": "rules",
        "r-op": "or",
        "r.0-field": "city", "r.0-operator": "contains", "r.0-value": "Shanghai",
        "r.1-op": "and",
        "r.1.0-field": "status", "r.1.0-operator": "any_of",
        "r.1.0-value": ["at_risk", "churned"],
        "r.1.1-field": "created_at", "r.1.1-operator": "between",
        "r.1.1-value": "2024-01-01", "r.1.1-value2": "2024-12-31",
    })
    segment = Segment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:segment_detail",
                                           kwargs={"uuid": segment.uuid})
    assert segment.rules == rules(
        rule("city", "contains", "Shanghai"),
        rules(rule("status", "any_of", ["at_risk", "churned"]),
              rule("created_at", "between", ["2024-01-01", "2024-12-31"])),
        op="or")


def test_it_shows_rule_errors_on_the_form_and_saves_nothing(client_for, marketer):
    response = client_for(marketer).post(reverse("customers:segment_create"), {
        "name": "Broken", "kind": "rules", "r-op": "and",
        "r.0-field": "created_at", "r.0-operator": "eq", "r.0-value": "yesterday",
    })
    assert response.status_code == 200
    assert "Enter a date as YYYY-MM-DD." in response.content.decode()
    assert not Segment.objects.exists()


def test_it_creates_a_static_list_ignoring_rules(client_for, marketer):
    response = client_for(marketer).post(reverse("customers:segment_create"), {
        "name": "Hand picked", "kind": "static", "r-op": "and"})
    assert response.status_code == 302
    assert Segment.objects.get().kind == "static"


def test_it_adds_rules_and_groups_in_the_builder_fragment(client_for, marketer):
    client = client_for(marketer)
    url = reverse("customers:segment_builder")
    base = {"r-op": "and", "r.0-field": "city", "r.0-operator": "contains",
            "r.0-value": "Shanghai"}
    html = client.post(url, {**base, "builder": "add-rule:r"}).content.decode()
    assert 'name="r.1-field"' in html and 'value="Shanghai"' in html
    html = client.post(url, {**base, "builder": "add-group:r"}).content.decode()
    assert 'name="r.1-op"' in html and 'name="r.1.0-field"' in html
    html = client.post(url, {**base, "builder": "remove:r.0"}).content.decode()
    assert 'name="r.0-field"' not in html
    # Nested groups stop at three levels: no "Add group" button in the deepest one.
    deep = {"r-op": "and", "r.0-op": "and", "r.0.0-op": "or", "r.0.0.0-field": "name",
            "r.0.0.0-operator": "is_empty"}
    html = client.post(url, {**deep, "builder": "add-group:r.0.0"}).content.decode()
    assert 'name="r.0.0.1-op"' not in html
    assert 'value="add-group:r.0.0"' not in html


def test_it_offers_the_operators_of_a_newly_chosen_field(client_for, marketer):
    html = client_for(marketer).post(reverse("customers:segment_builder"), {
        "r-op": "and", "r.0-field": "status", "r.0-operator": "contains", "r.0-value": "x",
    }).content.decode()
    assert '<option value="any_of">' in html
    assert '<option value="active">' in html  # the value is now a choice of statuses
    assert '<option value="contains"' not in html


def test_it_applies_builder_buttons_without_javascript(client_for, marketer):
    response = client_for(marketer).post(reverse("customers:segment_create"), {
        "name": "S", "kind": "rules", "r-op": "and", "builder": "add-rule:r"})
    assert response.status_code == 200
    assert 'name="r.0-field"' in response.content.decode()
    assert not Segment.objects.exists()


def test_it_previews_the_count_and_a_sample(client_for, marketer):
    for i in range(12):
        CustomerFactory(name=f"Shanghai {i:02d}", city="Shanghai")
    CustomerFactory(name="Elsewhere", city="Berlin")
    response = client_for(marketer).post(reverse("customers:segment_preview"), {
        "r-op": "and", "r.0-field": "city", "r.0-operator": "equals", "r.0-value": "shanghai"})
    assert response.context["count"] == 12
    assert len(response.context["sample"]) == 10
    assert "12 customers match" in response.content.decode()


def test_it_previews_rule_errors_instead_of_failing(client_for, marketer):
    response = client_for(marketer).post(reverse("customers:segment_preview"), {
        "r-op": "and", "r.0-field": "created_at", "r.0-operator": "in_last_days",
        "r.0-value": "-4"})
    assert response.status_code == 200
    assert "between 1 and" in response.content.decode()


def test_it_caps_the_preview_count(client_for, marketer, settings, monkeypatch):
    import crm.pagination

    monkeypatch.setattr(crm.pagination, "COUNT_CAP", 3)
    for i in range(5):
        CustomerFactory(name=f"C{i}")
    response = client_for(marketer).post(reverse("customers:segment_preview"), {
        "r-op": "and", "r.0-field": "name", "r.0-operator": "is_not_empty"})
    assert response.context["count"] == 3 and response.context["capped"] is True


def test_it_keeps_preview_queries_bounded(client_for, marketer, django_assert_num_queries):
    client = client_for(marketer)
    vip = TagFactory(name="VIP")
    data = {"r-op": "and", "r.0-field": "name", "r.0-operator": "is_not_empty",
            "r.1-field": "tags", "r.1-operator": "has_none", "r.1-value": str(vip.uuid)}
    CustomerFactory()
    client.post(reverse("customers:segment_preview"), data)  # warm up the session
    with django_assert_num_queries(4) as few:
        client.post(reverse("customers:segment_preview"), data)
    for _i in range(25):
        CustomerFactory()
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.post(reverse("customers:segment_preview"), data)
    assert response.context["count"] == 26


def test_it_edits_a_segment_with_optimistic_locking(client_for, marketer, segment):
    client = client_for(marketer)
    url = reverse("customers:segment_edit", kwargs={"uuid": segment.uuid})
    data = {"name": "Renamed", "description": "", "version": segment.version, "r-op": "and",
            "r.0-field": "status", "r.0-operator": "is", "r.0-value": "churned"}
    assert client.post(url, data).status_code == 302
    segment.refresh_from_db()
    assert segment.name == "Renamed" and segment.rules["rules"][0]["value"] == "churned"
    # The same, older form again: refused with a message, nothing changes.
    response = client.post(url, {**data, "name": "Stale", "version": 1})
    assert response.status_code == 200
    assert "Someone else changed this record" in response.content.decode()
    segment.refresh_from_db()
    assert segment.name == "Renamed"


def test_it_does_not_change_the_kind_on_edit(client_for, marketer, segment):
    client_for(marketer).post(reverse("customers:segment_edit", kwargs={"uuid": segment.uuid}), {
        "name": "S", "kind": "static", "version": segment.version, "r-op": "and",
        "r.0-field": "status", "r.0-operator": "is", "r.0-value": "active"})
    segment.refresh_from_db()
    assert segment.kind == "rules"


def test_it_soft_deletes_a_segment(client_for, marketer, segment):
    client = client_for(marketer)
    response = client.post(reverse("customers:segment_delete", kwargs={"uuid": segment.uuid}))
    assert response.status_code == 302
    segment.refresh_from_db()
    assert segment.deleted_at is not None
    assert client.get(reverse("customers:segment_list")).context["rows"] == []


def test_it_shows_the_rules_in_words_and_the_count(client_for, marketer, segment,
                                                   own_customer, team_customer):
    CustomerFactory(name="Gone", status="churned")
    response = client_for(marketer).get(reverse("customers:segment_detail",
                                                 kwargs={"uuid": segment.uuid}))
    html = response.content.decode()
    assert "Status is Active" in html
    assert response.context["page"].count == 2
    assert own_customer.name in html and "Gone" not in html


def test_it_shows_the_last_counted_size_on_the_list(client_for, marketer, segment,
                                                    own_customer):
    client = client_for(marketer)
    html = client.get(reverse("customers:segment_list")).content.decode()
    assert "open to count" in html
    client.get(reverse("customers:segment_detail", kwargs={"uuid": segment.uuid}))
    response = client.get(reverse("customers:segment_list"))
    assert response.context["rows"][0][1]["count"] == 1


def test_it_adds_and_removes_static_members(client_for, manager, static_segment,
                                            team_customer, other_customer):
    client = client_for(manager)
    add = reverse("customers:segment_member_add", kwargs={"uuid": static_segment.uuid})
    response = client.post(add, {"code": team_customer.code.lower()}, follow=True)
    assert "was added to the list" in response.content.decode()
    # Someone else's customer: the same answer as a code that doesn't exist.
    response = client.post(add, {"code": other_customer.code}, follow=True)
    assert "No customer you can see has the code" in response.content.decode()
    response = client.post(add, {"code": "NOPE"}, follow=True)
    assert "No customer you can see has the code" in response.content.decode()
    assert set(SegmentMember.objects.values_list("customer__name", flat=True)) == {
        "Acme Robotics", "Beta Foods"}
    remove = reverse("customers:segment_member_remove", kwargs={
        "uuid": static_segment.uuid, "customer_uuid": team_customer.uuid})
    response = client.post(remove, follow=True)
    assert "was removed from the list" in response.content.decode()
    assert list(SegmentMember.objects.values_list("customer__name", flat=True)) == [
        "Acme Robotics"]


def test_it_refuses_adding_members_to_a_rule_based_segment(client_for, marketer, segment,
                                                           own_customer):
    response = client_for(marketer).post(
        reverse("customers:segment_member_add", kwargs={"uuid": segment.uuid}),
        {"code": own_customer.code}, follow=True)
    assert "Only a static list" in response.content.decode()
    assert not SegmentMember.objects.exists()


# --- views: query counts --------------------------------------------------------------------------
def test_it_lists_segments_with_a_fixed_number_of_queries(client_for, marketer,
                                                         django_assert_num_queries):
    client = client_for(marketer)
    services.segment_create(actor=marketer, name="S0", rules=rules(rule("name", "is_empty")))
    client.get(reverse("customers:segment_list"))
    with django_assert_num_queries(3) as few:
        client.get(reverse("customers:segment_list"))
    for i in range(1, 21):
        services.segment_create(actor=marketer, name=f"S{i}", kind="static")
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(reverse("customers:segment_list"))
    assert len(response.context["rows"]) == 21


def test_it_shows_a_segment_with_a_fixed_number_of_queries(client_for, manager, static_segment,
                                                           team, django_assert_num_queries):
    client = client_for(manager)
    url = reverse("customers:segment_detail", kwargs={"uuid": static_segment.uuid})
    client.get(url)
    # 6: a manager's teams, shares, managed teams and their members come in one query.
    with django_assert_num_queries(6) as few:
        client.get(url)
    more = [CustomerFactory(owner=manager, team=team, city="X") for _i in range(20)]
    services.segment_members_add(actor=manager, segment=static_segment, customers=more)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.context["page"].count == 21


def test_it_shows_a_rule_segment_with_a_fixed_number_of_queries(client_for, marketer, segment,
                                                                django_assert_num_queries):
    client = client_for(marketer)
    url = reverse("customers:segment_detail", kwargs={"uuid": segment.uuid})
    CustomerFactory()
    client.get(url)
    with django_assert_num_queries(5) as few:
        client.get(url)
    for _i in range(20):
        CustomerFactory()
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.context["page"].count == 21


def test_it_shows_the_stored_rules_in_the_edit_form(client_for, marketer, rep):
    segment = services.segment_create(actor=marketer, name="Stored", rules=rules(
        rule("status", "any_of", ["at_risk", "churned"]),
        rules(rule("owner", "is", str(rep.uuid)),
              rule("created_at", "between", ["2024-01-01", "2024-02-01"]), op="or")))
    html = client_for(marketer).get(
        reverse("customers:segment_edit", kwargs={"uuid": segment.uuid})).content.decode()
    assert '<option value="at_risk" selected>' in html
    assert '<option value="churned" selected>' in html
    assert f'<option value="{rep.uuid}" selected>' in html
    assert 'name="r.1-op"' in html and '<option value="or" selected>' in html
    assert 'name="r.1.1-value2" id="rb-r-1-1-value2" value="2024-02-01"' in html
