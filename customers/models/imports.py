"""Imports from CSV/XLSX: the job (with progress and counts), remembered column mappings,
and what each imported row changed (so a whole import can be undone)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import BaseModel


class ImportJob(BaseModel):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        UNDONE = "undone", _("Undone")

    class Duplicates(models.TextChoices):
        SKIP = "skip", _("Skip the row")
        UPDATE = "update", _("Update the existing customer")
        CREATE = "create", _("Create a new customer anyway")

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", db_index=False)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    header_signature = models.CharField(max_length=64, db_index=True)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    match_on = models.JSONField(_("match duplicates by"), default=list, blank=True)
    duplicates = models.CharField(_("when a duplicate is found"), max_length=10,
                                  choices=Duplicates.choices, default=Duplicates.SKIP)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # Rejected rows: [{"row": n, "values": {...}, "errors": [...]}, ...]
    errors = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="import_by_user"),
            models.Index(fields=["status", "-created_at"], name="import_status"),
        ]

    def __str__(self) -> str:
        return self.original_name


class ExportJob(BaseModel):
    """An export of a filtered customer list run by Celery (big lists), with progress; the
    file is kept for its creator to download."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", db_index=False)
    format = models.CharField(_("format"), max_length=4, choices=Format.choices,
                              default=Format.CSV)
    # The list's query string (filters, search, sort, selected ids) the export reproduces.
    query = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    file = models.FileField(_("file"), upload_to="exports/%Y/%m/", blank=True)
    failure = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [models.Index(fields=["created_by", "-created_at"], name="export_by_user")]

    def __str__(self) -> str:
        return f"{self.format} {self.created_at:%Y-%m-%d %H:%M}"


class ImportMapping(models.Model):
    """The column mapping last used for a set of headers, offered again next time."""

    header_signature = models.CharField(max_length=64, unique=True)
    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.header_signature


class ImportChange(models.Model):
    """One customer an import created or updated; `before` holds the replaced values.

    `job` and `customer` are references without a database constraint, as the event's actor
    is (crm.models.Event): an import writes one of these rows per customer, and PostgreSQL
    checks a foreign key row by row, 0.7 s of an import's 9 s per 100,000 rows. Nothing
    deletes a job, and customers are only soft-deleted; when either is deleted through
    Django (the admin), Django still deletes these rows (on_delete runs in Django).
    """

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="changes",
                            db_constraint=False,
                            db_index=False)  # import_change_job starts with it
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE,
                                 related_name="+", db_constraint=False)
    action = models.CharField(max_length=10, choices=Action.choices)
    before = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["job", "action"], name="import_change_job")]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.customer_id}:{self.action}"
