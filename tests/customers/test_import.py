"""Customer import: upload checks, mapping memory, preview, the engine (in-process and with a
real Celery worker), duplicates, rejected rows, undo, and who may do what."""

from __future__ import annotations

import csv
import io
import time

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.models import Event
from customers import transfer
from customers import transfer_services as services
from customers.models import Customer, CustomFieldDefinition, DictionaryEntry, Tag
from customers.models.imports import ImportChange, ImportJob, ImportMapping
from tests.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db

HEADERS = ["Company", "E-mail", "Phone", "Code", "Tags", "Industry", "Owner e-mail"]


def make_csv(rows, headers=HEADERS, bom=False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def upload(name, content, content_type="text/csv"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def industry():
    entry, _created = DictionaryEntry.objects.update_or_create(
        kind=DictionaryEntry.Kind.INDUSTRY, code="retail", defaults={"label": "Retail"})
    return entry


MAPPING = {"Company": "name", "E-mail": "email", "Phone": "phone", "Code": "code",
           "Tags": "tags", "Industry": "industry", "Owner e-mail": "owner"}


def configured_job(actor, rows, *, match_on=("email",), duplicates="skip", mapping=None):
    job = services.import_upload(actor=actor, upload=upload("people.csv", make_csv(rows)))
    return services.import_configure(actor=actor, job=job, mapping=mapping or MAPPING,
                                     match_on=list(match_on), duplicates=duplicates)


def run(job):
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    services.import_run(job.pk)
    job.refresh_from_db()
    return job


# --- upload -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "content", "message"), [
    ("people.pdf", b"%PDF-1.4", "Upload a CSV"),
    ("people.csv", "Name,City\nMüller,Köln\n".encode("latin-1"), "not UTF-8"),
    ("people.csv", b"", "empty"),
    ("people.csv", b"\n\n,,\n", "no header row"),
    ("people.csv", b"Name,City\n", "no data rows"),
    ("people.xlsx", b"Name,City\nA,B\n", "not a valid Excel"),
    ("people.csv", b"Name,,City\nA,B,C\n", "needs a heading"),
])
def test_it_rejects_a_bad_upload_with_a_clear_message_and_no_job(client_for, manager, name,
                                                                  content, message):
    response = client_for(manager).post(reverse("customers:import_upload"),
                                        {"file": upload(name, content)})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_it_accepts_csv_with_a_bom_and_xlsx(manager):
    job = services.import_upload(actor=manager, upload=upload(
        "a.csv", make_csv([["Acme", "a@x.example", "", "", "", "", ""]], bom=True)))
    assert job.headers == HEADERS and job.total_rows == 1

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Phone"])
    sheet.append(["Zeta", 13800138000])
    buffer = io.BytesIO()
    book.save(buffer)
    job = services.import_upload(actor=manager, upload=upload("b.xlsx", buffer.getvalue()))
    assert job.headers == ["Name", "Phone"] and job.total_rows == 1
    rows = list(transfer.job_rows(job))
    assert rows[0].values == {"Name": "Zeta", "Phone": "13800138000"}


def test_it_uploads_then_shows_the_mapping_page_with_guesses(client_for, manager):
    client = client_for(manager)
    response = client.post(reverse("customers:import_upload"),
                           {"file": upload("p.csv", make_csv([["Acme", "a@x.example", "1",
                                                              "", "", "", ""]]))})
    job = ImportJob.objects.get()
    assert response.url == reverse("customers:import_map", kwargs={"uuid": job.uuid})
    page = client.get(response.url).content.decode()
    assert '<option value="email" selected>' in page
    assert '<option value="name" selected>' in page


# --- mapping memory and preview ----------------------------------------------------------------
def test_it_remembers_the_mapping_for_the_same_headers(client_for, manager):
    client = client_for(manager)
    first = services.import_upload(actor=manager, upload=upload("a.csv", make_csv([["A"] * 7])))
    data = {f"col_{i}": "" for i in range(len(HEADERS))}
    data.update({"col_0": "name", "col_1": "description", "match_on": [],
                 "duplicates": "create"})
    response = client.post(reverse("customers:import_map", kwargs={"uuid": first.uuid}), data)
    assert response.status_code == 302
    assert ImportMapping.objects.get().mapping == {"company": "name", "e mail": "description"}

    # Same headings in another order and case: the mapping comes back.
    headers = ["e-mail", *HEADERS[2:], "COMPANY"]
    second = services.import_upload(actor=manager, upload=upload(
        "b.csv", make_csv([["x"] * 7], headers=headers)))
    assert second.header_signature == first.header_signature
    page = client.get(reverse("customers:import_map", kwargs={"uuid": second.uuid}))
    assert page.context["remembered"] is True
    assert page.context["form"]["col_0"].initial == "description"
    assert page.context["form"]["col_6"].initial == "name"


