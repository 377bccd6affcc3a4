"""Opportunity pages: the list (filters, search, keyset pages, totals), a opportunity's page
(stage moves, stage history with the time spent in each stage, development plans), create,
edit (optimistic locking), and the trash (soft delete, restore). Every opportunity comes
through sales.selectors; every write goes through sales.pipeline_services."""

from __future__ import annotations

import copy
import datetime
from decimal import Decimal
from html import escape

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils import formats, numberformat, timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.exceptions import ApplicationError
from crm.pagination import PAGE_SIZE, keyset_paginate
from crm.rows import ShortDates, full_name, url_maker
from customers.selectors import customer_get_for_user
from sales import pipeline_services
from sales.filters_opportunities import OpportunityFilter
from sales.forms_opportunities import MoveForm, OpportunityForm, PlanForm
from sales.models import DevelopmentPlan, OpportunityStageHistory
from sales.permissions import sales_policy_for
from sales.selectors import (
    opportunity_get_for_user,
    opportunity_list_for_user,
    stage_list,
    visible_branches,
)

TRASH_ORDERING = ("-deleted_at", "-id")
# The stage history shown on the page (an opportunity rarely moves more often than this).
HISTORY_LIMIT = 200
# What a row of the list shows, read as plain values (no model instances): the columns the
# row, the sort keys and the pager read, and the customer's and the owner's names.
# The stage and the team come by id, named from OpportunityFilter.lookups(): a join of five
# tables takes the planner ~3 ms, of three under 1 ms.
LIST_COLUMNS = ("id", "uuid", "name", "created_at", "expected_close_date", "amount",
                "currency", "probability", "customer__uuid", "customer__name", "stage_id",
                "owner__first_name", "owner__last_name", "owner__email", "team_id")
CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def _partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


def _require_view(user) -> None:
    if not user.has_perm("sales.view_opportunity"):
        raise PermissionDenied


def duration_text(seconds: int) -> str:
    """A humanized duration, its two largest units: "3 days, 4 hours", "5 minutes"."""
    seconds = max(0, int(seconds))
    units = [
        (86400, lambda n: ngettext("%d day", "%d days", n)),
        (3600, lambda n: ngettext("%d hour", "%d hours", n)),
        (60, lambda n: ngettext("%d minute", "%d minutes", n)),
    ]
    parts = []
    for size, label in units:
        if seconds >= size:
            n, seconds = divmod(seconds, size)
            parts.append(label(n) % n)
        elif parts:
            break
        if len(parts) == 2:
            break
    return ", ".join(parts) if parts else _("less than a minute")


def _service_error(form, exc: Exception) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    elif isinstance(exc, ValidationError):
        form.add_error(None, exc)
    else:
        form.add_error(None, getattr(exc, "message", str(exc)))



def _stage_badge(name: str, is_won: bool, is_lost: bool) -> str:
    """templates/sales/opportunities/_stage_badge.html (with its trailing newline)."""
    colour = "success" if is_won else "danger" if is_lost else "primary"
    return f'<span class="badge text-bg-{colour}">{escape(name)}</span>\n'


def amount_formatter():
    """A function Decimal -> the text of the template's `|floatformat:"2g"` for an amount with
    at most two decimal places (NUMERIC(14, 2), or quantized to cents): the same
    numberformat.format call with the active language's separators, looked up once per page
    rather than once per amount (floatformat costs ~30 us a call). Not escaped: the filter
    marks its text safe."""
    lang = get_language()
    decimal_sep = formats.get_format("DECIMAL_SEPARATOR", lang, use_l10n=True)
    grouping = formats.get_format("NUMBER_GROUPING", lang, use_l10n=True)
    thousand_sep = formats.get_format("THOUSAND_SEPARATOR", lang, use_l10n=True)

    def text(value: Decimal) -> str:
        return numberformat.format(f"{value:.2f}", decimal_sep, 2, grouping, thousand_sep,
                                   force_grouping=True, use_l10n=True)

    return text


