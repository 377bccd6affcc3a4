"""Demo service data: the "Service Desk" team (the manager and three support agents, who sign
in with DEMO_PASSWORD like every demo user), assignment rules, 120 tickets in every status
with replies, notes and assignment history (some late on their SLA, some rated by the
customer), and feedback. Deterministic (seeded), idempotent, built with bulk_create in a few
seconds; runs after the sales demo.

The demo writes ticket rows directly (the only place allowed to): going through the services
would send hundreds of e-mails and take minutes."""

from __future__ import annotations

import os
import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

NUMBER_PREFIX = "T-D"
TEAM_NAME = "Service Desk"
MANAGER_EMAIL = "manager@example.com"
AGENTS = [
    # email, first name, last name, title
    ("support@example.com", "Sofia", "Garcia", "Support agent"),
    ("support2@example.com", "Kenji", "Sato", "Support agent"),
    ("support3@example.com", "Wei", "Zhang", "Senior support agent"),
]
# status -> how many tickets
STATUS_COUNTS = [("new", 14), ("assigned", 14), ("in_progress", 24), ("waiting", 12),
                 ("resolved", 20), ("closed", 20), ("archived", 16)]
SUBJECTS = [
    "Robot arm stops with error E42", "Invoice shows the wrong VAT rate",
    "Cannot log in to the customer portal", "Delivery arrived damaged",
    "Request for a replacement part", "Training date needs to move",
    "Barcode scanner does not pair", "Question about the warranty terms",
    "Vision sensor gives false rejects", "Please update our billing address",
    "Conveyor module is noisy", "Firmware update failed",
    "发票抬头需要修改", "设备报警无法复位", "申请现场技术支持", "退货流程咨询",
    "软件许可证到期提醒", "备件交货期查询",
]
DESCRIPTIONS = [
    "Since yesterday the machine stops every hour with the same error. We restarted it twice.",
    "Please check the attached order; the amount does not match the quote.",
    "Our team cannot continue production until this is fixed. Please call us back.",
    "We would like to know the options and the lead time.",
    "设备从昨天开始频繁报警，请尽快安排工程师联系我们。",
    "请协助处理，谢谢！",
]
REPLIES = [
    "Thank you for reporting this. Could you send us a photo of the error screen?",
    "We have scheduled an engineer visit for Thursday morning.",
    "The replacement part has been shipped; tracking number follows by e-mail.",
    "Please try the steps in the attached guide and let us know the result.",
    "您好，我们已收到您的问题，工程师将在24小时内联系您。",
    "The corrected invoice is on its way.",
]
CUSTOMER_REPLIES = [
    "Here is the photo you asked for.", "Thursday works for us, thank you.",
    "The steps did not help, the error is back.", "谢谢，问题已经解决了。",
    "Could you please call me instead?",
]
NOTES = [
    "Checked the logs: same issue as last month, probably the encoder cable.",
    "Customer is a key account; keep the manager informed.",
    "Waiting for the spare part from the warehouse.",
    "内部备注：需要二线支持。",
]
SURVEY_COMMENTS = ["Quick and friendly, thank you!", "Took too long to get an answer.",
                   "Problem solved at the first visit.", "服务很好。", "", ""]
FEEDBACK = [
    ("complaint", "Deliveries keep arriving a day late this quarter."),
    ("complaint", "The hotline was busy for 40 minutes."),
    ("suggestion", "Please offer the training videos in Chinese too."),
    ("suggestion", "An online order status page would save us calls."),
    ("praise", "The engineer who came on site was excellent."),
    ("praise", "客户对新版本非常满意。"),
    ("other", "Asked whether we attend the Hannover fair."),
]


def _users(stdout):
    """The Service Desk team: its manager and the three agents (created when missing)."""
    from django.contrib.auth.models import Group

    from accounts import roles
    from accounts.models import Team, User

    password = os.environ.get("DEMO_PASSWORD", "")
    support = Group.objects.filter(name=roles.SUPPORT).first()
    agents = []
    for email, first, last, title in AGENTS:
        user, created = User.objects.get_or_create(
            email=email, defaults={"first_name": first, "last_name": last, "title": title})
        if created:
            if len(password) >= 10:
                user.set_password(password)
            else:
                user.set_unusable_password()
            user.save(update_fields=["password"])
        if support is not None and not user.groups.filter(pk=support.pk).exists():
            user.groups.add(support)
        agents.append(user)
    manager = User.objects.filter(email=MANAGER_EMAIL).first()
    team, _created = Team.objects.get_or_create(name=TEAM_NAME, defaults={
        "description": "First-line customer service: tickets, surveys and feedback.",
        "manager": manager})
    team.members.add(*agents, *([manager] if manager else []))
    return team, agents, manager


