"""Big exports in Celery: the job, its file, progress, creator-only download, audit, pruning."""

from __future__ import annotations

import csv
import datetime
import io
import os
import time

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Event
from customers import transfer
from customers import transfer_services as services
from customers.models.imports import ExportJob
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _run(job):
    services.export_run(job.pk)
    job.refresh_from_db()
    return job


def test_it_writes_a_csv_in_batches_through_the_creators_access_path(manager, own_customer,
                                                                     team_customer,
                                                                     other_customer,
                                                                     monkeypatch):
    monkeypatch.setattr(transfer, "EXPORT_BATCH", 1)
    CustomerFactory(name="=evil()", owner=manager)
    # The stored query asks for nothing special: the outsider's customer never appears.
    job = services.export_start(actor=manager, fmt="csv", query={"ordering": ["name"]})
    job = _run(job)
    assert job.status == ExportJob.Status.DONE
    assert job.processed_rows == job.total_rows == 3
    with job.file.open("rb") as handle:
        text = handle.read().decode("utf-8")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [r[1] for r in rows[1:]] == ["'=evil()", "Acme Robotics", "Beta Foods"]
    event = Event.objects.get(name="customer.exported")
    assert event.actor == manager and event.payload["count"] == 3
    assert event.payload["filters"] == {"ordering": "name"}


def test_it_writes_xlsx_with_write_only_openpyxl(admin, own_customer):
    job = _run(services.export_start(actor=admin, fmt="xlsx", query={"q": ["Acme"]}))
    with job.file.open("rb") as handle:
        book = openpyxl.load_workbook(io.BytesIO(handle.read()))
    values = list(book.active.iter_rows(values_only=True))
    assert values[0][:2] == ("Customer code", "Name") and values[1][1] == "Acme Robotics"


def test_it_fails_with_a_message_when_the_creator_may_no_longer_export(admin, own_customer):
    job = services.export_start(actor=admin, fmt="csv", query={})
    admin.is_active = False
    admin.save()
    job = _run(job)
    assert job.status == ExportJob.Status.FAILED and "no longer" in job.failure
    assert not job.file


def test_it_runs_a_job_once(admin, own_customer):
    job = services.export_start(actor=admin, fmt="csv", query={})
    _run(job)
    assert services.export_run(job.pk) is None
    assert Event.objects.filter(name="customer.exported").count() == 1


def test_it_shows_progress_and_a_download_to_the_creator_only(client_for, manager, admin,
                                                              own_customer):
    job = services.export_start(actor=manager, fmt="csv", query={})
    client = client_for(manager)
    page = client.get(reverse("customers:export_detail", args=[job.uuid])).text
    assert "hx-trigger" in page and "export-download" not in page
    _run(job)
    fragment = client.get(reverse("customers:export_progress", args=[job.uuid])).text
    assert "hx-trigger" not in fragment and "export-download" in fragment
    response = client.get(reverse("customers:export_download", args=[job.uuid]))
    assert response.status_code == 200
    assert b"Acme Robotics" in b"".join(response.streaming_content)
    for name in ("export_detail", "export_progress", "export_download"):
        assert client_for(admin).get(reverse(f"customers:{name}", args=[job.uuid])) \
            .status_code == 404


def test_it_sends_anonymous_users_to_the_login_page(client, admin):
    job = services.export_start(actor=admin, fmt="csv", query={})
    for name in ("export_detail", "export_progress", "export_download"):
        response = client.get(reverse(f"customers:{name}", args=[job.uuid]))
        assert response.status_code == 302 and "/login/" in response.url


def test_it_starts_a_job_above_the_threshold_and_streams_below(client_for, admin,
                                                               monkeypatch):
    monkeypatch.setattr(transfer, "EXPORT_INSTANT_ROWS", 2)
    CustomerFactory.create_batch(2)
    client = client_for(admin)
    assert client.get(reverse("customers:export")).status_code == 200
    assert not ExportJob.objects.exists()
    CustomerFactory()
    response = client.get(reverse("customers:export"))
    assert response.status_code == 302
    assert ExportJob.objects.get().created_by == admin


def test_it_forbids_a_background_export_to_a_user_without_the_permission(rep):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.export_start(actor=rep, fmt="csv", query={})


def test_the_progress_page_takes_a_fixed_number_of_queries(client_for, manager,
                                                           django_assert_num_queries):
    job = services.export_start(actor=manager, fmt="csv", query={})
    client = client_for(manager)
    url = reverse("customers:export_progress", args=[job.uuid])
    client.get(url)
    # The user with their roles and permissions (one query), the job; no row reads.
    with django_assert_num_queries(2):
        client.get(url)


def test_it_prunes_exports_older_than_seven_days(admin, own_customer):
    old = _run(services.export_start(actor=admin, fmt="csv", query={}))
    fresh = _run(services.export_start(actor=admin, fmt="csv", query={}))
    path = old.file.path
    ExportJob.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=8))
    assert services.export_prune() == 1
    assert not os.path.exists(path) and not ExportJob.objects.filter(pk=old.pk).exists()
    assert os.path.exists(fresh.file.path)


# --- a real worker -------------------------------------------------------------------------------
def worker_knows_export(hostname) -> bool:
    from crm.celery import app

    registered = app.control.inspect(destination=[hostname], timeout=2).registered() or {}
    return "customers.run_export" in registered.get(hostname, [])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_runs_an_export_in_a_real_worker(celery_worker, manager, team, settings):
    if not worker_knows_export(celery_worker):
        pytest.skip("the worker does not load customers.transfer_tasks' export tasks")
    settings.MEDIA_ROOT = settings.BASE_DIR / ".data" / "media"  # the worker's own setting
    CustomerFactory.create_batch(5, owner=manager, team=team)
    job = services.export_start(actor=manager, fmt="csv", query={})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (ExportJob.Status.DONE, ExportJob.Status.FAILED):
            break
        time.sleep(0.2)
    assert job.status == ExportJob.Status.DONE, job.failure
    assert job.processed_rows == 5
    with job.file.open("rb") as handle:
        assert handle.read().decode("utf-8-sig").count("\n") == 6
    job.file.delete(save=False)
