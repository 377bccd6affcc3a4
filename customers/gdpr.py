"""GDPR tools: export everything held about a person, and erase their personal data.

Who: both need the customer visible (else 404) and the "erase" right on it through the access
policy (customers.erase_customer plus owning or managing the customer; Admins always). The
export is gated by the same right as the erasure, not by customers.export_customer: a GDPR
export holds decrypted national IDs and private notes, which the ordinary list export
(Analysts, Marketing) never shows.

Other modules add their parts (in AppConfig.ready() or a register() called from there):

    from customers.gdpr import register_gdpr_exporter, register_gdpr_eraser
    register_gdpr_exporter("sales.orders", lambda customer, contact: [...])   # JSON-able
    register_gdpr_eraser("sales.orders", lambda customer, contact, actor: 3)  # rows touched

`contact` is None when the whole (person) customer is exported or erased. Erasers run inside
the erasure's transaction, set-based, and keep business records and figures (orders, amounts,
dates): they blank the personal values only.

Erasure anonymizes in place (the records, counts and dates stay): contact names become
"Erased"; e-mail, phones, birthday, national ID, private notes, job title, consent source and
custom fields are cleared; the contact's interactions keep their rows but lose their bodies
and outcomes, and their subjects become the interaction type. For a person customer also the
customer's name, e-mail, phone, website, address, notes and custom fields. The values are also
scrubbed from the history that copied them: business-event payloads and django-auditlog
entries of the erased records. A company customer's own fields are not personal data: only
its contacts can be erased.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.events import event_record
from crm.exceptions import ApplicationError
from crm.models import Event
from customers.models import Contact, Customer, CustomerTag, Interaction, SegmentMember, Task
from customers.permissions import policy_for

Exporter = Callable[[Customer, Contact | None], Any]
Eraser = Callable[[Customer, Contact | None, Any], int]

ERASED = "Erased"
REDACTED = "[erased]"
CONSENT_EVENTS = ("contact.consent_given", "contact.consent_withdrawn")

_exporters: dict[str, Exporter] = {}
_erasers: dict[str, Eraser] = {}


def register_gdpr_exporter(key: str, fn: Exporter) -> None:
    _exporters[key] = fn


def register_gdpr_eraser(key: str, fn: Eraser) -> None:
    _erasers[key] = fn


def unregister_gdpr(key: str) -> None:
    _exporters.pop(key, None)
    _erasers.pop(key, None)


def gdpr_allowed(user, customer: Customer) -> bool:
    return policy_for(user).can("erase", customer)


def _require(user, customer: Customer) -> None:
    if not gdpr_allowed(user, customer):
        raise PermissionDenied


# --- export -----------------------------------------------------------------------------------
def _value(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "hex") and not isinstance(value, (bytes, int, float)):
        return str(value)
    return value


CUSTOMER_EXPORT = ["uuid", "code", "kind", "name", "email", "phone", "website", "address",
                   "city", "postcode", "country", "status", "description", "custom_data",
                   "created_at", "updated_at"]
CONTACT_EXPORT = ["uuid", "first_name", "last_name", "title", "email", "phone", "mobile",
                  "birthday", "preferred_channel", "is_primary", "marketing_consent",
                  "consent_at", "consent_method", "consent_source", "national_id",
                  "private_notes", "custom_data", "created_at", "updated_at", "deleted_at"]


def _row(obj, names) -> dict:
    return {name: _value(getattr(obj, name)) for name in names}


def _event_row(event: Event) -> dict:
    return {"event": event.name, "at": _value(event.created_at),
            "by": str(event.actor) if event.actor_id else None, "details": event.payload}


def consent_history(contact: Contact):
    """The contact's consent events, oldest first (index `event_subject`)."""
    return (Event.objects.filter(subject_type=ContentType.objects.get_for_model(Contact),
                                 subject_id=str(contact.pk), name__in=CONSENT_EVENTS)
            .select_related("actor").order_by("created_at", "id"))


def _interactions(qs) -> list[dict]:
    return [{"uuid": str(i.uuid), "kind": i.kind, "direction": i.direction,
             "occurred_at": _value(i.occurred_at), "subject": i.subject, "body": i.body,
             "outcome": i.outcome, "contact": str(i.contact.uuid) if i.contact_id else None,
             "by": str(i.user) if i.user_id else None}
            for i in qs.select_related("contact", "user").order_by("occurred_at", "id")]


