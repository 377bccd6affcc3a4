"""Customers: companies and persons, their contacts, the communication log, tags and the
data dictionary. Sized for a million customers: every filter and search has its index."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import ExtractMonth, Lower, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase

from crm.fields import EncryptedTextField
from crm.models import BaseModel


def phone_digits(phone: str) -> str:
    """The digits of a phone number, for matching and search ("+86 138-0013 8000")."""
    return re.sub(r"\D", "", phone or "")


class SoftDeleteQuerySet(models.QuerySet):
    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def deleted(self):
        return self.filter(deleted_at__isnull=False)


class DictionaryEntry(BaseModel):
    """An admin-editable choice list entry (industries, sources, levels, regions...)."""

    class Kind(models.TextChoices):
        INDUSTRY = "industry", _("Industry")
        SOURCE = "source", _("Source")
        LEVEL = "level", _("Customer level")
        REGION = "region", _("Region")
        TICKET_CATEGORY = "ticket_category", _("Ticket category")

    kind = models.CharField(_("list"), max_length=32, choices=Kind.choices)
    code = models.SlugField(_("code"), max_length=50)
    label = models.CharField(_("label"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("dictionary entry")
        verbose_name_plural = _("data dictionary")
        ordering = ["kind", "order", "label"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "code"], name="dictionary_kind_code"),
        ]
        indexes = [models.Index(fields=["kind", "is_active", "order"], name="dictionary_list")]

    def __str__(self) -> str:
        return self.label


class Tag(BaseModel):
    class Color(models.TextChoices):
        GREY = "secondary", _("Grey")
        BLUE = "primary", _("Blue")
        GREEN = "success", _("Green")
        YELLOW = "warning", _("Yellow")
        RED = "danger", _("Red")
        CYAN = "info", _("Cyan")

    name = models.CharField(_("name"), max_length=50)
    color = models.CharField(_("colour"), max_length=16, choices=Color.choices,
                             default=Color.GREY)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="tag_name_ci")]

    def __str__(self) -> str:
        return self.name


def _dictionary(kind):
    return {"kind": kind}


class Customer(BaseModel):
    """A customer: a company or an individual person."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        PERSON = "person", _("Person")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        AT_RISK = "at_risk", _("At risk")
        CHURNED = "churned", _("Churned")

    # BaseModel's created_at without its plain index: the lists read the partial
    # customer_created (live customers only). A plain index on it tempted the planner into
    # walking it backwards through soft-deleted rows (an undone 100k-row import put 100k of
    # them at the newest end) instead of the partial one; and it cost every import a write.
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.COMPANY)
    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("customer code"), max_length=32, unique=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    phone_digits = models.CharField(max_length=40, blank=True, editable=False)
    website = models.URLField(_("website"), blank=True)
    industry = models.ForeignKey(
        DictionaryEntry, verbose_name=_("industry"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        limit_choices_to=_dictionary(DictionaryEntry.Kind.INDUSTRY), db_index=False,
    )
    source = models.ForeignKey(
        DictionaryEntry, verbose_name=_("source"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        limit_choices_to=_dictionary(DictionaryEntry.Kind.SOURCE), db_index=False,
    )
    level = models.ForeignKey(
        DictionaryEntry, verbose_name=_("level"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        limit_choices_to=_dictionary(DictionaryEntry.Kind.LEVEL), db_index=False,
    )
    region = models.ForeignKey(
        DictionaryEntry, verbose_name=_("region"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        limit_choices_to=_dictionary(DictionaryEntry.Kind.REGION), db_index=False,
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.ACTIVE)
    # The owner and team are indexed with the status (Meta.indexes), which serves the plain
    # lookups as well: no separate foreign-key index.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="owned_customers", db_index=False,
    )
    team = models.ForeignKey(
        "accounts.Team", verbose_name=_("team"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="customers", db_index=False,
    )
    tags = models.ManyToManyField(Tag, through="CustomerTag", related_name="customers",
                                  verbose_name=_("tags"), blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=100, blank=True)
    description = models.TextField(_("notes"), blank=True)
    custom_data = models.JSONField(_("custom fields"), default=dict, blank=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_index=False,
    )

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        permissions = [
            ("export_customer", _("Can export customers")),
            ("import_customer", _("Can import customers")),
            ("merge_customer", _("Can merge duplicate customers")),
            ("erase_customer", _("Can erase personal data (GDPR)")),
        ]
        indexes = [
            # Search: icontains compiles to UPPER(col) LIKE UPPER(%s), which these serve.
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="customer_name_trgm"),
            GinIndex(OpClass(Upper("email"), name="gin_trgm_ops"), name="customer_email_trgm"),
            GinIndex(OpClass(Upper("code"), name="gin_trgm_ops"), name="customer_code_trgm"),
            GinIndex(fields=["phone_digits"], opclasses=["gin_trgm_ops"],
                     name="customer_phone_trgm"),
            GinIndex(fields=["custom_data"], opclasses=["jsonb_path_ops"],
                     name="customer_custom_data"),
            # The default list order and keyset pagination, per owner and per team too.
            models.Index(fields=["-created_at", "-id"], name="customer_created",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["owner", "-created_at", "-id"], name="customer_owner",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["team", "-created_at", "-id"], name="customer_team",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["status", "-created_at"], name="customer_status"),
            # Visibility with a status filter (the owner's or the team's customers in a
            # status): a few thousand index entries instead of ANDing the status index's
            # hundred thousand. Also the foreign keys' own indexes (ON DELETE SET NULL).
            models.Index(fields=["owner", "status"], name="customer_owner_status"),
            models.Index(fields=["team", "status"], name="customer_team_status"),
            # The industry, source, level and region filters, and the foreign keys' own
            # lookups (ON DELETE): partial, as these are often empty (an import with no such
            # column writes no entry in them; `= x` and `IN (...)` imply NOT NULL).
            *(models.Index(fields=[name], name=f"customer_{name}",
                           condition=Q(**{f"{name}__isnull": False}))
              for name in ("industry", "source", "level", "region", "deleted_by")),
            models.Index(fields=["name", "id"], name="customer_name_order"),
            models.Index(fields=["-deleted_at"], name="customer_trash",
                         condition=Q(deleted_at__isnull=False)),
            models.Index(fields=["email"], name="customer_email_exact"),
            models.Index(fields=["phone_digits"], name="customer_phone_exact"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.phone_digits = phone_digits(self.phone)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "phone" in update_fields:
            kwargs["update_fields"] = {*update_fields, "phone_digits"}
        super().save(*args, **kwargs)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class CustomerTag(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, db_index=False)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, db_index=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "tag"], name="customer_tag_once")
        ]
        indexes = [models.Index(fields=["tag", "customer"], name="customer_tag_by_tag")]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.tag_id}"


class CustomerUserObjectPermission(UserObjectPermissionBase):
    """django-guardian's per-object permissions on customers, with a real foreign key (fast
    joins on a big table): sharing a customer with a colleague."""

    content_object = models.ForeignKey(Customer, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["user", "content_object"], name="customer_share_user")]


