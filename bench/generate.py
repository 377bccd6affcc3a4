"""A deterministic data set for the benchmark, loaded with PostgreSQL COPY.

    python -m bench.generate [--scale 1.0] [--seed 42] [--database-url ...]

At scale 1.0: 1,000,000 customers, 2,000,000 contacts, 2,500,000 interactions and 2,500,000
events, 1,000,000 opportunities (each with its first stage-history row), 2,000,000 orders with
about 4,000,000 lines, 500,000 tickets with 1,000,000 comments, 300,000 leads, 5,000 products,
plus users, teams, tags and segments. Work is skewed, not uniform: a few owners and customers
are far busier than the rest (Zipf-like weights), as in a real business.

The target database must be migrated and hold no business rows (the `make bench` database).
Secondary indexes of the big tables are dropped before their COPY and built again after it (far
faster than maintaining them row by row); constraints stay. It prints how long each table took.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

# Names (English and Chinese), as in the demo data.
EN_PREFIX = ["North", "Blue", "Summit", "Atlas", "Pioneer", "Silver", "Harbor", "Green",
             "Bright", "Eagle", "Maple", "Union", "Vertex", "Coastal", "Prime", "Golden",
             "Red", "Iron", "Swift", "Crown", "Delta", "Lotus", "Orion", "Cedar"]
EN_CORE = ["Robotics", "Foods", "Textiles", "Logistics", "Software", "Medical", "Builders",
           "Energy", "Design", "Analytics", "Motors", "Packaging", "Pharma", "Retail",
           "Optics", "Chemicals", "Furniture", "Media", "Farms", "Marine"]
EN_SUFFIX = ["Ltd", "Inc.", "GmbH", "LLC", "Group", "Co."]
ZH_CITY = ["上海", "北京", "深圳", "杭州", "广州", "成都", "南京", "苏州", "武汉", "西安",
           "天津", "重庆", "青岛", "厦门"]
ZH_CORE = ["华信", "明德", "恒通", "中科", "远航", "星辰", "瑞丰", "博雅", "天成", "金桥",
           "嘉禾", "鼎盛", "安泰", "宏图"]
ZH_TRADE = ["科技", "贸易", "食品", "物流", "医疗器械", "电子", "纺织", "建设", "软件", "咨询"]
EN_FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "James", "Sophia", "Lucas", "Mia",
            "Ethan", "Isabella", "Mason", "Charlotte", "Logan", "Amelia", "Daniel", "Grace",
            "Henry", "Chloe", "Jack"]
EN_LAST = ["Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Martinez", "Taylor",
           "Anderson", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Walker", "Young",
           "King", "Wright", "Scott", "Hill"]
ZH_SURNAME = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱"]
ZH_GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "婷", "强", "丽"]
CITIES = ["Shanghai", "Beijing", "Shenzhen", "Hangzhou", "London", "Berlin", "New York",
          "Chengdu", "Singapore", "Paris", "Munich", "Toronto"]
SUBJECTS = ["Intro call", "Quarterly review", "Pricing question", "Sent proposal",
            "Follow-up on quote", "Product demo", "Contract renewal", "Delivery question",
            "电话回访", "产品演示", "报价跟进"]
TICKET_SUBJECTS = ["Cannot log in", "Invoice is wrong", "Delivery is late", "Broken on arrival",
                   "How do I export my data?", "Refund request", "退货申请", "发票问题",
                   "Device does not start", "Question about warranty"]
PRODUCT_WORDS = ["Sensor", "Controller", "Panel", "Cable", "Module", "Adapter", "Kit",
                 "Licence", "Service plan", "Pump", "Valve", "Display"]
EVENT_NAMES = ["customer.updated", "opportunity.stage_changed", "order.confirmed",
               "ticket.status_changed", "task.done", "customer.tagged"]

SIZES = {  # rows at scale 1.0
    "customers": 1_000_000,
    "contacts": 2_000_000,
    "interactions": 2_500_000,
    "events": 2_500_000,
    "opportunities": 1_000_000,
    "orders": 2_000_000,
    "tickets": 500_000,
    "ticket_comments": 1_000_000,
    "leads": 300_000,
    "products": 5_000,
    "customer_tags": 1_500_000,
}
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
# Every generated user shares this password; the benchmark signs in with it.
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway data set


def zipf_weights(n: int, s: float = 0.9) -> list[float]:
    """Cumulative Zipf-like weights for n items: item 0 busiest."""
    total, cumulative = 0.0, []
    for rank in range(1, n + 1):
        total += 1.0 / rank**s
        cumulative.append(total)
    return cumulative


class Picker:
    """Skewed choice among `items` (the first are the busiest), fast by bisection."""

    def __init__(self, rng: random.Random, items: list, s: float = 0.9):
        self.rng, self.items = rng, items
        self.cumulative = zipf_weights(len(items), s)
        self.total = self.cumulative[-1]

    def __call__(self):
        index = bisect.bisect_left(self.cumulative, self.rng.random() * self.total)
        return self.items[min(index, len(self.items) - 1)]


class Loader:
    def __init__(self, connection, rng: random.Random):
        self.connection = connection
        self.rng = rng
        self.timings: list[tuple[str, int, float]] = []

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def copy(self, table: str, columns: list[str], rows, label: str | None = None) -> int:
        """COPY rows into `table` with its secondary indexes dropped, then rebuilt."""
        started = time.monotonic()
        count = 0
        with self.connection.cursor() as cursor:
            indexes = self._droppable_indexes(cursor, table)
            for name, _definition in indexes:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
            sql = f'COPY "{table}" ({", ".join(columns)}) FROM STDIN'
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            # Deferred foreign-key checks must run before CREATE INDEX may touch the table.
            self.connection.commit()
            loaded = time.monotonic()
            for _name, definition in indexes:
                cursor.execute(definition)
            cursor.execute(f'ANALYZE "{table}"')
        self.connection.commit()
        elapsed = time.monotonic() - started
        self.timings.append((label or table, count, elapsed))
        print(f"  {label or table:<28} {count:>11,} rows  {elapsed:7.1f} s "
              f"(load {loaded - started:.1f} s, indexes {elapsed - (loaded - started):.1f} s)",
              flush=True)
        return count

    @staticmethod
    def _droppable_indexes(cursor, table: str) -> list[tuple[str, str]]:
        """Indexes that back no constraint (unique/primary keys stay)."""
        cursor.execute(
            """
            SELECT i.relname, pg_get_indexdef(x.indexrelid)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relname = %s
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
            """,
            [table],
        )
        return list(cursor.fetchall())

    def execute(self, label: str, sql: str, params=None) -> None:
        started = time.monotonic()
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.rowcount
        self.connection.commit()
        elapsed = time.monotonic() - started
        self.timings.append((label, max(rows, 0), elapsed))
        print(f"  {label:<28} {max(rows, 0):>11,} rows  {elapsed:7.1f} s", flush=True)


def scaled(name: str, scale: float) -> int:
    return max(1, int(SIZES[name] * scale))


def company_name(rng: random.Random) -> str:
    if rng.random() < 0.45:
        return f"{rng.choice(ZH_CITY)}{rng.choice(ZH_CORE)}{rng.choice(ZH_TRADE)}有限公司"
    return f"{rng.choice(EN_PREFIX)} {rng.choice(EN_CORE)} {rng.choice(EN_SUFFIX)}"


def person_name(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.45:
        return rng.choice(ZH_GIVEN) + rng.choice(ZH_GIVEN), rng.choice(ZH_SURNAME)
    return rng.choice(EN_FIRST), rng.choice(EN_LAST)


def moment(rng: random.Random, days_back: int) -> datetime:
    return NOW - timedelta(seconds=rng.randrange(days_back * 86400))


def generate(connection, scale: float = 1.0, seed: int = 42) -> dict:
    """Load the whole data set; returns {"timings": [...], "logins": {...}}."""
    from django.contrib.auth.hashers import make_password

    rng = random.Random(seed)  # noqa: S311 - data generation, not security
    loader = Loader(connection, rng)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
        cursor.execute("SET maintenance_work_mem TO '1GB'")
        cursor.execute("SELECT count(*) FROM customers_customer")
        if cursor.fetchone()[0]:
            raise SystemExit("The database already holds customers: use a fresh one.")
        cursor.execute("SELECT id, kind FROM customers_dictionaryentry WHERE is_active")
        dictionary: dict[str, list[int]] = {}
        for pk, kind in cursor.fetchall():
            dictionary.setdefault(kind, []).append(pk)
        cursor.execute("SELECT id, name FROM auth_group")
        groups = {name: pk for pk, name in cursor.fetchall()}
        cursor.execute("SELECT id, probability, is_won, is_lost FROM sales_pipelinestage "
                       "WHERE is_active ORDER BY \"order\"")
        stages = cursor.fetchall()
    connection.commit()
    now = NOW
    password = make_password(PASSWORD)

    # --- users and teams ---------------------------------------------------------------------
    n_sales_teams = max(2, int(30 * scale ** 0.5))
    n_support_teams = max(1, int(6 * scale ** 0.5))
    reps_per_team = 10
    users = []  # (id, email, role, team index or None)
    next_id = itertools.count(1_000_001)

    def add_user(email, first, last, role, team=None):
        users.append((next(next_id), email, first, last, role, team))

    add_user("bench.admin@example.com", "Ada", "Admin", "Admin")
    add_user("bench.analyst@example.com", "Ann", "Analyst", "Analyst")
    add_user("bench.marketing@example.com", "Max", "Marketing", "Marketing")
    for t in range(n_sales_teams):
        manager_email = "bench.manager@example.com" if t == 0 else f"manager{t}@bench.example"
        add_user(manager_email, "Manager", f"{t}", "Manager", ("sales", t))
        for r in range(reps_per_team):
            email = "bench.rep@example.com" if (t, r) == (0, 3) else f"rep{t}.{r}@bench.example"
            add_user(email, *person_name(rng), "Sales", ("sales", t))
    for t in range(n_support_teams):
        add_user(f"support.manager{t}@bench.example", "Lead", f"{t}", "Manager", ("support", t))
        for r in range(8):
            email = "bench.agent@example.com" if (t, r) == (0, 0) else f"agent{t}.{r}@bench.example"
            add_user(email, *person_name(rng), "Support", ("support", t))

    loader.copy(
        "accounts_user",
        ["id", "password", "is_superuser", "first_name", "last_name", "is_staff", "is_active",
         "date_joined", "uuid", "created_at", "updated_at", "version", "email", "title",
         "phone", "language", "session_epoch"],
        ((pk, password, False, first, last, role == "Admin", True, now, loader.uuid(), now, now,
          1, email, "", "", "", 0) for pk, email, first, last, role, _team in users),
    )
    loader.copy("accounts_user_groups", ["user_id", "group_id"],
                ((pk, groups[role]) for pk, _e, _f, _l, role, _t in users))
    team_ids = {}
    team_rows = []
    tid = itertools.count(1_000_001)
    for kind, count in (("sales", n_sales_teams), ("support", n_support_teams)):
        for t in range(count):
            manager = next(u[0] for u in users if u[5] == (kind, t) and u[4] == "Manager")
            pk = next(tid)
            team_ids[(kind, t)] = pk
            name = f"Sales {t + 1}" if kind == "sales" else f"Service Desk {t + 1}"
            team_rows.append((pk, loader.uuid(), now, now, 1, name, "", manager))
    loader.copy("accounts_team",
                ["id", "uuid", "created_at", "updated_at", "version", "name", "description",
                 "manager_id"], team_rows)
    loader.copy("accounts_team_members", ["team_id", "user_id"],
                ((team_ids[u[5]], u[0]) for u in users if u[5] is not None))
    reps = [u for u in users if u[4] in ("Sales", "Manager") and u[5] and u[5][0] == "sales"]
    rng.shuffle(reps)
    # The bench rep is a busy one, but not the busiest.
    bench_rep = next(u for u in reps if u[1] == "bench.rep@example.com")
    reps.remove(bench_rep)
    reps.insert(5, bench_rep)
    rep_team = {u[0]: team_ids[u[5]] for u in reps}
    pick_owner = Picker(rng, [u[0] for u in reps], s=0.8)
    agents = [u for u in users if u[4] == "Support"]
    agent_team = {u[0]: team_ids[u[5]] for u in agents}
    all_user_ids = [u[0] for u in users]

    # --- tags --------------------------------------------------------------------------------
    tag_names = ["VIP", "Newsletter", "Partner", "Trade show", "Needs follow-up", "重点客户",
                 *[f"Campaign {i}" for i in range(1, 45)], *[f"Region {i}" for i in range(1, 51)]]
    tag_ids = list(range(1_000_001, 1_000_001 + len(tag_names)))
    loader.copy("customers_tag", ["id", "uuid", "created_at", "updated_at", "version", "name",
                                  "color"],
                ((pk, loader.uuid(), now, now, 1, name, "secondary")
                 for pk, name in zip(tag_ids, tag_names, strict=True)))

    # --- customers ---------------------------------------------------------------------------
    n_customers = scaled("customers", scale)
    first_customer = 1_000_001
    customer_ids = list(range(first_customer, first_customer + n_customers))
    customer_owner = {}
    industries = dictionary.get("industry", [None])
    sources = dictionary.get("source", [None])
    levels = dictionary.get("level", [None])
    regions = dictionary.get("region", [None])
    statuses = ["active"] * 85 + ["at_risk"] * 10 + ["churned"] * 5

    def customer_rows():
        for i, pk in enumerate(customer_ids):
            owner = pick_owner()
            customer_owner[pk] = owner
            created = moment(rng, 5 * 365)
            name = company_name(rng)
            phone = f"+86 1{rng.randrange(30, 90)}{rng.randrange(10**8):08d}"
            digits = "".join(ch for ch in phone if ch.isdigit())
            yield (pk, loader.uuid(), created, created, 1,
                   "company" if rng.random() < 0.8 else "person", name, f"C{9000000 + i:08d}",
                   f"info{i}@c{i % 9973}.example.com", phone, digits, "",
                   rng.choice(industries), rng.choice(sources), rng.choice(levels),
                   rng.choice(regions), rng.choice(statuses), owner, rep_team[owner], "",
                   rng.choice(CITIES), "", "", "", "{}", None)

    loader.copy(
        "customers_customer",
        ["id", "uuid", "created_at", "updated_at", "version", "kind", "name", "code", "email",
         "phone", "phone_digits", "website", "industry_id", "source_id", "level_id",
         "region_id", "status", "owner_id", "team_id", "address", "city", "postcode",
         "country", "description", "custom_data", "deleted_at"],
        customer_rows(), label="customers_customer")
    pick_customer = Picker(rng, customer_ids, s=0.6)
    busiest_customer = customer_ids[0]

    def customer_tag_rows():
        seen = set()
        for _ in range(scaled("customer_tags", scale)):
            key = (pick_customer(), rng.choice(tag_ids))
            if key not in seen:
                seen.add(key)
                yield (*key, now)

    loader.copy("customers_customertag", ["customer_id", "tag_id", "created_at"],
                customer_tag_rows())

    # --- contacts: a primary one per customer, the rest skewed ---------------------------------
    n_contacts = max(scaled("contacts", scale), n_customers)
    contact_customer: list[int] = []

    def contact_rows():
        for i in range(n_contacts):
            primary = i < n_customers
            customer = customer_ids[i] if primary else pick_customer()
            contact_customer.append(customer)
            first, last = person_name(rng)
            created = moment(rng, 4 * 365)
            birthday = date(1960, 1, 1) + timedelta(days=rng.randrange(40 * 365))
            yield (first_customer + i, loader.uuid(), created, created, 1, customer, first, last,
                   "", f"p{i}@people.example.com", "", "", "", birthday, "email", primary,
                   rng.random() < 0.6, created, "web_form", "bench", "", "", "{}", None)

    loader.copy(
        "customers_contact",
        ["id", "uuid", "created_at", "updated_at", "version", "customer_id", "first_name",
         "last_name", "title", "email", "phone", "mobile", "phone_digits", "birthday",
         "preferred_channel", "is_primary", "marketing_consent", "consent_at",
         "consent_method", "consent_source", "national_id", "private_notes", "custom_data",
         "deleted_at"],
        contact_rows())

    # --- interactions and events -------------------------------------------------------------
    kinds = ["call", "email", "meeting", "message", "note"]

    def interaction_rows():
        for _ in range(scaled("interactions", scale)):
            customer = pick_customer()
            when = moment(rng, 3 * 365)
            yield (loader.uuid(), when, when, 1, customer, None, customer_owner[customer],
                   rng.choice(kinds), "outbound", when, rng.choice(SUBJECTS), "", "")

    loader.copy(
        "customers_interaction",
        ["uuid", "created_at", "updated_at", "version", "customer_id", "contact_id",
         "user_id", "kind", "direction", "occurred_at", "subject", "body", "outcome"],
        interaction_rows())

    def event_rows():
        for _ in range(scaled("events", scale)):
            customer = pick_customer()
            when = moment(rng, 3 * 365)
            yield (loader.uuid(), rng.choice(EVENT_NAMES), customer_owner[customer], customer,
                   "", "{}", when, when, when, 1, "")

    loader.copy(
        "core_event",
        ["uuid", "name", "actor_id", "customer_id", "subject_id", "payload", "created_at",
         "available_at", "dispatched_at", "attempts", "last_error"],
        event_rows())

    # --- products ----------------------------------------------------------------------------
    n_products = scaled("products", scale) if scale >= 0.01 else 200
    product_ids = list(range(1_000_001, 1_000_001 + n_products))
    prices = {}

    def product_rows():
        for i, pk in enumerate(product_ids):
            price = Decimal(rng.choice([19, 49, 99, 199, 499, 999, 2999])) + Decimal("0.00")
            prices[pk] = price
            yield (pk, loader.uuid(), now, now, 1, f"BN-{i:06d}",
                   f"{rng.choice(PRODUCT_WORDS)} {rng.choice(EN_PREFIX)} {i}", "", price,
                   "CNY", rng.randrange(0, 5000), 20, True, None)

    loader.copy(
        "sales_product",
        ["id", "uuid", "created_at", "updated_at", "version", "sku", "name", "description",
         "price", "currency", "stock_quantity", "low_stock_threshold", "is_active",
         "deleted_at"],
        product_rows())

    # --- leads -------------------------------------------------------------------------------
    lead_statuses = ["new"] * 30 + ["contacted"] * 25 + ["qualified"] * 15 + \
        ["unqualified"] * 20 + ["converted"] * 10

    def lead_rows():
        for i in range(scaled("leads", scale)):
            owner = pick_owner() if rng.random() < 0.9 else None
            first, last = person_name(rng)
            created = moment(rng, 2 * 365)
            yield (loader.uuid(), created, created, 1, first, last, company_name(rng), "",
                   f"lead{i}@prospects.example.com", "", "", "", rng.choice(sources),
                   rng.choice(regions), None, rng.choice(lead_statuses), owner,
                   rep_team.get(owner), "", "", False, rng.randrange(0, 100), "[]", None)

    loader.copy(
        "sales_lead",
        ["uuid", "created_at", "updated_at", "version", "first_name", "last_name", "company",
         "title", "email", "phone", "phone_digits", "website", "source_id", "region_id",
         "industry_id", "status", "owner_id", "team_id", "message", "description",
         "marketing_consent", "score", "score_breakdown", "deleted_at"],
        lead_rows())

    # --- opportunities and their first stage-history rows ------------------------------------
    n_opportunities = scaled("opportunities", scale)
    first_opportunity = 1_000_001
    open_stages = [s for s in stages if not (s[2] or s[3])]
    stage_weights = [s for s in open_stages for _ in range(3)] + [s for s in stages if s[2] or s[3]]
    opportunity_stage = []

    def opportunity_rows():
        for i in range(n_opportunities):
            customer = pick_customer()
            owner = customer_owner[customer]
            stage_id, probability, won, lost = rng.choice(stage_weights)
            opportunity_stage.append(stage_id)
            created = moment(rng, 2 * 365)
            close = (NOW + timedelta(days=rng.randrange(-365, 365))).date()
            amount = Decimal(int(rng.lognormvariate(9.5, 1.0))) + Decimal("0.00")
            closed = created + timedelta(days=rng.randrange(1, 120)) if (won or lost) else None
            yield (first_opportunity + i, loader.uuid(), created, created, 1,
                   f"Deal {i}: {rng.choice(PRODUCT_WORDS)}", customer, None, owner,
                   rep_team[owner], stage_id, amount, "CNY", probability, close,
                   "Price" if lost else "", "", created, closed, None, None)

    loader.copy(
        "sales_opportunity",
        ["id", "uuid", "created_at", "updated_at", "version", "name", "customer_id",
         "contact_id", "owner_id", "team_id", "stage_id", "amount", "currency", "probability",
         "expected_close_date", "lost_reason", "description", "stage_entered_at", "closed_at",
         "lead_id", "deleted_at"],
        opportunity_rows())
    loader.copy(
        "sales_opportunitystagehistory",
        ["opportunity_id", "from_stage_id", "to_stage_id", "changed_at", "seconds_in_previous"],
        ((first_opportunity + i, None, stage_id, now, 0)
         for i, stage_id in enumerate(opportunity_stage)))

    # --- orders and lines --------------------------------------------------------------------
    n_orders = scaled("orders", scale)
    first_order = 1_000_001
    order_status = ["completed"] * 70 + ["confirmed"] * 10 + ["shipped"] * 8 + \
        ["cancelled"] * 7 + ["draft"] * 5

    def order_lines(i: int) -> list[tuple]:
        """The lines of order i, the same each time they are asked for (own seed)."""
        line_rng = random.Random(seed * 10_000_019 + i)  # noqa: S311
        lines = []
        for _ in range(1 + min(int(line_rng.expovariate(0.7)), 9)):
            product = product_ids[min(int(line_rng.paretovariate(1.2)) - 1, n_products - 1)]
            quantity = line_rng.randrange(1, 6)
            lines.append((first_order + i, product, "", quantity, prices[product],
                          Decimal("0.00"), prices[product] * quantity))
        return lines

    def order_rows():
        for i in range(n_orders):
            customer = pick_customer()
            owner = customer_owner[customer]
            status = rng.choice(order_status)
            created = moment(rng, 3 * 365)
            ordered = None if status == "draft" else created
            total = sum((line[6] for line in order_lines(i)), Decimal("0.00"))
            yield (first_order + i, loader.uuid(), created, created, 1, f"SO-B{i:08d}",
                   customer, None, None, owner, rep_team[owner], status, "CNY",
                   total, ordered, created if status == "cancelled" else None, "",
                   None)

    loader.copy(
        "sales_order",
        ["id", "uuid", "created_at", "updated_at", "version", "number", "customer_id",
         "contact_id", "opportunity_id", "owner_id", "team_id", "status", "currency", "total",
         "ordered_at", "cancelled_at", "notes", "deleted_at"],
        order_rows())
    loader.copy(
        "sales_orderline",
        ["order_id", "product_id", "description", "quantity", "unit_price",
         "discount_percent", "line_total"],
        (line for i in range(n_orders) for line in order_lines(i)))
    loader.execute(
        "sales_customerpurchasestats",
        """
        INSERT INTO sales_customerpurchasestats
            (customer_id, first_order_at, last_order_at, order_count, total_spent,
             average_order_value, updated_at)
        SELECT customer_id, min(ordered_at), max(ordered_at), count(*), sum(total),
               round(avg(total), 2), now()
        FROM sales_order
        WHERE status IN ('confirmed', 'shipped', 'completed') AND deleted_at IS NULL
        GROUP BY customer_id
        """)

    # --- tickets and comments ----------------------------------------------------------------
    n_tickets = scaled("tickets", scale)
    first_ticket = 1_000_001
    ticket_status = ["archived"] * 45 + ["closed"] * 25 + ["resolved"] * 8 + \
        ["in_progress"] * 8 + ["waiting"] * 4 + ["assigned"] * 6 + ["new"] * 4
    priorities = ["low"] * 20 + ["normal"] * 55 + ["high"] * 20 + ["urgent"] * 5
    categories = dictionary.get("ticket_category", [None])
    pick_agent = Picker(rng, [u[0] for u in agents], s=0.5)

    def ticket_rows():
        for i in range(n_tickets):
            customer = pick_customer()
            status = rng.choice(ticket_status)
            created = moment(rng, 2 * 365)
            agent = None if status == "new" else pick_agent()
            team = agent_team[agent] if agent else None
            responded = created + timedelta(minutes=rng.randrange(5, 600)) \
                if status not in ("new", "assigned") else None
            resolved = created + timedelta(hours=rng.randrange(1, 200)) \
                if status in ("resolved", "closed", "archived") else None
            closed = resolved + timedelta(days=7) if status in ("closed", "archived") else None
            archived = closed + timedelta(days=30) if status == "archived" else None
            score = rng.choice([None, 3, 4, 5, 5, 2, 1]) if resolved else None
            yield (first_ticket + i, loader.uuid(), created, created, 1, f"T-B{i:08d}",
                   rng.choice(TICKET_SUBJECTS), "Details of the request.", customer, None, "",
                   f"req{i}@people.example.com", rng.choice(categories), rng.choice(priorities),
                   "email", status, team, agent, None, None, None, None,
                   created + timedelta(hours=8), created + timedelta(days=3), None, 0,
                   responded, int((responded - created).total_seconds()) if responded else None,
                   resolved, int((resolved - created).total_seconds()) if resolved else None,
                   rng.random() < 0.05, rng.random() < 0.08, closed, archived,
                   resolved or created, resolved, score, "", resolved if score else None)

    loader.copy(
        "service_ticket",
        ["id", "uuid", "created_at", "updated_at", "version", "number", "subject",
         "description", "customer_id", "contact_id", "requester_name", "requester_email",
         "category_id", "priority", "channel", "status", "team_id", "assignee_id", "order_id",
         "product_id", "created_by_id", "sla_policy_id", "first_response_due_at",
         "resolution_due_at", "paused_at", "paused_seconds", "first_responded_at",
         "first_response_seconds", "resolved_at", "resolution_seconds",
         "first_response_breached", "resolution_breached", "closed_at", "archived_at",
         "last_public_activity_at", "survey_sent_at", "satisfaction_score",
         "satisfaction_comment", "satisfaction_at"],
        ticket_rows())
    pick_ticket = Picker(rng, list(range(first_ticket, first_ticket + n_tickets)), s=0.3)

    def comment_rows():
        for _ in range(scaled("ticket_comments", scale)):
            when = moment(rng, 2 * 365)
            public = rng.random() < 0.7
            yield (loader.uuid(), when, when, 1, pick_ticket(), rng.choice(all_user_ids), "",
                   public, False, "Thanks, we are looking into it.", when if public else None)

    loader.copy(
        "service_ticketcomment",
        ["uuid", "created_at", "updated_at", "version", "ticket_id", "author_id",
         "author_name", "is_public", "from_customer", "body", "emailed_at"],
        comment_rows())

    # --- segments ----------------------------------------------------------------------------
    segments = [
        ("Active VIPs", {"op": "and", "rules": [
            {"field": "status", "operator": "is", "value": "active"},
            {"field": "city", "operator": "contains", "value": "Shanghai"}]}),
        ("Shanghai or Beijing", {"op": "or", "rules": [
            {"field": "city", "operator": "is", "value": "Shanghai"},
            {"field": "city", "operator": "is", "value": "Beijing"}]}),
        ("At risk", {"op": "and", "rules": [
            {"field": "status", "operator": "is", "value": "at_risk"}]}),
    ]
    loader.copy(
        "customers_segment",
        ["uuid", "created_at", "updated_at", "version", "name", "description", "kind", "rules",
         "owner_id", "deleted_at"],
        ((loader.uuid(), now, now, 1, name, "", "rules", json.dumps(rules), users[0][0], None)
         for name, rules in segments))

    # Sequences past the generated ids and codes.
    with connection.cursor() as cursor:
        for table in ("accounts_user", "accounts_team", "customers_tag", "customers_customer",
                      "customers_contact", "sales_product", "sales_opportunity", "sales_order",
                      "service_ticket"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))")
        cursor.execute("SELECT setval('customers_customer_code_seq', %s)",
                       [9_000_000 + n_customers + 1])
    connection.commit()
    # Production tables are vacuumed by autovacuum; a fresh bulk load is not yet (the
    # visibility map that index-only scans need would be empty).
    vacuum_started = time.monotonic()
    connection.autocommit = True
    with connection.cursor() as cursor:
        for table in ("customers_customer", "customers_contact", "customers_interaction",
                      "core_event", "sales_opportunity", "sales_order", "sales_orderline",
                      "service_ticket", "service_ticketcomment", "sales_lead",
                      "customers_customertag", "sales_customerpurchasestats",
                      "sales_pipelinerollup"):
            cursor.execute(f'VACUUM (ANALYZE) "{table}"')
    connection.autocommit = False
    loader.timings.append(("vacuum", 0, time.monotonic() - vacuum_started))
    print(f"  {'vacuum':<28} {'':>11}       {time.monotonic() - vacuum_started:7.1f} s")
    total = time.monotonic() - started
    print(f"  {'total':<28} {'':>11}       {total:7.1f} s", flush=True)
    return {
        "timings": [{"table": t, "rows": n, "seconds": round(s, 2)}
                    for t, n, s in loader.timings],
        "total_seconds": round(total, 1),
        "busiest_customer_id": busiest_customer,
        "scale": scale,
        "seed": seed,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="1.0 = a million customers (default)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    import django

    django.setup()
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    raw.autocommit = False
    result = generate(raw, scale=args.scale, seed=args.seed)
    out = os.environ.get("BENCH_DATASET_FILE")
    if out:
        with open(out, "w") as handle:
            json.dump(result, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
