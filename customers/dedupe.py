"""Finding likely duplicate customers without comparing a million customers with each other.

How: the duplicates page walks the customers the user can see newest first, one keyset window
of WINDOW customers at a time (index `customer_created`). For the customers of the window ONE
query looks up each one's candidates with a LATERAL join, three index probes per customer:

- same e-mail, case-insensitive: UPPER(email) = ..., served by the trigram GIN index on
  UPPER(email) (pg_trgm >= 1.6 answers equality);
- same phone digits (at least MIN_DIGITS of them): phone_digits = ..., btree `customer_phone_exact`;
- similar name: UPPER(name) % UPPER(...) (pg_trgm's similarity operator, served by the
  trigram GIN index on UPPER(name) at pg_trgm's threshold), then similarity() >= NAME_THRESHOLD,
  best CANDIDATES by similarity().

Only *older* candidates are paired with a customer of the window, so each pair is listed once,
on the page of its newer member (the newer record is usually the accidental one; it is offered
as the record to merge away). The cost is WINDOW x 3 index probes per page, whatever the size
of the table.

Limits: a page lists the pairs of its customers, so a page can be short or empty while later
pages still hold pairs ("Next" goes on); at most CANDIDATES candidates per customer and reason;
names that share only common words ("Trading Co. Ltd") may pair by similarity; e-mails that
differ beyond case, and phones with a different country prefix, are not matched.
`candidates_for(customer)` does the same lookups for one customer, in both directions (the
"Find duplicates" action of the 360 page).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from customers.models import Customer
from customers.permissions import policy_for

WINDOW = 50
CANDIDATES = 5
MIN_DIGITS = 6
NAME_THRESHOLD = 0.5

EMAIL, PHONE, NAME = "email", "phone", "name"
ORDERING = ("-created_at", "-id")


@dataclass
class DuplicatePair:
    newer: Customer
    older: Customer
    reasons: list[str]
    score: float
    name_score: float = 0.0  # the names' trigram similarity, when they are similar

    @property
    def key(self) -> tuple[int, int]:
        return (self.newer.pk, self.older.pk)


_CANDIDATE_SQL = """
WITH {visible_cte} page AS (
    SELECT id, created_at, UPPER(name) AS name_u, UPPER(email) AS email_u, phone_digits
    FROM customers_customer WHERE id = ANY(%s)
)
SELECT p.id, m.id, m.reason, m.score
FROM page p
CROSS JOIN LATERAL (
    (SELECT c.id, 'email' AS reason, 1.0::float8 AS score FROM customers_customer c
     WHERE p.email_u <> '' AND UPPER(c.email) = p.email_u AND c.id <> p.id
       AND c.deleted_at IS NULL {older} {visible}
     ORDER BY c.created_at DESC, c.id DESC LIMIT %s)
    UNION ALL
    (SELECT c.id, 'phone', 1.0::float8 FROM customers_customer c
     WHERE length(p.phone_digits) >= %s AND c.phone_digits = p.phone_digits
       AND c.id <> p.id AND c.deleted_at IS NULL {older} {visible}
     ORDER BY c.created_at DESC, c.id DESC LIMIT %s)
    UNION ALL
    (SELECT c.id, 'name', similarity(UPPER(c.name), p.name_u)::float8 FROM customers_customer c
     WHERE UPPER(c.name) %% p.name_u AND similarity(UPPER(c.name), p.name_u) >= %s
       AND c.id <> p.id AND c.deleted_at IS NULL
       {older} {visible}
     ORDER BY similarity(UPPER(c.name), p.name_u) DESC, c.id DESC LIMIT %s)
) m
"""


def _candidate_rows(user, ids: list[int], *, older_only: bool) -> list[tuple]:
    """(customer id, candidate id, reason, score) rows for the customers `ids`."""
    if not ids:
        return []
    q = policy_for(user).visible_q()
    visible_cte, visible, params = "", "", []
    if q is not None:
        # The access policy's own filter, computed once (a CTE used three times is
        # materialized once) and probed by each branch.
        sql, visible_params = Customer.objects.filter(q).values("pk").query.sql_with_params()
        visible_cte = f"visible AS ({sql}),"
        visible = "AND c.id IN (SELECT * FROM visible)"
        params.extend(visible_params)
    older = "AND (c.created_at, c.id) < (p.created_at, p.id)" if older_only else ""
    sql = _CANDIDATE_SQL.format(visible_cte=visible_cte, older=older, visible=visible)
    params.extend([ids, CANDIDATES, MIN_DIGITS, CANDIDATES, NAME_THRESHOLD, CANDIDATES])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _pairs(user, customers: list[Customer], rows: list[tuple], *, older_only: bool,
           related=("owner",)) -> list[DuplicatePair]:
    by_pk = {c.pk: c for c in customers}
    # One query for the candidates (also those on the page: the same count on every page).
    wanted = {cand for _pk, cand, _r, _s in rows}
    others = {c.pk: c for c in Customer.objects.filter(pk__in=wanted).select_related(*related)}
    pairs: dict[tuple[int, int], DuplicatePair] = {}
    for pk, cand, reason, score in rows:
        a, b = by_pk[pk], others.get(cand)
        if b is None:
            continue
        newer, older = (a, b) if (a.created_at, a.pk) > (b.created_at, b.pk) else (b, a)
        pair = pairs.get((newer.pk, older.pk))
        if pair is None:
            pair = pairs[(newer.pk, older.pk)] = DuplicatePair(newer, older, [], 0.0)
        if reason not in pair.reasons:
            pair.reasons.append(reason)
        pair.score = max(pair.score, float(score))
        if reason == NAME:
            pair.name_score = float(score)
    order = [EMAIL, PHONE, NAME]
    for pair in pairs.values():
        pair.reasons.sort(key=order.index)
    result = list(pairs.values())
    if not older_only:
        result.sort(key=lambda p: (-len(p.reasons), -p.score))
    return result


def duplicate_pairs(user, customers: list[Customer]) -> list[DuplicatePair]:
    """The likely duplicates of a window of customers (each paired with older ones only), in
    the window's order."""
    rows = _candidate_rows(user, [c.pk for c in customers], older_only=True)
    position = {c.pk: i for i, c in enumerate(customers)}
    pairs = _pairs(user, customers, rows, older_only=True)
    pairs.sort(key=lambda p: (position.get(p.newer.pk, len(position)), -len(p.reasons),
                              -p.score))
    return pairs


def candidates_for(user, customer: Customer) -> list[DuplicatePair]:
    """The likely duplicates of one customer, older and newer."""
    rows = _candidate_rows(user, [customer.pk], older_only=False)
    return _pairs(user, [customer], rows, older_only=False)