def test_it_refuses_a_mapping_without_a_name_or_with_a_field_twice(client_for, manager):
    job = services.import_upload(actor=manager, upload=upload("a.csv", make_csv([["A"] * 7])))
    url = reverse("customers:import_map", kwargs={"uuid": job.uuid})
    base = {f"col_{i}": "" for i in range(len(HEADERS))} | {"duplicates": "skip"}
    response = client_for(manager).post(url, base | {"col_1": "email"})
    assert "Map a column to Name" in response.content.decode()
    response = client_for(manager).post(url, base | {"col_0": "name", "col_1": "name"})
    assert "one column only" in response.content.decode()
    job.refresh_from_db()
    assert job.mapping == {}


def test_it_previews_rows_with_their_errors(client_for, manager, industry):
    job = configured_job(manager, [
        ["Good Co", "good@x.example", "+86 1", "", "vip", "Retail", ""],
        ["", "bad-mail", "", "", "", "Mining", "nobody@x.example"],
    ])
    response = client_for(manager).get(reverse("customers:import_preview",
                                               kwargs={"uuid": job.uuid}))
    rows = [r for r, _cells in response.context["rows"]]
    assert [r.action for r in rows] == ["create", "error"]
    errors = " ".join(rows[1].errors)
    assert "not a valid e-mail" in errors and "Mining" in errors
    assert "nobody@x.example" in errors and "Name: required" in errors
    assert response.context["preview_errors"] == 1
    assert not Customer.objects.filter(name="Good Co").exists()


# --- the engine -----------------------------------------------------------------------------------
def test_it_imports_rows_with_owner_tags_dictionary_and_custom_fields(manager, rep, industry):
    CustomFieldDefinition.objects.create(entity="customer", key="seats", label="Seats",
                                         field_type="number")
    existing_tag = TagFactory(name="VIP")
    headers = [*HEADERS, "Seats"]
    mapping = MAPPING | {"Seats": "custom:seats"}
    job = services.import_upload(actor=manager, upload=upload("a.csv", make_csv([
        ["Alpha", "Alpha@X.example", "+86 138-0000", "", "vip; new", "retail", ""],
        ["Beta", "beta@x.example", "", "B-1", "", "Retail", rep.email.upper()],
        ["Gamma", "gamma@x.example", "", "", "", "", "", "many"],
    ], headers=headers)))
    services.import_configure(actor=manager, job=job, mapping=mapping, match_on=["email"],
                              duplicates="skip")
    job = run(job)

    assert job.status == ImportJob.Status.DONE
    assert (job.processed_rows, job.created_count, job.error_count) == (3, 2, 1)
    alpha = Customer.objects.get(name="Alpha")
    assert alpha.owner == manager and alpha.email == "alpha@x.example"
    assert alpha.phone_digits == "861380000" and alpha.code.startswith("C")
    assert alpha.industry == industry
    assert {t.name for t in alpha.tags.all()} == {"VIP", "new"}
    assert Tag.objects.filter(name__iexact="vip").get() == existing_tag
    beta = Customer.objects.get(name="Beta")
    assert beta.owner == rep and beta.code == "B-1"
    assert job.errors == [{"row": 4, "values": dict(zip(headers, ["Gamma", "gamma@x.example",
                                                                 "", "", "", "", "", "many"],
                                                             strict=True)),
                           "errors": ["Seats: is not a number"]}]
    assert ImportChange.objects.filter(job=job, action="created").count() == 2
    events = Event.objects.filter(name="customer.imported")
    assert events.filter(customer_id__isnull=True).get().payload["created"] == 2
    per_customer = {e.customer_id: e.payload for e in events.filter(customer_id__isnull=False)}
    assert per_customer == {
        c.pk: {"job": str(job.uuid), "file": job.original_name, "action": "created"}
        for c in Customer.objects.filter(name__in=["Alpha", "Beta"])}


