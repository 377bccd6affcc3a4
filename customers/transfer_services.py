"""Imports and exports of customers: the reads (an import is visible to its creator and to
admins only) and the writes (upload, mapping, start, the batched run, undo, the export audit).
Each write checks permissions, runs in a transaction and records a business event."""

from __future__ import annotations

import contextlib
import datetime
import functools
import logging
import os
from concurrent.futures import ThreadPoolExecutor

from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import connection, connections, transaction
from django.db.models import F, Func, JSONField, QuerySet, Value
from django.http import Http404, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.events import event_record
from crm.exceptions import ApplicationError
from customers import transfer
from customers.models import Customer, CustomerTag
from customers.models.imports import ExportJob, ImportChange, ImportJob, ImportMapping

logger = logging.getLogger(__name__)

RESTORABLE = set(transfer.UPDATABLE) | {"custom_data"}


# --- reads ------------------------------------------------------------------------------------
def import_job_list_for_user(user) -> QuerySet[ImportJob]:
    qs = ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")
    if not (user.is_authenticated and user.is_active):
        return qs.none()
    return qs if user.is_admin else qs.filter(created_by=user)


def import_job_get_for_user(user, uuid, *, with_errors: bool = True) -> ImportJob:
    """The job, or 404 for anyone but its creator and admins. with_errors=False leaves the
    stored rejected rows (up to MAX_STORED_ERRORS, a big JSON value) unread: pages that show
    only the counts use that."""
    qs = import_job_list_for_user(user)
    if not with_errors:
        qs = qs.defer("errors")
    try:
        return qs.get(uuid=uuid)
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
    """Check the whole file first, reading it as a stream (a big CSV is on disk already:
    Django's TemporaryFileUploadHandler wrote it there); only a readable file with rows
    becomes a job, and its file is then stored without being read into memory (moved, for a
    temporary upload)."""
    _require_import(actor)
    if upload.size > transfer.upload_limit(upload.name):
        raise transfer.FileProblem(_("The file is larger than %(mb)d MB.") % {
            "mb": transfer.upload_limit(upload.name) // (1024 * 1024)})
    headers, total = transfer.inspect_upload(upload, upload.name, size=upload.size)
    upload.seek(0)
    name = upload.name.rsplit("/", 1)[-1][:255]
    with transaction.atomic():
        job = ImportJob(created_by=actor, original_name=name, headers=headers,
                        header_signature=transfer.header_signature(headers), total_rows=total)
        job.file.save(name, upload, save=False)
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


# Namespace of the session advisory lock a running import holds (the job id is the second key).
RUN_LOCK_NAMESPACE = 7301


@contextlib.contextmanager
def _run_lock(job_id: int):
    """True while this session holds the job's run lock: a duplicate delivery of the same
    task (a re-queued stuck job whose first message arrives after all) finds it taken and does
    nothing; a worker that dies loses its connection and with it the lock, so a redelivery
    resumes the job."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [RUN_LOCK_NAMESPACE, job_id])
        got = cursor.fetchone()[0]
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [RUN_LOCK_NAMESPACE, job_id])


def _append_errors(new: list[dict]):
    """`errors || new` in SQL: appending a batch's rejected rows costs that batch only."""
    return Func(F("errors"), Value(new, output_field=JSONField()), template="(%(expressions)s)",
                arg_joiner=" || ", output_field=JSONField())


def import_run(job_id: int) -> ImportJob | None:
    """The engine: claim the job, then process its rows in batches, each batch in its own
    transaction together with its counts, so progress shows as it goes and a retried task
    resumes after the last committed batch. Only one run of a job at a time."""
    with _run_lock(job_id) as got:
        return _import_run(job_id) if got else None


def _import_run(job_id: int) -> ImportJob | None:
    claimed = ImportJob.objects.filter(
        pk=job_id, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
    ).update(status=ImportJob.Status.RUNNING, updated_at=timezone.now())
    if claimed != 1:
        return None
    job = ImportJob.objects.select_related("created_by").defer("errors").get(pk=job_id)
    if job.started_at is None:
        job.started_at = timezone.now()
        job.save(update_fields=["started_at"])
    actor = job.created_by
    try:
        lookups = transfer.Lookups.load()
        source = transfer.batches(job)
        upcoming: list[list[transfer.Row] | None] = []

        def read_next() -> None:
            """The next batch, read from the file and checked row by row (or None)."""
            rows = next(source, None)
            if rows is not None:
                transfer.validate_batch(job, rows, lookups)
            upcoming.append(rows)

        read_next()
        # Each batch's writing reads the next one meanwhile (apply_batch's `meanwhile`).
        while (rows := upcoming.pop()) is not None:
            with transaction.atomic():
                # A batch need not wait for its WAL flush: were the server to crash, the last
                # batches would be lost together with the job's counts (same transaction),
                # and the resumed job would do them again.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
                transfer.plan_batch(job, rows, lookups, actor, lock=True, validated=True)
                counts = transfer.apply_batch(job, rows, actor, meanwhile=read_next)
                # Rejected rows: appended in SQL, and only up to MAX_STORED_ERRORS in all
                # (error_count counts every one; the report says how many it leaves out).
                room = transfer.MAX_STORED_ERRORS - min(job.error_count,
                                                        transfer.MAX_STORED_ERRORS)
                kept = transfer.rejected(rows)[:room]
                changes = {
                    "processed_rows": F("processed_rows") + len(rows),
                    "created_count": F("created_count") + counts["created"],
                    "updated_count": F("updated_count") + counts["updated"],
                    "skipped_count": F("skipped_count") + counts["skipped"],
                    "error_count": F("error_count") + counts["errors"],
                    "updated_at": timezone.now(),
                }
                if kept:
                    changes["errors"] = _append_errors(kept)
                ImportJob.objects.filter(pk=job.pk).update(**changes)
                job.processed_rows += len(rows)
                job.created_count += counts["created"]
                job.updated_count += counts["updated"]
                job.skipped_count += counts["skipped"]
                job.error_count += counts["errors"]
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
    job.refresh_from_db()
    return job


def import_requeue_stuck(older_than_minutes: int = 10, *, limit: int = 100) -> int:
    """Hand queued jobs to a worker again when their task never arrived (the broker was down
    when import_start's on-commit enqueue ran): those still QUEUED `older_than_minutes` after
    they were queued (or last re-queued). Each is re-queued at most once per period (its
    updated_at is touched); a duplicate delivery is harmless, since import_run starts only a
    queued job (or resumes a running one that no live worker holds). Returns how many."""
    from customers.transfer_tasks import run_import_task

    now = timezone.now()
    cutoff = now - datetime.timedelta(minutes=older_than_minutes)
    with transaction.atomic():
        ids = list(ImportJob.objects.select_for_update(skip_locked=True).filter(
            status=ImportJob.Status.QUEUED, updated_at__lt=cutoff
        ).order_by("pk").values_list("pk", flat=True)[:limit])
        if not ids:
            return 0
        ImportJob.objects.filter(pk__in=ids).update(updated_at=now)
        for pk in ids:
            transaction.on_commit(functools.partial(run_import_task.delay, pk), robust=True)
    logger.warning("re-queued %d stuck imports: %s", len(ids), ids)
    return len(ids)


def import_fail(job_id: int, reason: str) -> None:
    ImportJob.objects.filter(
        pk=job_id, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
    ).update(status=ImportJob.Status.FAILED, failure=reason[:2000],
             finished_at=timezone.now(), updated_at=timezone.now())


@transaction.atomic
def import_undo(*, actor, job: ImportJob) -> dict[str, int]:
    """Soft-delete what the job created and put back what it changed, but only where nobody
    changed the customer since: each customer is locked (in pk order, a chunk at a time) and
    compared with the version the import left it at; a customer edited, merged or deleted
    since is left as it is and counted as skipped."""
    _require_import(actor)
    if not (actor.is_admin or job.created_by_id == actor.pk):
        raise PermissionDenied
    locked = ImportJob.objects.select_for_update().get(pk=job.pk)
    if locked.status not in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        raise ApplicationError(_("Only a finished import can be undone."))
    now = timezone.now()
    result = {"removed": 0, "restored": 0, "skipped": 0}
    # All of one customer's changes together (a customer may be created in one batch and
    # updated by a later row, or updated by two batches), oldest first.
    changes = ImportChange.objects.filter(job=job).order_by("customer_id", "id") \
        .values_list("customer_id", "action", "before")
    group: dict[int, list[tuple[str, dict]]] = {}
    for customer_id, action, before in changes.iterator(chunk_size=transfer.BATCH_SIZE):
        if customer_id not in group and len(group) >= transfer.BATCH_SIZE:
            _undo_chunk(group, actor, now, result)
            group = {}
        group.setdefault(customer_id, []).append((action, before or {}))
    if group:
        _undo_chunk(group, actor, now, result)

    locked.status = ImportJob.Status.UNDONE
    locked.save(update_fields=["status", "updated_at"])
    event_record(name="customer.import_undone", actor=actor, subject=locked,
                 payload={"file": locked.original_name, **result})
    job.status = locked.status
    return result


def _undo_chunk(group: dict[int, list[tuple[str, dict]]], actor, now,
                result: dict[str, int]) -> None:
    customers = {c.pk: c for c in Customer.objects.select_for_update()
                 .filter(pk__in=list(group)).order_by("pk")}
    remove: list[int] = []
    restore: list[Customer] = []
    fields: set[str] = set()
    tags: dict[int, list[int]] = {}
    for pk, entries in group.items():
        customer = customers.get(pk)
        versions = [before.get(transfer.VERSION_AFTER) for _action, before in entries]
        # Untouched since: still there, not in the trash (merged away or deleted), and at the
        # version this import's last write left it at. Changes recorded before versions were
        # kept cannot be checked, so they are left alone too.
        if (customer is None or customer.deleted_at is not None or None in versions
                or customer.version != max(versions)):
            result["skipped"] += 1
            continue
        if any(action == ImportChange.Action.CREATED for action, _before in entries):
            remove.append(pk)
            continue
        for _action, before in reversed(entries):  # newest first: the oldest value wins
            for name, value in before.items():
                if name == "tags":
                    tags[pk] = value
                elif name in RESTORABLE:
                    setattr(customer, name, value)
                    fields.add(name)
        customer.version = F("version") + 1
        customer.updated_at = now
        restore.append(customer)
    if remove:
        result["removed"] += Customer.objects.filter(pk__in=remove).update(
            deleted_at=now, deleted_by=actor, version=F("version") + 1, updated_at=now)
    if restore:
        Customer.objects.bulk_update(restore, [*sorted(fields), "version", "updated_at"])
        result["restored"] += len(restore)
    if tags:
        CustomerTag.objects.filter(customer_id__in=list(tags)).delete()
        CustomerTag.objects.bulk_create(
            [CustomerTag(customer_id=c, tag_id=t) for c, ids in tags.items() for t in ids],
            ignore_conflicts=True)


def export_record(*, actor, fmt: str, count: int, filters: dict) -> None:
    """Exports are audited: who, how many, with which filters."""
    if not actor.has_perm("customers.export_customer"):
        raise PermissionDenied
    # One INSERT, committed before the first byte is streamed (no transaction needed).
    event_record(name="customer.exported", actor=actor,
                 payload={"format": fmt, "count": count, "filters": filters})


# --- exports in the background ------------------------------------------------------------------
def export_job_get_for_user(user, uuid) -> ExportJob:
    """The export job, for its creator only (404 for anyone else, admins included: the file
    holds what its creator could see)."""
    if not (user.is_authenticated and user.is_active):
        raise Http404
    try:
        return ExportJob.objects.get(uuid=uuid, created_by=user)
    except (ExportJob.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def query_to_dict(query) -> dict[str, list[str]]:
    """A list's QueryDict as plain JSON: every key with the list of its values."""
    return {key: [str(v) for v in query.getlist(key)] for key in query}


def query_from_dict(data: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, values in (data or {}).items():
        query.setlist(str(key), [str(v) for v in (values if isinstance(values, list)
                                                  else [values])])
    return query


@transaction.atomic
def export_start(*, actor, fmt: str, query: dict) -> ExportJob:
    """A big export: a job row now, the file written by a worker after the commit."""
    from customers.transfer_tasks import run_export_task

    if not actor.has_perm("customers.export_customer"):
        raise PermissionDenied
    if fmt not in ExportJob.Format.values:
        raise ApplicationError(_("Choose CSV or Excel."))
    job = ExportJob.objects.create(created_by=actor, format=fmt, query=query)
    transaction.on_commit(functools.partial(run_export_task.delay, job.pk))
    return job


def _export_queryset_for(job: ExportJob):
    """The job's list, rebuilt from its query through the creator's access path (the stored
    query chooses filters and order only; it never widens what the creator may see)."""
    from customers.filters import CustomerFilter
    from customers.selectors import customer_list_for_user

    actor = job.created_by
    query = query_from_dict(job.query)
    for key in ("format", "after"):
        query.pop(key, None)
    filterset = CustomerFilter(query or None, queryset=customer_list_for_user(actor))
    if filterset.is_bound and not filterset.is_valid():
        raise ApplicationError(_("Some filters are not valid; fix them and export again."))
    return transfer.export_queryset(filterset.qs, filterset.keyset_ordering()), query


def export_file_name(job: ExportJob) -> str:
    return (f"exports/{job.created_at:%Y/%m}/customers-{job.created_at:%Y%m%d-%H%M}-"
            f"{job.uuid.hex[-8:]}.{job.format}")  # the random end (crm.ids)


@contextlib.contextmanager
def _progress_writer(job_pk: int):
    """progress(done) for a running export. It records the count from a thread of its own,
    so through a database connection of its own (Django's are per thread): the export's COPY
    keeps this thread's connection busy until its last row. That connection closes at the end."""

    def write(done: int) -> None:
        try:
            ExportJob.objects.filter(pk=job_pk).update(processed_rows=done,
                                                       updated_at=timezone.now())
        except Exception:  # noqa: BLE001 - progress is a courtesy; the export goes on
            logger.warning("export %s: progress not recorded", job_pk, exc_info=True)

    def close() -> None:
        connections.close_all()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-progress") as pool:
        try:
            yield lambda done: pool.submit(write, done)
        finally:
            pool.submit(close)


def export_run(job_id: int) -> ExportJob | None:
    """Claim a queued export and write its file (one COPY statement streamed to the file, a
    progress update every EXPORT_BATCH rows). The creator must still be active and allowed to
    export."""
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED).update(
        status=ExportJob.Status.RUNNING, started_at=timezone.now(), updated_at=timezone.now())
    if claimed != 1:
        return None
    job = ExportJob.objects.select_related("created_by").get(pk=job_id)
    actor = job.created_by
    name = export_file_name(job)
    path = None
    try:
        if not (actor.is_active and actor.has_perm("customers.export_customer")):
            raise ApplicationError(_("You may no longer export customers."))
        qs, query = _export_queryset_for(job)
        total = qs.order_by().count()
        ExportJob.objects.filter(pk=job.pk).update(total_rows=total, updated_at=timezone.now())
        path = default_storage.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        rows = transfer.export_rows(qs, transfer.custom_field_definitions())
        with _progress_writer(job.pk) as progress:
            count = transfer.export_to_file(rows, path, job.format, progress=progress)
        with transaction.atomic():
            ExportJob.objects.filter(pk=job.pk).update(
                status=ExportJob.Status.DONE, file=name, processed_rows=count,
                total_rows=max(total, count), finished_at=timezone.now(),
                updated_at=timezone.now())
            # Audited like an export in the request: who, how many, with which filters.
            filters = {k: v[0] if len(v) == 1 else v for k, v in query_to_dict(query).items()}
            event_record(name="customer.exported", actor=actor, subject=job,
                         payload={"format": job.format, "count": count, "filters": filters,
                                  "job": str(job.uuid)})
    except Exception as exc:
        if path and os.path.exists(path):
            os.remove(path)
        message = exc.message if isinstance(exc, ApplicationError) else _(
            "The export stopped because of an error. Try again, or narrow the filters.")
        if not isinstance(exc, ApplicationError):
            logger.exception("export %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportJob.Status.FAILED, failure=str(message)[:2000],
            finished_at=timezone.now(), updated_at=timezone.now())
        if not isinstance(exc, ApplicationError):
            raise
    job.refresh_from_db()
    return job


def export_prune(days: int = transfer.EXPORT_KEEP_DAYS, *, limit: int = 1000) -> int:
    """Delete export jobs older than `days`, and their files. Returns how many."""
    cutoff = timezone.now() - datetime.timedelta(days=days)
    removed = 0
    while True:
        jobs = list(ExportJob.objects.filter(created_at__lt=cutoff)
                    .order_by("pk").values_list("pk", "file")[:limit])
        if not jobs:
            return removed
        for _pk, name in jobs:
            if name:
                with contextlib.suppress(OSError):
                    default_storage.delete(name)
        removed += ExportJob.objects.filter(pk__in=[pk for pk, _name in jobs]).delete()[0]
        if len(jobs) < limit:
            return removed
