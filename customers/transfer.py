"""Customer import and export: reading uploads (CSV UTF-8 with or without BOM, XLSX), the
field catalogue a column maps to, row validation, the batched import engine, and the export
writers (streamed CSV, write-only XLSX), every cell neutralised against formula injection.

Writes go through customers.transfer_services (permissions, transactions, events); this module
holds the mechanics they share with the Celery tasks and the preview.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import decimal
import functools
import hashlib
import io
import itertools
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import EmailValidator, URLValidator
from django.db import connection, connections
from django.db.models import (
    BooleanField,
    CharField,
    F,
    Func,
    OuterRef,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from crm.exceptions import ApplicationError
from crm.ids import UUID7_SQL, uuid7_strings
from customers.models import (
    Customer,
    CustomerTag,
    CustomFieldDefinition,
    DictionaryEntry,
    Tag,
    phone_digits,
)
from customers.models.imports import ImportJob

# Uploads: a CSV is read as a stream (on disk, never whole in memory) up to MAX_UPLOAD_BYTES;
# an XLSX (a zip; openpyxl keeps its shared strings in memory) up to MAX_XLSX_BYTES and, like
# Excel itself, 1,048,576 rows.
MAX_UPLOAD_BYTES = 250 * 1024 * 1024
MAX_XLSX_BYTES = 20 * 1024 * 1024
READ_CHUNK = 1024 * 1024
PREVIEW_ROWS = 20
BATCH_SIZE = 5_000  # rows per transaction, duplicate lookup and COPY
# Exports: a list up to these sizes is written in the request (CSV streamed, XLSX built in
# write-only mode); a larger one becomes an ExportJob that a Celery worker writes to a file.
EXPORT_INSTANT_ROWS = 20_000
XLSX_INSTANT_ROWS = 5_000
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row
EXPORT_BATCH = 10_000  # rows per progress update of an export job
TAG_CELLS_KEPT = 10_000  # distinct tag sets whose cell an export keeps, not re-sorts
EXPORT_KEEP_DAYS = 7
TAG_SEPARATOR = ";"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_FIRST = frozenset(FORMULA_PREFIXES)  # the same, as a set of first characters
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


def upload_limit(name: str) -> int:
    """The largest upload accepted for a file of this name: CSV is read as a stream (constant
    memory), so it may be big; an XLSX workbook is a zip whose shared strings openpyxl holds in
    memory, so it stays small."""
    return MAX_XLSX_BYTES if (name or "").lower().endswith(".xlsx") else MAX_UPLOAD_BYTES


def _too_big(name: str) -> FileProblem:
    return FileProblem(_("The file is larger than %(mb)d MB.") % {
        "mb": upload_limit(name) // (1024 * 1024)})


def binary_handle(source) -> io.IOBase:
    """A seekable binary file object for `source`: bytes, an open file, a Django File or
    UploadedFile (its underlying file, so reading it costs no proxy calls)."""
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(source)
    handle = source
    while not isinstance(handle, io.IOBase) and getattr(handle, "file", None) is not None:
        handle = handle.file
    return handle


def _bad_byte(handle) -> int:
    """Where the first byte that is not UTF-8 is (0-based, from the start of the file)."""
    import codecs

    handle.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    while True:
        chunk = handle.read(READ_CHUNK)
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            return offset - pending + exc.start
        if not chunk:
            return offset
        offset += len(chunk)


def _csv_rows(handle) -> Iterator[list[str]]:
    """Rows of a CSV file read as a stream (UTF-8, a BOM allowed): the delimiter is sniffed
    from the start of the file, then csv.reader runs over a text wrapper of the handle, so a
    file of any size takes constant memory. Cells come unstripped (iter_table strips)."""
    head = handle.read(16384)
    handle.seek(0)
    try:
        dialect = csv.Sniffer().sniff(head.decode("utf-8-sig", errors="ignore")[:4096],
                                      delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    try:
        yield from csv.reader(text, dialect)
    except UnicodeDecodeError as exc:
        raise FileProblem(_(
            "The file is not UTF-8 text (the problem starts at byte %(pos)d). Save it as "
            "\"CSV UTF-8\" and upload it again.") % {"pos": _bad_byte(handle)}) from exc
    except csv.Error as exc:
        raise FileProblem(_("The CSV file is malformed: %(error)s") % {"error": exc}) from exc
    finally:
        with contextlib.suppress(ValueError):
            text.detach()  # leave the caller's handle open


def _xlsx_rows(handle) -> Iterator[list[str]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
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


def _table(source, name: str):
    """(headers, the number of the header row, the iterator of the raw rows after it).
    Raises FileProblem for anything unreadable."""
    handle = binary_handle(source)
    handle.seek(0)
    head = handle.read(2048)
    handle.seek(0)
    if not head:
        raise FileProblem(_("The file is empty."))
    kind = _file_kind(name, head)
    raw = _xlsx_rows(handle) if kind == "xlsx" else _csv_rows(handle)
    headers: list[str] | None = None
    number = 0
    for number, row in enumerate(raw, start=1):  # noqa: B007
        row = [c.strip() for c in row]
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
    return headers, number, raw


def iter_table(source, name: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """(headers, rows): each row with its row number as a spreadsheet shows it (the header is
    row 1), its cells stripped and padded or cut to the headers. Blank rows are left out.
    `source` is bytes or a binary file (read as a stream, never whole). Raises FileProblem
    for anything unreadable."""
    headers, number, raw = _table(source, name)
    width = len(headers)
    pad = [""] * width
    strip = str.strip

    def rows() -> Iterator[tuple[int, list[str]]]:
        for n, row in enumerate(raw, start=number + 1):
            row = list(map(strip, row))
            if any(row):
                yield n, (row + pad)[:width] if len(row) != width else row

    return headers, rows()


def inspect_upload(source, name: str, size: int | None = None) -> tuple[list[str], int]:
    """Read the upload once, as a stream: its headers and its number of data rows."""
    if size is None:
        handle = binary_handle(source)
        size = handle.seek(0, io.SEEK_END)
        handle.seek(0)
    if size > upload_limit(name):
        raise _too_big(name)
    headers, _number, raw = _table(source, name)
    # Counting only: a row counts when any cell holds more than white space.
    total = sum(1 for row in raw if any(row) and "".join(row).strip())
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
class _CachedDomainEmailValidator(EmailValidator):
    """Django's EmailValidator, the same checks and message, with the verdict on each domain
    remembered: an import's addresses share few domains, and the domain check (a long regex,
    IDNA encoding) is the costly half."""

    # Django's pattern, compiled here rather than lazily: a lazy pattern costs a proxy call
    # at each of a million rows.
    user_regex = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)

    def validate_domain_part(self, domain_part):
        return _domain_ok(domain_part)


@functools.lru_cache(maxsize=4096)
def _domain_ok(domain_part: str) -> bool:
    return EmailValidator.validate_domain_part(_plain_email, domain_part)


_plain_email = EmailValidator()
_email = _CachedDomainEmailValidator()
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
    # Compiled once per job for validate_row: "custom:<key>" -> definition, and the choices
    # of kind and status by lower-case code and label (in the active language).
    custom: dict[str, CustomFieldDefinition] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.custom = {CUSTOM_PREFIX + d.key: d for d in self.definitions}
        self.kinds = _choice_map(Customer.Kind.choices)
        self.statuses = _choice_map(Customer.Status.choices)

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


@dataclass(slots=True)
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


def _choice_map(choices) -> dict[str, str]:
    """Lower-case code or label -> code (a value naming two choices means the first)."""
    found: dict[str, str] = {}
    for code, label in choices:
        found.setdefault(code, code)
        found.setdefault(str(label).lower(), code)
    return found


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
    definitions = lookups.custom
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
            value = lookups.kinds.get(raw.lower())
            if value is None:
                err(header, _("\"%(value)s\" is not company or person") % {"value": raw})
            else:
                data["kind"] = value
        elif key == "status":
            value = lookups.statuses.get(raw.lower())
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
    """The live customers that any row may duplicate, in one set-based query whatever the
    keys: `email = ANY(%s) OR phone_digits = ANY(%s) OR code = ANY(%s)` (each an array
    parameter over an indexed column, a BitmapOr in the plan). With lock=True (the engine,
    inside the batch transaction) the same statement locks them, in pk order, FOR UPDATE; a
    row changed meanwhile is re-checked against the condition, so the plan and the writes
    see the same, current rows."""
    clauses, params = [], []
    for key in keys:
        values = _match_values(rows, key)
        if values:
            clauses.append(f'"customers_customer"."{MATCH_COLUMN[key]}" = ANY(%s)')
            params.append(sorted(values))
    if not clauses:
        return {}
    qs = Customer.objects.alive().filter(RawSQL(  # noqa: S611 - constant column names
        "(" + " OR ".join(clauses) + ")", params, output_field=BooleanField())
    ).order_by("id")
    if lock:
        qs = qs.select_for_update()
    return {c.pk: c for c in qs}


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


def validate_batch(job: ImportJob, rows: list[Row], lookups: Lookups) -> None:
    """The checks of each row on its own (validate_row), after one query for the owners the
    rows name: all of a batch's checks that need nothing from the customers table."""
    owner_headers = [h for h, k in job.mapping.items() if k == "owner"]
    lookups.load_users({(r.values.get(h) or "").strip().lower()
                        for r in rows for h in owner_headers})
    for row in rows:
        validate_row(row, job.mapping, lookups)


