"""Service tickets from creation to archive, their SLA policies and notices, replies and
notes, attachments, assignment rules and history, and feedback."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import BaseModel
from customers.models import DictionaryEntry


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


# Sort keys of the ticket lists (service/filters.py), indexed below as these exact expressions.
PRIORITY_RANK = models.Case(
    models.When(priority=Priority.URGENT, then=models.Value(4)),
    models.When(priority=Priority.HIGH, then=models.Value(3)),
    models.When(priority=Priority.NORMAL, then=models.Value(2)),
    default=models.Value(1), output_field=models.IntegerField(),
)
FAR_FUTURE = datetime.datetime(9999, 1, 1, tzinfo=datetime.UTC)
# The due time the desk works against now: the first response while none was given, then the
# resolution. Tickets without an SLA sort last.
DUE_AT = Coalesce(
    models.Case(models.When(first_responded_at__isnull=True,
                            then=models.F("first_response_due_at")),
                default=models.F("resolution_due_at"), output_field=models.DateTimeField()),
    models.Value(FAR_FUTURE), output_field=models.DateTimeField(),
)


class ServiceConfig(models.Model):
    """The service desk's settings, one row, edited in the Django admin."""

    auto_close_days = models.PositiveIntegerField(
        _("close resolved tickets after (days without a reply)"), default=7,
        validators=[MinValueValidator(1)])
    archive_days = models.PositiveIntegerField(
        _("archive closed tickets after (days)"), default=30, validators=[MinValueValidator(1)])
    near_breach_percent = models.PositiveSmallIntegerField(
        _("warn when this share of an SLA target has passed (%)"), default=80,
        validators=[MinValueValidator(1), MaxValueValidator(99)])
    max_attachment_mb = models.PositiveSmallIntegerField(
        _("largest attachment (MB)"), default=10, validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("service settings")
        verbose_name_plural = _("service settings")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="service_config_single")]

    def __str__(self) -> str:
        return str(_("Service settings"))

    @classmethod
    def get(cls) -> ServiceConfig:
        config, _created = cls.objects.get_or_create(id=1)
        return config