def result_rows_html(rows: list[dict], stages: dict, teams: dict) -> str:
    """The table rows of _results.html, built here rather than by the template (as
    customers.views.customer.result_rows_html does): the same markup, byte for byte, every
    value escaped and every text translated, without some thirty template nodes per row.
    `rows`: dicts of LIST_COLUMNS; `stages`, `teams`: OpportunityFilter.lookups(). One
    reverse() per URL name and page, not per row; the
    amounts as the template's floatformat filter wrote them (amount_formatter)."""
    detail_url, customer_url = url_maker("sales:opportunity_detail"), url_maker(
        "customers:detail")
    customer_, stage_, amount_, weighted_, close_, owner_, team_ = map(conditional_escape, (
        _("Customer"), _("Stage"), _("Amount"), _("Weighted"), _("Expected close"),
        _("Owner"), _("Team")))
    none = '<span class="text-body-secondary">—</span>'
    money = amount_formatter()
    badges: dict = {}  # (name, won, lost) -> badge
    short_date = ShortDates()
    html = []
    for row in rows:
        amount, probability = row["amount"], row["probability"]
        # Opportunity.weighted_amount
        weighted = (amount * probability / HUNDRED).quantize(CENT)
        stage = row["stage_id"]
        if stage not in badges:
            badges[stage] = _stage_badge(*stages[stage][1:])
        # An owner has an e-mail (NOT NULL): none means no owner.
        owner_html = escape(full_name(row["owner__first_name"], row["owner__last_name"])
                            or row["owner__email"]) if row["owner__email"] is not None else none
        team = teams.get(row["team_id"])
        team_html = escape(team[1] or "—") if team else "—"
        day = row["expected_close_date"]
        html.append(
            f'\n    <tr data-testid="opportunity-row">'
            f'\n      <td><a href="{escape(detail_url(row["uuid"]))}" '
            f'class="fw-semibold text-break">{escape(row["name"])}</a></td>'
            f'\n      <td data-label="{customer_}" class="small text-break">'
            f'<a href="{escape(customer_url(row["customer__uuid"]))}">'
            f'{escape(row["customer__name"])}</a></td>'
            f'\n      <td data-label="{stage_}" class="small">{badges[stage]}</td>'
            f'\n      <td data-label="{amount_}" class="small text-lg-end text-nowrap">'
            f'{money(amount)} {escape(row["currency"])}</td>'
            f'\n      <td data-label="{weighted_}" class="small text-lg-end text-nowrap">'
            f'{money(weighted)} <span class="text-body-secondary">'
            f'({probability}%)</span></td>'
            f'\n      <td data-label="{close_}" class="small text-nowrap">'
            f'<time datetime="{day.isoformat()}">{short_date(day)}</time></td>'
            f'\n      <td data-label="{owner_}" class="small">{owner_html}</td>'
            f'\n      <td data-label="{team_}" class="small">{team_html}'
            f'</td>\n    </tr>\n  '
        )
    return mark_safe("".join(html))  # noqa: S308 (every value above is escaped)


# --- list -----------------------------------------------------------------------------------
@login_required
def opportunity_list(request):
    _require_view(request.user)
    partial = _partial(request)
    filterset = OpportunityFilter(request.GET or None,
                                  queryset=opportunity_list_for_user(request.user))
    # The totals (one capped query, which counts the filtered set too) are shown above the
    # first page only: the htmx "next" pages (?after=) append rows without them.
    first_page = not request.GET.get("after")
    totals = (filterset.totals(branches=visible_branches(request.user, "opportunity"))
              if first_page else None)
    # Plain values of the columns the rows show (LIST_COLUMNS), no model instances.
    page = keyset_paginate(filterset.qs, ordering=filterset.keyset_ordering(),
                           after=request.GET.get("after"), page_size=PAGE_SIZE, count=False,
                           fields=LIST_COLUMNS)
    context = {
        "filter": filterset,
        "filter_errors": filterset.labelled_errors(),
        "page": page,
        "rows": result_rows_html(page.object_list, *filterset.lookups()),
        "totals": totals,
        "currency": _currency(),
    }
    if partial:
        return render(request, "sales/opportunities/_results.html", context)
    filterset.load_choices()
    context["can_add"] = request.user.has_perm("sales.add_opportunity")
    return render(request, "sales/opportunities/list.html", context)


def _currency() -> str:
    from django.conf import settings

    return settings.CRM_CURRENCY


# --- detail ---------------------------------------------------------------------------------
def stage_rows(opportunity, history: list[OpportunityStageHistory], now) -> list[dict]:
    """One row per stage entered: when, by whom, and how long it stayed there (the next
    move's seconds_in_previous; the current stage runs until now)."""
    rows = []
    for i, entry in enumerate(history):
        current = i == len(history) - 1
        seconds = (int((now - opportunity.stage_entered_at).total_seconds()) if current
                   else history[i + 1].seconds_in_previous)
        rows.append({"entry": entry, "current": current, "seconds": seconds,
                     "duration": duration_text(seconds)})
    return rows


@login_required
def opportunity_detail(request, uuid):
    _require_view(request.user)
    opportunity = opportunity_get_for_user(request.user, uuid)
    now = timezone.now()
    history = list(
        OpportunityStageHistory.objects.filter(opportunity=opportunity)
        .select_related("from_stage", "to_stage", "changed_by")
        .order_by("changed_at", "id")[:HISTORY_LIMIT]
    )
    today = timezone.localdate()
    plans = list(
        DevelopmentPlan.objects.filter(opportunity=opportunity)
        .annotate(
            step_count=Count("steps"),
            done_count=Count("steps", filter=Q(steps__done_at__isnull=False)),
            overdue_count=Count("steps", filter=Q(steps__done_at__isnull=True,
                                                  steps__planned_date__lt=today)),
        )
        .order_by("-created_at", "-id")
    )
    can_change = sales_policy_for(request.user).can("change", opportunity, "opportunity")
    context = {
        "opportunity": opportunity,
        "stage_rows": stage_rows(opportunity, history, now),
        "running": duration_text((now - opportunity.stage_entered_at).total_seconds()),
        "plans": plans,
        "can_change": can_change,
        "can_delete": sales_policy_for(request.user).can("delete", opportunity, "opportunity"),
        "can_add_plan": can_change and request.user.has_perm("sales.add_developmentplan"),
    }
    if can_change:
        stages = list(stage_list())
        move_form = MoveForm(initial={"version": opportunity.version})
        move_form.fields["stage"].widget.choices = [
            (str(s.uuid), s.name) for s in stages if s.pk != opportunity.stage_id]
        context["move_form"] = move_form
        context["lost_stage_uuids"] = " ".join(str(s.uuid) for s in stages if s.is_lost)
        context["plan_form"] = PlanForm()
    return render(request, "sales/opportunities/detail.html", context)