def plan_batch(job: ImportJob, rows: list[Row], lookups: Lookups, actor, *,
               lock: bool = False, validated: bool = False) -> None:
    """Validate the rows (unless `validated`: validate_batch ran) and decide for each:
    create, update, skip or error. Reads only (plus row locks on the matched customers with
    lock=True): one query for the owners' e-mails, one for the duplicates whatever the keys,
    and one for which matches the user may see."""
    from customers.permissions import policy_for
    from customers.selectors import customer_list_for_user

    if not validated:
        validate_batch(job, rows, lookups)
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
        earlier = None
        for key in job.match_on:
            value = row.data.get(column[key])
            if value and (key, value) in seen:
                earlier = seen[(key, value)]
                break
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


def _next_ids(model, count: int) -> list[int]:
    """`count` primary keys of `model` from its sequence in one statement (rows written by
    COPY need their ids before they are written)."""
    if not count:
        return []
    with connection.cursor() as cursor:
        # The sequence named in the statement, not looked up for each id (ten times slower).
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)",
                       [model._meta.db_table, model._meta.pk.column])
        cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                       [cursor.fetchone()[0], count])
        return [n for (n,) in cursor.fetchall()]


def copy_rows(model, columns: list[str], rows: Iterable[tuple]) -> None:
    """Write `rows` (tuples in the order of `columns`) into `model`'s table with COPY: one
    round trip for a whole batch, no per-row INSERT parsing. Runs in the caller's transaction;
    columns left out take their database default (the id sequence, for instance)."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor, \
            cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _int_array(values: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers ('{1,2,3}'), for a `%s::bigint[]` parameter:
    far cheaper to build than an adapted Python list of a few thousand ints."""
    return "{" + ",".join(map(str, values)) + "}"


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
# The columns COPY writes for a new customer (deleted_at / deleted_by_id stay NULL).
CREATE_COLUMNS = ["id", "uuid", "created_at", "updated_at", "version", "custom_data",
                  *UPDATABLE]
