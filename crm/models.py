"""Shared core models: the abstract base of every business model, and the event outbox."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.ids import uuid7


class BaseModel(models.Model):
    """Public UUID for URLs, timestamps, and a version column for optimistic locking.

    Integer primary keys stay internal; URLs and APIs use `uuid` (time-ordered: crm.ids).
    Services bump `version` on every edit and refuse a save whose form carried an older one
    (crm.services.model_update).
    """

    uuid = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False,
                                      db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        abstract = True


class Event(models.Model):
    """A business event, written in the same transaction as the change it describes.

    The dispatcher (crm.events.events_dispatch) hands it to every subscriber once. The
    customer's timeline reads these rows by `customer_id` (a plain column: the core app sits
    below customers and cannot point a foreign key at it).

    `actor` and `subject_type` are references without a database constraint: every business
    write in the app appends an event, and PostgreSQL checks a foreign key row by row, which
    cost an import of a million customers two of its twelve seconds per 100,000 rows
    (docs/performance.md). Users are deactivated, not deleted, and content types stay; when
    one is deleted through Django, Django still sets these to NULL (on_delete runs in Django,
    not in the database).
    """

    uuid = models.UUIDField(default=uuid7, unique=True, editable=False)
    name = models.CharField(_("event"), max_length=100)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    customer_id = models.BigIntegerField(_("customer"), null=True, blank=True)
    subject_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_constraint=False, db_index=False,  # event_subject starts with it
    )
    subject_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    available_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("business event")
        verbose_name_plural = _("business events")
        indexes = [
            models.Index(
                fields=["available_at", "id"],
                name="event_undispatched",
                condition=Q(dispatched_at__isnull=True),
            ),
            models.Index(
                fields=["customer_id", "-created_at", "-id"],
                name="event_customer_timeline",
                condition=Q(customer_id__isnull=False),
            ),
            models.Index(fields=["subject_type", "subject_id"], name="event_subject"),
            models.Index(fields=["-created_at"], name="event_created"),
            models.Index(fields=["name"], name="event_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"


class EventDelivery(models.Model):
    """One subscriber has handled one event: the unique key that makes delivery exactly-once."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries",
                              db_index=False)
    subscriber = models.CharField(max_length=200)
    delivered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("event delivery")
        verbose_name_plural = _("event deliveries")
        constraints = [
            models.UniqueConstraint(fields=["event", "subscriber"], name="event_delivery_once")
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.subscriber}"
