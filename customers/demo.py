"""Demo customers: a few hundred companies and persons, in English and Chinese, with contacts,
a communication log and tags. Deterministic (seeded) and idempotent."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

COUNT = 300
CODE_PREFIX = "D"

EN_PREFIX = ["North", "Blue", "Summit", "Atlas", "Pioneer", "Silver", "Harbor", "Green",
             "Bright", "Eagle", "Maple", "Union", "Vertex", "Coastal", "Prime", "Golden"]
EN_CORE = ["Robotics", "Foods", "Textiles", "Logistics", "Software", "Medical", "Builders",
           "Energy", "Design", "Analytics", "Motors", "Packaging", "Pharma", "Retail"]
EN_SUFFIX = ["Ltd", "Inc.", "GmbH", "LLC", "Group", "Co."]
ZH_CITY = ["上海", "北京", "深圳", "杭州", "广州", "成都", "南京", "苏州", "武汉", "西安"]
ZH_CORE = ["华信", "明德", "恒通", "中科", "远航", "星辰", "瑞丰", "博雅", "天成", "金桥"]
ZH_TRADE = ["科技", "贸易", "食品", "物流", "医疗器械", "电子", "纺织", "建设", "软件", "咨询"]
EN_FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "James", "Sophia", "Lucas", "Mia",
            "Ethan", "Isabella", "Mason", "Charlotte", "Logan", "Amelia", "Daniel"]
EN_LAST = ["Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Martinez", "Taylor",
           "Anderson", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Walker", "Young"]
ZH_SURNAME = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙"]
ZH_GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "婷", "强", "丽"]
TITLES = ["CEO", "Purchasing manager", "CTO", "Office manager", "Buyer", "Head of IT",
          "采购经理", "总经理", "财务总监", "运营主管"]
TAGS = [("VIP", "danger"), ("Newsletter", "info"), ("Partner", "success"),
        ("Trade show 2026", "primary"), ("Needs follow-up", "warning"), ("重点客户", "danger")]
TASK_TITLES = ["Call back about the quote", "Send the contract", "Prepare the renewal offer",
               "Visit the new office", "Check payment status", "回访客户", "准备报价单"]
SUBJECTS = ["Intro call", "Quarterly review", "Pricing question", "Sent proposal",
            "Follow-up on quote", "Product demo", "Contract renewal", "Complaint about delivery",
            "电话回访", "产品演示", "报价跟进"]


def build(stdout) -> None:
    from accounts.models import Team, User
    from customers.models import (
        Contact,
        Customer,
        CustomerTag,
        DictionaryEntry,
        Interaction,
        Tag,
        Task,
    )

    if Customer.objects.filter(code__startswith=CODE_PREFIX).exists():
        stdout.write("Customers: demo customers already there.")
        return
    rng = random.Random(20261124)  # noqa: S311 - demo data, not security
    users = list(User.objects.filter(email__endswith="@example.com", is_active=True))
    sales_people = [u for u in users if u.email.split("@")[0] in ("sales", "manager")] or users
    teams = list(Team.objects.filter(name__startswith="Sales"))
    entries = {kind: list(DictionaryEntry.objects.filter(kind=kind, is_active=True))
               for kind in ("industry", "source", "level", "region")}
    tags = [Tag.objects.get_or_create(name=name, defaults={"color": color})[0]
            for name, color in TAGS]
    now = timezone.now()

    with transaction.atomic():
        customers = []
        for n in range(COUNT):
            chinese = n % 3 == 0
            person = n % 7 == 0
            if person:
                name = (rng.choice(ZH_SURNAME) + rng.choice(ZH_GIVEN) + rng.choice(ZH_GIVEN)
                        if chinese else f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}")
            elif chinese:
                name = (f"{rng.choice(ZH_CITY)}{rng.choice(ZH_CORE)}{rng.choice(ZH_TRADE)}"
                        "有限公司")
            else:
                name = f"{rng.choice(EN_PREFIX)} {rng.choice(EN_CORE)} {rng.choice(EN_SUFFIX)}"
            owner = rng.choice(sales_people) if sales_people else None
            customers.append(Customer(
                kind=Customer.Kind.PERSON if person else Customer.Kind.COMPANY,
                name=name,
                code=f"{CODE_PREFIX}{n + 1:07d}",
                email=f"contact{n + 1}@{'example.cn' if chinese else 'example.com'}",
                phone=f"+86 1{rng.randint(30, 89)} {rng.randint(1000, 9999)} "
                      f"{rng.randint(1000, 9999)}" if chinese
                      else f"+1 {rng.randint(200, 989)} {rng.randint(200, 999)} "
                           f"{rng.randint(1000, 9999)}",
                status=rng.choices(["active", "at_risk", "churned"], [80, 12, 8])[0],
                owner=owner,
                team=rng.choice(teams) if teams and rng.random() < 0.8 else None,
                industry=rng.choice(entries["industry"]) if entries["industry"] else None,
                source=rng.choice(entries["source"]) if entries["source"] else None,
                level=rng.choice(entries["level"]) if entries["level"] else None,
                region=rng.choice(entries["region"]) if entries["region"] else None,
                city=rng.choice(ZH_CITY) if chinese else rng.choice(
                    ["Boston", "Austin", "Denver", "Seattle", "London", "Berlin"]),
                created_at=now - timedelta(days=rng.randint(1, 900)),
            ))
        for customer in customers:
            customer.phone_digits = "".join(ch for ch in customer.phone if ch.isdigit())
        Customer.objects.bulk_create(customers)

        links, contacts, interactions = [], [], []
        for n, customer in enumerate(customers):
            chinese = n % 3 == 0
            links.extend(CustomerTag(customer=customer, tag=tag)
                         for tag in rng.sample(tags, rng.randint(0, 2)))
            for c in range(rng.randint(1, 3)):
                first, last = ((rng.choice(ZH_GIVEN) + rng.choice(ZH_GIVEN),
                                rng.choice(ZH_SURNAME)) if chinese
                               else (rng.choice(EN_FIRST), rng.choice(EN_LAST)))
                consent = rng.random() < 0.6
                contacts.append(Contact(
                    customer=customer, first_name=first, last_name=last,
                    title=rng.choice(TITLES), email=f"person{n + 1}.{c + 1}@example.com",
                    phone=customer.phone, is_primary=c == 0,
                    birthday=(now - timedelta(days=rng.randint(22 * 365, 60 * 365))).date(),
                    marketing_consent=consent, consent_at=now if consent else None,
                    consent_method="web_form" if consent else "",
                    phone_digits=customer.phone_digits,
                ))
            interactions.extend(
                Interaction(
                    customer=customer, user=customer.owner,
                    kind=rng.choice(["call", "email", "meeting", "message", "note"]),
                    direction=rng.choice(["inbound", "outbound"]),
                    occurred_at=now - timedelta(days=rng.randint(0, 400),
                                                minutes=rng.randint(0, 600)),
                    subject=rng.choice(SUBJECTS),
                    outcome=rng.choice(["", "Interested", "Call back next week", "Sent quote"]),
                )
                for _i in range(rng.randint(0, 5))
            )
        CustomerTag.objects.bulk_create(links, ignore_conflicts=True)
        Contact.objects.bulk_create(contacts)
        Interaction.objects.bulk_create(interactions)

        # Tasks: some overdue, some today, some ahead, a few done, for each owner.
        tasks = []
        owned = [c for c in customers if c.owner_id][:60]
        for n, customer in enumerate(owned):
            due = now + timedelta(days=rng.randint(-6, 20), hours=rng.randint(0, 8))
            done = rng.random() < 0.2
            tasks.append(Task(
                title=rng.choice(TASK_TITLES), customer=customer, assignee_id=customer.owner_id,
                created_by_id=customer.owner_id, due_at=due, remind_at=due,
                priority=rng.choice(["low", "normal", "normal", "high"]),
                status="done" if done else "open", done_at=now if done else None,
                # Demo tasks in the past do not send reminder e-mails on the first start.
                reminded_at=now if due < now else None,
            ))
            if n % 10 == 0:
                tasks[-1].description = "Prepare the quote and check stock first."
        Task.objects.bulk_create(tasks)
    stdout.write(f"Customers: {len(customers)} customers, {len(contacts)} contacts, "
                 f"{len(interactions)} interactions, {len(tasks)} tasks.")
