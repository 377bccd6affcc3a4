"""Web-to-lead: the admin pages (forms and lead rules) and the public form."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import Event
from customers.models import DictionaryEntry
from sales.models import Lead, LeadAssignmentRule, LeadScoreRule, WebForm
from sales.views.public import RATE_LIMIT
from sales.views.webforms import embed_token
from tests.factories import DictionaryEntryFactory

pytestmark = pytest.mark.django_db

WF_LIST = reverse("sales:webform_list")
WF_CREATE = reverse("sales:webform_create")
RULES = reverse("sales:lead_rules")


@pytest.fixture
def web_form(rep):
    source = DictionaryEntryFactory(kind=DictionaryEntry.Kind.SOURCE, code="website",
                                    label="Website")
    DictionaryEntryFactory(kind=DictionaryEntry.Kind.REGION, code="east", label="East")
    return WebForm.objects.create(
        name="Contact us", slug="contact-us", title="Talk to our team",
        intro="Tell us about you.", fields=["company", "phone", "region", "message"],
        required_fields=["company"], consent_text="Send me news", thank_you_text="Thanks!",
        source=source, owner=rep)


def public_url(web_form, name="web_form"):
    return reverse(f"sales_public:{name}", kwargs={"slug": web_form.slug})


def edit_url(web_form):
    return reverse("sales:webform_edit", kwargs={"uuid": web_form.uuid})


GOOD = {"first_name": "Wendy", "email": "wendy@web.example", "company": "Web Co",
        "phone": "+1 555 0100", "region": "east", "message": "Call me", "marketing_consent": "on"}


# --- admin pages: access -------------------------------------------------------------------------
def _admin_urls(web_form, rule):
    return [
        ("get", WF_LIST), ("get", WF_CREATE), ("get", edit_url(web_form)),
        ("post", reverse("sales:webform_toggle", kwargs={"uuid": web_form.uuid})),
        ("get", RULES),
        ("get", reverse("sales:lead_rule_create", kwargs={"kind": "scoring"})),
        ("get", reverse("sales:lead_rule_edit", kwargs={"kind": "scoring", "uuid": rule.uuid})),
        ("post", reverse("sales:lead_rule_delete",
                         kwargs={"kind": "scoring", "uuid": rule.uuid})),
    ]


@pytest.fixture
def score_rule(db):
    return LeadScoreRule.objects.create(label="Has phone", field="phone", points=5)


def test_it_sends_anonymous_users_to_login(client, web_form, score_rule):
    for method, url in _admin_urls(web_form, score_rule):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


@pytest.mark.parametrize("persona", ["rep", "analyst", "outsider", "manager"])
def test_it_refuses_non_admins(request, client_for, web_form, score_rule, persona):
    client = client_for(request.getfixturevalue(persona))
    for method, url in _admin_urls(web_form, score_rule):
        assert getattr(client, method)(url).status_code == 403, url
    web_form.refresh_from_db()
    assert web_form.is_active and LeadScoreRule.objects.exists()


def test_it_answers_404_for_an_unknown_form_or_rule_kind(client_for, admin):
    client = client_for(admin)
    assert client.get(reverse("sales:webform_edit",
                              kwargs={"uuid": "00000000-0000-0000-0000-000000000000"})
                      ).status_code == 404
    assert client.get(reverse("sales:lead_rule_create", kwargs={"kind": "nope"})
                      ).status_code == 404


# --- admin pages: behaviour ------------------------------------------------------------------
def test_it_creates_a_web_form(client_for, admin, team):
    response = client_for(admin).post(WF_CREATE, {
        "name": "Demo", "slug": "demo", "title": "Book a demo", "fields": ["company", "phone"],
        "required_fields": ["phone"], "thank_you_text": "We will call.", "team": team.pk,
        "is_active": "on"})
    web_form = WebForm.objects.get(slug="demo")
    assert response.status_code == 302 and response["Location"] == edit_url(web_form)
    assert web_form.fields == ["company", "phone"] and web_form.required_fields == ["phone"]
    assert Event.objects.filter(name="webform.created").exists()


def test_it_rejects_a_required_field_that_is_not_shown(client_for, admin):
    response = client_for(admin).post(WF_CREATE, {
        "name": "Bad", "slug": "bad", "title": "T", "fields": ["company"],
        "required_fields": ["phone"], "thank_you_text": "x"})
    assert response.status_code == 200
    assert "Required but not shown" in response.content.decode()
    assert not WebForm.objects.exists()


def test_it_shows_the_public_url_and_both_snippets(client_for, admin, web_form):
    response = client_for(admin).get(edit_url(web_form))
    content = response.content.decode()
    assert "http://testserver/forms/contact-us/" in content
    assert "&lt;iframe src=&quot;http://testserver/forms/contact-us/?embed=1" in content
    assert "&lt;form method=&quot;post&quot; action=&quot;http://testserver/forms/contact-us/" \
           "submit/" in content
    assert embed_token(web_form) in content
    assert 'data-copy-target="html-snippet"' in content


def test_it_edits_with_optimistic_locking(client_for, admin, web_form, rep):
    client = client_for(admin)
    data = {"name": "Contact", "slug": "contact-us", "title": "New title",
            "fields": ["company"], "thank_you_text": "Thanks", "owner": rep.pk,
            "is_active": "on", "version": web_form.version}
    assert client.post(edit_url(web_form), data).status_code == 302
    web_form.refresh_from_db()
    assert web_form.title == "New title"
    stale = client.post(edit_url(web_form), {**data, "title": "Stale"})
    assert "Someone else changed this record" in stale.content.decode()
    web_form.refresh_from_db()
    assert web_form.title == "New title"


def test_it_deactivates_and_reactivates(client_for, admin, web_form):
    client = client_for(admin)
    toggle = reverse("sales:webform_toggle", kwargs={"uuid": web_form.uuid})
    client.post(toggle)
    web_form.refresh_from_db()
    assert not web_form.is_active
    assert Client().get(public_url(web_form)).status_code == 404
    client.post(toggle)
    web_form.refresh_from_db()
    assert web_form.is_active


def test_the_web_form_list_query_count_is_constant(client_for, admin, rep, team,
                                                   django_assert_num_queries):
    client = client_for(admin)

    def measure(count):
        client.get(WF_LIST)
        with django_assert_num_queries(2):
            response = client.get(WF_LIST)
        assert len(response.context["web_forms"]) == count

    WebForm.objects.create(name="A", slug="a", title="A", thank_you_text="t", owner=rep)
    measure(1)
    for i in range(10):
        WebForm.objects.create(name=f"B{i}", slug=f"b{i}", title="B", thank_you_text="t",
                               team=team)
    measure(11)


def test_it_manages_assignment_and_scoring_rules(client_for, admin, team, rep):
    client = client_for(admin)
    create = reverse("sales:lead_rule_create", kwargs={"kind": "assignment"})
    bad = client.post(create, {"name": "RR", "order": 1, "strategy": "round_robin"})
    assert "Round-robin needs a team." in bad.content.decode()
    assert client.post(create, {"name": "RR", "order": 1, "strategy": "round_robin",
                                "team": team.pk, "is_active": "on"}).status_code == 302
    rule = LeadAssignmentRule.objects.get()
    edit = reverse("sales:lead_rule_edit", kwargs={"kind": "assignment", "uuid": rule.uuid})
    assert client.post(edit, {"name": "To Bob", "order": 2, "strategy": "user",
                              "user": rep.pk, "is_active": "on",
                              "version": rule.version}).status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.user) == ("To Bob", rep)

    score_create = reverse("sales:lead_rule_create", kwargs={"kind": "scoring"})
    bad = client.post(score_create, {"label": "X", "field": "title", "operator": "contains",
                                     "points": 3, "order": 0})
    assert "needs a value" in bad.content.decode()
    assert client.post(score_create, {"label": "Director", "field": "title",
                                      "operator": "contains", "value": "director",
                                      "points": 3, "order": 0, "is_active": "on"}
                       ).status_code == 302
    page = client.get(RULES).content.decode()
    assert "To Bob" in page and "Director" in page
    score = LeadScoreRule.objects.get()
    client.post(reverse("sales:lead_rule_delete", kwargs={"kind": "scoring",
                                                         "uuid": score.uuid}))
    assert not LeadScoreRule.objects.exists()


def test_the_rules_page_query_count_is_constant(client_for, admin, team,
                                                django_assert_num_queries):
    client = client_for(admin)

    def measure():
        client.get(RULES)
        with django_assert_num_queries(3):
            assert client.get(RULES).status_code == 200

    LeadAssignmentRule.objects.create(name="R0", strategy="round_robin", team=team)
    measure()
    for i in range(8):
        LeadAssignmentRule.objects.create(name=f"R{i + 1}", strategy="round_robin", team=team)
        LeadScoreRule.objects.create(label=f"S{i}", field="email", points=1)
    measure()


# --- the public form -----------------------------------------------------------------------
def test_it_shows_the_public_form_without_staff_navigation(web_form):
    response = Client().get(public_url(web_form))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Talk to our team" in content and 'name="company"' in content
    assert 'name="title"' not in content  # not chosen for this form
    assert "navbar" not in content and "Sign out" not in content
    assert 'class="d-none" aria-hidden="true"' in content  # the honeypot


def test_it_may_be_framed_anywhere(web_form):
    response = Client().get(public_url(web_form))
    assert "X-Frame-Options" not in response.headers
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    staff = Client().get("/login/")
    assert "frame-ancestors 'none'" in staff.headers["Content-Security-Policy"]


def test_a_submission_creates_an_assigned_lead_and_an_event(web_form, rep):
    LeadScoreRule.objects.create(label="Has phone", field="phone", points=5)
    response = Client().post(public_url(web_form), GOOD)
    assert response.status_code == 302
    assert response["Location"] == public_url(web_form, "web_form_thanks")
    lead = Lead.objects.get()
    assert (lead.first_name, lead.company, lead.region.code, lead.source.code) == (
        "Wendy", "Web Co", "east", "website")
    assert lead.owner == rep and lead.web_form == web_form and lead.marketing_consent
    assert lead.score == 5
    created = Event.objects.get(name="lead.created")
    assert created.actor is None
    assert created.payload["channel"] == "web_form"
    assert created.payload["web_form"] == "contact-us"
    assert created.payload["email"] == "wendy@web.example"
    assert Event.objects.filter(name="lead.assigned").exists()
    web_form.refresh_from_db()
    assert web_form.submission_count == 1
    thanks = Client().get(response["Location"])
    assert "Thanks!" in thanks.content.decode()


def test_bad_input_rerenders_with_errors_and_creates_nothing(web_form):
    response = Client().post(public_url(web_form), {**GOOD, "email": "nope", "company": "",
                                                    "region": "atlantis"})
    content = response.content.decode()
    assert response.status_code == 400
    assert 'data-testid="form-errors"' in content
    assert "Enter a valid email address." in content
    assert "This field is required." in content
    assert 'value="Wendy"' in content  # what was typed is kept
    assert not Lead.objects.exists() and not Event.objects.filter(name="lead.created").exists()


def test_the_honeypot_shows_thanks_and_creates_nothing(web_form):
    response = Client().post(public_url(web_form), {**GOOD, "homepage": "http://spam"})
    assert response.status_code == 302
    assert response["Location"] == public_url(web_form, "web_form_thanks")
    assert not Lead.objects.exists()


def test_the_rate_limit_answers_429_and_creates_nothing(web_form):
    client = Client(REMOTE_ADDR="203.0.113.7")
    for i in range(RATE_LIMIT):
        assert client.post(public_url(web_form),
                           {**GOOD, "email": f"w{i}@web.example"}).status_code == 302
    response = client.post(public_url(web_form), {**GOOD, "email": "late@web.example"})
    assert response.status_code == 429
    assert "too often" in response.content.decode()
    assert Lead.objects.count() == RATE_LIMIT
    assert not Lead.objects.filter(email="late@web.example").exists()
    # Another address is not affected.
    other = Client(REMOTE_ADDR="198.51.100.9").post(public_url(web_form),
                                                    {**GOOD, "email": "o@web.example"})
    assert other.status_code == 302


def test_an_inactive_or_unknown_form_is_not_found(web_form):
    WebForm.objects.filter(pk=web_form.pk).update(is_active=False)
    assert Client().get(public_url(web_form)).status_code == 404
    assert Client().post(public_url(web_form), GOOD).status_code == 404
    assert Client().get("/forms/nothing-here/").status_code == 404
    assert not Lead.objects.exists()


def test_the_page_keeps_its_csrf_check(web_form):
    client = Client(enforce_csrf_checks=True)
    assert client.post(public_url(web_form), GOOD).status_code == 403
    page = client.get(public_url(web_form))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    assert client.post(public_url(web_form), {**GOOD, "csrfmiddlewaretoken": token}
                       ).status_code == 302
    assert Lead.objects.count() == 1


def test_the_embedded_form_posts_with_the_signed_token(web_form):
    client = Client(enforce_csrf_checks=True)
    framed = client.get(public_url(web_form) + "?embed=1").content.decode()
    assert f'value="{embed_token(web_form)}"' in framed
    assert "csrfmiddlewaretoken" not in framed
    submit = public_url(web_form, "web_form_submit")
    assert client.post(submit, GOOD).status_code == 403
    assert client.post(submit, {**GOOD, "token": "forged:token"}).status_code == 403
    other = WebForm.objects.create(name="O", slug="other", title="O", thank_you_text="t")
    assert client.post(submit, {**GOOD, "token": embed_token(other)}).status_code == 403
    assert not Lead.objects.exists()
    response = client.post(submit, {**GOOD, "token": embed_token(web_form)})
    assert response.status_code == 302
    assert response["Location"] == public_url(web_form, "web_form_thanks") + "?embed=1"
    assert Lead.objects.count() == 1
