"""Customer import and export: reading uploads (CSV UTF-8 with or without BOM, XLSX), the
field catalogue a column maps to, row validation, the batched import engine, and the export
writers (streamed CSV, write-only XLSX), every cell neutralised against formula injection.

Writes go through customers.transfer_services (permissions, transactions, events); this module
holds the mechanics they share with the Celery tasks and the preview.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import connection
from django.db.models import F, OuterRef, StringAgg, Subquery, Value
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.exceptions import ApplicationError
from customers.models import (
    Customer,
    CustomerTag,
    CustomFieldDefinition,
    DictionaryEntry,
    Tag,
    phone_digits,
)
from customers.models.imports import ImportJob

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
PREVIEW_ROWS = 20
BATCH_SIZE = 500
# Exports: a list up to these sizes is written in the request (CSV streamed, XLSX built in
# write-only mode); a larger one becomes an ExportJob that a Celery worker writes to a file.
EXPORT_INSTANT_ROWS = 20_000
XLSX_INSTANT_ROWS = 5_000
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row
EXPORT_BATCH = 2_000  # rows per cursor fetch and per progress update
EXPORT_KEEP_DAYS = 7
TAG_SEPARATOR = ";"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A job keeps at most this many rejected rows for the report; error_count counts them all.
MAX_STORED_ERRORS = 10_000
# Key in ImportChange.before: the customer's version right after the import wrote it, so an
# undo can tell whether anyone changed the customer since (then it is left alone).
VERSION_AFTER = "_version_after"
CUSTOM_PREFIX = "custom:"


class FileProblem(ApplicationError):
    """The upload cannot be read; nothing was imported."""


# --- formula injection ------------------------------------------------------------------------
def neutralise(value):
    """A cell value safe for spreadsheets: text starting with =, +, -, @, tab or CR gets a
    leading single quote, so Excel/LibreOffice show it as text instead of running it."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


# --- reading uploads --------------------------------------------------------------------------
def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time.min \
            else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def _file_kind(name: str, head: bytes) -> str:
    lowered = (name or "").lower()
    if lowered.endswith(".xlsx"):
        if not head.startswith(b"PK\x03\x04"):
            raise FileProblem(_("This file is not a valid Excel (.xlsx) workbook."))
        return "xlsx"
    if lowered.endswith(".csv") or lowered.endswith(".txt"):
        if head.startswith(b"PK\x03\x04") or b"\x00" in head[:1024]:
            raise FileProblem(_("This file is not a CSV text file."))
        return "csv"
    raise FileProblem(_("Upload a CSV (.csv) or Excel (.xlsx) file."))


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(_(
            "The file is not UTF-8 text (the problem starts at byte %(pos)d). Save it as "
            "\"CSV UTF-8\" and upload it again.") % {"pos": exc.start}) from exc
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        for row in csv.reader(io.StringIO(text, newline=""), dialect):
            yield [c.strip() for c in row]
    except csv.Error as exc:
        raise FileProblem(_("The CSV file is malformed: %(error)s") % {"error": exc}) from exc


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise FileProblem(_("This file is not a valid Excel (.xlsx) workbook.")) from exc
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            return
        for row in sheet.iter_rows(values_only=True):
            yield [_cell_text(v) for v in row]
    finally:
        book.close()