FK_FIELDS = {"owner_id", "team_id", "industry_id", "source_id", "level_id", "region_id"}


def _new_customer_defaults() -> dict:
    """A new customer's value of every UPDATABLE field a row leaves out: the model's
    defaults (kind company, status active ...), '' for text, NULL for the foreign keys."""
    fields = {f.attname: f for f in Customer._meta.concrete_fields}
    return {name: None if name in FK_FIELDS else fields[name].get_default()
            for name in UPDATABLE}


def apply_batch(job: ImportJob, rows: list[Row], actor, *,
                meanwhile: Callable[[], object] | None = None) -> dict[str, int]:
    """Write a planned batch (inside the caller's transaction), set-based: the new customers
    by one COPY (ids and codes taken from their sequences first), the updated ones by one
    UPDATE ... FROM unnest(arrays); the new customers' ImportChange rows by one INSERT ...
    SELECT from the id array, the updated ones' (each different) by COPY, the events by one
    INSERT ... SELECT. The updated customers were locked by
    plan_batch(lock=True); their version is bumped in SQL ("version" + 1) and the version
    each ends at is kept on its ImportChange for undo.

    `meanwhile` (the engine reads and checks the next batch there) runs while PostgreSQL
    writes the new customers' change rows and the events: those two statements go out in
    pipeline mode, and their results are awaited only after it, so Python's work and
    PostgreSQL's overlap. An error of either is raised then, inside the transaction."""
    from customers.models.imports import ImportChange

    creates = [r for r in rows if r.action == "create"]
    updates = [r for r in rows if r.action == "update"]
    tag_ids = _tag_ids(creates + updates)
    now = timezone.now()

    ids = _next_ids(Customer, len(creates))
    codes = iter(_next_codes(sum(1 for r in creates if not r.data.get("code"))))
    defaults = _new_customer_defaults()
    new: list[tuple[int, dict]] = []  # (id, the values written) per created customer
    for pk, row in zip(ids, creates, strict=True):
        data = {**defaults, **row.data}
        if not data["code"]:
            data["code"] = next(codes)
        if "owner_id" not in row.data:
            data["owner_id"] = actor.pk
        data["custom_data"] = row.custom
        new.append((pk, data))
    if new:
        copy_rows(Customer, CREATE_COLUMNS, (
            (pk, public_id, now, now, 1,
             json.dumps(data["custom_data"]) if data["custom_data"] else "{}",
             *[data[name] for name in UPDATABLE])
            for (pk, data), public_id in zip(new, uuid7_strings(len(new)), strict=True)))

    changes: list[tuple[int, str, str]] = []  # the updated customers' (they differ)
    old_tags: dict[int, list[int]] = {}
    if updates and any(r.tags for r in updates):
        for customer_id, tag_id in CustomerTag.objects.filter(
            customer_id__in=[r.match.pk for r in updates if r.tags]
        ).values_list("customer_id", "tag_id"):
            old_tags.setdefault(customer_id, []).append(tag_id)
    changed: list[tuple[int, dict]] = []  # (id, the new values) per updated customer
    for row in updates:
        customer = row.match
        before = {name: getattr(customer, name) for name in row.data}
        values = dict(row.data)
        if row.custom:
            before["custom_data"] = dict(customer.custom_data or {})
            values["custom_data"] = {**(customer.custom_data or {}), **row.custom}
        if row.tags:
            before["tags"] = sorted(old_tags.get(customer.pk, []))
        before[VERSION_AFTER] = customer.version + 1  # exact: the row is locked
        changed.append((customer.pk, values))
        changes.append((customer.pk, ImportChange.Action.UPDATED,
                        json.dumps(before, cls=DjangoJSONEncoder)))
    _update_customers(changed, now)
    links = [CustomerTag(customer_id=pk, tag_id=tag_ids[n.lower()])
             for row, pk in [*zip(creates, ids, strict=True),
                             *((r, r.match.pk) for r in updates)]
             for n in row.tags]
    if links:
        CustomerTag.objects.bulk_create(links, ignore_conflicts=True, batch_size=BATCH_SIZE)
    if changes:
        copy_rows(ImportChange, ["job_id", "customer_id", "action", "before"],
                  ((job.pk, pk, action, before) for pk, action, before in changes))
    # An error of a pipelined statement is raised when the pipeline ends, outside Django's
    # cursor: wrapped here, the caller sees Django's exception as for any other statement.
    with connection.wrap_database_errors, connection.connection.pipeline():
        if new:  # the same ImportChange for each: written by the server from the id array
            with connection.cursor() as cursor:
                cursor.execute(
                    'INSERT INTO "customers_importchange" ("job_id", "customer_id", '
                    '"action", "before") SELECT %s, v.id, %s, %s::jsonb FROM '
                    "unnest(%s::bigint[]) WITH ORDINALITY AS v(id, n) ORDER BY v.n",
                    [job.pk, ImportChange.Action.CREATED, json.dumps({VERSION_AFTER: 1}),
                     _int_array(ids)])
        _record_import_events(job, actor, ids, [pk for pk, _v in changed], now)
        # The batch's foreign keys (every one in the schema is DEFERRABLE INITIALLY
        # DEFERRED) are checked here rather than at commit, so PostgreSQL checks them while
        # `meanwhile` runs; then back to deferred, as the caller's transaction had them.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        if meanwhile is not None:
            meanwhile()
    return {"created": len(new), "updated": len(changed),
            "skipped": sum(1 for r in rows if r.action == "skip"),
            "errors": sum(1 for r in rows if r.action == "error")}