@login_required
@require_POST
def opportunity_move(request, uuid):
    opportunity = opportunity_get_for_user(request.user, uuid, "change")
    form = MoveForm(request.POST)
    if form.is_valid():
        try:
            opportunity = pipeline_services.opportunity_move(
                actor=request.user, opportunity=opportunity, stage=form.cleaned_data["stage"],
                expected_version=form.cleaned_data["version"],
                lost_reason=form.cleaned_data["lost_reason"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Moved to “%(stage)s”.") % {
                "stage": opportunity.stage.name})
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("sales:opportunity_detail", uuid=opportunity.uuid)


# --- create and edit ------------------------------------------------------------------------
@login_required
def opportunity_create(request):
    if not request.user.has_perm("sales.add_opportunity"):
        raise PermissionDenied
    customer = None
    customer_uuid = request.GET.get("customer") or request.POST.get("customer")
    if customer_uuid:
        customer = customer_get_for_user(request.user, customer_uuid)
    form = OpportunityForm(request.POST or None, user=request.user, customer=customer,
                           initial={"expected_close_date": timezone.localdate()
                                    + datetime.timedelta(days=30)})
    if request.method == "POST" and form.is_valid():
        try:
            data = form.service_data()
            # The stage goes as its own argument (the service drops "stage" from `data`).
            opportunity = pipeline_services.opportunity_create(
                actor=request.user, data=data, stage=data.pop("stage", None))
        except (ApplicationError, ValidationError) as exc:
            _service_error(form, exc)
        except PermissionDenied:
            form.add_error(None, _("You may not add opportunities to this customer."))
        else:
            messages.success(request, _("Opportunity “%(name)s” was created.")
                             % {"name": opportunity.name})
            return redirect("sales:opportunity_detail", uuid=opportunity.uuid)
    return render(request, "sales/opportunities/form.html", {
        "form": form, "opportunity": None, "customer": customer})


@login_required
def opportunity_edit(request, uuid):
    opportunity = opportunity_get_for_user(request.user, uuid, "change")
    form = OpportunityForm(request.POST or None, instance=copy.copy(opportunity),
                           user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            opportunity = pipeline_services.opportunity_update(
                actor=request.user, opportunity=opportunity, data=form.service_data(),
                expected_version=form.cleaned_data["version"])
        except (ApplicationError, ValidationError) as exc:
            _service_error(form, exc)
        else:
            if not sales_policy_for(request.user).can_view("opportunity", opportunity):
                # Handed to someone outside the user's reach: say so rather than 404.
                messages.warning(request, _(
                    "Opportunity “%(name)s” was saved. It now belongs to %(owner)s and is no "
                    "longer among the opportunities you can see.") % {
                    "name": opportunity.name,
                    "owner": opportunity.owner.get_full_name() or opportunity.owner.email
                    if opportunity.owner_id else _("nobody")})
                return redirect("sales:opportunity_list")
            messages.success(request, _("Opportunity “%(name)s” was saved.")
                             % {"name": opportunity.name})
            return redirect("sales:opportunity_detail", uuid=opportunity.uuid)
    return render(request, "sales/opportunities/form.html", {
        "form": form, "opportunity": opportunity, "customer": opportunity.customer,
        "can_delete": sales_policy_for(request.user).can("delete", opportunity,
                                                         "opportunity"),
    })


# --- trash ----------------------------------------------------------------------------------
@login_required
@require_POST
def opportunity_delete(request, uuid):
    opportunity = opportunity_get_for_user(request.user, uuid, "delete")
    pipeline_services.opportunity_delete(actor=request.user, opportunity=opportunity)
    messages.success(request, _("“%(name)s” was moved to the trash. You can restore it from "
                                "there.") % {"name": opportunity.name})
    return redirect("sales:opportunity_list")


@login_required
def opportunity_trash(request):
    _require_view(request.user)
    page = keyset_paginate(opportunity_list_for_user(request.user, deleted=True),
                           ordering=TRASH_ORDERING, after=request.GET.get("after"),
                           page_size=PAGE_SIZE)
    return render(request, "sales/opportunities/trash.html", {
        "page": page, "can_restore": request.user.has_perm("sales.delete_opportunity")})


@login_required
@require_POST
def opportunity_restore(request, uuid):
    opportunity = opportunity_get_for_user(request.user, uuid, "delete", deleted=True)
    pipeline_services.opportunity_restore(actor=request.user, opportunity=opportunity)
    messages.success(request, _("“%(name)s” was restored.") % {"name": opportunity.name})
    return redirect("sales:opportunity_trash")