def _contact_export(contact: Contact) -> dict:
    return {**_row(contact, CONTACT_EXPORT),
            "consent_history": [_event_row(e) for e in consent_history(contact)]}


def gdpr_export(*, actor, customer: Customer, contact: Contact | None = None) -> dict:
    """Everything held about the customer (or one of its contacts), as JSON-able data; the
    export itself is recorded as a "gdpr.exported" event."""
    _require(actor, customer)
    if contact is not None and contact.customer_id != customer.pk:
        raise ApplicationError(_("That contact belongs to another customer."))
    data: dict[str, Any] = {
        "exported_at": _value(timezone.now()),
        "scope": "contact" if contact else "customer",
    }
    contact_type = ContentType.objects.get_for_model(Contact)
    if contact is None:
        contacts = list(Contact.objects.filter(customer=customer).order_by("created_at", "id"))
        data["customer"] = _row(customer, CUSTOMER_EXPORT)
        data["customer"].update({
            "owner": str(customer.owner) if customer.owner_id else None,
            "tags": list(CustomerTag.objects.filter(customer=customer)
                         .values_list("tag__name", flat=True).order_by("tag__name")),
            "segments": [{"segment": name, "added_at": _value(at)} for name, at in
                         SegmentMember.objects.filter(customer=customer)
                         .values_list("segment__name", "added_at").order_by("added_at")],
        })
        data["contacts"] = [_contact_export(c) for c in contacts]
        data["interactions"] = _interactions(Interaction.objects.filter(customer=customer))
        data["tasks"] = [
            {"uuid": str(t.uuid), "title": t.title, "details": t.description,
             "due_at": _value(t.due_at), "status": t.status, "priority": t.priority,
             "assignee": str(t.assignee)}
            for t in Task.objects.filter(customer=customer).select_related("assignee")
            .order_by("due_at", "id")]
        events = Event.objects.filter(customer_id=customer.pk)
    else:
        data["customer"] = {"uuid": str(customer.uuid), "code": customer.code,
                            "name": customer.name, "kind": customer.kind}
        data["contact"] = _contact_export(contact)
        data["interactions"] = _interactions(Interaction.objects.filter(contact=contact))
        events = Event.objects.filter(subject_type=contact_type, subject_id=str(contact.pk))
    data["timeline"] = [_event_row(e) for e in
                        events.select_related("actor").order_by("created_at", "id")]
    data["modules"] = {key: fn(customer, contact) for key, fn in sorted(_exporters.items())}
    event_record(name="gdpr.exported", actor=actor, customer_id=customer.pk,
                 subject=contact or customer,
                 payload={"scope": data["scope"],
                          "contact": str(contact.uuid) if contact else None})
    return data


# --- erasure ----------------------------------------------------------------------------------
def _redact(value, secrets: set[str]):
    """`value` with every string that contains one of `secrets` replaced (JSON walk)."""
    if isinstance(value, str):
        low = value.casefold()
        return REDACTED if any(s in low for s in secrets) else value
    if isinstance(value, dict):
        return {k: _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, secrets) for v in value]
    return value


def _scrub_tasks(qs, secrets: set[str], *, whole: bool) -> int:
    """Tasks keep their dates, status and people; their texts lose the personal values (or,
    for an erased person customer, are replaced altogether)."""
    changed = []
    for task in qs.only("id", "title", "description"):
        title = REDACTED if whole else _redact(task.title, secrets)
        description = "" if whole else _redact(task.description, secrets)
        if (title, description) != (task.title, task.description):
            task.title, task.description = title, description
            changed.append(task)
    Task.objects.bulk_update(changed, ["title", "description"])
    return len(changed)


def _secrets(*values) -> set[str]:
    """The personal values to scrub from history (long enough not to hit ordinary words)."""
    found = set()
    for value in values:
        if value and len(str(value).strip()) >= 3 and str(value) not in (ERASED, REDACTED):
            found.add(str(value).strip().casefold())
    return found


