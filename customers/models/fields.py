"""Custom fields: admins define extra fields for customers and contacts, stored in the
records' `custom_data` JSONB (GIN-indexed for filtering)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import BaseModel


class CustomFieldDefinition(BaseModel):
    class Entity(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        CONTACT = "contact", _("Contact")

    class FieldType(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        CHOICE = "choice", _("Choice")
        BOOLEAN = "boolean", _("Yes/no")

    entity = models.CharField(_("for"), max_length=10, choices=Entity.choices)
    key = models.SlugField(_("key"), max_length=50,
                           help_text=_("Stored under this name; cannot change later."))
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=10, choices=FieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["entity", "order", "label"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "key"], name="custom_field_key"),
        ]

    def __str__(self) -> str:
        return self.label