def test_it_processes_many_rows_in_batches_with_few_queries(manager, settings,
                                                           django_assert_max_num_queries):
    rows = [[f"Co {i}", f"c{i}@x.example", "", "", "t1;t2", "", ""] for i in range(120)]
    job = configured_job(manager, rows)
    transfer.BATCH_SIZE, old = 50, transfer.BATCH_SIZE
    try:
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
        with django_assert_max_num_queries(66):  # 3 batches, not 120 rows
            services.import_run(job.pk)
    finally:
        transfer.BATCH_SIZE = old
    job.refresh_from_db()
    assert job.created_count == 120 and job.processed_rows == 120
    assert Customer.objects.filter(tags__name="t2").count() == 120


@pytest.mark.parametrize("key", ["email", "phone", "code"])
def test_it_skips_duplicates(manager, team_customer, key):
    team_customer.email, team_customer.phone = "known@x.example", "+86 138 1111 2222"
    team_customer.code = "K-1"
    team_customer.save()
    row = {"email": ["New", "KNOWN@x.example", "", "", "", "", ""],
           "phone": ["New", "", "86-138-1111-2222", "", "", "", ""],
           "code": ["New", "", "", "K-1", "", "", ""]}[key]
    job = run(configured_job(manager, [row, ["Fresh", "", "", "", "", "", ""]],
                             match_on=[key]))
    assert (job.skipped_count, job.created_count) == (1, 1)
    team_customer.refresh_from_db()
    assert team_customer.name == "Beta Foods"


@pytest.mark.parametrize("key", ["email", "phone", "code"])
def test_it_updates_duplicates_and_undo_restores_them(manager, team_customer, key):
    team_customer.email, team_customer.phone = "known@x.example", "+86 138 1111 2222"
    team_customer.code, team_customer.city = "K-1", "Shanghai"
    team_customer.save()
    old_tag = TagFactory(name="old")
    team_customer.tags.add(old_tag)
    row = {"email": ["Renamed", "known@x.example", "", "", "extra", "", ""],
           "phone": ["Renamed", "", "8613811112222", "", "extra", "", ""],
           "code": ["Renamed", "", "", "K-1", "extra", "", ""]}[key]
    job = run(configured_job(manager, [row, ["Fresh", "", "", "", "", "", ""]],
                             match_on=[key], duplicates="update"))
    assert (job.updated_count, job.created_count) == (1, 1)
    team_customer.refresh_from_db()
    assert team_customer.name == "Renamed" and team_customer.city == "Shanghai"
    assert {t.name for t in team_customer.tags.all()} == {"old", "extra"}

    result = services.import_undo(actor=manager, job=job)
    assert result == {"removed": 1, "restored": 1, "skipped": 0}
    team_customer.refresh_from_db()
    assert team_customer.name == "Beta Foods" and team_customer.deleted_at is None
    assert [t.name for t in team_customer.tags.all()] == ["old"]
    assert Customer.objects.get(name="Fresh").deleted_at is not None
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UNDONE
    assert Event.objects.filter(name="customer.import_undone").count() == 1


@pytest.mark.parametrize("key", ["email", "phone", "code"])
def test_it_creates_duplicates_when_asked(manager, team_customer, key):
    team_customer.email, team_customer.phone = "known@x.example", "+86 138 1111 2222"
    team_customer.save()
    row = {"email": ["Twin", "known@x.example", "", "", "", "", ""],
           "phone": ["Twin", "", "8613811112222", "", "", "", ""],
           "code": ["Twin", "", "", "", "", "", ""]}[key]
    job = run(configured_job(manager, [row], match_on=[key], duplicates="create"))
    assert job.created_count == 1
    assert Customer.objects.filter(name="Twin").exists()


def test_it_rejects_a_code_already_in_use_and_duplicate_rows_in_the_file(manager,
                                                                       team_customer):
    team_customer.code = "K-9"
    team_customer.save()
    job = run(configured_job(manager, [
        ["A", "same@x.example", "", "K-9", "", "", ""],
        ["B", "same@x.example", "", "", "", "", ""],
        ["C", "same@x.example", "", "", "", "", ""],
    ], duplicates="update"))
    assert (job.created_count, job.error_count) == (1, 2)
    reasons = [" ".join(e["errors"]) for e in job.errors]
    assert "K-9 is already used" in reasons[0]
    assert "same customer as row 3" in reasons[1]


