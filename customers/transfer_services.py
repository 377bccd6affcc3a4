"""Imports and exports of customers: the reads (an import is visible to its creator and to
admins only) and the writes (upload, mapping, start, the batched run, undo, the export audit).
Each write checks permissions, runs in a transaction and records a business event."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.events import event_record
from crm.exceptions import ApplicationError
from customers import transfer
from customers.models import Customer, CustomerTag
from customers.models.imports import ImportChange, ImportJob, ImportMapping

logger = logging.getLogger(__name__)

RESTORABLE = set(transfer.UPDATABLE) | {"custom_data"}


# --- reads ------------------------------------------------------------------------------------
def import_job_list_for_user(user) -> QuerySet[ImportJob]:
    qs = ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")
    if not (user.is_authenticated and user.is_active):
        return qs.none()
    return qs if user.is_admin else qs.filter(created_by=user)


def import_job_get_for_user(user, uuid) -> ImportJob:
    """The job, or 404 for anyone but its creator and admins."""
    try:
        return import_job_list_for_user(user).get(uuid=uuid)
    except (ImportJob.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def _require_import(actor) -> None:
    if not actor.has_perm("customers.import_customer"):
        raise PermissionDenied


def remembered_mapping(job: ImportJob) -> dict[str, str] | None:
    saved = ImportMapping.objects.filter(header_signature=job.header_signature).first()
    if saved is None:
        return None
    by_norm = {transfer.normalise_header(h): h for h in job.headers}
    return {by_norm[k]: v for k, v in saved.mapping.items() if k in by_norm}


# --- writes -----------------------------------------------------------------------------------
def import_upload(*, actor, upload) -> ImportJob:
    """Read and check the whole file first; only a readable file with rows becomes a job."""
    _require_import(actor)
    if upload.size > transfer.MAX_UPLOAD_BYTES:
        raise transfer.FileProblem(_("The file is larger than %(mb)d MB.") % {
            "mb": transfer.MAX_UPLOAD_BYTES // (1024 * 1024)})
    data = upload.read()
    headers, total = transfer.inspect_upload(data, upload.name)
    name = upload.name.rsplit("/", 1)[-1][:255]
    with transaction.atomic():
        job = ImportJob(created_by=actor, original_name=name, headers=headers,
                        header_signature=transfer.header_signature(headers), total_rows=total)
        job.file.save(name, ContentFile(data), save=False)
        job.save()
    return job


@transaction.atomic
def import_configure(*, actor, job: ImportJob, mapping: dict[str, str], match_on: list[str],
                     duplicates: str) -> ImportJob:
    _require_import(actor)
    if job.status != ImportJob.Status.UPLOADED:
        raise ApplicationError(_("This import has already started; its settings are fixed."))
    mapping = {h: k for h, k in mapping.items() if k and h in job.headers}
    if "name" not in mapping.values() and duplicates != ImportJob.Duplicates.UPDATE:
        raise ApplicationError(_("Map a column to Name: new customers need one."))
    targets = list(mapping.values())
    twice = {k for k in targets if targets.count(k) > 1}
    if twice:
        raise ApplicationError(_("Each field can take one column only."))
    column_of = {"email": "email", "phone": "phone", "code": "code"}
    for key in match_on:
        if column_of[key] not in targets:
            raise ApplicationError(_("To find duplicates by %(key)s, map a column to it.")
                                   % {"key": key})
    job.mapping, job.match_on, job.duplicates = mapping, list(match_on), duplicates
    job.version += 1
    job.save(update_fields=["mapping", "match_on", "duplicates", "version", "updated_at"])
    ImportMapping.objects.update_or_create(
        header_signature=job.header_signature,
        defaults={"mapping": {transfer.normalise_header(h): k for h, k in mapping.items()}},
    )
    return job


def import_start(*, actor, job: ImportJob) -> ImportJob:
    """Queue the job (once) and hand it to a worker after the commit."""
    from customers.transfer_tasks import run_import_task

    _require_import(actor)
    with transaction.atomic():
        if not job.mapping:
            raise ApplicationError(_("Map the columns first."))
        started = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.UPLOADED).update(
            status=ImportJob.Status.QUEUED, updated_at=timezone.now())
        if started != 1:
            raise ApplicationError(_("This import has already been started."))
        transaction.on_commit(lambda: run_import_task.delay(job.pk))
    job.refresh_from_db()
    return job


def import_run(job_id: int) -> ImportJob | None:
    """The engine: claim the job, then process its rows in batches, each batch in its own
    transaction together with its counts, so progress shows as it goes and a retried task
    resumes after the last committed batch."""
    claimed = ImportJob.objects.filter(
        pk=job_id, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
    ).update(status=ImportJob.Status.RUNNING, updated_at=timezone.now())
    if claimed != 1:
        return None
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.started_at is None:
        job.started_at = timezone.now()
        job.save(update_fields=["started_at"])
    actor = job.created_by
    try:
        lookups = transfer.Lookups.load()
        for rows in transfer.batches(job):
            with transaction.atomic():
                transfer.plan_batch(job, rows, lookups, actor)
                counts = transfer.apply_batch(job, rows, actor)
                job.errors = [*job.errors, *transfer.rejected(rows)]
                job.processed_rows += len(rows)
                job.created_count += counts["created"]
                job.updated_count += counts["updated"]
                job.skipped_count += counts["skipped"]
                job.error_count += counts["errors"]
                job.save(update_fields=["errors", "processed_rows", "created_count",
                                        "updated_count", "skipped_count", "error_count",
                                        "updated_at"])
        with transaction.atomic():
            job.status = ImportJob.Status.DONE
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "finished_at", "updated_at"])
            event_record(name="customer.imported", actor=actor, subject=job, payload={
                "file": job.original_name, "rows": job.processed_rows,
                "created": job.created_count, "updated": job.updated_count,
                "skipped": job.skipped_count, "errors": job.error_count})
    except Exception as exc:
        logger.exception("import %s failed", job_id)
        import_fail(job_id, str(exc))
        raise
    return job


def import_fail(job_id: int, reason: str) -> None:
    ImportJob.objects.filter(
        pk=job_id, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
    ).update(status=ImportJob.Status.FAILED, failure=reason[:2000],
             finished_at=timezone.now(), updated_at=timezone.now())


@transaction.atomic
def import_undo(*, actor, job: ImportJob) -> dict[str, int]:
    """Soft-delete what the job created (one UPDATE) and put back what it changed."""
    _require_import(actor)
    if not (actor.is_admin or job.created_by_id == actor.pk):
        raise PermissionDenied
    locked = ImportJob.objects.select_for_update().get(pk=job.pk)
    if locked.status not in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        raise ApplicationError(_("Only a finished import can be undone."))
    now = timezone.now()
    created_ids = ImportChange.objects.filter(job=job, action=ImportChange.Action.CREATED) \
        .values("customer_id")
    removed = Customer.objects.filter(pk__in=created_ids, deleted_at__isnull=True).update(
        deleted_at=now, deleted_by=actor, version=F("version") + 1, updated_at=now)

    restored = 0
    updates = ImportChange.objects.filter(job=job, action=ImportChange.Action.UPDATED) \
        .order_by("-id")  # the newest first: a customer updated twice ends at its first state
    chunk: list[ImportChange] = []
    for change in updates.iterator(chunk_size=transfer.BATCH_SIZE):
        chunk.append(change)
        if len(chunk) >= transfer.BATCH_SIZE:
            restored += _restore(chunk, now)
            chunk = []
    if chunk:
        restored += _restore(chunk, now)

    locked.status = ImportJob.Status.UNDONE
    locked.save(update_fields=["status", "updated_at"])
    event_record(name="customer.import_undone", actor=actor, subject=locked,
                 payload={"file": locked.original_name, "removed": removed,
                          "restored": restored})
    job.status = locked.status
    return {"removed": removed, "restored": restored}


def _restore(changes: list[ImportChange], now) -> int:
    customers = Customer.objects.in_bulk([c.customer_id for c in changes])
    fields: set[str] = set()
    tags: dict[int, list[int]] = {}
    for change in changes:
        customer = customers.get(change.customer_id)
        if customer is None:
            continue
        for name, value in change.before.items():
            if name == "tags":
                tags[customer.pk] = value
            elif name in RESTORABLE:
                setattr(customer, name, value)
                fields.add(name)
        customer.version += 1
        customer.updated_at = now
    if customers:
        Customer.objects.bulk_update(list(customers.values()),
                                     [*sorted(fields), "version", "updated_at"])
    if tags:
        CustomerTag.objects.filter(customer_id__in=list(tags)).delete()
        CustomerTag.objects.bulk_create(
            [CustomerTag(customer_id=c, tag_id=t) for c, ids in tags.items() for t in ids],
            ignore_conflicts=True)
    return len(customers)


def export_record(*, actor, fmt: str, count: int, filters: dict) -> None:
    """Exports are audited: who, how many, with which filters."""
    if not actor.has_perm("customers.export_customer"):
        raise PermissionDenied
    # One INSERT, committed before the first byte is streamed (no transaction needed).
    event_record(name="customer.exported", actor=actor,
                 payload={"format": fmt, "count": count, "filters": filters})
