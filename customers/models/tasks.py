"""Tasks and reminders: something to do for a customer, by someone, by a time."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import BaseModel


class Task(BaseModel):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("details"), blank=True)
    due_at = models.DateTimeField(_("due"))
    # When to send the reminder e-mail (default: the due time); sent once, then stamped.
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminder sent"), null=True, blank=True, editable=False)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices,
                                default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.OPEN)
    done_at = models.DateTimeField(_("done"), null=True, blank=True, editable=False)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assigned to"),
                                 on_delete=models.PROTECT, related_name="tasks", db_index=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+", db_index=False)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True,
                                 blank=True, on_delete=models.PROTECT, related_name="tasks",
                                 db_index=False)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="task_my_tasks"),
            models.Index(fields=["customer", "status", "due_at"], name="task_by_customer"),
            models.Index(fields=["created_by", "status", "due_at"], name="task_created_by"),
            models.Index(fields=["remind_at"], name="task_reminders_due",
                         condition=Q(status="open", reminded_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.title