@pytest.mark.parametrize("duplicates", ["update", "skip"])
def test_it_rejects_a_duplicate_the_importer_cannot_see_without_revealing_it(
        client_for, manager, other_customer, duplicates):
    other_customer.email, other_customer.code = "theirs@x.example", "SECRET-1"
    other_customer.save()
    rows = [["Mine now", "theirs@x.example", "", "", "", "", ""]]
    job = configured_job(manager, rows, duplicates=duplicates)
    page = client_for(manager).get(reverse("customers:import_preview",
                                           kwargs={"uuid": job.uuid})).content.decode()
    assert "you cannot see" in page and "SECRET-1" not in page
    job = run(job)
    assert (job.error_count, job.skipped_count, job.updated_count) == (1, 0, 0)
    assert job.errors[0]["errors"] == ["duplicate of an existing customer you cannot see"]
    other_customer.refresh_from_db()
    assert other_customer.name == "Gamma Textiles"


def test_it_downloads_the_rejected_rows_as_csv(client_for, manager):
    job = run(configured_job(manager, [
        ["Fine", "", "", "", "", "", ""],
        ["=HYPERLINK(\"x\")", "not-an-email", "", "", "", "", ""],
    ]))
    response = client_for(manager).get(reverse("customers:import_rejected",
                                               kwargs={"uuid": job.uuid}))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Row", *HEADERS, "Reason"]
    assert rows[1][0] == "3"
    assert rows[1][1] == "'=HYPERLINK(\"x\")"
    assert "not a valid e-mail" in rows[1][-1]
    assert len(rows) == 2


def test_it_undoes_created_customers_through_the_view(client_for, manager):
    job = run(configured_job(manager, [["One", "", "", "", "", "", ""],
                                      ["Two", "", "", "", "", "", ""]]))
    response = client_for(manager).post(reverse("customers:import_undo",
                                                kwargs={"uuid": job.uuid}))
    assert response.status_code == 302
    assert Customer.objects.alive().filter(name__in=["One", "Two"]).count() == 0
    assert Customer.objects.deleted().filter(name__in=["One", "Two"]).count() == 2
    # A second undo changes nothing and says why.
    response = client_for(manager).post(reverse("customers:import_undo",
                                                kwargs={"uuid": job.uuid}), follow=True)
    assert "Only a finished import" in response.content.decode()


def test_it_starts_a_job_once_and_queues_it_after_commit(client_for, manager,
                                                         django_capture_on_commit_callbacks):
    job = configured_job(manager, [["One", "", "", "", "", "", ""]])
    url = reverse("customers:import_start", kwargs={"uuid": job.uuid})
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(manager).post(url)
    assert response.status_code == 302 and len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED
    response = client_for(manager).post(url, follow=True)
    assert "already been started" in response.content.decode()


# --- access -------------------------------------------------------------------------------------
def _job_urls(job):
    return [reverse(f"customers:import_{n}", kwargs={"uuid": job.uuid})
            for n in ("detail", "map", "preview", "progress", "rejected")]


def test_it_sends_anonymous_users_to_the_login_page(client, manager):
    job = configured_job(manager, [["One", "", "", "", "", "", ""]])
    for url in [reverse("customers:import_upload"), reverse("customers:import_list"),
                *_job_urls(job),
                reverse("customers:import_start", kwargs={"uuid": job.uuid}),
                reverse("customers:import_undo", kwargs={"uuid": job.uuid})]:
        response = client.get(url) if "start" not in url and "undo" not in url \
            else client.post(url)
        assert response.status_code == 302 and "/login/" in response.url, url


def test_it_shows_a_job_only_to_its_creator_and_admins(client_for, manager, outsider, admin,
                                                       analyst):
    job = configured_job(manager, [["One", "", "", "", "", "", ""]])
    for url in _job_urls(job):
        assert client_for(outsider).get(url).status_code == 404, url
        assert client_for(analyst).get(url).status_code == 404, url
        assert client_for(admin).get(url).status_code in (200, 302), url
    for name in ("start", "undo"):
        url = reverse(f"customers:import_{name}", kwargs={"uuid": job.uuid})
        assert client_for(outsider).post(url).status_code == 404
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED
    assert client_for(manager).get(reverse("customers:import_list")).context["jobs"][0] == job
    assert list(services.import_job_list_for_user(outsider)) == []


