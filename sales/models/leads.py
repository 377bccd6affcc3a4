"""Leads, how they are scored and assigned, and the public web-to-lead forms."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from crm.models import BaseModel
from customers.models import DictionaryEntry, SoftDeleteQuerySet, phone_digits


class WebForm(BaseModel):
    """A public form that turns a submission into a lead (web-to-lead)."""

    # The lead fields a form may show; first name and e-mail are always asked.
    FIELD_CHOICES = [
        ("last_name", _("Last name")),
        ("company", _("Company")),
        ("title", _("Job title")),
        ("phone", _("Phone")),
        ("region", _("Region")),
        ("industry", _("Industry")),
        ("message", _("Message")),
    ]

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("address"), max_length=60, unique=True)
    title = models.CharField(_("heading"), max_length=200)
    intro = models.TextField(_("introduction"), blank=True)
    fields = models.JSONField(_("fields to show"), default=list, blank=True)
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    consent_text = models.CharField(_("consent checkbox text"), max_length=300, blank=True)
    thank_you_text = models.TextField(_("thank-you text"))
    source = models.ForeignKey(
        DictionaryEntry, verbose_name=_("lead source"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        limit_choices_to={"kind": DictionaryEntry.Kind.SOURCE},
    )
    # Owner rule: a fixed owner, else a team (round-robin among its members), else the
    # lead assignment rules.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assign to"), null=True,
                              blank=True, on_delete=models.SET_NULL, related_name="+")
    team = models.ForeignKey("accounts.Team", verbose_name=_("or round-robin in team"),
                             null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_active = models.BooleanField(_("accepting submissions"), default=True)
    submission_count = models.PositiveIntegerField(_("submissions"), default=0)

    class Meta:
        verbose_name = _("web-to-lead form")
        verbose_name_plural = _("web-to-lead forms")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Lead(BaseModel):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        CONTACTED = "contacted", _("Contacted")
        QUALIFIED = "qualified", _("Qualified")
        UNQUALIFIED = "unqualified", _("Unqualified")
        CONVERTED = "converted", _("Converted")

    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    phone_digits = models.CharField(max_length=40, blank=True, editable=False)
    website = models.URLField(_("website"), blank=True)
    source = models.ForeignKey(
        DictionaryEntry, verbose_name=_("source"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        limit_choices_to={"kind": DictionaryEntry.Kind.SOURCE},
        db_index=False,
    )
    region = models.ForeignKey(
        DictionaryEntry, verbose_name=_("region"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        limit_choices_to={"kind": DictionaryEntry.Kind.REGION},
        db_index=False,
    )
    industry = models.ForeignKey(
        DictionaryEntry, verbose_name=_("industry"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        limit_choices_to={"kind": DictionaryEntry.Kind.INDUSTRY},
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices,
                              default=Status.NEW)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True,
                              blank=True, on_delete=models.SET_NULL, related_name="leads")
    team = models.ForeignKey("accounts.Team", verbose_name=_("team"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="leads")
    message = models.TextField(_("message"), blank=True)
    description = models.TextField(_("notes"), blank=True)
    marketing_consent = models.BooleanField(_("agrees to marketing"), default=False)
    score = models.IntegerField(_("score"), default=0)
    # [{"rule": "...", "points": n}, ...]: why the score is what it is.
    score_breakdown = models.JSONField(default=list, blank=True)
    web_form = models.ForeignKey(WebForm, verbose_name=_("web form"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="leads")
    assigned_by_rule = models.ForeignKey(
        "sales.LeadAssignmentRule", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    converted_customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="leads",
    )
    converted_contact = models.ForeignKey("customers.Contact", null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="+")
    converted_opportunity = models.ForeignKey("sales.Opportunity", null=True, blank=True,
                                              on_delete=models.SET_NULL, related_name="+")
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        permissions = [("convert_lead", _("Can convert leads"))]
        indexes = [
            GinIndex(OpClass(Upper("first_name"), name="gin_trgm_ops"), name="lead_first_trgm"),
            GinIndex(OpClass(Upper("last_name"), name="gin_trgm_ops"), name="lead_last_trgm"),
            GinIndex(OpClass(Upper("company"), name="gin_trgm_ops"), name="lead_company_trgm"),
            GinIndex(OpClass(Upper("email"), name="gin_trgm_ops"), name="lead_email_trgm"),
            GinIndex(fields=["phone_digits"], opclasses=["gin_trgm_ops"], name="lead_phone_trgm"),
            models.Index(fields=["-created_at", "-id"], name="lead_created",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["owner", "-created_at", "-id"], name="lead_owner",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["team", "-created_at", "-id"], name="lead_team",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["status", "-created_at"], name="lead_status"),
            models.Index(fields=["-score", "-id"], name="lead_score",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["source"], name="lead_source"),
            models.Index(fields=["region"], name="lead_region"),
            models.Index(fields=["email"], name="lead_email_exact"),
            models.Index(fields=["-deleted_at", "-id"], name="lead_trash",
                         condition=Q(deleted_at__isnull=False)),
            # A web form's round-robin asks for the owner of its newest lead.
            models.Index(fields=["web_form", "-id"], name="lead_web_form_newest",
                         condition=Q(web_form__isnull=False)),
        ]

    def __str__(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return f"{name} ({self.company})" if self.company else name

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    def save(self, *args, **kwargs):
        self.phone_digits = phone_digits(self.phone)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "phone" in update_fields:
            kwargs["update_fields"] = {*update_fields, "phone_digits"}
        super().save(*args, **kwargs)


class LeadAssignmentRule(BaseModel):
    """Who gets a new lead: the first active rule (by order) whose conditions match wins."""

    class Strategy(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round-robin among the team's members")
        USER = "user", _("A fixed user")

    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    match_source = models.ForeignKey(
        DictionaryEntry, verbose_name=_("when the source is"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        limit_choices_to={"kind": DictionaryEntry.Kind.SOURCE},
    )
    match_region = models.ForeignKey(
        DictionaryEntry, verbose_name=_("when the region is"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        limit_choices_to={"kind": DictionaryEntry.Kind.REGION},
    )
    strategy = models.CharField(_("assign by"), max_length=12, choices=Strategy.choices,
                                default=Strategy.ROUND_ROBIN)
    team = models.ForeignKey("accounts.Team", verbose_name=_("team"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True,
                             blank=True, on_delete=models.CASCADE, related_name="+")
    # The member who got the last lead; the next goes to the one after (row-locked).
    last_assigned = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+",
                                      editable=False)

    class Meta:
        verbose_name = _("lead assignment rule")
        verbose_name_plural = _("lead assignment rules")
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(strategy="round_robin", team__isnull=False)
                           | Q(strategy="user", user__isnull=False)),
                name="lead_rule_has_target",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LeadScoreRule(BaseModel):
    """Points a lead earns when a field matches; the score is the sum, shown rule by rule."""

    class Field(models.TextChoices):
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone")
        COMPANY = "company", _("Company")
        TITLE = "title", _("Job title")
        WEBSITE = "website", _("Website")
        SOURCE = "source", _("Source")
        REGION = "region", _("Region")
        INDUSTRY = "industry", _("Industry")
        MESSAGE = "message", _("Message")
        CONSENT = "marketing_consent", _("Marketing consent")

    class Operator(models.TextChoices):
        IS_SET = "is_set", _("is filled in")
        EQUALS = "equals", _("is")
        CONTAINS = "contains", _("contains")

    label = models.CharField(_("label"), max_length=100)
    field = models.CharField(_("field"), max_length=20, choices=Field.choices)
    operator = models.CharField(_("condition"), max_length=10, choices=Operator.choices,
                                default=Operator.IS_SET)
    value = models.CharField(_("value"), max_length=100, blank=True,
                             help_text=_("For a list field, the entry's code."))
    points = models.IntegerField(_("points"))
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("lead scoring rule")
        verbose_name_plural = _("lead scoring rules")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.label