def iter_table(data: bytes, name: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """(headers, rows): each row with its row number as a spreadsheet shows it (the header is
    row 1). Blank rows are left out. Raises FileProblem for anything unreadable."""
    if not data:
        raise FileProblem(_("The file is empty."))
    kind = _file_kind(name, data[:2048])
    raw = _xlsx_rows(data) if kind == "xlsx" else _csv_rows(data)
    headers: list[str] | None = None
    number = 0
    for number, row in enumerate(raw, start=1):  # noqa: B007
        if any(row):
            headers = row
            break
    if headers is None:
        raise FileProblem(_("The file is empty: it has no header row and no data."))
    while headers and not headers[-1]:
        headers.pop()
    if not all(headers):
        raise FileProblem(_("Every column needs a heading in the first row; column %(n)d has "
                            "none.") % {"n": headers.index("") + 1})
    seen = set()
    for h in headers:
        key = normalise_header(h)
        if key in seen:
            raise FileProblem(_("The heading \"%(name)s\" appears twice; headings must be "
                                "unique.") % {"name": h})
        seen.add(key)

    def rows() -> Iterator[tuple[int, list[str]]]:
        for n, row in enumerate(raw, start=number + 1):
            if any(row):
                yield n, (row + [""] * len(headers))[: len(headers)]

    return headers, rows()


def inspect_upload(data: bytes, name: str) -> tuple[list[str], int]:
    """Read the whole upload once: its headers and its number of data rows."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise FileProblem(_("The file is larger than %(mb)d MB.") % {
            "mb": MAX_UPLOAD_BYTES // (1024 * 1024)})
    headers, rows = iter_table(data, name)
    total = sum(1 for _row in rows)
    if total == 0:
        raise FileProblem(_("The file has a header row but no data rows."))
    return headers, total


def normalise_header(header: str) -> str:
    return re.sub(r"[\s_\-]+", " ", header.strip().lower())


def header_signature(headers: Iterable[str]) -> str:
    """The same set of headings (whatever case, spacing or order) gives the same signature."""
    joined = "\x1f".join(sorted(normalise_header(h) for h in headers))
    return hashlib.sha256(joined.encode()).hexdigest()


# --- the fields a column may map to -----------------------------------------------------------
STANDARD_FIELDS: list[tuple[str, object]] = [
    ("name", gettext_lazy("Name")),
    ("code", gettext_lazy("Customer code")),
    ("kind", gettext_lazy("Type (company/person)")),
    ("email", gettext_lazy("E-mail")),
    ("phone", gettext_lazy("Phone")),
    ("website", gettext_lazy("Website")),
    ("status", gettext_lazy("Status")),
    ("owner", gettext_lazy("Owner (e-mail)")),
    ("team", gettext_lazy("Team (name)")),
    ("industry", gettext_lazy("Industry")),
    ("source", gettext_lazy("Source")),
    ("level", gettext_lazy("Level")),
    ("region", gettext_lazy("Region")),
    ("tags", gettext_lazy("Tags (separated by ;)")),
    ("city", gettext_lazy("City")),
    ("country", gettext_lazy("Country")),
    ("address", gettext_lazy("Address")),
    ("postcode", gettext_lazy("Postcode")),
    ("description", gettext_lazy("Notes")),
]
DICTIONARY_FIELDS = {
    "industry": DictionaryEntry.Kind.INDUSTRY,
    "source": DictionaryEntry.Kind.SOURCE,
    "level": DictionaryEntry.Kind.LEVEL,
    "region": DictionaryEntry.Kind.REGION,
}
TEXT_LIMITS = {"name": 200, "code": 32, "phone": 40, "city": 100, "country": 100,
               "address": 255, "postcode": 20}
MATCH_KEYS = [("email", gettext_lazy("E-mail")), ("phone", gettext_lazy("Phone digits")),
              ("code", gettext_lazy("Customer code"))]
# Extra names a heading may carry for a field (lower case), for the first-time guess.
ALIASES = {"e-mail": "email", "mail": "email", "company": "name", "customer": "name",
           "telephone": "phone", "tel": "phone", "mobile": "phone", "url": "website",
           "web": "website", "zip": "postcode", "postal code": "postcode", "notes": "description",
           "type": "kind", "owner email": "owner", "customer code": "code", "tag": "tags"}


def custom_field_definitions() -> list[CustomFieldDefinition]:
    return list(CustomFieldDefinition.objects.filter(
        entity=CustomFieldDefinition.Entity.CUSTOMER, is_active=True).order_by("order", "label"))


def field_choices(definitions: list[CustomFieldDefinition]) -> list[tuple[str, str]]:
    return [*STANDARD_FIELDS, *((CUSTOM_PREFIX + d.key, d.label) for d in definitions)]


def guess_mapping(headers: list[str], definitions) -> dict[str, str]:
    """header -> field for headings that name a field (by key, label or a common alias)."""
    names = {}
    for key, label in field_choices(definitions):
        names[normalise_header(key.removeprefix(CUSTOM_PREFIX))] = key
        names[normalise_header(str(label))] = key
    for alias, key in ALIASES.items():
        names.setdefault(normalise_header(alias), key)
    mapping, used = {}, set()
    for header in headers:
        key = names.get(normalise_header(header))
        if key and key not in used:
            mapping[header] = key
            used.add(key)
    return mapping


# --- validation -------------------------------------------------------------------------------
_email = EmailValidator()
_url = URLValidator(schemes=["http", "https"])
TRUE_WORDS = {"yes", "y", "true", "1", "x", "是"}
FALSE_WORDS = {"no", "n", "false", "0", "否", ""}


@dataclass
class Lookups:
    """What rows refer to, loaded once per job (small tables) or once per batch (users, tags)."""

    teams: dict[str, int]
    dictionary: dict[str, dict[str, int]]
    definitions: list[CustomFieldDefinition]
    users: dict[str, int] = field(default_factory=dict)  # active users: e-mail -> id
    inactive_users: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Lookups:
        from accounts.models import Team

        dictionary: dict[str, dict[str, int]] = {kind: {} for kind in DICTIONARY_FIELDS.values()}
        for pk, kind, code, label in DictionaryEntry.objects.filter(
            kind__in=list(DICTIONARY_FIELDS.values()), is_active=True
        ).values_list("pk", "kind", "code", "label"):
            dictionary[kind][code.lower()] = pk
            dictionary[kind].setdefault(label.strip().lower(), pk)
        teams = {name.strip().lower(): pk for pk, name in Team.objects.values_list("pk", "name")}
        return cls(teams=teams, dictionary=dictionary, definitions=custom_field_definitions())

    def load_users(self, emails: set[str]) -> None:
        wanted = {e for e in emails
                  if e and e not in self.users and e not in self.inactive_users}
        if not wanted:
            return
        for pk, email, active in get_user_model().objects.annotate(
            email_l=Lower("email")
        ).filter(email_l__in=wanted).values_list("pk", "email_l", "is_active"):
            (self.users if active else self.inactive_users)[email] = pk


@dataclass
class Row:
    number: int
    values: dict[str, str]  # header -> the cell as read
    data: dict = field(default_factory=dict)  # model field -> clean value (FKs as *_id)
    custom: dict = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    action: str = ""  # "create", "update", "skip" or "error"
    match: Customer | None = None
    note: str = ""
    email_as_given: str = ""  # the e-mail cell before lower-casing, for duplicate matching
    inactive_owner: str = ""  # the owner cell when it names an inactive user


def _choice(value: str, choices) -> str | None:
    lowered = value.strip().lower()
    for code, label in choices:
        if lowered in (code, str(label).lower()):
            return code
    return None


def _custom_value(definition: CustomFieldDefinition, raw: str):
    kind = definition.field_type
    Type = CustomFieldDefinition.FieldType  # noqa: N806
    if kind == Type.NUMBER:
        try:
            number = decimal.Decimal(raw.replace(",", ""))
        except decimal.InvalidOperation as exc:
            raise ValidationError(_("is not a number")) from exc
        if not number.is_finite():
            raise ValidationError(_("is not a number"))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == Type.DATE:
        try:
            return datetime.date.fromisoformat(raw[:10]).isoformat()
        except ValueError as exc:
            raise ValidationError(_("is not a date (use YYYY-MM-DD)")) from exc
    if kind == Type.BOOLEAN:
        lowered = raw.lower()
        if lowered in TRUE_WORDS:
            return True
        if lowered in FALSE_WORDS:
            return False
        raise ValidationError(_("is not yes or no"))
    if kind == Type.CHOICE:
        options = [(c[0], c[1]) if isinstance(c, list | tuple) else (c, c)
                   for c in definition.choices or []]
        for value, label in options:
            if raw.lower() in (str(value).lower(), str(label).lower()):
                return value
        raise ValidationError(_("is not one of the choices"))
    return raw


def validate_row(row: Row, mapping: dict[str, str], lookups: Lookups) -> None:
    """Fill row.data/custom/tags from the mapped cells, and row.errors with what is wrong.
    Empty cells are left out: they never blank an existing customer's data."""
    definitions = {CUSTOM_PREFIX + d.key: d for d in lookups.definitions}
    data, errors = row.data, row.errors

    def err(label, message):
        errors.append(f"{label}: {message}")

    for header, key in mapping.items():
        raw = (row.values.get(header) or "").strip()
        if not raw:
            continue
        if key in TEXT_LIMITS and len(raw) > TEXT_LIMITS[key]:
            err(header, _("longer than %(n)d characters") % {"n": TEXT_LIMITS[key]})
        elif key in ("name", "code", "city", "country", "address", "postcode", "description"):
            data[key] = raw
        elif key == "phone":
            data["phone"] = raw
            data["phone_digits"] = phone_digits(raw)
        elif key == "email":
            try:
                _email(raw)
                data["email"] = raw.lower()
                row.email_as_given = raw
            except ValidationError:
                err(header, _("\"%(value)s\" is not a valid e-mail address") % {"value": raw})
        elif key == "website":
            url = raw if "://" in raw else "https://" + raw
            try:
                _url(url)
                data["website"] = url
            except ValidationError:
                err(header, _("\"%(value)s\" is not a valid web address") % {"value": raw})
        elif key == "kind":
            value = _choice(raw, Customer.Kind.choices)
            if value is None:
                err(header, _("\"%(value)s\" is not company or person") % {"value": raw})
            else:
                data["kind"] = value
        elif key == "status":
            value = _choice(raw, Customer.Status.choices)
            if value is None:
                err(header, _("\"%(value)s\" is not a known status") % {"value": raw})
            else:
                data["status"] = value
        elif key == "owner":
            pk = lookups.users.get(raw.lower())
            if pk is None and raw.lower() in lookups.inactive_users:
                # Like the customer form: allowed only as the owner the customer already has
                # (plan_batch decides, once it knows the match).
                data["owner_id"] = lookups.inactive_users[raw.lower()]
                row.inactive_owner = raw
            elif pk is None:
                err(header, _("no active user has the e-mail \"%(value)s\"") % {"value": raw})
            else:
                data["owner_id"] = pk
        elif key == "team":
            pk = lookups.teams.get(raw.lower())
            if pk is None:
                err(header, _("no team is named \"%(value)s\"") % {"value": raw})
            else:
                data["team_id"] = pk
        elif key in DICTIONARY_FIELDS:
            pk = lookups.dictionary[DICTIONARY_FIELDS[key]].get(raw.lower())
            if pk is None:
                err(header, _("\"%(value)s\" is not in the list") % {"value": raw})
            else:
                data[f"{key}_id"] = pk
        elif key == "tags":
            names = []
            for name in (t.strip() for t in raw.split(TAG_SEPARATOR)):
                if name and len(name) > 50:
                    err(header, _("tag \"%(value)s\" is too long") % {"value": name})
                elif name and name.lower() not in (n.lower() for n in names):
                    names.append(name)
            row.tags = names
        elif key in definitions:
            try:
                row.custom[definitions[key].key] = _custom_value(definitions[key], raw)
            except ValidationError as exc:
                err(header, exc.messages[0])


def _required_errors(row: Row, mapping: dict[str, str], lookups: Lookups) -> None:
    """Checks only a new customer needs: a name and the required custom fields."""
    if not row.data.get("name"):
        row.errors.append(_("Name: required for a new customer"))
    for d in lookups.definitions:
        if d.required and d.key not in row.custom:
            row.errors.append(_("%(field)s: required") % {"field": d.label})


# --- planning and applying a batch ------------------------------------------------------------
def _match_values(rows: list[Row], key: str) -> set[str]:
    """The values to look duplicates up by. E-mails: stored lower-case by imports, but other
    paths may have stored them as typed, so both the cell as given and its lower-case form are
    looked up: a plain `email IN (...)` that the customer_email_exact index serves (matching
    on Lower("email") would need an expression index we do not have). A stored address whose
    case differs from both is not found; that is the price of using the index."""
    if key == "email":
        return {v for r in rows if r.data.get("email")
                for v in (r.data["email"], r.email_as_given) if v}
    source = {"phone": "phone_digits", "code": "code"}[key]
    return {r.data[source] for r in rows if r.data.get(source)}


MATCH_COLUMN = {"email": "email", "phone": "phone_digits", "code": "code"}


def _candidates(rows: list[Row], keys: list[str], *, lock: bool) -> dict[int, Customer]:
    """The live customers that any row may duplicate (one query per key). With lock=True (the
    engine, inside the batch transaction) they are then locked in pk order and re-read, so the
    plan and the writes see the same, current rows."""
    candidates: dict[int, Customer] = {}
    for key in keys:
        values = _match_values(rows, key)
        if values:
            for customer in Customer.objects.alive().filter(
                **{f"{MATCH_COLUMN[key]}__in": values}
            ).order_by("id"):
                candidates.setdefault(customer.pk, customer)
    if lock and candidates:
        candidates = {c.pk: c for c in Customer.objects.select_for_update()
                      .filter(pk__in=list(candidates), deleted_at__isnull=True).order_by("pk")}
    return candidates


def _assignment_errors(row: Row, match: Customer | None, allowed_teams: set[int] | None,
                       lookups: Lookups) -> None:
    """Owner and team follow the customer form: any active user may own a customer (an
    inactive one only as the owner it already has); a non-admin assigns only the teams they
    belong to or manage (or keeps the team it already has)."""
    owner_id = row.data.get("owner_id")
    if row.inactive_owner and (match is None or match.owner_id != owner_id):
        row.errors.append(_("Owner: %(value)s is not an active user") % {
            "value": row.inactive_owner})
    team_id = row.data.get("team_id")
    if (team_id and allowed_teams is not None and team_id not in allowed_teams
            and (match is None or match.team_id != team_id)):
        name = next((n for n, pk in lookups.teams.items() if pk == team_id), "")
        row.errors.append(_("Team: you may not assign customers to team \"%(name)s\"")
                          % {"name": name})


def plan_batch(job: ImportJob, rows: list[Row], lookups: Lookups, actor, *,
               lock: bool = False) -> None:
    """Validate the rows and decide for each: create, update, skip or error. Reads only (plus
    row locks on the matched customers with lock=True): one query for the owners' e-mails, one
    per duplicate key (plus one for codes), one for the lock and one for which matches the
    user may see."""
    from customers.permissions import policy_for
    from customers.selectors import customer_list_for_user

    owner_headers = [h for h, k in job.mapping.items() if k == "owner"]
    lookups.load_users({(r.values.get(h) or "").strip().lower()
                        for r in rows for h in owner_headers})
    for row in rows:
        validate_row(row, job.mapping, lookups)
    valid = [r for r in rows if not r.errors]

    keys = list(job.match_on)
    if "code" not in keys and any(r.data.get("code") for r in valid):
        keys.append("code")  # codes are unique: always look them up
    column = MATCH_COLUMN
    candidates = _candidates(valid, keys, lock=lock)
    found: dict[str, dict[str, Customer]] = {key: {} for key in keys}
    wanted = {key: {v.lower() if key == "email" else v for v in _match_values(valid, key)}
              for key in keys}
    for pk in sorted(candidates):  # the oldest customer wins, as before
        customer = candidates[pk]
        for key in keys:
            value = getattr(customer, column[key]) or ""
            value = value.lower() if key == "email" else value
            if value in wanted[key]:
                found[key].setdefault(value, customer)

    policy = policy_for(actor)
    visible: set[int] = set(candidates)
    if candidates and not policy.sees_all:
        visible = set(customer_list_for_user(actor).select_related(None).prefetch_related(None)
                      .filter(pk__in=list(candidates)).values_list("pk", flat=True))
    can_add = actor.has_perm("customers.add_customer")
    allowed_teams = None if actor.is_admin else {*policy.team_ids, *policy.managed_team_ids}
    seen: dict[tuple[str, str], Row] = {}
    updating: dict[int, Row] = {}
    for row in rows:
        if row.errors:
            _required_errors(row, job.mapping, lookups)
            row.action = "error"
            continue
        match = None
        for key in job.match_on:
            value = row.data.get(column[key])
            if value and value in found.get(key, {}):
                match = found[key][value]
                break
        earlier = next((seen[(k, row.data[column[k]])] for k in job.match_on
                        if row.data.get(column[k]) and (k, row.data[column[k]]) in seen), None)
        if match is not None and job.duplicates != ImportJob.Duplicates.CREATE:
            if match.pk not in visible:
                # Never reveal (nor touch) a customer the importer cannot see.
                row.errors.append(_("duplicate of an existing customer you cannot see"))
                row.action = "error"
                continue
            if job.duplicates == ImportJob.Duplicates.SKIP:
                row.action, row.match = "skip", match
                row.note = _("same as %(code)s") % {"code": match.code}
                continue
            if not policy.can("change", match):
                row.errors.append(_("matches customer %(code)s, which you may not change")
                                  % {"code": match.code})
            code = row.data.get("code")
            if code and code != match.code and code in found.get("code", {}):
                row.errors.append(_("Customer code: %(code)s is already used") % {"code": code})
            _assignment_errors(row, match, allowed_teams, lookups)
            if match.pk in updating:
                row.errors.append(_("same customer as row %(n)d of this file")
                                  % {"n": updating[match.pk].number})
            row.action, row.match = ("error" if row.errors else "update"), match
            if row.action == "update":
                updating[match.pk] = row
            continue
        if earlier is not None and job.duplicates != ImportJob.Duplicates.CREATE:
            if job.duplicates == ImportJob.Duplicates.SKIP:
                row.action = "skip"
                row.note = _("same as row %(n)d") % {"n": earlier.number}
            else:
                row.action = "error"
                row.errors.append(_("same customer as row %(n)d of this file")
                                  % {"n": earlier.number})
            continue
        _required_errors(row, job.mapping, lookups)
        if not can_add:
            row.errors.append(_("you may not create new customers"))
        code = row.data.get("code")
        if code and (code in found.get("code", {}) or ("code", code) in seen):
            row.errors.append(_("Customer code: %(code)s is already used") % {"code": code})
        _assignment_errors(row, None, allowed_teams, lookups)
        row.action = "error" if row.errors else "create"
        if row.action == "create":
            for key in ("email", "phone", "code"):
                value = row.data.get(column[key])
                if value:
                    seen.setdefault((key, value), row)


def _next_codes(count: int) -> list[str]:
    """`count` customer codes from the sequence in one statement."""
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('customers_customer_code_seq') "
                       "FROM generate_series(1, %s)", [count])
        return [f"C{n:07d}" for (n,) in cursor.fetchall()]