def test_it_forbids_importing_to_users_without_the_permission(client_for, analyst, rep):
    for user in (analyst, rep):
        client = client_for(user)
        assert client.get(reverse("customers:import_upload")).status_code == 403
        response = client.post(reverse("customers:import_upload"),
                               {"file": upload("a.csv", make_csv([["A"] * 7]))})
        assert response.status_code == 403
        assert client.get(reverse("customers:import_list")).status_code == 403
    assert not ImportJob.objects.exists()


def test_it_rejects_marketing_rows_that_would_create_or_update(manager, role_groups):
    from accounts import roles
    from tests.factories import UserFactory

    marketer = UserFactory(roles=[roles.MARKETING])
    CustomerFactory(email="known@x.example", owner=manager)
    job = run(configured_job(marketer, [["Known", "known@x.example", "", "", "", "", ""],
                                       ["Fresh", "", "", "", "", "", ""]],
                             duplicates="update"))
    # Marketing may import (and sees every customer) but holds neither add_customer nor the
    # right to change customers: each row is rejected with its own reason.
    assert (job.created_count, job.updated_count, job.error_count) == (0, 0, 2)
    assert "may not change" in job.errors[0]["errors"][0]
    assert job.errors[1]["errors"] == ["you may not create new customers"]
    assert not Customer.objects.filter(name="Fresh").exists()


PINNED_LIST_QUERIES = 2


def test_it_lists_imports_with_a_fixed_number_of_queries(client_for, manager,
                                                         django_assert_num_queries):
    client = client_for(manager)
    configured_job(manager, [["One", "", "", "", "", "", ""]])
    client.get(reverse("customers:import_list"))
    with django_assert_num_queries(PINNED_LIST_QUERIES) as few:
        client.get(reverse("customers:import_list"))
    for _i in range(5):
        configured_job(manager, [["One", "", "", "", "", "", ""]])
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(reverse("customers:import_list"))


def test_it_polls_progress_while_running_and_stops_when_done(client_for, manager):
    job = configured_job(manager, [["One", "", "", "", "", "", ""]])
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, total_rows=4,
                                               processed_rows=2)
    page = client_for(manager).get(reverse("customers:import_progress",
                                           kwargs={"uuid": job.uuid})).content.decode()
    assert 'hx-trigger="every 1s"' in page and 'data-width="50"' in page
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DONE, error_count=1)
    page = client_for(manager).get(reverse("customers:import_progress",
                                           kwargs={"uuid": job.uuid})).content.decode()
    assert "hx-trigger" not in page and "Download rejected rows" in page
    assert "Undo import" in page


# --- a real worker -----------------------------------------------------------------------------
def worker_knows_import(hostname) -> bool:
    from crm.celery import app

    registered = app.control.inspect(destination=[hostname], timeout=2).registered() or {}
    return "customers.run_import" in registered.get(hostname, [])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_runs_an_import_end_to_end_in_a_real_worker(celery_worker, manager, settings):
    if not worker_knows_import(celery_worker):
        pytest.skip("the worker does not load customers.transfer_tasks yet (see the wiring "
                    "note: customers/tasks.py must import it)")
    settings.MEDIA_ROOT = settings.BASE_DIR / ".data" / "media"  # the worker's own setting
    job = configured_job(manager, [["W1", "w1@x.example", "", "", "", "", ""],
                                   ["W2", "bad", "", "", "", "", ""]])
    services.import_start(actor=manager, job=job)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
            break
        time.sleep(0.2)
    assert job.status == ImportJob.Status.DONE, job.failure
    assert (job.created_count, job.error_count) == (1, 1)
    assert Customer.objects.get(name="W1").owner == manager


def test_it_runs_the_celery_task_in_process(manager):
    from customers.transfer_tasks import run_import_task

    job = configured_job(manager, [["Tasked", "", "", "", "", "", ""]])
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    run_import_task.apply(args=(job.pk,)).get()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.created_count == 1
    # A duplicated delivery of the same task changes nothing.
    run_import_task.apply(args=(job.pk,)).get()
    assert Customer.objects.filter(name="Tasked").count() == 1


# --- review fixes: undo safety, rights per row, locking, visibility, e-mail case, errors ----------
def _bump(customer, **fields):
    """Someone else's later edit: the service's way of writing (version + 1)."""
    from django.db.models import F

    Customer.objects.filter(pk=customer.pk).update(version=F("version") + 1, **fields)