def _update_customers(changed: list[tuple[int, dict]], now) -> None:
    """One UPDATE for the batch's updated customers: the new values travel as one array per
    column (unnest), NULL where a row leaves the column as it is (an import never blanks a
    value); "version" + 1 and updated_at for each."""
    if not changed:
        return
    fields = sorted({name for _pk, values in changed for name in values})
    q = connection.ops.quote_name
    arrays: list[list] = [[pk for pk, _v in changed]]
    unnest, sets = ["%s::bigint[]"], []
    for name in fields:
        column = [values.get(name) for _pk, values in changed]
        if name == "custom_data":  # JSON travels as text, cast per value
            arrays.append([None if v is None else json.dumps(v) for v in column])
            unnest.append("%s::text[]")
            sets.append(f"{q(name)} = COALESCE(v.{q(name)}::jsonb, c.{q(name)})")
        else:
            arrays.append(column)
            unnest.append("%s::bigint[]" if name in FK_FIELDS else "%s::text[]")
            sets.append(f"{q(name)} = COALESCE(v.{q(name)}, c.{q(name)})")
    columns = ", ".join(["id", *(q(n) for n in fields)])
    # Column names come from UPDATABLE (constants), values are parameters.
    sql = (f'UPDATE "customers_customer" AS c SET {", ".join(sets)}, '  # noqa: S608
           f'"version" = c."version" + 1, "updated_at" = %s '
           f'FROM unnest({", ".join(unnest)}) AS v({columns}) WHERE c."id" = v."id"')
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, *arrays])


