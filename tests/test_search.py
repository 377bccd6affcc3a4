"""Global search: the registry, the customers' providers (typo-tolerant, access-scoped,
index-served), the navbar dropdown and the results page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from crm import search
from customers import search as customer_search
from customers.models import Customer
from customers.services import customer_soft_delete
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("search:page")
SUGGEST = reverse("search:suggest")


@pytest.fixture(autouse=True)
def _providers():
    customer_search.register()


def titles(response, kind=None) -> list[str]:
    return [result.title for group in response.context["groups"]
            if kind is None or group.kind == kind for result in group.results]


def kinds(response) -> list[str]:
    return [group.kind for group in response.context["groups"]]


# --- access ----------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [PAGE, SUGGEST])
def test_it_sends_anonymous_visitors_to_the_login_page(client, url):
    response = client.get(url, {"q": "acme"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_it_shows_an_outsider_none_of_the_reps_customers_or_contacts(
        client_for, outsider, own_customer, team_customer, other_customer):
    ContactFactory(customer=own_customer, first_name="Ada", last_name="Lovelace")
    client = client_for(outsider)
    for query in ("Acme Robotics", "Beta Foods", "Lovelace"):
        response = client.get(PAGE, {"q": query})
        assert response.status_code == 200
        assert response.context["groups"] == []
        html = response.content.decode()
        for customer in (own_customer, team_customer):
            assert str(customer.uuid) not in html
    # ... while their own customer is found.
    assert titles(client.get(PAGE, {"q": "Gamma"})) == ["Gamma Textiles"]


def test_it_shows_the_rep_their_own_and_their_teams_customers_only(
        client_for, rep, own_customer, team_customer, other_customer):
    client = client_for(rep)
    assert titles(client.get(PAGE, {"q": "Acme"})) == ["Acme Robotics"]
    assert titles(client.get(PAGE, {"q": "Beta Foods"})) == ["Beta Foods"]
    assert titles(client.get(PAGE, {"q": "Gamma Textiles"})) == []


def test_it_leaves_out_customers_and_contacts_in_the_trash(client_for, rep, manager,
                                                           own_customer):
    ContactFactory(customer=own_customer, first_name="Ada", last_name="Lovelace")
    customer_soft_delete(actor=manager, customer=own_customer)
    client = client_for(rep)
    assert client.get(PAGE, {"q": "Acme Robotics"}).context["groups"] == []
    assert client.get(PAGE, {"q": "Lovelace"}).context["groups"] == []


# --- finding -----------------------------------------------------------------------------------
def test_it_forgives_typos(client_for, rep, own_customer, team_customer):
    client = client_for(rep)
    assert titles(client.get(PAGE, {"q": "Acme Robtics"})) == ["Acme Robotics"]
    assert titles(client.get(PAGE, {"q": "acme robotcs"})) == ["Acme Robotics"]
    assert titles(client.get(PAGE, {"q": "Beta Fods"})) == ["Beta Foods"]


def test_it_finds_contacts_by_name_with_typos_by_email_and_by_phone_digits(
        client_for, rep, own_customer):
    ContactFactory(customer=own_customer, first_name="Margaret", last_name="Hamilton",
                   email="mh@apollo.example", phone="+86 (21) 5555-0199")
    ContactFactory(customer=own_customer, first_name="Grace", last_name="Hopper")
    client = client_for(rep)
    for query in ("Margaret Hamilton", "margret hamiltn", "Hamilton", "apollo.example",
                  "21 5555 0199"):
        response = client.get(PAGE, {"q": query})
        assert titles(response, "contacts") == ["Margaret Hamilton"], query
    result = client.get(PAGE, {"q": "Hamilton"}).context["groups"][0].results[0]
    assert result.subtitle.startswith("Acme Robotics")
    assert result.url == reverse("customers:detail", kwargs={"uuid": own_customer.uuid}) \
        + "#contacts"


def test_it_finds_customers_by_code_email_and_phone(client_for, rep, team):
    CustomerFactory(name="Zeta Labs", code="ZL-2024", email="hello@zeta.example",
                    phone="+1 (415) 555-0123", owner=rep)
    client = client_for(rep)
    for query in ("ZL-2024", "zeta.example", "415 555 0123", "4155550123"):
        assert titles(client.get(PAGE, {"q": query})) == ["Zeta Labs"], query


def test_it_puts_the_best_match_first(client_for, rep):
    for name in ("Acme Robotics Holdings International", "Acme", "Robotics Acme"):
        CustomerFactory(name=name, owner=rep)
    assert titles(client_for(rep).get(PAGE, {"q": "Acme"}))[0] == "Acme"


def test_it_groups_results_by_kind_in_the_registry_order(client_for, rep, own_customer):
    ContactFactory(customer=own_customer, first_name="Acme", last_name="Liaison")
    response = client_for(rep).get(PAGE, {"q": "acme"})
    assert kinds(response) == ["customers", "contacts"]
    labels = [str(group.label) for group in response.context["groups"]]
    assert labels == ["Customers", "Contacts"]
    html = response.content.decode()
    assert html.index('id="search-group-customers"') < html.index('id="search-group-contacts"')


def test_it_shows_at_most_5_per_kind_in_the_dropdown_and_20_on_the_page(client_for, rep):
    CustomerFactory.create_batch(25, name=factory_names("Acme Unit"), owner=rep)
    client = client_for(rep)
    dropdown = client.get(SUGGEST, {"q": "Acme Unit"})
    assert len(titles(dropdown)) == 5
    assert dropdown.content.decode().count("data-search-item") == 5 + 1  # + "All results"
    page = client.get(PAGE, {"q": "Acme Unit"})
    assert len(titles(page)) == 20
    assert page.context["groups"][0].may_have_more
    assert "refine your search" in page.content.decode()


def factory_names(prefix):
    import factory

    return factory.Sequence(lambda n: f"{prefix} {n:03d}")


def test_it_links_the_dropdown_to_the_full_results(client_for, rep, own_customer):
    html = client_for(rep).get(SUGGEST, {"q": "acme rob"}).content.decode()
    assert f'href="{PAGE}?q=acme%20rob"' in html
    assert reverse("customers:detail", kwargs={"uuid": own_customer.uuid}) in html


def test_it_says_when_nothing_is_found(client_for, rep, own_customer):
    client = client_for(rep)
    assert "Nothing found for “zzqx”" in client.get(SUGGEST, {"q": "zzqx"}).content.decode()
    assert "Nothing found for “zzqx”" in client.get(PAGE, {"q": "zzqx"}).content.decode()


def test_it_renders_only_the_results_for_htmx(client_for, rep, own_customer):
    response = client_for(rep).get(PAGE, {"q": "acme"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="search-group-customers"' in html


# --- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("query", [
    "", "   ", "a", " a ", "x" * 500, "'; DROP TABLE customers_customer; --",
    "%", "%%", "__", "\\", "Acme' OR '1'='1", "a\x00b", "<script>alert(1)</script>",
    "😀😀", "(((", "*:*",
])
def test_it_handles_bad_input_harmlessly(client_for, rep, own_customer, query):
    client = client_for(rep)
    for url in (PAGE, SUGGEST):
        response = client.get(url, {"q": query})
        assert response.status_code == 200
        assert "<script>alert(1)" not in response.content.decode()
    assert Customer.objects.filter(pk=own_customer.pk).exists()


def test_it_explains_a_query_too_short_or_too_long(client_for, rep, own_customer):
    client = client_for(rep)
    assert "Type at least 2 characters" in client.get(PAGE, {"q": "a"}).content.decode()
    assert "Type at least 2 characters" in client.get(SUGGEST, {"q": "a"}).content.decode()
    assert "at most 100 characters" in client.get(PAGE, {"q": "x" * 500}).content.decode()
    # An empty box: no message, no dropdown, no query.
    assert client.get(SUGGEST, {"q": ""}).content.decode().strip() == ""


def test_it_runs_no_search_for_bad_input(client_for, rep, own_customer,
                                         django_assert_num_queries):
    client = client_for(rep)
    client.get(PAGE)  # the first request stamps the session
    for query in ("", "a", "x" * 500, "%\x00"):
        with django_assert_num_queries(1):  # the user, roles and permissions; nothing else
            client.get(SUGGEST, {"q": query})


def test_it_treats_like_wildcards_literally(client_for, rep):
    CustomerFactory(name="100% Organic", owner=rep)
    CustomerFactory(name="Plain Goods", owner=rep)
    client = client_for(rep)
    assert titles(client.get(PAGE, {"q": "100%"})) == ["100% Organic"]
    assert "Plain Goods" not in titles(client.get(PAGE, {"q": "%%%"}))
    assert "Plain Goods" not in titles(client.get(PAGE, {"q": "__"}))


# --- speed -------------------------------------------------------------------------------------
def test_it_takes_substring_matches_first_and_similar_ones_only_when_those_are_few(
        rep, team, monkeypatch):
    """The candidates: (substring LIMIT n) UNION ALL (similar LIMIT n) LIMIT n, so a common
    term never runs the similarity operators; a rare or misspelt one still finds by them."""
    monkeypatch.setattr(customer_search, "CANDIDATES", 3)
    for name in ("Acme Robotics One", "Acme Robotics Two", "Acme Robotics Three"):
        CustomerFactory(name=name, owner=rep, team=team)
    CustomerFactory(name="Acme Robtics", owner=rep, team=team)  # similar, not a substring

    def names(query):
        return {c.name for c in customer_search.customer_matches(rep, query)}

    assert names("Robotics") == {"Acme Robotics One", "Acme Robotics Two",
                                 "Acme Robotics Three"}
    monkeypatch.setattr(customer_search, "CANDIDATES", 10)
    assert names("Robotics") == {"Acme Robotics One", "Acme Robotics Two",
                                 "Acme Robotics Three", "Acme Robtics"}
    assert names("Acme Robtics") >= {"Acme Robtics", "Acme Robotics One"}


@pytest.mark.parametrize("who", ["rep", "manager"])
@pytest.mark.parametrize("query", ["Robotics", "Acme Robtics", "ro", "info1@customer"])
def test_a_limited_users_candidates_are_found_whole_then_limited(request, rep, manager,
                                                                 outsider, team, who, query,
                                                                 monkeypatch):
    """Someone who sees part of the table gets fenced_candidates (each branch's matches found
    whole, then LIMITed, so the planner does not bet on a scan in table order): the same
    customers and contacts as candidates() finds, a CTE in the plan."""
    monkeypatch.setattr(customer_search, "CANDIDATES", 3)
    for i, name in enumerate(("Acme Robotics One", "Acme Robotics Two", "Acme Robtics",
                              "Robotics Rivals", "Zeta Goods")):
        customer = CustomerFactory(name=name, owner=rep if i % 2 else manager, team=team,
                                   email=f"info{i}@customer.example")
        ContactFactory(customer=customer, first_name="Robin", last_name=f"Otics {i}")
    CustomerFactory(name="Acme Robotics Hidden", owner=outsider, team=None)
    user = request.getfixturevalue(who)
    assert not customer_search.policy_for(user).sees_all
    for matches in (customer_search.customer_matches, customer_search.contact_matches):
        fenced = list(matches(user, query))
        monkeypatch.setattr(customer_search, "fenced_candidates", customer_search.candidates)
        assert fenced == list(matches(user, query))
        monkeypatch.undo()
        monkeypatch.setattr(customer_search, "CANDIDATES", 3)
        assert len(fenced) <= 3
    found = [c.name for c in customer_search.customer_matches(user, query)]
    assert "Acme Robotics Hidden" not in found
    if query == "Robotics":
        assert len(found) == 3
    assert "CTE" in str(customer_search.customer_matches(user, query)[:5].explain())


def _seed(rep, team, count):
    import factory

    customers = CustomerFactory.create_batch(
        count, name=factory.Sequence(lambda n: f"Acme Branch {n:03d}"), owner=rep, team=team)
    for customer in customers:
        ContactFactory(customer=customer, first_name="Acme", last_name="Buyer")


@pytest.mark.parametrize(("url", "user_name"), [(PAGE, "rep"), (SUGGEST, "rep"),
                                                (PAGE, "admin"), (SUGGEST, "manager")])
def test_the_query_count_does_not_grow_with_rows(client_for, rep, manager, admin, team,
                                                 django_assert_num_queries, url, user_name,
                                                 request):
    # Every module's providers, as at start-up (an earlier test may have reset the registry).
    from sales import integration as sales_integration
    from service import integration as service_integration

    sales_integration.register()
    service_integration.register()
    user = {"rep": rep, "manager": manager, "admin": admin}[user_name]
    client = client_for(user)
    client.get(PAGE)  # the first request stamps the session
    # The user with their roles and model permissions (one query; the sales and service
    # providers check the permissions, and so does the navigation on the full page); the access
    # lookups (one UNION ALL query: team ids, shares and, for managers, managed teams and their
    # members; none for admins); one query per registered provider (the sales and service ones
    # too), substring and similarity matches alike: the fuzzy branch rides in the same query
    # (customers.search.candidates).
    access = {"rep": 1, "manager": 1, "admin": 0}[user_name]
    expected = 1 + access + len(search.providers())

    def measure():
        with django_assert_num_queries(expected):
            response = client.get(url, {"q": "acme"})
        return len(titles(response))

    _seed(rep, team, 2)
    assert measure() == 4
    _seed(rep, team, 40)
    limit = search.PAGE_LIMIT if url == PAGE else search.DROPDOWN_LIMIT
    assert measure() == 2 * limit


def _plan(queryset) -> str:
    """The plan when only the trigram indexes (and primary keys) could serve it: on a test-sized
    table the planner happily reads a whole small btree index instead, so those are dropped
    for this transaction (rolled back after the test) and plain scans are priced out. Any
    condition the trigram indexes can't answer then shows up as a Seq Scan."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT indexname FROM pg_indexes
            WHERE tablename IN ('customers_customer', 'customers_contact')
              AND indexname NOT LIKE '%%_trgm' AND indexdef NOT LIKE 'CREATE UNIQUE%%'
        """)
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    return queryset.explain()


@pytest.mark.parametrize("query", ["Acme Robtics", "ac", "info12@customer", "138 0001"])
def test_it_reads_customers_through_the_trigram_indexes(rep, admin, own_customer,
                                                         query):
    # Someone who sees everything: only the trigram indexes can narrow the search down.
    plan = _plan(customer_search.customer_matches(admin, query)[:5])
    assert "Seq Scan" not in plan, plan
    assert "customer_name_trgm" in plan, plan
    assert "count(" not in plan.lower()
    assert plan.startswith("Limit")
    # A rep: their access filter joins in; still no scan of the table.
    plan = _plan(customer_search.customer_matches(rep, query)[:5])
    assert "Seq Scan on customers_customer" not in plan, plan


@pytest.mark.parametrize("query", ["Ada Lovelace", "Lovlace", "lv", "person1@customer", "138 0001"])
def test_it_reads_contacts_through_the_trigram_indexes(rep, admin, own_customer,
                                                        query):
    ContactFactory(customer=own_customer, first_name="Ada", last_name="Lovelace")
    plan = _plan(customer_search.contact_matches(admin, query)[:5])
    assert "Seq Scan on customers_contact" not in plan, plan
    assert "_trgm" in plan, plan
    plan = _plan(customer_search.contact_matches(rep, query)[:5])
    assert "Seq Scan on customers_contact" not in plan, plan


# --- the registry ------------------------------------------------------------------------------
def test_it_lets_other_modules_add_a_kind(client_for, rep, own_customer):
    def tickets(user, query, limit):
        return [search.SearchResult(title=f"Ticket about {query}", subtitle="", url="/t/1/",
                                    kind="tickets")]

    search.register("tickets", "Tickets", tickets, order=50)
    search.register("tickets", "Tickets", tickets, order=50)  # idempotent by kind
    try:
        response = client_for(rep).get(PAGE, {"q": "acme"})
        assert kinds(response) == ["customers", "tickets"]
        assert [p.kind for p in search.providers()].count("tickets") == 1
    finally:
        search._providers.pop("tickets")


def test_it_normalizes_the_query():
    assert search.normalize("  Acme \t\n Robotics \x00 ") == "Acme Robotics"
    assert search.normalize(None) == ""
