"""Demo sales data: a product catalogue with stock, leads in every status (some from the
"Contact us" web form), scoring and assignment rules, a pipeline with opportunities in every
stage and their stage history, development plans, 18 months of orders (so purchase figures
mean something) and this and next quarter's targets. Deterministic (seeded), idempotent, and
built with bulk_create in a few seconds. Runs after the customers demo (which it builds on)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

SKU_PREFIX = "DM-"
ORDER_PREFIX = "SO-D"
FORM_SLUG = "contact-us"

PRODUCTS = [
    # name, price
    ("Industrial robot arm R6", "128000"), ("Collaborative robot C3", "86000"),
    ("Servo motor 750W", "1850"), ("Servo drive SD-20", "2600"), ("PLC controller X200", "5400"),
    ("HMI touch panel 10\"", "3200"), ("Vision sensor VS-4", "7800"),
    ("Safety light curtain", "4100"), ("Conveyor module 2m", "15800"),
    ("Gripper kit pneumatic", "2300"), ("Barcode scanner pro", "1290"),
    ("Label printer LP-300", "3650"), ("Warehouse tablet rugged", "6200"),
    ("RFID reader fixed", "4800"), ("Pallet sensor set", "980"),
    ("CRM Cloud seat (year)", "1200"), ("Analytics add-on (year)", "3600"),
    ("Implementation day", "4800"), ("Training workshop", "9600"),
    ("Premium support (year)", "24000"), ("Spare parts kit A", "760"),
    ("Spare parts kit B", "1420"), ("Cable harness 5m", "180"), ("Power supply 24V", "420"),
    ("工业相机 GigE", "5600"), ("激光测距传感器", "2200"), ("伺服电机 400W", "1450"),
    ("智能网关 IoT-5", "3900"), ("变频器 7.5kW", "4700"), ("温湿度传感器", "320"),
    ("扫码枪 无线", "890"), ("安全控制器", "6800"), ("机器人底座", "5200"),
    ("气动夹爪", "1980"), ("工业交换机 8口", "2600"), ("电柜空调", "4300"),
    ("运维服务包 (年)", "18000"), ("现场调试服务 (天)", "3800"),
    ("培训课程 (天)", "6500"), ("备件包 C", "2100"),
]
EN_FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "James", "Sophia", "Lucas", "Mia",
            "Ethan", "Grace", "Henry", "Chloe", "Jack", "Lily", "Owen"]
EN_LAST = ["Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Taylor",
           "Anderson", "Clark", "Moore", "Hall", "Allen", "Wright", "Scott", "King"]
ZH_SURNAME = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱"]
ZH_GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "婷", "强", "丽",
            "鹏", "慧"]
EN_COMPANY = ["Northwind Traders", "Redwood Packaging", "Lakeside Dairy", "Apex Fabrication",
              "Cobalt Motors", "Sunrise Clinics", "Harborview Logistics", "Ironclad Tools",
              "Bluefin Seafood", "Crescent Pharma", "Vantage Retail", "Keystone Builders"]
ZH_COMPANY = ["上海恒达机械有限公司", "深圳星河电子有限公司", "杭州绿源食品有限公司",
              "苏州精工自动化有限公司", "成都天府物流有限公司", "北京博远软件有限公司",
              "广州美佳纺织有限公司", "武汉长江医疗器械有限公司"]
TITLES = ["Purchasing manager", "Operations manager", "CTO", "Plant manager", "Buyer",
          "Head of IT", "采购经理", "生产总监", "总经理", "IT 主管", ""]
MESSAGES = ["Please send a quote for 3 robot cells.", "We need a demo next month.",
            "Looking for a distributor in our region.", "What is the lead time?",
            "请联系我讨论自动化改造方案。", "想了解产品价格和交期。", ""]
DEAL_KIND = ["Line automation", "Warehouse scanning", "Robot cell", "Service contract",
             "Vision upgrade", "Spare parts framework", "CRM rollout", "产线改造", "年度维保",
             "视觉检测项目"]
LOST_REASONS = ["Price too high", "Chose a competitor", "Budget frozen", "No decision",
                "Timing: postponed to next year", "预算不足"]
PLAN_ACTIONS = ["Discovery call with the buyer", "Site visit and line audit",
                "Send the technical proposal", "Demo at our showroom", "Reference call",
                "Negotiate the framework terms", "拜访客户技术负责人", "提交报价方案"]
PLAN_RESULTS = ["Needs confirmed; budget approved for Q3.", "Met the plant manager; positive.",
                "Proposal received; questions on delivery time.", "客户认可方案，等待采购流程。"]


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def _person(rng, chinese: bool) -> tuple[str, str]:
    if chinese:
        return rng.choice(ZH_GIVEN) + rng.choice(ZH_GIVEN), rng.choice(ZH_SURNAME)
    return rng.choice(EN_FIRST), rng.choice(EN_LAST)


def _money(rng, low: int, high: int, step: int = 100) -> Decimal:
    return Decimal(rng.randrange(low, high, step))


def _score(lead, rules) -> tuple[int, list[dict]]:
    """The demo's own evaluation of its scoring rules (same meaning as the lead services')."""
    breakdown = []
    for rule in rules:
        if rule.field in ("source", "region", "industry"):
            entry = getattr(lead, rule.field)
            value = entry.code if entry is not None else ""
        else:
            value = getattr(lead, rule.field)
        if rule.operator == "is_set":
            hit = bool(value)
        elif rule.operator == "equals":
            hit = str(value).casefold() == rule.value.casefold()
        else:
            hit = rule.value.casefold() in str(value).casefold()
        if hit:
            breakdown.append({"rule": rule.label, "points": rule.points})
    return sum(b["points"] for b in breakdown), breakdown


def build(stdout) -> None:
    from importlib import import_module

    from django.apps import apps

    from accounts.models import Team, User
    from customers.models import Contact, Customer, DictionaryEntry
    from sales.models import (
        DevelopmentPlan,
        Lead,
        LeadAssignmentRule,
        LeadScoreRule,
        Opportunity,
        OpportunityStageHistory,
        Order,
        OrderLine,
        PipelineStage,
        PlanStep,
        Product,
        SalesTarget,
        StockMovement,
        WebForm,
    )

    if Product.objects.filter(sku__startswith=SKU_PREFIX).exists():
        stdout.write("Sales: demo sales data already there.")
        return
    customers = list(Customer.objects.alive().filter(code__startswith="D")
                     .order_by("code").only("id", "owner_id", "team_id", "kind", "name"))
    if not customers:
        stdout.write("Sales: no demo customers; skipped.")
        return
    rng = random.Random(20261125)  # noqa: S311 - demo data, not security
    users = list(User.objects.filter(email__endswith="@example.com", is_active=True))
    by_email = {u.email: u for u in users}
    reps = [by_email[e] for e in ("sales@example.com", "manager@example.com") if e in by_email]
    reps = reps or users
    teams = {t.name: t for t in Team.objects.filter(name__startswith="Sales")}
    entries = {kind: {e.code: e for e in DictionaryEntry.objects.filter(kind=kind,
                                                                       is_active=True)}
               for kind in ("source", "region", "industry")}
    if not PipelineStage.objects.exists():
        import_module("sales.migrations.0002_defaults").seed_stages(apps, None)
    stages = list(PipelineStage.objects.filter(is_active=True).order_by("order", "id"))
    open_stages = [s for s in stages if not s.is_closed]
    primary = {c.customer_id: c for c in Contact.objects.alive().filter(
        customer__in=customers, is_primary=True).only("id", "customer_id")}
    now = timezone.now()
    today = timezone.localdate()

    with transaction.atomic():
        # --- products -----------------------------------------------------------------------
        products = []
        for n, (name, price) in enumerate(PRODUCTS):
            low = n % 9 == 4  # a few run low
            products.append(Product(
                sku=f"{SKU_PREFIX}{1001 + n}", name=name, price=Decimal(price),
                description=f"{name}: demo catalogue item.",
                stock_quantity=rng.randint(0, 4) if low else rng.randint(40, 400),
                low_stock_threshold=5 if low else rng.choice([5, 10, 20]),
                is_active=n != len(PRODUCTS) - 1,
                created_at=now - timedelta(days=600),
            ))
        Product.objects.bulk_create(products)
        on_sale = [p for p in products if p.is_active]

        # --- web form, scoring and assignment rules ----------------------------------------
        source = entries["source"]
        form, _created = WebForm.objects.get_or_create(slug=FORM_SLUG, defaults={
            "name": "Contact us", "title": "Contact us",
            "intro": "Tell us what you need; we answer within one working day.",
            "fields": ["last_name", "company", "phone", "region", "message"],
            "required_fields": ["company"],
            "consent_text": "Send me news and offers (you can unsubscribe at any time).",
            "thank_you_text": "Thank you! A colleague will contact you shortly.",
            "source": source.get("website"), "team": teams.get("Sales East"),
        })
        score_rules = [
            ("Has an e-mail", "email", "is_set", "", 10),
            ("Has a phone", "phone", "is_set", "", 10),
            ("Named a company", "company", "is_set", "", 15),
            ("Decision maker", "title", "contains", "manager", 15),
            ("Came by referral", "source", "equals", "referral", 20),
            ("Agrees to marketing", "marketing_consent", "is_set", "", 5),
        ]
        rules = []
        for order, (label, field, operator, value, points) in enumerate(score_rules, start=1):
            rule, _created = LeadScoreRule.objects.get_or_create(label=label, defaults={
                "field": field, "operator": operator, "value": value, "points": points,
                "order": order * 10})
            rules.append(rule)
        assignment = []
        for order, (name, kind, code, team_name) in enumerate([
            ("Trade show leads to Sales East", "source", "trade-show", "Sales East"),
            ("Western region to Sales West", "region", "west", "Sales West"),
        ], start=1):
            team = teams.get(team_name)
            entry = entries[kind].get(code)
            if team is None or entry is None:
                continue
            rule, _created = LeadAssignmentRule.objects.get_or_create(name=name, defaults={
                "order": order * 10, "strategy": "round_robin", "team": team,
                f"match_{kind}": entry})
            assignment.append(rule)

        # --- leads --------------------------------------------------------------------------
        statuses = (["new"] * 40 + ["contacted"] * 35 + ["qualified"] * 25
                    + ["unqualified"] * 20 + ["converted"] * 30)
        rng.shuffle(statuses)
        sources = list(source.values())
        regions = list(entries["region"].values())
        industries = list(entries["industry"].values())
        team_list = list(teams.values())
        leads = []
        converted_customers = rng.sample(customers, min(30, len(customers)))
        for n, status in enumerate(statuses):
            chinese = n % 3 == 0
            first, last = _person(rng, chinese)
            from_form = n % 5 == 0
            company = rng.choice(ZH_COMPANY if chinese else EN_COMPANY)
            created = now - timedelta(days=rng.randint(0, 240), minutes=rng.randint(0, 900))
            lead = Lead(
                first_name=first, last_name=last, company=company,
                title=rng.choice(TITLES),
                email=f"lead{n + 1}@{'example.cn' if chinese else 'example.org'}",
                phone=(f"+86 13{rng.randint(0, 9)} {rng.randint(1000, 9999)} "
                       f"{rng.randint(1000, 9999)}" if chinese else
                       f"+1 {rng.randint(200, 989)} 555 {rng.randint(1000, 9999)}")
                if rng.random() < 0.8 else "",
                source=source.get("website") if from_form else (
                    rng.choice(sources) if sources else None),
                region=rng.choice(regions) if regions else None,
                industry=rng.choice(industries) if industries else None,
                status=status, message=rng.choice(MESSAGES) if from_form else "",
                marketing_consent=from_form and rng.random() < 0.6,
                web_form=form if from_form else None,
                owner=None if status == "new" and n % 4 == 0 else rng.choice(reps),
                team=rng.choice(team_list) if team_list else None,
                created_at=created,
            )
            if lead.owner is not None and lead.team is not None and rng.random() < 0.3:
                lead.assigned_by_rule = assignment[0] if assignment else None
            if status == "converted":
                customer = converted_customers[len([x for x in leads
                                                    if x.status == "converted"])
                                               % len(converted_customers)]
                lead.converted_customer_id = customer.pk
                contact = primary.get(customer.pk)
                lead.converted_contact_id = contact.pk if contact else None
                lead.converted_at = created + timedelta(days=rng.randint(3, 30))
                lead.company = customer.name
            lead.phone_digits = "".join(ch for ch in lead.phone if ch.isdigit())
            lead.score, lead.score_breakdown = _score(lead, rules)
            leads.append(lead)
        Lead.objects.bulk_create(leads)
        WebForm.objects.filter(pk=form.pk).update(
            submission_count=sum(1 for lead in leads if lead.web_form_id))

        # --- opportunities, their stage history and events ---------------------------------
        lead_of = {lead.converted_customer_id: lead for lead in leads
                   if lead.converted_customer_id}
        weights = {s.pk: w for s, w in zip(stages, [30, 30, 30, 25, 50, 35], strict=False)}
        opportunities, paths = [], []
        for n in range(200):
            # Every stage gets some: the first ones walk the stages in turn.
            stage = stages[n] if n < len(stages) else rng.choices(
                stages, [weights.get(s.pk, 20) for s in stages])[0]
            customer = rng.choice(customers)
            created = now - timedelta(days=rng.randint(10, 420))
            if stage.is_won or stage.is_lost:
                reached = open_stages[: rng.randint(1, len(open_stages))]
                path = [*reached, stage]
                closed = min(now - timedelta(days=1),
                             created + timedelta(days=rng.randint(20, 160)))
                close_date = closed.date()
            else:
                path = open_stages[: open_stages.index(stage) + 1]
                closed = None
                close_date = today + timedelta(days=rng.randint(-20, 180))
            owner_id = customer.owner_id or rng.choice(reps).pk
            big = rng.random() < 0.15
            opportunities.append(Opportunity(
                name=f"{customer.name}: {rng.choice(DEAL_KIND)}", customer_id=customer.pk,
                contact_id=primary[customer.pk].pk if customer.pk in primary else None,
                owner_id=owner_id, team_id=customer.team_id, stage=stage,
                amount=_money(rng, 200_000, 1_500_000, 1000) if big
                else _money(rng, 5_000, 180_000),
                probability=stage.probability, expected_close_date=close_date,
                lost_reason=rng.choice(LOST_REASONS) if stage.is_lost else "",
                stage_entered_at=closed or created, closed_at=closed,
                lead=lead_of.pop(customer.pk, None),
                created_at=created,
            ))
            paths.append(path)
        Opportunity.objects.bulk_create(opportunities)
        converted = [lead for lead in leads if lead.converted_customer_id]
        opportunity_of_lead = {o.lead_id: o for o in opportunities if o.lead_id}
        for lead in converted:
            if lead.pk in opportunity_of_lead:
                lead.converted_opportunity_id = opportunity_of_lead[lead.pk].pk
        Lead.objects.bulk_update(converted, ["converted_opportunity"])

        history = []
        for opportunity, path in zip(opportunities, paths, strict=True):
            end = opportunity.closed_at or now - timedelta(days=rng.randint(0, 9))
            span = max(end - opportunity.created_at, timedelta(hours=len(path)))
            at, previous = opportunity.created_at, None
            for i, stage in enumerate(path):
                when = (opportunity.created_at + span * i / max(1, len(path) - 1)
                        if len(path) > 1 else at)
                history.append(OpportunityStageHistory(
                    opportunity=opportunity, from_stage=previous, to_stage=stage,
                    changed_by_id=opportunity.owner_id, changed_at=when,
                    seconds_in_previous=int((when - at).total_seconds()) if previous else 0))
                at, previous = when, stage
            if not opportunity.closed_at:
                opportunity.stage_entered_at = at
        OpportunityStageHistory.objects.bulk_create(history)
        Opportunity.objects.bulk_update([o for o in opportunities if not o.closed_at],
                                        ["stage_entered_at"])
        events = _events(opportunities, now)

        # --- development plans --------------------------------------------------------------
        plans, steps = [], []
        planned = [o for o in opportunities if not o.closed_at][:24] + [
            o for o in opportunities if o.closed_at][:6]
        for opportunity in planned:
            status = ("active" if not opportunity.closed_at else
                      "succeeded" if opportunity.stage.is_won else "failed")
            plans.append(DevelopmentPlan(
                opportunity=opportunity, title=f"Win plan: {opportunity.name}"[:200],
                goal="Signed order before the expected close date.",
                status=status, closed_at=opportunity.closed_at,
                outcome="" if status == "active" else (
                    "Order signed." if status == "succeeded" else opportunity.lost_reason),
                created_by_id=opportunity.owner_id,
                created_at=opportunity.created_at + timedelta(days=2)))
        DevelopmentPlan.objects.bulk_create(plans)
        for n, plan in enumerate(plans):
            start = plan.created_at.date()
            for i, action in enumerate(rng.sample(PLAN_ACTIONS, rng.randint(3, 4))):
                day = (start + timedelta(days=7 * (i + 1)) if plan.status != "active"
                       else today + timedelta(days=7 * i - (14 if n % 3 == 0 else 3)))
                done = plan.status != "active" or (day < today and (n + i) % 3 != 0)
                steps.append(PlanStep(
                    plan=plan, planned_date=day, action=action,
                    result=rng.choice(PLAN_RESULTS) if done else "",
                    done_at=timezone.make_aware(
                        datetime.combine(day, time(15))) if done else None,
                    done_by_id=plan.created_by_id if done else None))
        PlanStep.objects.bulk_create(steps)

        # --- orders with lines and stock movements -------------------------------------------
        buyers = rng.sample(customers, min(120, len(customers)))
        orders, lines_of = [], []
        sold: dict[int, int] = {}
        for n in range(300):
            customer = buyers[n % len(buyers)] if n < len(buyers) else rng.choice(buyers)
            status = rng.choices(["completed", "confirmed", "shipped", "draft", "cancelled"],
                                 [55, 20, 13, 6, 6])[0]
            at = now - timedelta(days=rng.randint(0 if status == "draft" else 2, 540),
                                 minutes=rng.randint(0, 600))
            lines = []
            for product in rng.sample(on_sale, rng.randint(1, 4)):
                quantity = rng.randint(1, 3) if product.price > 10000 else rng.randint(1, 20)
                discount = rng.choice([Decimal("0"), Decimal("0"), Decimal("5"), Decimal("10")])
                total = (product.price * quantity * (100 - discount) / 100).quantize(
                    Decimal("0.01"))
                lines.append(OrderLine(product=product, quantity=quantity,
                                       unit_price=product.price, discount_percent=discount,
                                       line_total=total, description=product.name))
            order = Order(
                number=f"{ORDER_PREFIX}{n + 1:05d}", customer_id=customer.pk,
                contact_id=primary[customer.pk].pk if customer.pk in primary else None,
                owner_id=customer.owner_id or rng.choice(reps).pk, team_id=customer.team_id,
                status=status, total=sum((line.line_total for line in lines), Decimal("0")),
                ordered_at=None if status == "draft" else at,
                cancelled_at=at + timedelta(days=2) if status == "cancelled" else None,
                created_at=at - timedelta(hours=2),
            )
            orders.append(order)
            lines_of.append(lines)
        Order.objects.bulk_create(orders)
        all_lines, movements = [], []
        for order, lines in zip(orders, lines_of, strict=True):
            for line in lines:
                line.order = order
                all_lines.append(line)
                if order.status in Order.PLACED:
                    sold[line.product.pk] = sold.get(line.product.pk, 0) + line.quantity
                    movements.append(StockMovement(
                        product=line.product, quantity=-line.quantity, reason="order",
                        order=order, user_id=order.owner_id, created_at=order.ordered_at))
        OrderLine.objects.bulk_create(all_lines)
        # The goods received first, so the ledger adds up to the stock on hand.
        movements += [StockMovement(product=p, quantity=p.stock_quantity + sold.get(p.pk, 0),
                                    reason="receipt", note="Opening stock",
                                    created_at=now - timedelta(days=560))
                      for p in products]
        StockMovement.objects.bulk_create(movements)

        # --- targets: monthly, this and next quarter, for the reps and the sales teams ------
        quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        months = [_add_months(quarter_start, i) for i in range(6)]
        targets = [SalesTarget(user=user, period="month", period_start=month,
                               amount=Decimal(rng.choice([300_000, 400_000, 500_000])))
                   for user in reps for month in months]
        targets += [SalesTarget(team=team, period="month", period_start=month,
                                amount=Decimal(rng.choice([900_000, 1_200_000])))
                    for team in team_list for month in months]
        SalesTarget.objects.bulk_create(targets, ignore_conflicts=True)

        # --- purchase figures: one set-based statement ------------------------------------
        from sales.integration import refresh_purchase_stats

        refresh_purchase_stats({o.customer_id for o in orders})
        from crm.models import Event

        Event.objects.bulk_create(events)

    stdout.write(
        f"Sales: {len(products)} products, {len(leads)} leads, {len(opportunities)} "
        f"opportunities, {len(plans)} plans, {len(orders)} orders, {len(targets)} targets.")


def _events(opportunities, now) -> list:
    """The opportunities' business events for the customers' timelines, already marked as
    dispatched: demo history must not trigger workflows or webhooks."""
    from django.contrib.contenttypes.models import ContentType

    from crm.models import Event

    kind = ContentType.objects.get_for_model(opportunities[0]) if opportunities else None
    events = []
    for o in opportunities:
        payload = {"name": o.name, "amount": str(o.amount), "currency": o.currency,
                   "stage": o.stage.name, "opportunity": str(o.uuid)}
        events.append(Event(name="opportunity.created", actor_id=o.owner_id,
                            customer_id=o.customer_id, subject_type=kind, subject_id=str(o.pk),
                            payload=payload, created_at=o.created_at, dispatched_at=now))
        if o.closed_at:
            name = "opportunity.won" if o.stage.is_won else "opportunity.lost"
            extra = {"reason": o.lost_reason} if o.stage.is_lost else {}
            events.append(Event(name=name, actor_id=o.owner_id, customer_id=o.customer_id,
                                subject_type=kind, subject_id=str(o.pk),
                                payload={**payload, **extra}, created_at=o.closed_at,
                                dispatched_at=now))
    return events
