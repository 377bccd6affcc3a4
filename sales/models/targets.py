"""Sales targets per user or team, per month or quarter."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import BaseModel


class SalesTarget(BaseModel):
    class Period(models.TextChoices):
        MONTH = "month", _("Month")
        QUARTER = "quarter", _("Quarter")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True,
                             blank=True, on_delete=models.CASCADE, related_name="sales_targets")
    team = models.ForeignKey("accounts.Team", verbose_name=_("team"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="sales_targets")
    period = models.CharField(_("period"), max_length=8, choices=Period.choices,
                              default=Period.MONTH)
    # The first day of the month or quarter.
    period_start = models.DateField(_("starting"))
    amount = models.DecimalField(_("target"), max_digits=14, decimal_places=2,
                                 validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(_("currency"), max_length=3, default=settings.CRM_CURRENCY)

    class Meta:
        verbose_name = _("sales target")
        verbose_name_plural = _("sales targets")
        ordering = ["-period_start"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False, team__isnull=True)
                           | Q(user__isnull=True, team__isnull=False)),
                name="target_user_xor_team"),
            models.UniqueConstraint(fields=["user", "period", "period_start"],
                                    condition=Q(user__isnull=False), name="target_user_once"),
            models.UniqueConstraint(fields=["team", "period", "period_start"],
                                    condition=Q(team__isnull=False), name="target_team_once"),
        ]
        indexes = [models.Index(fields=["period_start"], name="target_period")]

    def __str__(self) -> str:
        return f"{self.user or self.team} {self.period_start:%Y-%m}"