def _record_import_events(job: ImportJob, actor, created: list[int], updated: list[int],
                          now) -> None:
    """One "customer.imported" business event per customer of the batch (one INSERT ...
    SELECT for the batch), so every customer's timeline and change history show the import
    and subscribers hear of each customer. No django-auditlog entry per customer: the event
    says who imported it from which file and when, the customer row holds what the file
    gave it, and the ImportChange row what an update replaced (at ten indexes an entry, the
    entries cost an import more than the customers themselves)."""
    from django.contrib.contenttypes.models import ContentType

    from crm.events import _kick_dispatch_on_commit
    from crm.models import Event

    if not created and not updated:
        return
    job_type = ContentType.objects.get_for_model(ImportJob)
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    payload = {"job": str(job.uuid), "file": job.original_name}
    # The server makes each row (and its time-ordered uuid, crm.ids) from the array of
    # customer ids, so Python builds none of them.
    pks = [*created, *updated]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(Event._meta.db_table)} "  # noqa: S608
            '("uuid", "name", "actor_id", "customer_id", "subject_type_id", "subject_id", '
            '"payload", "created_at", "available_at", "attempts", "last_error") '
            f"SELECT {UUID7_SQL}, %s, %s, v.id, %s, %s, "
            "CASE WHEN v.n <= %s THEN %s::jsonb ELSE %s::jsonb END, %s, %s, 0, '' "
            "FROM unnest(%s::bigint[]) WITH ORDINALITY AS v(id, n) ORDER BY v.n",
            ["customer.imported", actor_id, job_type.pk, str(job.pk), len(created),
             json.dumps({**payload, "action": "created"}, cls=DjangoJSONEncoder),
             json.dumps({**payload, "action": "updated"}, cls=DjangoJSONEncoder),
             now, now, _int_array(pks)])
    _kick_dispatch_on_commit()


