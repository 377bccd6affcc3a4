"""Import wizard (upload -> map -> preview -> run -> progress, undo, rejected rows) and the
export of the filtered customer list. Reads through selectors, writes through
customers.transfer_services."""

from __future__ import annotations

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.exceptions import ApplicationError
from customers import transfer
from customers import transfer_services as services
from customers.filters import CustomerFilter
from customers.forms.transfer import ImportMappingForm, ImportUploadForm
from customers.models.imports import ExportJob, ImportJob
from customers.selectors import customer_list_for_user

ACTIVE = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)


def _require_import(user) -> None:
    if not user.has_perm("customers.import_customer"):
        raise PermissionDenied


def _job(request, uuid, *, with_errors: bool = True) -> ImportJob:
    """Creator or admin only (404 for others), then the permission to import (403)."""
    job = services.import_job_get_for_user(request.user, uuid, with_errors=with_errors)
    _require_import(request.user)
    return job


# --- import -----------------------------------------------------------------------------------
@login_required
def import_upload(request):
    _require_import(request.user)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    form.fields["file"].help_text = _(
        "CSV (UTF-8) up to %(csv)d MB, or .xlsx up to %(xlsx)d MB, with the column headings "
        "in the first row.") % {"csv": transfer.MAX_UPLOAD_BYTES // (1024 * 1024),
                                "xlsx": transfer.MAX_XLSX_BYTES // (1024 * 1024)}
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_upload(actor=request.user, upload=form.cleaned_data["file"])
        except ApplicationError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("customers:import_map", uuid=job.uuid)
    return render(request, "customers/transfer/import_upload.html", {"form": form})


@login_required
def import_list(request):
    _require_import(request.user)
    jobs = services.import_job_list_for_user(request.user)[:50]
    return render(request, "customers/transfer/import_list.html", {"jobs": jobs})


@login_required
def import_map(request, uuid):
    job = _job(request, uuid)
    if job.status != ImportJob.Status.UPLOADED:
        return redirect("customers:import_detail", uuid=job.uuid)
    definitions = transfer.custom_field_definitions()
    remembered = services.remembered_mapping(job)
    initial_mapping = job.mapping or remembered or transfer.guess_mapping(job.headers,
                                                                          definitions)
    initial = {"match_on": job.match_on or ["email"], "duplicates": job.duplicates}
    form = ImportMappingForm(request.POST or None, job=job, definitions=definitions,
                             initial_mapping=initial_mapping, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.import_configure(actor=request.user, job=job, mapping=data["mapping"],
                                      match_on=data["match_on"],
                                      duplicates=data["duplicates"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("customers:import_preview", uuid=job.uuid)
    return render(request, "customers/transfer/import_map.html", {
        "job": job, "form": form, "remembered": remembered is not None and not job.mapping,
    })


@login_required
def import_preview(request, uuid):
    job = _job(request, uuid)
    if job.status != ImportJob.Status.UPLOADED:
        return redirect("customers:import_detail", uuid=job.uuid)
    if not job.mapping:
        return redirect("customers:import_map", uuid=job.uuid)
    rows = transfer.preview(job, request.user)
    mapped = [h for h in job.headers if h in job.mapping]
    return render(request, "customers/transfer/import_preview.html", {
        "job": job, "mapped": mapped,
        "rows": [(r, [r.values.get(h, "") for h in mapped]) for r in rows],
        "preview_errors": sum(1 for r in rows if r.action == "error"),
        "preview_size": transfer.PREVIEW_ROWS,
    })


@login_required
@require_POST
def import_start(request, uuid):
    job = _job(request, uuid, with_errors=False)
    try:
        services.import_start(actor=request.user, job=job)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("customers:import_detail", uuid=job.uuid)


def _progress_context(job):
    percent = int(job.processed_rows * 100 / job.total_rows) if job.total_rows else 0
    return {"job": job, "percent": min(percent, 100), "active": job.status in ACTIVE,
            "errors_left_out": max(job.error_count - transfer.MAX_STORED_ERRORS, 0)}


@login_required
def import_detail(request, uuid):
    job = _job(request, uuid, with_errors=False)
    return render(request, "customers/transfer/import_detail.html", _progress_context(job))


@login_required
def import_progress(request, uuid):
    """The progress fragment that the detail page polls with htmx while the job runs."""
    job = _job(request, uuid, with_errors=False)
    return render(request, "customers/transfer/_import_progress.html", _progress_context(job))


@login_required
def import_rejected(request, uuid):
    job = _job(request, uuid)
    response = StreamingHttpResponse(transfer.rejected_rows_csv(job),
                                     content_type="text/csv; charset=utf-8")
    stem = job.original_name.rsplit(".", 1)[0]
    response["Content-Disposition"] = f'attachment; filename="rejected-{_safe(stem)}.csv"'
    return response


@login_required
@require_POST
def import_undo(request, uuid):
    job = _job(request, uuid)
    try:
        result = services.import_undo(actor=request.user, job=job)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _(
            "Import undone: %(removed)d new customers moved to the trash, %(restored)d "
            "customers restored.") % result)
        if result["skipped"]:
            messages.warning(request, _(
                "%(skipped)d customers were left as they are: they were changed, merged or "
                "deleted after the import.") % result)
    return redirect("customers:import_detail", uuid=job.uuid)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:80] or "import"


# --- export -----------------------------------------------------------------------------------
@login_required
def customer_export(request):
    """The customer list as the user filtered it. A small list comes at once: CSV streamed,
    XLSX built in write-only mode. A larger one (over EXPORT_INSTANT_ROWS rows, or
    XLSX_INSTANT_ROWS for Excel) becomes an export job that a worker writes; the user
    follows its progress and downloads the file when it is ready."""
    if not request.user.has_perm("customers.export_customer"):
        raise PermissionDenied
    fmt = request.GET.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        fmt = "csv"
    query = request.GET.copy()
    for key in ("format", "after"):
        query.pop(key, None)
    filterset = CustomerFilter(query or None, queryset=customer_list_for_user(request.user))
    if filterset.is_bound and not filterset.is_valid():
        messages.error(request, _("Some filters are not valid; fix them and export again."))
        return redirect(reverse("customers:list") + ("?" + query.urlencode() if query else ""))
    definitions = transfer.custom_field_definitions()
    qs = transfer.export_queryset(filterset.qs, filterset.keyset_ordering())
    instant = transfer.XLSX_INSTANT_ROWS if fmt == "xlsx" else transfer.EXPORT_INSTANT_ROWS
    count = qs.order_by()[: instant + 1].count()  # capped: never a full count of a big list
    if count > instant:
        job = services.export_start(actor=request.user, fmt=fmt,
                                    query=services.query_to_dict(query))
        return redirect("customers:export_detail", uuid=job.uuid)
    filters = {k: query.getlist(k) if len(query.getlist(k)) > 1 else query.get(k)
               for k in query}
    services.export_record(actor=request.user, fmt=fmt, count=count, filters=filters)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    rows = transfer.export_rows(qs, definitions)
    if fmt == "xlsx":
        target = tempfile.TemporaryFile()
        transfer.export_xlsx(rows, target)
        target.seek(0)
        return FileResponse(
            target, as_attachment=True, filename=f"customers-{stamp}.xlsx",
            content_type=XLSX_TYPE)
    response = StreamingHttpResponse(transfer.export_csv(rows),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
    return response


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_ACTIVE = (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING)


def _export_context(job: ExportJob) -> dict:
    percent = int(job.processed_rows * 100 / job.total_rows) if job.total_rows else 0
    if job.status == ExportJob.Status.DONE:
        percent = 100
    back = reverse("customers:list")
    query = services.query_from_dict(job.query)
    return {"job": job, "percent": min(percent, 100), "active": job.status in EXPORT_ACTIVE,
            "list_url": back + ("?" + query.urlencode() if query else ""),
            "keep_days": transfer.EXPORT_KEEP_DAYS}


@login_required
def export_detail(request, uuid):
    job = services.export_job_get_for_user(request.user, uuid)
    return render(request, "customers/transfer/export_detail.html", _export_context(job))


@login_required
def export_progress(request, uuid):
    """The fragment the export page polls with htmx while the worker writes the file."""
    job = services.export_job_get_for_user(request.user, uuid)
    return render(request, "customers/transfer/_export_progress.html", _export_context(job))


@login_required
def export_download(request, uuid):
    job = services.export_job_get_for_user(request.user, uuid)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404
    try:
        handle = job.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    stamp = timezone.localtime(job.created_at).strftime("%Y%m%d-%H%M")
    return FileResponse(handle, as_attachment=True,
                        filename=f"customers-{stamp}.{job.format}",
                        content_type=XLSX_TYPE if job.format == "xlsx"
                        else "text/csv; charset=utf-8")