class Contact(BaseModel):
    """A person at a customer. Sensitive fields are encrypted at rest."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone")
        SMS = "sms", _("Text message")
        WECHAT = "wechat", _("WeChat")
        NONE = "none", _("No preference")

    class ConsentMethod(models.TextChoices):
        WEB_FORM = "web_form", _("Web form")
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone call")
        IN_PERSON = "in_person", _("In person")
        IMPORT = "import", _("Import")

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="contacts")
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    mobile = models.CharField(_("mobile"), max_length=40, blank=True)
    phone_digits = models.CharField(max_length=40, blank=True, editable=False)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    preferred_channel = models.CharField(_("preferred channel"), max_length=10,
                                         choices=Channel.choices, default=Channel.EMAIL)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    marketing_consent = models.BooleanField(_("agrees to marketing"), default=False)
    consent_at = models.DateTimeField(_("consent recorded"), null=True, blank=True)
    consent_method = models.CharField(_("consent given by"), max_length=16, blank=True,
                                      choices=ConsentMethod.choices)
    consent_source = models.CharField(_("consent source"), max_length=200, blank=True)
    national_id = EncryptedTextField(_("national ID"), blank=True)
    private_notes = EncryptedTextField(_("private notes"), blank=True)
    custom_data = models.JSONField(_("custom fields"), default=dict, blank=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_index=False,
    )

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(is_primary=True, deleted_at__isnull=True),
                name="contact_one_primary",
            ),
        ]
        indexes = [
            # The customer's live contacts, primary first: the 360 page's list and its
            # count (an index-only scan; the deleted ones would send it to the table).
            models.Index(fields=["customer", "-is_primary", "last_name", "first_name"],
                         condition=Q(deleted_at__isnull=True), name="contact_live_by_customer"),
            GinIndex(OpClass(Upper("first_name"), name="gin_trgm_ops"), name="contact_first_trgm"),
            GinIndex(OpClass(Upper("last_name"), name="gin_trgm_ops"), name="contact_last_trgm"),
            GinIndex(OpClass(Upper("email"), name="gin_trgm_ops"), name="contact_email_trgm"),
            GinIndex(fields=["phone_digits"], opclasses=["gin_trgm_ops"],
                     name="contact_phone_trgm"),
            models.Index(fields=["email"], name="contact_email_exact"),
            models.Index(fields=["birthday"], name="contact_birthday"),
            models.Index(fields=["-created_at", "-id"], name="contact_created",
                         condition=Q(deleted_at__isnull=True)),
            GinIndex(fields=["custom_data"], opclasses=["jsonb_path_ops"],
                     name="contact_custom_data"),
            # The contact list's name sorts and its birthday-month filter.
            models.Index(fields=["last_name", "first_name", "id"], name="contact_name_order",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(ExtractMonth("birthday"), name="contact_birthday_month"),
            # The foreign key's own lookup (ON DELETE SET NULL), partial like the customer's.
            models.Index(fields=["deleted_by"], name="contact_deleted_by",
                         condition=Q(deleted_by__isnull=False)),
        ]

    def __str__(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    def save(self, *args, **kwargs):
        self.phone_digits = " ".join(d for d in (phone_digits(self.phone),
                                                 phone_digits(self.mobile)) if d)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and ({"phone", "mobile"} & set(update_fields)):
            kwargs["update_fields"] = {*update_fields, "phone_digits"}
        super().save(*args, **kwargs)


class Interaction(BaseModel):
    """One entry of the communication log: a call, e-mail, meeting, message or note."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("E-mail")
        MEETING = "meeting", _("Meeting")
        MESSAGE = "message", _("Message")
        NOTE = "note", _("Note")

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")
        INTERNAL = "internal", _("Internal")

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="interactions", db_index=False)
    contact = models.ForeignKey(Contact, verbose_name=_("contact"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="interactions",
                                db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True,
                             blank=True, on_delete=models.SET_NULL, related_name="+",
                             db_index=False)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.CALL)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices,
                                 default=Direction.OUTBOUND)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("communication log")
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"], name="interaction_timeline"),
            models.Index(fields=["user", "-occurred_at"], name="interaction_by_user"),
            models.Index(fields=["contact", "-occurred_at"], name="interaction_by_contact"),
        ]

    def __str__(self) -> str:
        return self.subject
