"""What global search finds in the customers app: customers and contacts.

Each provider reads through customers.selectors (so a user finds only the customers they may
see, and the contacts of those) and runs one LIMITed query that the trigram GIN indexes on
UPPER(col) serve: the `%` (similarity) and `%>` (word similarity) operators make it forgiving
of typos ("Acme Robtics" finds "Acme Robotics"), LIKE (icontains) finds substrings, and the
phone is matched by its digits. No COUNT: the caller shows "there may be more" when a group
is full.

`register()` adds both providers to crm.search; call it once at start-up
(CustomersConfig.ready()).
"""

from __future__ import annotations

import re

from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.core.exceptions import EmptyResultSet
from django.db.models import Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat, Greatest, Upper
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm import search
from customers.models import Contact, Customer, phone_digits
from customers.permissions import policy_for
from customers.selectors import contact_list_for_user, customer_list_for_user

# Below this many characters a LIKE '%..%' pattern holds no trigram, so the GIN index can't
# narrow it down (a scan of the whole index): short queries use the trigram operators only.
MIN_LIKE_LENGTH = 3
# Phone search starts at this many digits (fewer would match nearly every number).
MIN_PHONE_DIGITS = 3
MAX_TERMS = 4
# Ranking by similarity needs every match scored; a common term ("com") matches most rows, so
# rank only the first CANDIDATES matches the indexes return (the best of those is shown).
PHONE_LIKE = re.compile(r"[0-9 +\-().\/]+")
CANDIDATES = 200


def candidates(queryset, exact: Q, *fuzzy: Q):
    """The pks of the first CANDIDATES rows of `queryset` matching `exact` (substring, phone)
    and then `fuzzy` (the similarity operators, typos allowed), as one subquery:
    (exact LIMIT n) UNION ALL (fuzzy LIMIT n) ... LIMIT n. PostgreSQL runs a later branch only
    when the earlier ones found fewer than n rows, so a common term ("Robotics", thousands of
    substring matches) never pays for the similarity operators, which pull ten times as many
    rows out of the trigram indexes; a rare or misspelt term gets all of them. (Several fuzzy
    filters make several branches: one operator per branch keeps a small table on its trigram
    index, where the planner would otherwise scan it computing similarities row by row.)"""
    branches = [queryset.filter(q).values("pk")[:CANDIDATES] for q in (exact, *fuzzy) if q]
    if not branches:
        return queryset.none().values("pk")
    if len(branches) == 1:
        return branches[0]
    return branches[0].union(*branches[1:], all=True)[:CANDIDATES]


def candidates_for(user):
    """The candidates function for `user`: fenced_candidates unless `user` sees everything."""
    return candidates if policy_for(user).sees_all else fenced_candidates


def fenced_candidates(queryset, exact: Q, *fuzzy: Q):
    """candidates() for a user who sees only part of the table: each branch's matches are
    found whole (a MATERIALIZED CTE is planned for all its rows) and then LIMITed. With the
    LIMIT inside, the planner bets that a scan of the table in its physical order meets n
    visible matches early; for a manager's team and a common word it met them after 200,000
    rows (67 ms), where the trigram index ANDed with the owner and team indexes finds all of
    them in 11. Someone who sees everything keeps candidates(): the bet pays off there."""
    parts, params = [], []
    for q in (exact, *fuzzy):
        if not q:
            continue
        try:
            sql, branch_params = queryset.filter(q).values("pk").query.sql_with_params()
        except EmptyResultSet:
            continue
        # The ORM's own SQL and parameters, wrapped: nothing of the user's is inlined.
        parts.append(f"(WITH m AS MATERIALIZED ({sql}) SELECT * FROM m LIMIT %s)")  # noqa: S608
        params += [*branch_params, CANDIDATES]
    if not parts:
        return queryset.none().values("pk")
    return RawSQL(f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS c LIMIT %s",  # noqa: S608, S611
                  [*params, CANDIDATES])


def _like(column: str, term: str) -> Q:
    """`column` contains `term`, ignoring case: UPPER(col) LIKE UPPER('%term%'), which the
    trigram index on UPPER(col) serves (Django escapes % and _ in the term)."""
    if len(term) < MIN_LIKE_LENGTH:
        return Q()
    return Q(**{f"{column}__icontains": term})