class SLAPolicy(BaseModel):
    """First-response and resolution targets for one priority, in calendar minutes or in
    business minutes (business_days and business hours, in TIME_ZONE)."""

    name = models.CharField(_("name"), max_length=100)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField(_("first response within (minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution within (minutes)"))
    business_hours_only = models.BooleanField(_("count business hours only"), default=False)
    business_start = models.TimeField(_("business day starts"), default="09:00")
    business_end = models.TimeField(_("business day ends"), default="18:00")
    # ISO weekdays, Monday = 1.
    business_days = models.JSONField(_("business days"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["priority"]
        constraints = [
            models.UniqueConstraint(fields=["priority"], condition=Q(is_active=True),
                                    name="sla_one_active_per_priority"),
            models.CheckConstraint(condition=Q(business_start__lt=models.F("business_end")),
                                   name="sla_business_hours_order"),
        ]

    def __str__(self) -> str:
        return self.name


class Ticket(BaseModel):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        ASSIGNED = "assigned", _("Assigned")
        IN_PROGRESS = "in_progress", _("In progress")
        WAITING = "waiting", _("Waiting on customer")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")
        ARCHIVED = "archived", _("Archived")

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone")
        WEB = "web", _("Web form")
        CHAT = "chat", _("Chat")
        IN_PERSON = "in_person", _("In person")

    OPEN = (Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.WAITING)
    Priority = Priority

    # BaseModel's created_at without its plain index: ticket_created (created_at, id) serves
    # every read of it.
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    number = models.CharField(_("ticket number"), max_length=20, unique=True)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"))
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True,
                                 blank=True, on_delete=models.PROTECT, related_name="tickets",
                                 db_index=False)
    contact = models.ForeignKey("customers.Contact", verbose_name=_("contact"), null=True,
                                blank=True, on_delete=models.SET_NULL, related_name="tickets")
    # Who asked, as given on the public form (or copied from the contact).
    requester_name = models.CharField(_("requester"), max_length=200, blank=True)
    requester_email = models.EmailField(_("requester e-mail"), blank=True)
    category = models.ForeignKey(
        DictionaryEntry, verbose_name=_("category"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        limit_choices_to={"kind": DictionaryEntry.Kind.TICKET_CATEGORY},
        db_index=False,
    )
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices,
                                default=Priority.NORMAL)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices,
                               default=Channel.EMAIL)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices,
                              default=Status.NEW)
    team = models.ForeignKey("accounts.Team", verbose_name=_("team"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="tickets", db_index=False)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assignee"),
                                 null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_tickets", db_index=False)
    order = models.ForeignKey("sales.Order", verbose_name=_("order"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="tickets")
    product = models.ForeignKey("sales.Product", verbose_name=_("product"), null=True,
                                blank=True, on_delete=models.SET_NULL, related_name="tickets")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    # SLA: the policy applied, the due times (moved on by pauses), and what happened.
    sla_policy = models.ForeignKey(SLAPolicy, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="tickets")
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    paused_at = models.DateTimeField(_("clock paused since"), null=True, blank=True)
    paused_seconds = models.BigIntegerField(default=0)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    first_response_seconds = models.BigIntegerField(_("first response time"), null=True,
                                                    blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolution_seconds = models.BigIntegerField(_("resolution time"), null=True, blank=True)
    first_response_breached = models.BooleanField(_("first response late"), default=False)
    resolution_breached = models.BooleanField(_("resolution late"), default=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)
    last_public_activity_at = models.DateTimeField(null=True, blank=True)
    # Satisfaction survey.
    survey_sent_at = models.DateTimeField(_("survey sent"), null=True, blank=True)
    satisfaction_score = models.PositiveSmallIntegerField(
        _("satisfaction"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)])
    satisfaction_comment = models.TextField(_("satisfaction comment"), blank=True)
    satisfaction_at = models.DateTimeField(_("survey answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        permissions = [
            ("assign_ticket", _("Can assign tickets")),
            ("reply_ticket", _("Can reply to tickets")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction_score__isnull=True)
                | Q(satisfaction_score__gte=1, satisfaction_score__lte=5),
                name="ticket_satisfaction_range"),
        ]
        indexes = [
            GinIndex(OpClass(Upper("subject"), name="gin_trgm_ops"), name="ticket_subject_trgm"),
            GinIndex(OpClass(Upper("number"), name="gin_trgm_ops"), name="ticket_number_trgm"),
            GinIndex(OpClass(Upper("requester_email"), name="gin_trgm_ops"),
                     name="ticket_requester_trgm"),
            models.Index(fields=["-created_at", "-id"], name="ticket_created"),
            models.Index(fields=["assignee", "status", "-created_at"], name="ticket_assignee"),
            models.Index(fields=["team", "status", "-created_at"], name="ticket_team"),
            models.Index(fields=["status", "-created_at"], name="ticket_status"),
            models.Index(fields=["customer", "status"], name="ticket_customer"),
            # The 360 page's panel: a customer's latest tickets.
            models.Index(fields=["customer", "-created_at", "-id"],
                         name="ticket_customer_created"),
            models.Index(fields=["-created_at"], name="ticket_unassigned",
                         condition=Q(assignee__isnull=True, status__in=["new", "assigned"])),
            # The SLA sweep and the "breaching soon" queue: open tickets by due time.
            models.Index(fields=["first_response_due_at"], name="ticket_first_response_due",
                         condition=Q(first_responded_at__isnull=True,
                                     status__in=["new", "assigned", "in_progress"])),
            models.Index(fields=["resolution_due_at"], name="ticket_resolution_due",
                         condition=Q(status__in=["new", "assigned", "in_progress"])),
            # The "breaching soon" count per team (and for admins, the whole set) from the
            # index alone: the running tickets with their due times.
            models.Index(fields=["team"],
                         include=["first_responded_at", "first_response_due_at",
                                  "resolution_due_at"],
                         condition=Q(status__in=["new", "assigned", "in_progress"]),
                         name="ticket_running_due"),
            # Auto-close and archive sweeps.
            models.Index(fields=["status", "last_public_activity_at"], name="ticket_idle",
                         condition=Q(status__in=["resolved", "closed"])),
            models.Index(PRIORITY_RANK.desc(), models.F("created_at").desc(),
                         models.F("id").desc(), name="ticket_priority_order"),
            models.Index(DUE_AT, models.F("id"), name="ticket_due_order"),
            models.Index(fields=["category"], name="ticket_category"),
            models.Index(fields=["priority"], name="ticket_priority"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def is_read_only(self) -> bool:
        return self.status == self.Status.ARCHIVED


class TicketComment(BaseModel):
    """A public reply (e-mailed to the contact) or an internal note; customers' replies
    through the signed link are public comments without a staff author."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments",
                               db_index=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    author_name = models.CharField(max_length=200, blank=True)
    is_public = models.BooleanField(_("public reply"), default=True)
    from_customer = models.BooleanField(default=False)
    body = models.TextField(_("text"))
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("ticket comment")
        verbose_name_plural = _("ticket comments")
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="comment_ticket")]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.body[:40]}"


class TicketAttachment(BaseModel):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments",
                               db_index=False)
    comment = models.ForeignKey(TicketComment, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="attachments")
    file = models.FileField(_("file"), upload_to="tickets/%Y/%m/")
    name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveIntegerField(_("size"))
    content_type = models.CharField(max_length=100)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        indexes = [models.Index(fields=["ticket", "created_at"], name="attachment_ticket")]

    def __str__(self) -> str:
        return self.name


class TicketAssignment(models.Model):
    """The assignment history of a ticket."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="assignments",
                               db_index=False)
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    rule = models.ForeignKey("service.AssignmentRule", null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignment history")
        indexes = [models.Index(fields=["ticket", "created_at"], name="assignment_ticket")]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.from_user_id} -> {self.to_user_id}"


class AssignmentRule(BaseModel):
    """Automatic distribution: the first active rule (by order) matching the ticket's category
    and priority picks an agent of its team."""

    class Strategy(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round-robin")
        LEAST_OPEN = "least_open", _("Fewest open tickets")

    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    category = models.ForeignKey(
        DictionaryEntry, verbose_name=_("when the category is"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        limit_choices_to={"kind": DictionaryEntry.Kind.TICKET_CATEGORY},
    )
    priority = models.CharField(_("when the priority is"), max_length=10, blank=True,
                                choices=Priority.choices)
    team = models.ForeignKey("accounts.Team", verbose_name=_("team"), on_delete=models.CASCADE,
                             related_name="+")
    strategy = models.CharField(_("distribute by"), max_length=12, choices=Strategy.choices,
                                default=Strategy.ROUND_ROBIN)
    last_assigned = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+",
                                      editable=False)

    class Meta:
        verbose_name = _("ticket assignment rule")
        verbose_name_plural = _("ticket assignment rules")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class SLANotice(models.Model):
    """One notice sent for one SLA target of one ticket: the unique key that makes the
    breach sweep idempotent (notified once per near-breach and once per breach)."""

    class Target(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        RESOLUTION = "resolution", _("Resolution")

    class Level(models.TextChoices):
        NEAR = "near", _("Near breach")
        BREACH = "breach", _("Breached")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_notices",
                               db_index=False)
    target = models.CharField(max_length=16, choices=Target.choices)
    level = models.CharField(max_length=8, choices=Level.choices)
    # The due time the notice was for: a due time moved by a pause warns again.
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("SLA notice")
        verbose_name_plural = _("SLA notices")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "target", "level", "due_at"],
                                    name="sla_notice_once"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.target} {self.level}"


class Feedback(BaseModel):
    """Feedback not tied to a ticket's survey: a complaint, a suggestion or praise."""

    class Kind(models.TextChoices):
        COMPLAINT = "complaint", _("Complaint")
        SUGGESTION = "suggestion", _("Suggestion")
        PRAISE = "praise", _("Praise")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        CLOSED = "closed", _("Closed")

    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"),
                                 on_delete=models.PROTECT, related_name="feedback", db_index=False)
    contact = models.ForeignKey("customers.Contact", verbose_name=_("contact"), null=True,
                                blank=True, on_delete=models.SET_NULL, related_name="+")
    ticket = models.ForeignKey(Ticket, verbose_name=_("ticket"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="feedback")
    channel = models.CharField(_("received by"), max_length=10, choices=Ticket.Channel.choices,
                               default=Ticket.Channel.PHONE)
    body = models.TextField(_("feedback"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices,
                              default=Status.OPEN)
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="feedback_customer"),
            models.Index(fields=["kind", "status", "-created_at"], name="feedback_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.body[:40]}"