def test_it_undo_leaves_customers_changed_merged_or_deleted_since_alone(client_for, manager,
                                                                         team_customer):
    from django.utils import timezone

    team_customer.email, team_customer.city = "known@x.example", "Shanghai"
    team_customer.save()
    edited = CustomerFactory(email="edited@x.example", owner=manager, name="Edited Co")
    job = run(configured_job(manager, [
        ["Renamed", "known@x.example", "", "", "", "", ""],
        ["Renamed too", "edited@x.example", "", "", "", "", ""],
        ["New kept", "", "", "", "", "", ""],
        ["New edited", "", "", "", "", "", ""],
        ["New merged", "", "", "", "", "", ""],
    ], duplicates="update"))
    assert (job.updated_count, job.created_count) == (2, 3)
    change = ImportChange.objects.get(job=job, customer=team_customer)
    team_customer.refresh_from_db()
    assert change.before[transfer.VERSION_AFTER] == team_customer.version

    _bump(edited, name="Edited by hand")
    _bump(Customer.objects.get(name="New edited"), city="Hand-typed")
    _bump(Customer.objects.get(name="New merged"), deleted_at=timezone.now())  # merged away

    response = client_for(manager).post(reverse("customers:import_undo",
                                                kwargs={"uuid": job.uuid}), follow=True)
    page = response.content.decode()
    assert "3 customers were left as they are" in page
    team_customer.refresh_from_db()
    assert team_customer.name == "Beta Foods"  # untouched since: restored
    assert Customer.objects.get(pk=edited.pk).name == "Edited by hand"  # not clobbered
    assert Customer.objects.get(name="New kept").deleted_at is not None
    assert Customer.objects.get(name="New edited").deleted_at is None
    event = Event.objects.get(name="customer.import_undone")
    assert event.payload["skipped"] == 3 and event.payload["removed"] == 1
    assert event.payload["restored"] == 1


def test_it_rejects_rows_that_need_rights_the_importer_lacks(manager, rep, team):
    from accounts.models import Team
    from tests.factories import TeamFactory, UserFactory

    north = TeamFactory(name="North")
    gone = UserFactory(email="gone@x.example", is_active=False)
    # A customer of the manager's member, already in a team the manager does not manage.
    kept_team = CustomerFactory(email="kept@x.example", owner=rep, team=north)
    kept_owner = CustomerFactory(email="old@x.example", owner=gone, team=team)
    headers = ["Company", "E-mail", "Team", "Owner e-mail"]
    mapping = {"Company": "name", "E-mail": "email", "Team": "team", "Owner e-mail": "owner"}
    job = services.import_upload(actor=manager, upload=upload("t.csv", make_csv([
        ["Mine", "", "Sales East", ""],
        ["Theirs", "", "north", ""],
        ["Ghost", "", "", "gone@x.example"],
        ["Kept team", "kept@x.example", "North", ""],
        ["Kept owner", "old@x.example", "", "GONE@x.example"],
    ], headers=headers)))
    services.import_configure(actor=manager, job=job, mapping=mapping, match_on=["email"],
                              duplicates="update")
    job = run(job)
    assert (job.created_count, job.updated_count, job.error_count) == (1, 2, 2)
    reasons = {e["values"]["Company"]: e["errors"] for e in job.errors}
    assert reasons == {
        "Theirs": ['Team: you may not assign customers to team "north"'],
        "Ghost": ["Owner: gone@x.example is not an active user"],
    }
    assert Customer.objects.get(name="Mine").team == team
    kept_team.refresh_from_db()
    kept_owner.refresh_from_db()
    assert kept_team.name == "Kept team" and kept_team.team == north
    assert kept_owner.name == "Kept owner" and kept_owner.owner == gone
    assert not Customer.objects.filter(team=Team.objects.get(name="North"),
                                       name="Theirs").exists()