def _scrub_events(qs, secrets: set[str], keys=("name", "source", "subject")) -> int:
    changed = []
    for event in qs.only("id", "payload").iterator(chunk_size=500):
        payload = _redact(event.payload, secrets)
        if isinstance(payload, dict):
            for key in keys:
                if key in payload and isinstance(payload[key], str) and payload[key]:
                    payload[key] = REDACTED
        if payload != event.payload:
            event.payload = payload
            changed.append(event)
    Event.objects.bulk_update(changed, ["payload"], batch_size=500)
    return len(changed)


def _scrub_log(qs, secrets: set[str], fields: set[str]) -> int:
    """django-auditlog entries: personal fields' old and new values, the object's name."""
    changed = []
    for entry in qs.iterator(chunk_size=500):
        changes = entry.changes if isinstance(entry.changes, dict) else {}
        changes = {k: ([REDACTED, REDACTED] if k in fields else _redact(v, secrets))
                   for k, v in changes.items()}
        entry.changes = changes
        entry.changes_text = ""
        entry.object_repr = ERASED
        entry.serialized_data = None
        entry.additional_data = _redact(entry.additional_data, secrets)
        changed.append(entry)
    LogEntry.objects.bulk_update(changed, ["changes", "changes_text", "object_repr",
                                           "serialized_data", "additional_data"],
                                 batch_size=500)
    return len(changed)


SNAPSHOT_PERSONAL = ("name", "email", "phone", "phone_digits", "website", "address", "city",
                     "postcode", "description")


def _scrub_merge_snapshots(customer: Customer, secrets: set[str], *, whole: bool) -> int:
    """Merge events keep a snapshot of the merged-away customer on the SURVIVING customer's
    event (and the survivor's name on the merged-away one's). Erasing a person customer
    blanks the personal fields of every snapshot involving it: the one it left on the
    customer it was merged into, and those of the duplicates merged into it (the same
    person). A contact's erasure redacts its values wherever such a snapshot holds them."""
    key = str(customer.uuid)
    merged = Event.objects.filter(name="customer.merged").filter(
        Q(customer_id=customer.pk) | Q(payload__source__uuid=key))
    changed = []
    for event in merged.only("id", "payload").iterator(chunk_size=500):
        payload = _redact(event.payload, secrets) if isinstance(event.payload, dict) else {}
        source = payload.get("source")
        if whole and isinstance(source, dict):
            for name in SNAPSHOT_PERSONAL:
                if source.get(name):
                    source[name] = REDACTED
            if source.get("custom_data"):
                source["custom_data"] = {}
        if payload != event.payload:
            event.payload = payload
            changed.append(event)
    if whole:
        for event in Event.objects.filter(name="customer.merged_away",
                                          payload__into=key).only("id", "payload"):
            payload = dict(event.payload)
            if payload.get("into_name"):
                payload["into_name"] = REDACTED
                event.payload = payload
                changed.append(event)
    Event.objects.bulk_update(changed, ["payload"], batch_size=500)
    return len(changed)


IMPORT_FILE_NOTE = ("The uploaded file was deleted on %(date)s: it held personal data that "
                    "was erased (GDPR).")