def _tag_ids(rows: list[Row]) -> dict[str, int]:
    """Tag name (lower case) -> id for the batch's tags; missing tags are created."""
    names = {n.lower(): n for r in rows for n in r.tags}
    if not names:
        return {}
    existing = dict(Tag.objects.annotate(name_l=Lower("name")).filter(
        name_l__in=list(names)).values_list("name_l", "pk"))
    missing = [Tag(name=names[n]) for n in names if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = dict(Tag.objects.annotate(name_l=Lower("name")).filter(
            name_l__in=list(names)).values_list("name_l", "pk"))
    return existing


UPDATABLE = ["kind", "name", "code", "email", "phone", "phone_digits", "website", "status",
             "owner_id", "team_id", "industry_id", "source_id", "level_id", "region_id",
             "city", "country", "address", "postcode", "description"]


def apply_batch(job: ImportJob, rows: list[Row], actor) -> dict[str, int]:
    """Write a planned batch (inside the caller's transaction), set-based: one bulk_create of
    the new customers, one bulk_update of the updated ones, their tags and ImportChange rows.
    The updated customers were locked by plan_batch(lock=True); their version is bumped in SQL
    (F("version") + 1) and the version each ends at is kept on its ImportChange for undo."""
    from customers.models.imports import ImportChange

    creates = [r for r in rows if r.action == "create"]
    updates = [r for r in rows if r.action == "update"]
    tag_ids = _tag_ids(creates + updates)
    now = timezone.now()

    codes = iter(_next_codes(sum(1 for r in creates if not r.data.get("code"))))
    new = []
    for row in creates:
        data = dict(row.data)
        data.setdefault("code", None)
        if not data["code"]:
            data["code"] = next(codes)
        if "owner_id" not in data:
            data["owner_id"] = actor.pk
        new.append(Customer(**data, custom_data=row.custom, created_at=now))
    Customer.objects.bulk_create(new, batch_size=BATCH_SIZE)

    changed = []
    fields: set[str] = set()
    old_tags: dict[int, list[int]] = {}
    if updates:
        for customer_id, tag_id in CustomerTag.objects.filter(
            customer_id__in=[r.match.pk for r in updates]
        ).values_list("customer_id", "tag_id"):
            old_tags.setdefault(customer_id, []).append(tag_id)
    changes = [ImportChange(job=job, customer=c, action=ImportChange.Action.CREATED,
                            before={VERSION_AFTER: c.version}) for c in new]
    for row in updates:
        customer = row.match
        before = {name: getattr(customer, name) for name in row.data}
        if row.custom:
            before["custom_data"] = dict(customer.custom_data or {})
            customer.custom_data = {**(customer.custom_data or {}), **row.custom}
            fields.add("custom_data")
        if row.tags:
            before["tags"] = sorted(old_tags.get(customer.pk, []))
        for name, value in row.data.items():
            setattr(customer, name, value)
            fields.add(name)
        before[VERSION_AFTER] = customer.version + 1  # exact: the row is locked
        customer.version = F("version") + 1
        customer.updated_at = now
        changed.append(customer)
        changes.append(ImportChange(job=job, customer=customer,
                                    action=ImportChange.Action.UPDATED, before=before))
    if changed:
        Customer.objects.bulk_update(changed, [*sorted(fields), "version", "updated_at"],
                                     batch_size=BATCH_SIZE)
    links = [CustomerTag(customer=c, tag_id=tag_ids[n.lower()])
             for row, c in [*zip(creates, new, strict=True), *((r, r.match) for r in updates)]
             for n in row.tags]
    CustomerTag.objects.bulk_create(links, ignore_conflicts=True, batch_size=BATCH_SIZE)
    ImportChange.objects.bulk_create(changes, batch_size=BATCH_SIZE)
    _record_batch_history(job, actor, new, changed, now)
    return {"created": len(new), "updated": len(changed),
            "skipped": sum(1 for r in rows if r.action == "skip"),
            "errors": sum(1 for r in rows if r.action == "error")}


# Fields an import may set, as the django-auditlog entry of a created customer lists them.
LOGGED_ON_CREATE = [name for name in UPDATABLE if name != "phone_digits"] + ["custom_data"]


def _log_value(value) -> str:
    return "None" if value is None else str(value)


def _record_batch_history(job: ImportJob, actor, created: list[Customer],
                          updated: list[Customer], now) -> None:
    """Per customer of the batch, set-based: one "customer.imported" business event each (one
    INSERT for the batch) so every customer's timeline shows the import, and one
    django-auditlog CREATE entry per new customer (one INSERT) so its history says it came
    from this import. bulk_create bypasses auditlog's signals, hence the explicit rows."""
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    from crm.events import _kick_dispatch_on_commit
    from crm.models import Event

    if not created and not updated:
        return
    job_type = ContentType.objects.get_for_model(ImportJob)
    customer_type = ContentType.objects.get_for_model(Customer)
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    payload = {"job": str(job.uuid), "file": job.original_name}
    Event.objects.bulk_create([
        Event(name="customer.imported", actor_id=actor_id, customer_id=c.pk,
              subject_type=job_type, subject_id=str(job.pk), created_at=now, available_at=now,
              payload={**payload, "action": action})
        for action, group in (("created", created), ("updated", updated)) for c in group
    ], batch_size=BATCH_SIZE)
    _kick_dispatch_on_commit()
    if created:
        source = {"import_job": str(job.uuid), "file": job.original_name}
        LogEntry.objects.bulk_create([
            LogEntry(content_type=customer_type, object_pk=str(c.pk), object_id=c.pk,
                     object_repr=str(c), action=LogEntry.Action.CREATE, actor_id=actor_id,
                     actor_email=getattr(actor, "email", None), timestamp=now,
                     changes={name: ["None", _log_value(getattr(c, name))]
                              for name in LOGGED_ON_CREATE
                              if getattr(c, name, None) not in (None, "", {})},
                     additional_data=source)
            for c in created
        ], batch_size=BATCH_SIZE)


def rejected(rows: list[Row]) -> list[dict]:
    """The batch's rejected rows, as stored in ImportJob.errors."""
    return [{"row": r.number, "values": r.values, "errors": r.errors}
            for r in rows if r.action == "error"]


def job_rows(job: ImportJob, *, start: int = 0, limit: int | None = None) -> Iterator[Row]:
    """The job's data rows as Row objects, from the `start`-th on (0-based)."""
    job.file.open("rb")
    try:
        data = job.file.read()
    finally:
        job.file.close()
    headers, rows = iter_table(data, job.original_name)
    for i, (number, cells) in enumerate(rows):
        if i < start:
            continue
        if limit is not None and i >= start + limit:
            return
        yield Row(number=number, values=dict(zip(headers, cells, strict=True)))


def preview(job: ImportJob, actor) -> list[Row]:
    """The first rows of the file, validated and planned; nothing is written."""
    rows = list(job_rows(job, limit=PREVIEW_ROWS))
    plan_batch(job, rows, Lookups.load(), actor)
    return rows


def batches(job: ImportJob) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in job_rows(job, start=job.processed_rows):
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def rejected_rows_csv(job: ImportJob) -> Iterator[str]:
    """The rejected rows as CSV: row number, the file's own columns, the reasons."""
    buffer = _Echo()
    writer = csv.writer(buffer)
    yield "\ufeff"
    yield writer.writerow([neutralise(v) for v in
                           [_("Row"), *job.headers, _("Reason")]])
    for entry in job.errors:
        values = entry.get("values", {})
        yield writer.writerow([neutralise(v) for v in [
            entry.get("row"), *(values.get(h, "") for h in job.headers),
            "; ".join(entry.get("errors", []))]])
    more = job.error_count - len(job.errors)
    if more > 0:
        yield writer.writerow(["", *("" for _h in job.headers), _(
            "%(n)d more rejected rows are not listed (a report keeps the first %(max)d).")
            % {"n": more, "max": MAX_STORED_ERRORS}])


# --- export -----------------------------------------------------------------------------------
class _Echo:
    def write(self, value):
        return value


def export_columns(definitions) -> list[tuple[str, str]]:
    columns = [
        ("code", _("Customer code")), ("name", _("Name")), ("kind", _("Type")),
        ("status", _("Status")), ("email", _("E-mail")), ("phone", _("Phone")),
        ("website", _("Website")), ("owner__email", _("Owner")), ("team__name", _("Team")),
        ("industry__label", _("Industry")), ("source__label", _("Source")),
        ("level__label", _("Level")), ("region__label", _("Region")),
        ("tag_names", _("Tags")), ("city", _("City")), ("country", _("Country")),
        ("address", _("Address")), ("postcode", _("Postcode")),
        ("description", _("Notes")), ("created_at", _("Created")),
    ]
    return columns + [(CUSTOM_PREFIX + d.key, d.label) for d in definitions]


def export_queryset(qs, ordering):
    """The list's queryset as plain tuples for the writers: related labels by join, tags by
    one correlated string_agg per row inside the same statement (no per-row queries)."""
    tags = (CustomerTag.objects.filter(customer_id=OuterRef("pk"))
            .values("customer_id")
            .annotate(names=StringAgg("tag__name", Value("; "), order_by="tag__name"))
            .values("names"))
    return (qs.select_related(None).prefetch_related(None)
            .annotate(tag_names=Subquery(tags))
            .order_by(*ordering))


def export_rows(qs, definitions, *, chunk_size: int = 2000) -> Iterator[list]:
    """Header row, then one list per customer; every text cell neutralised. Rows come through
    a server-side cursor, `chunk_size` at a time."""
    columns = export_columns(definitions)
    plain = [c for c, _label in columns if not c.startswith(CUSTOM_PREFIX)]
    kinds, statuses = dict(Customer.Kind.choices), dict(Customer.Status.choices)
    keys = [d.key for d in definitions]
    yield [neutralise(str(label)) for _c, label in columns]  # custom labels are user text
    kind_i, status_i, created_i = plain.index("kind"), plain.index("status"), \
        plain.index("created_at")
    for values in qs.values_list(*plain, "custom_data").iterator(chunk_size=chunk_size):
        row = list(values[:-1])
        row[kind_i] = str(kinds.get(row[kind_i], row[kind_i]))
        row[status_i] = str(statuses.get(row[status_i], row[status_i]))
        row[created_i] = timezone.localtime(row[created_i]).strftime("%Y-%m-%d %H:%M")
        custom = values[-1] or {}
        row.extend(custom.get(k, "") for k in keys)
        yield [neutralise("" if v is None else v) for v in row]


def export_csv(rows: Iterator[list]) -> Iterator[str]:
    """CSV text in chunks, UTF-8 with a BOM (so Excel reads it as UTF-8)."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    chunk = []
    for row in rows:
        chunk.append(writer.writerow(row))
        if len(chunk) >= 500:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def export_xlsx(rows: Iterator[list], target) -> None:
    """Write an .xlsx with openpyxl's write-only mode (constant memory) to `target`."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(_("Customers")[:31])
    for row in rows:
        sheet.append([v if isinstance(v, int | float | bool) else str(v) for v in row])
    book.save(target)


def _xlsx_cell(value):
    return value if isinstance(value, int | float | bool) else str(value)


def export_to_file(rows: Iterator[list], path, fmt: str, *, progress=None,
                   batch: int = EXPORT_BATCH) -> int:
    """Write the export (header first) to the file at `path` as CSV (UTF-8 with a BOM) or
    XLSX (openpyxl write-only: constant memory); call progress(rows_so_far) after every
    `batch` data rows. Returns the number of data rows."""
    import openpyxl

    count = 0
    header = next(rows)
    if fmt == "xlsx":
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet(_("Customers")[:31])
        sheet.append([_xlsx_cell(v) for v in header])
        for row in rows:
            if count >= XLSX_MAX_ROWS:
                raise ApplicationError(_(
                    "An Excel sheet holds at most %(limit)s rows. Export as CSV, or narrow the "
                    "filters.") % {"limit": f"{XLSX_MAX_ROWS:,}"})
            sheet.append([_xlsx_cell(v) for v in row])
            count += 1
            if progress and count % batch == 0:
                progress(count)
        book.save(path)
    else:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write("\ufeff")
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in rows:
                writer.writerow(row)
                count += 1
                if progress and count % batch == 0:
                    handle.flush()
                    progress(count)
    if progress:
        progress(count)
    return count