def test_it_locks_matched_customers_and_bumps_versions_in_sql(manager, team_customer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    team_customer.email = "known@x.example"
    team_customer.save()
    _bump(team_customer)  # the version the import must build on, not a stale copy's
    version = Customer.objects.get(pk=team_customer.pk).version
    job = configured_job(manager, [["Renamed", "known@x.example", "", "", "", "", ""]],
                         duplicates="update")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    with CaptureQueriesContext(connection) as queries:
        services.import_run(job.pk)
    sql = [q["sql"] for q in queries.captured_queries]
    locks = [q for q in sql if q.startswith('SELECT') and "customers_customer" in q
             and q.rstrip().endswith("FOR UPDATE")]
    assert len(locks) == 1 and 'ORDER BY "customers_customer"."id" ASC' in locks[0]
    update = next(q for q in sql if q.startswith('UPDATE "customers_customer"'))
    assert '"version" + 1' in update
    team_customer.refresh_from_db()
    assert team_customer.name == "Renamed" and team_customer.version == version + 1


def test_it_matches_e_mails_stored_with_capitals(manager, team_customer):
    # Another path stored the address as typed; the file carries it the same way.
    Customer.objects.filter(pk=team_customer.pk).update(email="Known@X.example")
    job = run(configured_job(manager, [["Dup", "Known@X.example", "", "", "", "", ""],
                                       ["Dup lower", "known@x.example", "", "", "", "", ""]]))
    assert (job.skipped_count, job.created_count) == (2, 0)
    assert not Customer.objects.filter(name__startswith="Dup").exists()


def test_it_caps_the_stored_rejected_rows_and_appends_them_in_sql(client_for, manager,
                                                                   monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(transfer, "BATCH_SIZE", 2)
    monkeypatch.setattr(transfer, "MAX_STORED_ERRORS", 3)
    rows = [[f"Bad {i}", "not-an-email", "", "", "", "", ""] for i in range(5)]
    job = configured_job(manager, [*rows, ["Good", "", "", "", "", "", ""]])
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    with CaptureQueriesContext(connection) as queries:
        services.import_run(job.pk)
    job.refresh_from_db()
    assert (job.error_count, job.created_count, len(job.errors)) == (5, 1, 3)
    assert [e["row"] for e in job.errors] == [2, 3, 4]
    appends = [q["sql"] for q in queries.captured_queries
               if q["sql"].startswith('UPDATE "customers_importjob"') and "||" in q["sql"]]
    assert len(appends) == 2  # batch 1 (2 rows), batch 2 (1 of 2 rows), batch 3 nothing
    response = client_for(manager).get(reverse("customers:import_rejected",
                                               kwargs={"uuid": job.uuid}))
    lines = list(csv.reader(io.StringIO(
        b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(lines) == 5 and "2 more rejected rows are not listed" in lines[-1][-1]


def test_it_requeues_jobs_left_queued_once_per_period(manager, django_capture_on_commit_callbacks):
    import datetime

    from django.utils import timezone

    from customers.transfer_tasks import requeue_stuck_imports_task

    stuck = configured_job(manager, [["Stuck", "", "", "", "", "", ""]])
    fresh = configured_job(manager, [["Fresh", "", "", "", "", "", ""]])
    running = configured_job(manager, [["Running", "", "", "", "", "", ""]])
    old = timezone.now() - datetime.timedelta(minutes=11)
    ImportJob.objects.filter(pk=stuck.pk).update(status=ImportJob.Status.QUEUED, updated_at=old)
    ImportJob.objects.filter(pk=fresh.pk).update(status=ImportJob.Status.QUEUED)
    ImportJob.objects.filter(pk=running.pk).update(status=ImportJob.Status.RUNNING,
                                                   updated_at=old)
    with django_capture_on_commit_callbacks() as callbacks:
        assert requeue_stuck_imports_task.apply().get() == 1
    assert len(callbacks) == 1 and callbacks[0].args == (stuck.pk,)
    with django_capture_on_commit_callbacks() as again:
        assert services.import_requeue_stuck(older_than_minutes=10) == 0  # not twice a period
    assert again == []
    # The re-queued task runs the job once; a late first delivery changes nothing.
    assert services.import_run(stuck.pk) is not None
    assert services.import_run(stuck.pk) is None
    assert Customer.objects.filter(name="Stuck").count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_never_runs_one_job_twice_at_the_same_time(manager, role_groups):
    from django.db import connections

    job = configured_job(manager, [["Once", "", "", "", "", "", ""]])
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    other = connections.create_connection("default")  # another worker's session
    key = [services.RUN_LOCK_NAMESPACE, job.pk]
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", key)
        assert services.import_run(job.pk) is None
        assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.QUEUED
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
    finally:
        other.close()
    assert services.import_run(job.pk).status == ImportJob.Status.DONE