def _scrub_imports(customer: Customer, secrets: set[str], *, whole: bool) -> tuple[int, int]:
    """Imports keep the rejected rows (ImportJob.errors) and the uploaded file. Rejected rows
    holding an erased value are redacted (set-based: only jobs whose stored rows contain one
    of the values are read). A file cannot be edited in part: the stored file of a finished
    import that held the person's data is deleted (the import touched the erased person
    customer, or one of its rejected rows held an erased value); the job row stays, with a
    note. The name of a file the customer came from goes when it holds an erased value (the
    change history shows it), and so do the old values the import replaced on the customer
    (ImportChange.before). Returns (jobs whose rows were redacted, files deleted)."""
    from django.db.models import TextField
    from django.db.models.functions import Cast

    from customers.models.imports import ImportChange, ImportJob
    from customers.transfer import VERSION_AFTER

    finished = [ImportJob.Status.DONE, ImportJob.Status.FAILED, ImportJob.Status.UNDONE]
    redacted_jobs: set[int] = set()
    if secrets:
        match = Q()
        for value in secrets:
            match |= Q(errors_text__icontains=value)
        candidates = (ImportJob.objects.filter(error_count__gt=0)
                      .annotate(errors_text=Cast("errors", TextField())).filter(match)
                      .only("id", "errors"))
        changed = []
        for job in candidates.iterator(chunk_size=20):
            errors = _redact(job.errors, secrets)
            if errors != job.errors:
                job.errors = errors
                changed.append(job)
                redacted_jobs.add(job.pk)
        ImportJob.objects.bulk_update(changed, ["errors"], batch_size=20)
    touched = set(redacted_jobs)
    changes = list(ImportChange.objects.filter(customer_id=customer.pk)
                   .only("id", "job_id", "before"))
    mine = {change.job_id for change in changes}
    if whole:
        touched |= mine
    # The values an import replaced are the person's too (an older name, say).
    secrets = secrets | _secrets(*(value for change in changes
                                   for value in (change.before or {}).values()
                                   if isinstance(value, str)))
    if secrets and mine:
        # The file's name shows in the customer's change history (and the job's pages): a
        # name holding an erased value goes, as it goes from the import's event payloads.
        named = [job for job in ImportJob.objects.filter(pk__in=mine).only("id", "original_name")
                 if _redact(job.original_name, secrets) != job.original_name]
        for job in named:
            job.original_name = REDACTED
        ImportJob.objects.bulk_update(named, ["original_name"])
    # What an import replaced (kept for its undo) holds the person's old values: an erased
    # person customer keeps only the version an undo checks; otherwise the values go.
    for change in changes:
        before = change.before or {}
        change.before = ({k: v for k, v in before.items() if k == VERSION_AFTER}
                         if whole else _redact(before, secrets))
    ImportChange.objects.bulk_update(changes, ["before"], batch_size=500)
    files = list(ImportJob.objects.filter(pk__in=touched, status__in=finished)
                 .exclude(file="").only("id", "file", "failure"))
    note = IMPORT_FILE_NOTE % {"date": timezone.localdate().isoformat()}
    for job in files:
        name = job.file.name
        transaction.on_commit(lambda name=name: _delete_file(name))
        job.file = ""
        job.failure = f"{job.failure}\n{note}".strip()
    ImportJob.objects.bulk_update(files, ["file", "failure"])
    return len(redacted_jobs), len(files)


def _delete_file(name: str) -> None:
    """After the commit (a rolled-back erasure keeps the file)."""
    from django.core.files.storage import default_storage

    try:
        default_storage.delete(name)
    except OSError:  # gone already
        pass


CONTACT_PERSONAL = {"first_name", "last_name", "title", "email", "phone", "mobile", "birthday",
                    "national_id", "private_notes", "consent_source", "custom_data"}
CUSTOMER_PERSONAL = {"name", "email", "phone", "website", "address", "city", "postcode",
                     "description", "custom_data"}
INTERACTION_PERSONAL = {"subject", "body", "outcome"}


def _erase_interactions(interactions) -> list[int]:
    ids = list(interactions.values_list("id", flat=True))
    kinds = [When(kind=value, then=Value(str(label))) for value, label in
             Interaction.Kind.choices]
    Interaction.objects.filter(id__in=ids).update(
        subject=Case(*kinds, default=Value(ERASED)), body="", outcome="",
        updated_at=timezone.now())
    return ids


def _erase_contacts(contacts: list[Contact]) -> None:
    Contact.objects.filter(pk__in=[c.pk for c in contacts]).update(
        first_name=ERASED, last_name="", title="", email="", phone="", mobile="",
        phone_digits="", birthday=None, national_id="", private_notes="", consent_source="",
        custom_data={}, marketing_consent=False, version=F("version") + 1,
        updated_at=timezone.now(),
    )


def _contact_secrets(contacts: list[Contact]) -> set[str]:
    values = []
    for c in contacts:
        values += [c.first_name, c.last_name, str(c), c.email, c.phone, c.mobile,
                   c.national_id, c.private_notes, c.consent_source, c.title]
        values += [v for v in (c.custom_data or {}).values() if isinstance(v, str)]
    return _secrets(*values)


