"""The opportunity pipeline: stages, opportunities with their stage history, and customer
development plans (planned steps and their results)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import BaseModel
from customers.models import SoftDeleteQuerySet


class PipelineStage(BaseModel):
    name = models.CharField(_("name"), max_length=60)
    order = models.PositiveIntegerField(_("order"), default=0)
    probability = models.PositiveSmallIntegerField(
        _("probability %"), default=10, validators=[MaxValueValidator(100)])
    is_won = models.BooleanField(_("won"), default=False)
    is_lost = models.BooleanField(_("lost"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("pipeline stage")
        verbose_name_plural = _("pipeline stages")
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(is_won=True, is_lost=True),
                                   name="stage_not_won_and_lost"),
            models.CheckConstraint(condition=Q(probability__lte=100),
                                   name="stage_probability_max_100"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost


class Opportunity(BaseModel):
    name = models.CharField(_("name"), max_length=200)
    # Indexed by opportunity_customer (customer, -created_at): no separate foreign-key index.
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"),
                                 on_delete=models.PROTECT, related_name="opportunities",
                                 db_index=False)
    contact = models.ForeignKey("customers.Contact", verbose_name=_("contact"), null=True,
                                blank=True, on_delete=models.SET_NULL, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True,
                              blank=True, on_delete=models.SET_NULL,
                              related_name="opportunities", db_index=False)
    team = models.ForeignKey("accounts.Team", verbose_name=_("team"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="opportunities")
    stage = models.ForeignKey(PipelineStage, verbose_name=_("stage"), on_delete=models.PROTECT,
                              related_name="opportunities")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2,
                                 default=Decimal("0"),
                                 validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(_("currency"), max_length=3, default=settings.CRM_CURRENCY)
    probability = models.PositiveSmallIntegerField(
        _("probability %"), validators=[MaxValueValidator(100)],
        help_text=_("Defaults to the stage's probability."))
    expected_close_date = models.DateField(_("expected close"))
    lost_reason = models.CharField(_("lost reason"), max_length=300, blank=True)
    description = models.TextField(_("notes"), blank=True)
    stage_entered_at = models.DateTimeField(_("in this stage since"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    lead = models.ForeignKey("sales.Lead", verbose_name=_("from lead"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="opportunity_amount_gte_0"),
        ]
        indexes = [
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="opportunity_name_trgm"),
            models.Index(fields=["-created_at", "-id"], name="opportunity_created",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["owner", "-created_at", "-id"], name="opportunity_owner",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["team", "-created_at", "-id"], name="opportunity_team",
                         condition=Q(deleted_at__isnull=True)),
            # The kanban (per stage, soonest close first) and the forecast (by close month).
            models.Index(fields=["stage", "expected_close_date", "id"], name="opportunity_board",
                         condition=Q(deleted_at__isnull=True)),
            # The forecast's drill-down: open deals by expected close date, in order (its
            # figures come from the pipeline rollup since; the index once covered them).
            models.Index(fields=["expected_close_date", "owner"],
                         include=["team", "stage", "amount", "currency", "probability"],
                         name="opportunity_forecast_cover",
                         condition=Q(deleted_at__isnull=True)),
            # The forecast's won amounts.
            models.Index(fields=["closed_at"],
                         include=["owner", "team", "stage", "amount", "currency"],
                         name="opportunity_won_cover",
                         condition=Q(deleted_at__isnull=True, closed_at__isnull=False)),
            # The kanban's cards and totals per visible part (teams' / owners' records).
            models.Index(fields=["team", "stage", "expected_close_date", "id"],
                         include=["owner", "amount", "currency", "probability"],
                         name="opportunity_team_board", condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["owner", "stage", "expected_close_date", "id"],
                         include=["team", "amount", "currency", "probability"],
                         name="opportunity_owner_board", condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["customer", "-created_at"], name="opportunity_customer"),
            # The 360 page's panel: a customer's open deals, soonest close first; and its
            # won/lost figures from the index alone (a busy customer has thousands of deals:
            # 3 ms of heap reads otherwise), visibility columns included.
            models.Index(fields=["customer", "expected_close_date", "id"],
                         include=["stage", "amount", "owner", "team"],
                         name="opportunity_customer_open",
                         condition=Q(deleted_at__isnull=True)),
            # The list's other sorts and the trash.
            models.Index(fields=["amount", "id"], name="opportunity_amount_order",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["name", "id"], name="opportunity_name_order",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["-deleted_at", "-id"], name="opportunity_trash",
                         condition=Q(deleted_at__isnull=False)),
            models.Index(fields=["owner", "closed_at"], name="opportunity_owner_closed"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.probability / Decimal(100)).quantize(Decimal("0.01"))


class PipelineRollup(models.Model):
    """The live opportunities added up by expected close month, owner, team, stage and
    currency: what the forecast and the kanban's totals read instead of the opportunities
    themselves (some 47,000 rows for a million opportunities).

    Kept by the database, like an index: statement triggers on sales_opportunity (migration
    sales 0009), in the writing statement's transaction, whatever wrote (services, the admin,
    bulk updates, COPY). Each statement appends its changes, grouped by key: its new rows
    added, its old ones subtracted. Appending takes no lock on existing rows, so two writers
    never wait for each other (or deadlock) here; a key may have several rows, and readers
    add them up. sales.pipeline_rollup folds them back into one row per key (every few
    minutes, and dropping the keys that add up to nothing) and rebuilds the whole from the
    opportunities nightly, repairing whatever was written with the triggers off (a
    data-only restore with --disable-triggers, loaddata of a dump that holds these rows).

    This is a deliberate exception to "rollups that Celery refreshes" (ARCHITECTURE): the
    forecast's figures and its drill-down list must agree the moment an opportunity moves.
    What the triggers know is what an opportunity contributes (live: deleted_at IS NULL; by
    the calendar month of its expected close; amount and amount x probability); which
    stages are open and who may see what apply when it is read
    (sales.selectors.pipeline_rollup_for_user)."""

    month = models.DateField()
    # Plain columns that happen to be joinable: the rollup follows the opportunities (a
    # deleted user's opportunities lose their owner through their own foreign key). The
    # key's index is the only one.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING,
                              db_constraint=False, db_index=False, related_name="+")
    team = models.ForeignKey("accounts.Team", null=True, on_delete=models.DO_NOTHING,
                             db_constraint=False, db_index=False, related_name="+")
    stage = models.ForeignKey(PipelineStage, on_delete=models.DO_NOTHING, db_constraint=False,
                              db_index=False, related_name="+")
    currency = models.CharField(max_length=3)
    n = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))
    # The sum of amount * probability (divide by 100 for the weighted pipeline).
    weighted = models.DecimalField(max_digits=26, decimal_places=2, default=Decimal("0"))

    class Meta:
        indexes = [
            models.Index(fields=["month", "owner", "team", "stage", "currency"],
                         name="pipeline_rollup_key"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.owner_id}/{self.team_id}/{self.stage_id}: {self.n}"


class OpportunityStageHistory(models.Model):
    """One move of an opportunity between stages, and how long it sat in the one it left."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE,
                                    related_name="stage_history", db_index=False)
    from_stage = models.ForeignKey(PipelineStage, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    to_stage = models.ForeignKey(PipelineStage, on_delete=models.PROTECT, related_name="+")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    # Seconds spent in from_stage before this move.
    seconds_in_previous = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage history")
        indexes = [models.Index(fields=["opportunity", "changed_at"], name="stage_history_opp")]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} -> {self.to_stage_id}"