def _ensure_policies():
    from importlib import import_module

    from django.apps import apps

    from service.models import SLAPolicy

    if not SLAPolicy.objects.filter(is_active=True).exists():
        import_module("service.migrations.0002_defaults").seed(apps, None)
    return {p.priority: p for p in SLAPolicy.objects.filter(is_active=True)}


def build(stdout) -> None:
    from django.contrib.contenttypes.models import ContentType

    from crm.models import Event
    from customers.models import Contact, Customer, DictionaryEntry
    from service import sla
    from service.models import (
        AssignmentRule,
        Feedback,
        Ticket,
        TicketAssignment,
        TicketComment,
    )

    if Ticket.objects.filter(number__startswith=NUMBER_PREFIX).exists():
        stdout.write("Service: demo tickets already there.")
        return
    customers = list(Customer.objects.alive().filter(code__startswith="D")
                     .order_by("code").only("id", "name")[:150])
    if not customers:
        stdout.write("Service: no demo customers; skipped.")
        return
    rng = random.Random(20261126)  # noqa: S311 - demo data, not security
    now = timezone.now()
    S = Ticket.Status

    with transaction.atomic():
        team, agents, manager = _users(stdout)
        policies = _ensure_policies()
        categories = list(DictionaryEntry.objects.filter(
            kind=DictionaryEntry.Kind.TICKET_CATEGORY, is_active=True).order_by("order"))
        contacts = {}
        for c in Contact.objects.alive().filter(customer__in=customers).order_by(
                "-is_primary", "id").only("id", "customer_id", "first_name", "last_name",
                                          "email"):
            contacts.setdefault(c.customer_id, c)

        # --- assignment rules ---------------------------------------------------------------
        by_code = {c.code: c for c in categories}
        for order, (name, code, priority, strategy) in enumerate([
            ("Complaints to the Service Desk (fewest open)", "complaint", "",
             AssignmentRule.Strategy.LEAST_OPEN),
            ("Urgent tickets to the Service Desk", None, "urgent",
             AssignmentRule.Strategy.LEAST_OPEN),
            ("Everything else round-robin", None, "", AssignmentRule.Strategy.ROUND_ROBIN),
        ], start=1):
            AssignmentRule.objects.get_or_create(name=name, defaults={
                "order": order * 10, "category": by_code.get(code) if code else None,
                "priority": priority, "team": team, "strategy": strategy})

        # --- tickets ------------------------------------------------------------------------
        tickets = []
        n = 0
        for status, count in STATUS_COUNTS:
            for _i in range(count):
                n += 1
                customer = rng.choice(customers)
                contact = contacts.get(customer.pk)
                priority = rng.choices(["low", "normal", "high", "urgent"], [2, 5, 2, 1])[0]
                closed_kind = status in (S.RESOLVED, S.CLOSED, S.ARCHIVED)
                age_days = (rng.uniform(40, 120) if status == S.ARCHIVED
                            else rng.uniform(8, 40) if closed_kind
                            else rng.uniform(0.02, 6))
                created = now - timedelta(days=age_days)
                t = Ticket(
                    number=f"{NUMBER_PREFIX}{n:05d}", subject=rng.choice(SUBJECTS),
                    description=rng.choice(DESCRIPTIONS), customer=customer, contact=contact,
                    requester_name=str(contact) if contact else "",
                    requester_email=(contact.email if contact else "") or "",
                    category=rng.choice(categories) if categories else None,
                    priority=priority,
                    channel=rng.choice(["email", "email", "phone", "web", "chat"]),
                    status=status, team=team, sla_policy=policies.get(priority),
                    created_at=created, updated_at=created, last_public_activity_at=created,
                )
                sla.compute_due_times(t)
                if status != S.NEW:
                    t.assignee = rng.choice(agents)
                if status not in (S.NEW, S.ASSIGNED):
                    first = created + timedelta(minutes=rng.randint(10, 600))
                    t.first_responded_at = min(first, now - timedelta(minutes=1))
                    t.first_response_seconds = int((t.first_responded_at - created)
                                                   .total_seconds())
                    t.first_response_breached = bool(
                        t.first_response_due_at and t.first_responded_at
                        > t.first_response_due_at)
                    t.last_public_activity_at = t.first_responded_at
                elif t.first_response_due_at and t.first_response_due_at < now:
                    t.first_response_breached = True  # as the SLA sweep would have flagged
                if status == S.WAITING:
                    t.paused_at = now - timedelta(hours=rng.randint(1, 30))
                if status in (S.NEW, S.ASSIGNED, S.IN_PROGRESS) and t.resolution_due_at \
                        and t.resolution_due_at < now:
                    t.resolution_breached = True
                if closed_kind:
                    t.resolved_at = created + timedelta(hours=rng.uniform(2, 24 * 6))
                    t.resolution_seconds = int((t.resolved_at - created).total_seconds())
                    t.resolution_breached = bool(t.resolution_due_at
                                                 and t.resolved_at > t.resolution_due_at)
                    t.paused_at = t.resolved_at
                    t.last_public_activity_at = t.resolved_at
                    if t.requester_email:
                        t.survey_sent_at = t.resolved_at
                        if rng.random() < 0.65:
                            t.satisfaction_score = rng.choices([1, 2, 3, 4, 5],
                                                               [1, 1, 2, 4, 5])[0]
                            t.satisfaction_comment = rng.choice(SURVEY_COMMENTS)
                            t.satisfaction_at = t.resolved_at + timedelta(hours=rng.randint(
                                1, 48))
                if status in (S.CLOSED, S.ARCHIVED):
                    t.closed_at = t.resolved_at + timedelta(days=7)
                    t.last_public_activity_at = t.closed_at
                if status == S.ARCHIVED:
                    t.archived_at = t.closed_at + timedelta(days=30)
                t.updated_at = t.archived_at or t.closed_at or t.last_public_activity_at
                tickets.append(t)
        Ticket.objects.bulk_create(tickets)

        # --- comments, assignment history, events --------------------------------------------
        comments, assignments, events = [], [], []
        kind = ContentType.objects.get_for_model(Ticket)

        def event(name, t, at, actor=None, **extra):
            events.append(Event(
                name=name, actor=actor, customer_id=t.customer_id, subject_type=kind,
                subject_id=str(t.pk), created_at=at, available_at=at, dispatched_at=now,
                payload={"number": t.number, "subject": t.subject, "status": t.status,
                         **extra}))

        for t in tickets:
            event("ticket.created", t, t.created_at, channel=t.channel, priority=t.priority)
            if t.assignee_id:
                at = t.created_at + timedelta(minutes=5)
                assignments.append(TicketAssignment(ticket=t, to_user=t.assignee, team=team,
                                                    by=manager, created_at=at))
                event("ticket.assigned", t, at, actor=manager, assignee=t.assignee_id,
                      assignee_name=str(t.assignee))
            if t.first_responded_at:
                comments.append(TicketComment(
                    ticket=t, author=t.assignee, author_name=str(t.assignee), is_public=True,
                    body=rng.choice(REPLIES), created_at=t.first_responded_at,
                    updated_at=t.first_responded_at, emailed_at=t.first_responded_at))
                note_at = t.first_responded_at + timedelta(minutes=20)
                if rng.random() < 0.5 and note_at < now:
                    comments.append(TicketComment(
                        ticket=t, author=t.assignee, author_name=str(t.assignee),
                        is_public=False, body=rng.choice(NOTES), created_at=note_at,
                        updated_at=note_at))
                reply_at = t.first_responded_at + timedelta(hours=2)
                if rng.random() < 0.6 and reply_at < (t.resolved_at or now):
                    comments.append(TicketComment(
                        ticket=t, author_name=t.requester_name or "Customer", is_public=True,
                        from_customer=True, body=rng.choice(CUSTOMER_REPLIES),
                        created_at=reply_at, updated_at=reply_at))
            if t.resolved_at:
                event("ticket.status_changed", t, t.resolved_at, actor=t.assignee,
                      **{"from": "in_progress", "to": "resolved"})
            if t.satisfaction_at:
                event("ticket.rated", t, t.satisfaction_at, score=t.satisfaction_score,
                      comment=t.satisfaction_comment)
        TicketComment.objects.bulk_create(comments)
        TicketAssignment.objects.bulk_create(assignments)

        # --- feedback -----------------------------------------------------------------------
        feedback = []
        statuses = [Feedback.Status.OPEN, Feedback.Status.ACKNOWLEDGED, Feedback.Status.CLOSED]
        for i in range(28):
            kind_, body = FEEDBACK[i % len(FEEDBACK)]
            customer = rng.choice(customers)
            at = now - timedelta(days=rng.uniform(0.1, 90))
            feedback.append(Feedback(
                kind=kind_, customer=customer, contact=contacts.get(customer.pk), body=body,
                channel=rng.choice(["phone", "email", "in_person", "chat"]),
                status=statuses[i % 3], logged_by=rng.choice([*agents, manager] if manager
                                                             else agents),
                created_at=at, updated_at=at))
        Feedback.objects.bulk_create(feedback)
        feedback_kind = ContentType.objects.get_for_model(Feedback)
        events += [Event(name="feedback.created", actor=f.logged_by, customer_id=f.customer_id,
                         subject_type=feedback_kind, subject_id=str(f.pk),
                         created_at=f.created_at, available_at=f.created_at, dispatched_at=now,
                         payload={"kind": f.kind, "body": f.body[:200]}) for f in feedback]
        Event.objects.bulk_create(events)

    stdout.write(f"Service: {len(agents)} agents in “{TEAM_NAME}”, {len(tickets)} tickets, "
                 f"{len(comments)} comments, {len(feedback)} feedback entries.")