@transaction.atomic
def gdpr_erase(*, actor, customer: Customer, contact: Contact | None = None,
               confirmation: str) -> dict[str, int]:
    """Erase one contact's personal data, or (contact None) a person customer's and all its
    contacts'. `confirmation` must repeat the name shown. Returns what was touched, by kind."""
    _require(actor, customer)
    customer = Customer.objects.select_for_update(of=("self",)).get(pk=customer.pk)
    if contact is None and customer.kind != Customer.Kind.PERSON:
        raise ApplicationError(_(
            "A company's own details are not personal data and are not erased. Erase the "
            "personal data of its contacts one by one instead."))
    if contact is not None:
        contact = Contact.objects.select_for_update().filter(pk=contact.pk,
                                                             customer=customer).first()
        if contact is None:
            raise ApplicationError(_("That contact belongs to another customer."))
    expected = str(contact) if contact is not None else customer.name
    if " ".join(confirmation.split()).casefold() != " ".join(expected.split()).casefold():
        raise ApplicationError(_("Type the name exactly as shown to confirm. Nothing was "
                                 "erased."))

    contacts = [contact] if contact is not None else list(
        Contact.objects.filter(customer=customer))
    if contact is not None:
        interactions = Interaction.objects.filter(contact=contact)
    else:
        interactions = Interaction.objects.filter(customer=customer)
    secret_values = _contact_secrets(contacts)
    secret_values |= _secrets(*(i.subject for i in interactions.only("subject")))
    if contact is None:
        secret_values |= _secrets(customer.name, customer.email, customer.phone,
                                  customer.website, customer.address, customer.description,
                                  *[v for v in (customer.custom_data or {}).values()
                                    if isinstance(v, str)])

    interaction_ids = _erase_interactions(interactions)
    _erase_contacts(contacts)
    counts = {"contacts": len(contacts), "interactions": len(interaction_ids)}
    if contact is None:
        Customer.objects.filter(pk=customer.pk).update(
            name=ERASED, email="", phone="", phone_digits="", website="", address="", city="",
            postcode="", description="", custom_data={}, version=customer.version + 1,
            updated_at=timezone.now())

    # The history that copied the values: events and audit-log entries of these records.
    contact_type = ContentType.objects.get_for_model(Contact)
    interaction_type = ContentType.objects.get_for_model(Interaction)
    customer_type = ContentType.objects.get_for_model(Customer)
    contact_keys = [str(c.pk) for c in contacts]
    events = Event.objects.filter(
        Q(subject_type=contact_type, subject_id__in=contact_keys)
        | Q(subject_type=interaction_type, subject_id__in=[str(i) for i in interaction_ids]))
    if contact is None:
        events = Event.objects.filter(customer_id=customer.pk)
    counts["events"] = _scrub_events(events, secret_values)
    logs = LogEntry.objects.filter(
        Q(content_type=contact_type, object_id__in=[c.pk for c in contacts])
        | Q(content_type=interaction_type, object_id__in=interaction_ids))
    counts["history"] = _scrub_log(
        logs.filter(content_type=contact_type), secret_values, CONTACT_PERSONAL)
    counts["history"] += _scrub_log(
        logs.filter(content_type=interaction_type), secret_values, INTERACTION_PERSONAL)
    if contact is None:
        counts["history"] += _scrub_log(
            LogEntry.objects.filter(content_type=customer_type, object_id=customer.pk),
            secret_values, CUSTOMER_PERSONAL)

    counts["merge_snapshots"] = _scrub_merge_snapshots(customer, secret_values,
                                                       whole=contact is None)
    counts["imports"], counts["import_files"] = _scrub_imports(customer, secret_values,
                                                               whole=contact is None)
    counts["tasks"] = _scrub_tasks(Task.objects.filter(customer=customer), secret_values,
                                   whole=contact is None)
    for key, fn in sorted(_erasers.items()):
        counts[key] = int(fn(customer, contact, actor) or 0)
    event_record(name="gdpr.erased", actor=actor, customer_id=customer.pk,
                 subject=contact or customer,
                 payload={"scope": "contact" if contact else "customer",
                          "contact": str(contact.uuid) if contact else None,
                          "counts": counts})
    return counts