def _similar(expression: str, term: str) -> Q:
    """`expression` (an UPPER(col) annotation) is like `term`, typos allowed: similar as a
    whole (%) or containing a similar run of words (%>)."""
    return (Q(**{f"{expression}__trigram_similar": term})
            | Q(**{f"{expression}__trigram_word_similar": term}))


def _phone(query: str) -> Q:
    """Only a query that looks like a phone number ("+86 138-0013", "(030) 1234") searches
    phones: "100%" or "Route 66" must not match every number containing those digits."""
    digits = phone_digits(query)
    if len(digits) < MIN_PHONE_DIGITS or not PHONE_LIKE.fullmatch(query.strip()):
        return Q()
    return Q(phone_digits__contains=digits)


def customer_matches(user, query: str):
    """The visible customers matching `query`, best first (a queryset; slice it)."""
    upper = query.upper()
    exact = _like("name", query) | _like("code", query) | _like("email", query) | _phone(query)
    visible = (
        customer_list_for_user(user)
        .select_related(None).prefetch_related(None)  # the result needs no tags or owner
        .annotate(name_upper=Upper("name"))
    )
    pick = candidates_for(user)
    return (
        Customer.objects.filter(pk__in=pick(visible, exact, _similar("name_upper", upper)))
        .annotate(name_upper=Upper("name"))
        .annotate(score=Greatest(TrigramSimilarity("name_upper", upper),
                                 TrigramWordSimilarity(upper, "name_upper")))
        .order_by("-score", "name", "id")
        .only("uuid", "name", "code", "email", "city")
    )


def customers_for(user, query: str, limit: int) -> list[search.SearchResult]:
    rows = customer_matches(user, query)[:limit]
    return [
        search.SearchResult(
            title=customer.name,
            subtitle=" · ".join(p for p in (customer.code, customer.email, customer.city) if p),
            url=reverse("customers:detail", kwargs={"uuid": customer.uuid}),
            kind="customers",
        )
        for customer in rows
    ]


def contact_matches(user, query: str):
    """The contacts of the visible customers matching `query`, best first (a queryset; slice
    it), or None when the query holds nothing an index could narrow down."""
    upper = query.upper()
    # Every word must match the first or the last name ("john smth" finds John Smith).
    # The substring branch needs every word to match by LIKE (3+ characters); the fuzzy one
    # takes the similarity operators too (see candidates()).
    by_name, by_like = Q(), Q()
    terms = [term for term in upper.split() if len(term) >= search.MIN_QUERY_LENGTH]
    for term in terms[:MAX_TERMS]:
        like = _like("first_name", term) | _like("last_name", term)
        by_name &= _similar("first_upper", term) | _similar("last_upper", term) | like
        by_like = by_like & like if like and by_like is not None else None
    others = _like("email", query) | _phone(query)
    match = by_name | others
    if not match:  # only one-letter words
        return None
    exact = (by_like or Q()) | others
    visible = contact_list_for_user(user).annotate(first_upper=Upper("first_name"),
                                                   last_upper=Upper("last_name"))
    full_name = Concat("first_upper", Value(" "), "last_upper")
    pick = candidates_for(user)
    return (
        Contact.objects.filter(pk__in=pick(visible, exact, match))
        .select_related("customer")
        .annotate(first_upper=Upper("first_name"), last_upper=Upper("last_name"))
        .annotate(score=Greatest(TrigramSimilarity(full_name, upper),
                                 TrigramWordSimilarity(upper, full_name)))
        .order_by("-score", "last_name", "first_name", "id")
        .only("uuid", "first_name", "last_name", "email", "title",
              "customer", "customer__uuid", "customer__name")
    )


def contacts_for(user, query: str, limit: int) -> list[search.SearchResult]:
    matches = contact_matches(user, query)
    if matches is None:
        return []
    rows = matches[:limit]
    results = []
    for contact in rows:
        url = reverse("customers:detail", kwargs={"uuid": contact.customer.uuid})
        results.append(search.SearchResult(
            title=str(contact),
            subtitle=" · ".join(p for p in (contact.customer.name, contact.title,
                                            contact.email) if p),
            url=f"{url}#contacts",
            kind="contacts",
        ))
    return results


def register() -> None:
    """Add the customers app's providers to global search (idempotent)."""
    search.register("customers", _("Customers"), customers_for, order=10)
    search.register("contacts", _("Contacts"), contacts_for, order=20)
