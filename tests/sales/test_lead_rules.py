"""Lead assignment (web form owner rule, assignment rules, round-robin) and lead scoring."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from accounts import roles
from crm.models import Event
from customers.models import DictionaryEntry
from sales import lead_services
from sales.lead_scoring import score_lead
from sales.models import Lead, LeadAssignmentRule, LeadScoreRule, WebForm
from tests.factories import DictionaryEntryFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def web_source(db):
    return DictionaryEntryFactory(kind=DictionaryEntry.Kind.SOURCE, code="web", label="Web")


@pytest.fixture
def east(db):
    return DictionaryEntryFactory(kind=DictionaryEntry.Kind.REGION, code="east", label="East")


@pytest.fixture
def trio(role_groups):
    members = [UserFactory(email=f"member{i}@example.com", roles=[roles.SALES])
               for i in range(3)]
    return TeamFactory(name="Round Table", members=members), members


def _create(actor, **data):
    data.setdefault("first_name", "Lee")
    data.setdefault("email", "lee@example.com")
    return lead_services.lead_create(actor=actor, data=data)


def test_it_rotates_round_robin_fairly_across_three_members(admin, trio):
    team, members = trio
    LeadAssignmentRule.objects.create(name="All", strategy="round_robin", team=team)
    owners = [_create(admin, email=f"l{i}@example.com").owner for i in range(6)]
    assert Counter(o.pk for o in owners) == {m.pk: 2 for m in members}
    # In turn, not two in a row.
    assert [o.pk for o in owners] == [m.pk for m in members] * 2
    assert LeadAssignmentRule.objects.get().last_assigned_id == members[2].pk


def test_it_skips_inactive_members(admin, trio):
    team, members = trio
    members[1].is_active = False
    members[1].save(update_fields=["is_active"])
    LeadAssignmentRule.objects.create(name="All", strategy="round_robin", team=team)
    owners = [_create(admin, email=f"l{i}@example.com").owner_id for i in range(4)]
    assert owners == [members[0].pk, members[2].pk, members[0].pk, members[2].pk]


def test_it_applies_the_first_matching_rule_in_order(admin, rep, manager, trio, web_source,
                                                     east):
    team, members = trio
    LeadAssignmentRule.objects.create(name="Later, any lead", order=30, strategy="user",
                                      user=manager)
    LeadAssignmentRule.objects.create(name="East web", order=10, strategy="user", user=rep,
                                      match_source=web_source, match_region=east)
    LeadAssignmentRule.objects.create(name="Web", order=20, strategy="round_robin",
                                      team=team, match_source=web_source)
    LeadAssignmentRule.objects.create(name="Off", order=1, strategy="user",
                                      user=members[2], is_active=False)

    both = _create(admin, source=web_source, region=east)
    web_only = _create(admin, source=web_source, email="w@example.com")
    neither = _create(admin, email="n@example.com")

    assert (both.owner, both.assigned_by_rule.name) == (rep, "East web")
    assert (web_only.owner, web_only.team, web_only.assigned_by_rule.name) == (
        members[0], team, "Web")
    assert (neither.owner, neither.assigned_by_rule.name) == (manager, "Later, any lead")


def test_it_falls_through_a_round_robin_rule_without_active_members(admin, rep, role_groups):
    empty = TeamFactory(name="Empty", members=[])
    LeadAssignmentRule.objects.create(name="Nobody there", order=1, strategy="round_robin",
                                      team=empty)
    LeadAssignmentRule.objects.create(name="Fallback", order=2, strategy="user", user=rep)
    assert _create(admin).owner == rep


def test_it_keeps_an_explicit_owner_and_lets_the_creator_keep_an_unmatched_lead(
        rep, manager, trio):
    team, _members = trio
    chosen = _create(manager, owner=rep)
    assert chosen.owner == rep and chosen.assigned_by_rule is None
    kept = _create(rep, email="k@example.com")
    assert kept.owner == rep


def test_it_records_created_and_assigned_events(admin, trio):
    team, members = trio
    LeadAssignmentRule.objects.create(name="All", strategy="round_robin", team=team)
    lead = _create(admin, company="Acme")
    events = {e.name: e for e in Event.objects.filter(subject_id=str(lead.pk))}
    assert events["lead.created"].payload["channel"] == "staff"
    assert events["lead.created"].payload["company"] == "Acme"
    assert events["lead.assigned"].payload["owner"] == members[0].pk
    assert events["lead.assigned"].payload["rule"] == "All"


def test_it_uses_the_web_form_owner_rule_before_the_assignment_rules(admin, rep, manager,
                                                                       trio):
    team, members = trio
    LeadAssignmentRule.objects.create(name="All", strategy="user", user=manager)
    fixed = WebForm.objects.create(name="Fixed", slug="fixed", title="T", thank_you_text="Ty",
                                   owner=rep)
    rotating = WebForm.objects.create(name="Rot", slug="rot", title="T", thank_you_text="Ty",
                                      team=team)
    plain = WebForm.objects.create(name="Plain", slug="plain", title="T", thank_you_text="Ty")

    def submit(form, i):
        return lead_services.lead_create(
            actor=None, data={"first_name": "W", "email": f"w{i}@example.com"}, web_form=form)

    assert submit(fixed, 0).owner == rep
    assert [submit(rotating, i).owner_id for i in range(1, 7)] == [m.pk for m in members] * 2
    assert submit(plain, 9).owner == manager
    rotating.refresh_from_db()
    assert rotating.submission_count == 6


@pytest.mark.django_db(transaction=True)
def test_it_rotates_fairly_under_concurrent_creations(role_groups):
    admin_user = UserFactory(email="root@example.com", roles=[roles.ADMIN])
    members = [UserFactory(email=f"c{i}@example.com", roles=[roles.SALES]) for i in range(3)]
    team = TeamFactory(name="Concurrent", members=members)
    LeadAssignmentRule.objects.create(name="All", strategy="round_robin", team=team)

    def create(i):
        try:
            return _create(admin_user, email=f"c{i}@example.com").owner_id
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        owners = list(pool.map(create, range(12)))
    assert Counter(owners) == {m.pk: 4 for m in members}


# --- scoring ------------------------------------------------------------------------------------
@pytest.fixture
def score_rules(web_source):
    return [
        LeadScoreRule.objects.create(label="Has e-mail", field="email", points=10, order=1),
        LeadScoreRule.objects.create(label="Has phone", field="phone", points=5, order=2),
        LeadScoreRule.objects.create(label="From the web", field="source", operator="equals",
                                     value="web", points=20, order=3),
        LeadScoreRule.objects.create(label="A director", field="title", operator="contains",
                                     value="director", points=15, order=4),
        LeadScoreRule.objects.create(label="Free mail", field="email", operator="contains",
                                     value="@freemail.", points=-8, order=5),
        LeadScoreRule.objects.create(label="Switched off", field="company", points=99,
                                     is_active=False),
    ]


def test_it_scores_rule_by_rule(admin, score_rules, web_source):
    lead = _create(admin, email="x@freemail.example", title="Sales Director",
                   source=web_source)
    assert lead.score == 10 + 20 + 15 - 8
    assert lead.score_breakdown == [
        {"rule": "Has e-mail", "points": 10},
        {"rule": "From the web", "points": 20},
        {"rule": "A director", "points": 15},
        {"rule": "Free mail", "points": -8},
    ]


def test_it_recomputes_the_score_on_update(admin, score_rules):
    lead = _create(admin)
    assert lead.score == 10
    lead = lead_services.lead_update(actor=admin, lead=lead, data={"phone": "+86 138 0000"},
                                     expected_version=lead.version)
    lead.refresh_from_db()
    assert lead.score == 15
    assert [b["rule"] for b in lead.score_breakdown] == ["Has e-mail", "Has phone"]


def test_it_loads_the_rules_once(admin, score_rules, django_assert_num_queries):
    lead = Lead(first_name="A", email="a@example.com", phone="1", title="director")
    with django_assert_num_queries(1):
        score, breakdown = score_lead(lead)
    assert score == 30 and len(breakdown) == 3


def test_it_matches_consent_and_is_set_operators(admin):
    LeadScoreRule.objects.create(label="Consents", field="marketing_consent", points=7)
    rule = LeadScoreRule.objects.create(label="No consent", field="marketing_consent",
                                        operator="equals", value="no", points=-1)
    assert score_lead(Lead(first_name="A", marketing_consent=True))[0] == 7
    assert score_lead(Lead(first_name="A", marketing_consent=False))[0] == -1
    assert rule.pk