def rejected(rows: list[Row]) -> list[dict]:
    """The batch's rejected rows, as stored in ImportJob.errors."""
    return [{"row": r.number, "values": r.values, "errors": r.errors}
            for r in rows if r.action == "error"]


def job_rows(job: ImportJob, *, start: int = 0, limit: int | None = None) -> Iterator[Row]:
    """The job's data rows as Row objects, from the `start`-th on (0-based), read from its
    file as a stream."""
    with job.file.open("rb") as stored:
        headers, rows = iter_table(stored, job.original_name)
        stop = None if limit is None else start + limit
        for number, cells in itertools.islice(rows, start, stop):
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
    """The list's queryset, ready for export_rows: related labels come by join, and each
    customer's tag ids inside the same statement (an index-only probe per row, in the order
    of the rows); export_rows turns the ids into names from one read of the tags."""
    qs = qs.select_related(None).prefetch_related(None)
    tag_ids = CustomerTag.objects.filter(customer_id=OuterRef("pk")).values("tag_id")
    return qs.annotate(tag_ids=ArraySubquery(tag_ids)).order_by(*ordering)


def _tag_labels(using: str) -> dict[int, tuple[int, str]]:
    """tag id -> (its place in the name order, its name): the names sorted by PostgreSQL's
    collation once, so a row's names sort as `ORDER BY name` would sort them."""
    names = Tag.objects.using(using).order_by("name", "pk").values_list("pk", "name")
    return {pk: (place, name) for place, (pk, name) in enumerate(names)}


class _LocalMinute(Func):
    """created_at as the export shows it, in SQL: 'YYYY-MM-DD HH24:MI' in the given zone."""

    template = "to_char(timezone(%(expressions)s), 'YYYY-MM-DD HH24:MI')"
    output_field = CharField()