class DevelopmentPlan(BaseModel):
    """A customer development plan for an opportunity: planned steps, then their results."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("In progress")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    opportunity = models.ForeignKey(Opportunity, verbose_name=_("opportunity"),
                                    on_delete=models.CASCADE, related_name="plans", db_index=False)
    title = models.CharField(_("title"), max_length=200)
    goal = models.TextField(_("goal"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.ACTIVE)
    outcome = models.TextField(_("outcome"), blank=True)
    closed_at = models.DateTimeField(_("ended"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("development plan")
        verbose_name_plural = _("development plans")
        indexes = [models.Index(fields=["opportunity", "-created_at"], name="plan_opportunity")]

    def __str__(self) -> str:
        return self.title


class PlanStep(BaseModel):
    plan = models.ForeignKey(DevelopmentPlan, on_delete=models.CASCADE, related_name="steps",
                             db_index=False)
    planned_date = models.DateField(_("planned for"))
    action = models.CharField(_("action"), max_length=300)
    result = models.TextField(_("result"), blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("plan step")
        verbose_name_plural = _("plan steps")
        ordering = ["planned_date", "id"]
        indexes = [
            models.Index(fields=["plan", "planned_date"], name="plan_step_order"),
            models.Index(fields=["planned_date"], name="plan_step_open",
                         condition=Q(done_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.action

    @property
    def is_overdue(self) -> bool:
        return self.done_at is None and self.planned_date < timezone.localdate()
