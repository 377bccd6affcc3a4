"""Lead pages: list, detail, create, edit, status, trash; access and query counts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import Event
from customers.models import DictionaryEntry
from sales import lead_services
from sales.lead_ui import register
from sales.models import Lead, LeadScoreRule
from tests.factories import DictionaryEntryFactory, LeadFactory

pytestmark = pytest.mark.django_db

LIST = reverse("sales:lead_list")
CREATE = reverse("sales:lead_create")
TRASH = reverse("sales:lead_trash")


@pytest.fixture(autouse=True)
def _nav():
    register()


@pytest.fixture
def lead(rep, team):
    return lead_services.lead_create(actor=rep, data={
        "first_name": "Lina", "last_name": "Lead", "company": "Zeta Labs",
        "email": "lina@zeta.example", "phone": "+86 138 0013 8000", "team": team})


def _url(name, lead):
    return reverse(f"sales:{name}", kwargs={"uuid": lead.uuid})


OBJECT_GETS = ["lead_detail", "lead_edit"]
OBJECT_POSTS = ["lead_edit", "lead_status", "lead_delete"]


# --- access -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["lead_list", "lead_create", "lead_trash"])
def test_it_sends_anonymous_users_to_login(client, name):
    response = client.get(reverse(f"sales:{name}"))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("name", [*OBJECT_GETS, "lead_status", "lead_delete", "lead_restore"])
def test_it_sends_anonymous_users_to_login_for_a_lead(client, lead, name):
    response = client.post(_url(name, lead)) if name not in OBJECT_GETS else client.get(
        _url(name, lead))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("name", [*OBJECT_GETS, *OBJECT_POSTS])
def test_it_checks_ownership(client_for, outsider, lead, name):
    client = client_for(outsider)
    if name in OBJECT_GETS:
        assert client.get(_url(name, lead)).status_code == 404
    assert client.post(_url(name, lead), {"status": "contacted"}).status_code == 404


def test_it_hides_a_deleted_lead_from_outsiders_on_restore(client_for, outsider, rep, lead):
    lead_services.lead_delete(actor=rep, lead=lead)
    assert client_for(outsider).post(_url("lead_restore", lead)).status_code == 404


@pytest.mark.parametrize("name", OBJECT_POSTS)
def test_it_requires_write_access(client_for, analyst, lead, name):
    client = client_for(analyst)
    assert client.get(_url("lead_detail", lead)).status_code == 200
    assert client.post(_url(name, lead), {"status": "contacted"}).status_code == 403
    lead.refresh_from_db()
    assert lead.status == "new" and lead.deleted_at is None


def test_it_refuses_create_and_restore_to_the_analyst(client_for, analyst, rep, lead):
    client = client_for(analyst)
    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, {"first_name": "X", "email": "x@example.com"}).status_code == 403
    lead_services.lead_delete(actor=rep, lead=lead)
    assert client.post(_url("lead_restore", lead)).status_code == 403


def test_it_shows_the_nav_entry_to_lead_viewers_only(client_for, rep, role_groups):
    from crm.navigation import items_for
    from tests.factories import UserFactory

    assert "leads" in [i.key for i in items_for(rep)]
    assert "leads" not in [i.key for i in items_for(UserFactory())]


# --- list -------------------------------------------------------------------------------------
def test_it_lists_only_visible_leads(client_for, rep, outsider, lead):
    LeadFactory(first_name="Hidden", owner=outsider)
    response = client_for(rep).get(LIST)
    assert [x["id"] for x in response.context["page"].object_list] == [lead.pk]
    assert b"Hidden" not in response.content


def test_it_filters_and_searches(client_for, rep, team, lead):
    source = DictionaryEntryFactory(kind=DictionaryEntry.Kind.SOURCE, code="fair")
    other = lead_services.lead_create(actor=rep, data={
        "first_name": "Omar", "company": "Other Co", "email": "omar@other.example",
        "source": source})
    Lead.objects.filter(pk=other.pk).update(score=50, status="qualified")
    client = client_for(rep)

    def names(**params):
        response = client.get(LIST, params)
        assert response.status_code == 200
        return [x["first_name"] for x in response.context["page"].object_list]

    assert names(q="zeta") == ["Lina"]
    assert names(q="8000") == ["Lina"]  # phone digits
    assert names(q="omar@") == ["Omar"]
    assert names(status="qualified") == ["Omar"]
    assert names(source=str(source.uuid)) == ["Omar"]
    assert names(team=str(team.uuid)) == ["Lina"]
    assert names(owner=str(rep.uuid), ordering="-score") == ["Omar", "Lina"]
    assert names(score_min="10") == ["Omar"]
    assert names(score_max="10") == ["Lina"]
    assert names(created_after="2000-01-01", ordering="score") == ["Lina", "Omar"]
    assert names(created_before="2000-01-01") == []


def test_it_ignores_bad_filter_input_with_a_message(client_for, rep, lead):
    response = client_for(rep).get(LIST, {"score_min": "lots", "ordering": "evil",
                                          "after": "garbage"})
    assert response.status_code == 200
    assert response.context["filter_errors"]
    assert [x["id"] for x in response.context["page"].object_list] == [lead.pk]


def test_it_returns_only_the_results_for_htmx(client_for, rep, lead):
    response = client_for(rep).get(LIST, HTTP_HX_REQUEST="true")
    assert b"lead-results" not in response.content
    assert b"Lina" in response.content
    assert b"<html" not in response.content


def test_it_pages_with_a_keyset_cursor(client_for, rep, team):
    LeadFactory.create_batch(55, owner=rep, team=team)
    client = client_for(rep)
    first = client.get(LIST).context["page"]
    assert len(first.object_list) == 50 and first.has_next
    second = client.get(LIST, {"after": first.next_cursor}).context["page"]
    assert len(second.object_list) == 5
    assert not {x["id"] for x in first.object_list} & {x["id"] for x in second.object_list}


def _seed(rep, team, count):
    source = DictionaryEntryFactory(kind=DictionaryEntry.Kind.SOURCE, code="seed")
    region = DictionaryEntryFactory(kind=DictionaryEntry.Kind.REGION, code="north")
    LeadFactory.create_batch(count, owner=rep, team=team, source=source, region=region)


LIST_QUERIES = 5  # the owner filter is an autocomplete: no user list; teams and sources in one
TRASH_QUERIES = 4


@pytest.mark.parametrize("url", [LIST, TRASH])
def test_the_query_count_does_not_grow_with_rows(client_for, rep, team, url,
                                                 django_assert_num_queries):
    client = client_for(rep)

    def measure():
        client.get(url)
        with django_assert_num_queries(LIST_QUERIES if url == LIST else TRASH_QUERIES):
            response = client.get(url)
        assert response.status_code == 200
        return len(response.context["page"].object_list)

    _seed(rep, team, 2)
    if url == TRASH:
        Lead.objects.update(deleted_at="2026-01-01T00:00:00Z")
    assert measure() == 2
    _seed(rep, team, 40)
    if url == TRASH:
        Lead.objects.update(deleted_at="2026-01-01T00:00:00Z")
    assert measure() == 42


def test_the_list_stays_within_twelve_queries(client_for, rep, team,
                                              django_assert_max_num_queries):
    _seed(rep, team, 3)
    client = client_for(rep)
    client.get(LIST)
    with django_assert_max_num_queries(12):
        client.get(LIST, {"q": "a", "status": "new", "ordering": "-score"})


# --- detail -----------------------------------------------------------------------------------
def test_it_shows_the_score_breakdown_and_status_buttons(client_for, rep, team):
    LeadScoreRule.objects.create(label="Has e-mail", field="email", points=10)
    LeadScoreRule.objects.create(label="Has company", field="company", points=7)
    lead = lead_services.lead_create(actor=rep, data={
        "first_name": "Sky", "company": "Sky Co", "email": "sky@example.com"})
    response = client_for(rep).get(_url("lead_detail", lead))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Has e-mail" in content and "+10" in content and "Has company" in content
    assert 'data-testid="lead-score">17<' in content
    assert 'name="status" value="qualified"' in content


def test_it_links_to_conversion_only_when_allowed_and_not_converted(client_for, rep, analyst,
                                                                    lead):
    try:
        convert_url = reverse("sales:lead_convert", kwargs={"uuid": lead.uuid})
    except Exception:
        convert_url = None
    rep_page = client_for(rep).get(_url("lead_detail", lead)).content.decode()
    if convert_url:
        assert convert_url in rep_page
    analyst_page = client_for(analyst).get(_url("lead_detail", lead)).content.decode()
    assert 'data-testid="convert-lead"' not in analyst_page
    Lead.objects.filter(pk=lead.pk).update(status="converted")
    assert 'data-testid="convert-lead"' not in client_for(rep).get(
        _url("lead_detail", lead)).content.decode()


def test_the_detail_query_count_is_constant(client_for, rep, team, django_assert_num_queries):
    client = client_for(rep)

    def measure(lead):
        client.get(_url("lead_detail", lead))
        with django_assert_num_queries(DETAIL_QUERIES):
            assert client.get(_url("lead_detail", lead)).status_code == 200

    measure(lead_services.lead_create(actor=rep, data={"first_name": "Q", "email": "q@x.io"}))
    for i in range(6):
        LeadScoreRule.objects.create(label=f"R{i}", field="email", points=i + 1)
    rich = lead_services.lead_create(actor=rep, data={"first_name": "R", "email": "r@x.io"})
    assert len(rich.score_breakdown) == 6
    measure(rich)


DETAIL_QUERIES = 3


# --- create, edit, status, trash ---------------------------------------------------------
def test_it_creates_a_lead_and_records_the_event(client_for, rep):
    response = client_for(rep).post(CREATE, {
        "first_name": "New", "last_name": "Person", "email": "new@example.com",
        "company": "NewCo"})
    lead = Lead.objects.get(email="new@example.com")
    assert response.status_code == 302 and response["Location"] == _url("lead_detail", lead)
    assert lead.owner == rep and lead.status == "new"
    event = Event.objects.get(name="lead.created", subject_id=str(lead.pk))
    assert event.payload["channel"] == "staff" and event.actor == rep


def test_it_rejects_bad_input_and_creates_nothing(client_for, rep):
    response = client_for(rep).post(CREATE, {"first_name": "", "email": "not-an-email"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Lead.objects.exists()
    response = client_for(rep).post(CREATE, {"first_name": "Nobody"})
    assert "e-mail address or a phone number" in response.content.decode()
    assert not Lead.objects.exists()


def test_it_edits_with_optimistic_locking(client_for, rep, lead):
    client = client_for(rep)
    data = {"first_name": "Lina", "last_name": "Changed", "email": lead.email,
            "owner": rep.pk, "team": lead.team_id, "version": lead.version}
    assert client.post(_url("lead_edit", lead), data).status_code == 302
    lead.refresh_from_db()
    assert lead.last_name == "Changed"
    stale = client.post(_url("lead_edit", lead), {**data, "last_name": "Stale"})
    assert stale.status_code == 200
    assert "Someone else changed this record" in stale.content.decode()
    lead.refresh_from_db()
    assert lead.last_name == "Changed"
    assert Event.objects.filter(name="lead.updated", subject_id=str(lead.pk)).count() == 1


def test_it_changes_the_status(client_for, rep, lead):
    client = client_for(rep)
    response = client.post(_url("lead_status", lead), {"status": "qualified",
                                                        "version": lead.version})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == "qualified"
    assert Event.objects.filter(name="lead.status_changed").exists()
    client.post(_url("lead_status", lead), {"status": "converted"})
    lead.refresh_from_db()
    assert lead.status == "qualified"


def test_it_moves_to_the_trash_and_restores(client_for, rep, lead):
    client = client_for(rep)
    assert client.post(_url("lead_delete", lead)).status_code == 302
    lead.refresh_from_db()
    assert lead.deleted_at is not None
    assert client.get(_url("lead_detail", lead)).status_code == 404
    assert lead in client.get(TRASH).context["page"].object_list
    assert client.post(_url("lead_restore", lead)).status_code == 302
    lead.refresh_from_db()
    assert lead.deleted_at is None
    names = set(Event.objects.filter(subject_id=str(lead.pk)).values_list("name", flat=True))
    assert {"lead.deleted", "lead.restored"} <= names


# --- review fixes -------------------------------------------------------------------------------
def test_it_matches_short_search_terms_exactly(client_for, rep, team, lead):
    LeadFactory(first_name="Al", last_name="Short", owner=rep, team=team)
    LeadFactory(first_name="Alma", last_name="Longer", owner=rep, team=team)
    client = client_for(rep)
    names = [x["first_name"] for x in client.get(LIST, {"q": "al"}).context["page"].object_list]
    assert names == ["Al"]
    names = {x["first_name"] for x in client.get(LIST, {"q": "alm"}).context["page"].object_list}
    assert names == {"Alma"}


def test_it_renders_user_selects_as_autocompletes(client_for, admin, rep, lead):
    from tests.factories import UserFactory

    UserFactory(first_name="Zebedee")
    client = client_for(admin)
    pages = [LIST, CREATE, _url("lead_edit", lead), reverse("sales:webform_create"),
             reverse("sales:lead_rule_create", kwargs={"kind": "assignment"})]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert "data-autocomplete-url=" in html, page
        assert "Zebedee" not in html, page
    # The edit form keeps the current owner selected (its pk, as the model form expects).
    html = client.get(_url("lead_edit", lead)).content.decode()
    assert f'value="{rep.pk}" selected' in html


def test_it_keeps_the_unassigned_owner_filter(client_for, manager, rep, team, lead):
    LeadFactory(first_name="Nobody", owner=None, team=None)
    response = client_for(manager).get(LIST, {"owner": "none"})
    assert [x["first_name"] for x in response.context["page"].object_list] == ["Nobody"]
    html = response.content.decode()
    assert 'value="none" selected' in html and "Nobody (unassigned)" in html
    assert "null=1" in html


def test_the_owner_autocomplete_offers_nobody_and_users(client, client_for, rep):
    url = reverse("sales:autocomplete_owners")
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    data = client_for(rep).get(url, {"null": "1"}).json()["results"]
    assert data[0] == {"id": "none", "text": "Nobody (unassigned)"}
    data = client_for(rep).get(url, {"q": rep.first_name[:2]}).json()["results"]
    assert {"id": str(rep.uuid), "text": rep.get_full_name() or rep.email} in data
    assert all(r["id"] != "none" for r in data)


def test_web_form_round_robin_takes_turns_from_the_newest_lead(team, rep, manager):
    from sales.lead_assignment import last_web_form_owner
    from sales.models import WebForm

    form = WebForm.objects.create(name="RR", slug="rr", title="RR", thank_you_text="t",
                                  team=team)
    members = sorted([rep, manager], key=lambda u: u.pk)
    owners = [lead_services.lead_create(actor=None, web_form=form, data={
        "first_name": f"W{i}", "email": f"w{i}@web.example"}).owner for i in range(4)]
    assert owners == [*members, *members]
    assert last_web_form_owner(form) == members[1].pk


def test_it_counts_the_visible_leads_with_the_unassigned_pool(client_for, manager, rep, team,
                                                              outsider):
    """The count's branches: the team's leads, the owners' outside the team and, for a
    manager, the unassigned pool (no owner, no team); the outsider sees only their own."""
    from sales.selectors import capped_count_of_branches, visible_branches

    LeadFactory(owner=rep, team=team)
    LeadFactory(owner=rep)
    LeadFactory()  # the pool
    LeadFactory(owner=outsider)
    expected = {rep: 2, manager: 3, outsider: 1}
    for user, n in expected.items():
        assert capped_count_of_branches(Lead.objects.alive(),
                                        visible_branches(user, "lead")) == (n, False)
        page = client_for(user).get(reverse("sales:lead_list")).context["page"]
        assert (page.count, len(page.object_list)) == (n, n)