def export_rows(qs, definitions) -> Iterator[list]:
    """Header row, then one list per customer; every text cell neutralised. The list's SQL
    (access path, filters, joins, tag ids) is one COPY ... TO STDOUT whatever the size:
    PostgreSQL works out the next rows while Python writes these ones. The rows come as text
    (no per-row ORM conversion), the creation time formatted by PostgreSQL, labels translated
    once, each set of tags named once, and the custom fields' JSON read only when there are
    custom fields. The COPY holds the connection until its last row: nothing else may run on
    that connection while the rows are read (export_run writes its progress through another)."""
    columns = export_columns(definitions)
    plain = [c for c, _label in columns if not c.startswith(CUSTOM_PREFIX)]
    kinds = {code: str(label) for code, label in Customer.Kind.choices}
    statuses = {code: str(label) for code, label in Customer.Status.choices}
    keys = [d.key for d in definitions]
    yield [neutralise(str(label)) for _c, label in columns]  # custom labels are user text
    tags_i = plain.index("tag_names")
    sql_columns = [c for c in plain if c != "tag_names"]
    kind_i, status_i = sql_columns.index("kind"), sql_columns.index("status")
    selected = ["created_local" if c == "created_at" else c for c in sql_columns]
    selected.append("tag_ids")
    if keys:
        selected.append("custom_data")
    values = qs.annotate(created_local=_LocalMinute(
        Value(timezone.get_current_timezone_name()), F("created_at"))
    ).values_list(*selected)
    sql, params = values.query.sql_with_params()
    first = FORMULA_FIRST
    width = len(sql_columns)
    labels = _tag_labels(values.db)
    tag_names: dict[str, str] = {}  # a set of tags (as PostgreSQL writes it) -> its cell
    db = connections[values.db]
    # COPY takes no bind parameters: psycopg binds them in the client, quoted as literals
    statement = f"COPY ({db.ops.compose_sql(sql, params)}) TO STDOUT"
    with db.cursor() as cursor, cursor.copy(statement) as copy:
        for record in copy.rows():
            row = ["" if v is None else ("'" + v if v[:1] in first else v)
                   for v in record[:width]]
            row[kind_i] = kinds.get(record[kind_i], row[kind_i])
            row[status_i] = statuses.get(record[status_i], row[status_i])
            ids = record[width]
            if (names := tag_names.get(ids)) is None:
                # a tag made after the labels were read is left out, like a later one
                names = "; ".join(name for _place, name in sorted(
                    labels[pk] for pk in map(int, ids[1:-1].split(",")) if pk in labels)
                ) if len(ids) > 2 else ""
                names = "'" + names if names[:1] in first else names
                if len(tag_names) < TAG_CELLS_KEPT:
                    tag_names[ids] = names
            row.insert(tags_i, names)
            if keys:
                custom = record[width + 1]
                custom = (json.loads(custom) if isinstance(custom, str) else custom) or {}
                row.extend(neutralise("" if custom.get(k) is None else custom[k])
                           for k in keys)
            yield row


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
    """Write an .xlsx with openpyxl's write-only mode (constant memory) to `target`. The rows
    are closed whatever happens: export_rows holds its connection in COPY until then."""
    import openpyxl

    with _closing(rows):
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet(_("Customers")[:31])
        for row in rows:
            sheet.append([_xlsx_cell(v) for v in row])
        book.save(target)


def _xlsx_cell(value):
    """A cell as Excel takes it: numbers as they are, text without the control characters
    an .xlsx cannot hold (openpyxl refuses them; a CSV keeps them)."""
    if isinstance(value, int | float | bool):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def export_to_file(rows: Iterator[list], path, fmt: str, *, progress=None,
                   batch: int = EXPORT_BATCH) -> int:
    """Write the export (header first) to the file at `path` as CSV (UTF-8 with a BOM) or
    XLSX (openpyxl write-only: constant memory); call progress(rows_so_far) after every
    `batch` data rows. Returns the number of data rows. The rows are closed whatever happens:
    export_rows holds its connection in COPY until then, and the caller's next query (marking
    the job failed, say) would wait on it."""
    with _closing(rows):
        return _export_to_file(rows, path, fmt, progress=progress, batch=batch)


@contextlib.contextmanager
def _closing(rows: Iterator):
    """Close `rows` on the way out when it can be closed (a generator: export_rows)."""
    try:
        yield rows
    finally:
        if close := getattr(rows, "close", None):
            close()


def _export_to_file(rows: Iterator[list], path, fmt: str, *, progress, batch: int) -> int:
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
        with open(path, "w", encoding="utf-8", newline="", buffering=1024 * 1024) as handle:
            handle.write("\ufeff")
            writer = csv.writer(handle)
            writer.writerow(header)
            while chunk := list(itertools.islice(rows, batch)):
                writer.writerows(chunk)
                count += len(chunk)
                if progress and len(chunk) == batch:
                    handle.flush()
                    progress(count)
    if progress:
        progress(count)
    return count
