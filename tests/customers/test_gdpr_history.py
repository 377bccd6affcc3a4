"""GDPR erasure reaches the copies kept elsewhere: rejected import rows, uploaded import files,
and merge snapshots on other customers' events."""

from __future__ import annotations

import os

import pytest
from django.core.files.base import ContentFile

from crm.models import Event
from customers import merge
from customers.gdpr import REDACTED, gdpr_erase
from customers.models import Contact, Customer
from customers.models.imports import ImportChange, ImportJob
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def person(manager, team):
    return CustomerFactory(kind=Customer.Kind.PERSON, name="Wang Fang",
                           email="wang.fang@x.example", phone="+86 139 0000 1111",
                           owner=manager, team=team)


def _job(manager, *, status=ImportJob.Status.DONE, errors=()):
    job = ImportJob(created_by=manager, original_name="people.csv", headers=["Name", "E-mail"],
                    header_signature="x", status=status, errors=list(errors),
                    error_count=len(errors))
    job.file.save("people.csv", ContentFile(b"Name,E-mail\nWang Fang,wang.fang@x.example\n"),
                  save=False)
    job.save()
    return job


def test_it_scrubs_rejected_rows_and_deletes_the_import_file(manager, person,
                                                             django_capture_on_commit_callbacks):
    rejected = _job(manager, errors=[
        {"row": 2, "values": {"Name": "Wang Fang", "E-mail": "wang.fang@x.example"},
         "errors": ["duplicate"]},
        {"row": 3, "values": {"Name": "Li Lei", "E-mail": "li@x.example"}, "errors": ["x"]}])
    touched = _job(manager)
    ImportChange.objects.create(job=touched, customer=person, action="created")
    unrelated = _job(manager, errors=[{"row": 2, "values": {"Name": "Zhao"}, "errors": ["x"]}])
    running = _job(manager, status=ImportJob.Status.RUNNING)
    ImportChange.objects.create(job=running, customer=person, action="created")
    paths = {j.pk: j.file.path for j in (rejected, touched, unrelated, running)}

    with django_capture_on_commit_callbacks(execute=True):
        counts = gdpr_erase(actor=manager, customer=person, confirmation="Wang Fang")

    assert counts["imports"] == 1 and counts["import_files"] == 2
    rejected.refresh_from_db()
    assert rejected.errors[0]["values"] == {"Name": REDACTED, "E-mail": REDACTED}
    assert rejected.errors[1]["values"]["Name"] == "Li Lei"  # someone else's row stays
    for job in (rejected, touched):
        job.refresh_from_db()
        assert not job.file and "GDPR" in job.failure and not os.path.exists(paths[job.pk])
        assert job.status == ImportJob.Status.DONE  # the row and its counts stay
    for job in (unrelated, running):  # not the person's / not finished: left alone
        job.refresh_from_db()
        assert job.file and os.path.exists(paths[job.pk])


def test_it_scrubs_a_contacts_values_from_rejected_rows(manager, team):
    company = CustomerFactory(owner=manager, team=team)
    contact = Contact.objects.create(customer=company, first_name="Lin", last_name="Xiaoyu",
                                     email="lin.xiaoyu@x.example")
    job = _job(manager, errors=[{"row": 2, "values": {"E-mail": "LIN.XIAOYU@x.example"},
                                 "errors": ["bad"]}])
    gdpr_erase(actor=manager, customer=company, contact=contact, confirmation="Lin Xiaoyu")
    job.refresh_from_db()
    assert job.errors[0]["values"]["E-mail"] == REDACTED
    assert not job.file  # the file held the contact's e-mail (its rejected row shows it)


def test_it_scrubs_the_merge_snapshot_on_the_surviving_customer(manager, person, team):
    survivor = CustomerFactory(kind=Customer.Kind.PERSON, name="Fang Wang", owner=manager,
                               team=team)
    merged = merge.customer_merge(actor=manager, source=person, target=survivor, choices={},
                                  source_version=person.version,
                                  target_version=survivor.version)
    event = Event.objects.get(name="customer.merged", customer_id=merged.pk)
    assert event.payload["source"]["email"] == "wang.fang@x.example"
    counts = gdpr_erase(actor=manager, customer=merged, confirmation=merged.name)
    event.refresh_from_db()
    source = event.payload["source"]
    assert source["name"] == REDACTED and source["email"] == REDACTED
    assert source["phone"] == REDACTED and source["code"] == person.code  # business key kept
    away = Event.objects.get(name="customer.merged_away", customer_id=person.pk)
    assert away.payload["into_name"] == REDACTED
    assert counts["merge_snapshots"] >= 1
