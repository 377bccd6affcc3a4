"""The kanban board of opportunities and its move endpoint (drag and drop, or the card's
"move to" select). Moves go through sales.pipeline_services.opportunity_move, which checks
the card's version, records the stage history and the business events."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import floatformat
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.exceptions import ApplicationError, StaleObjectError
from sales.board import COLUMN_LIMIT, board_load, column_totals
from sales.filters_board import BoardFilter
from sales.pipeline_services import opportunity_move
from sales.selectors import opportunity_get_for_user, opportunity_list_for_user, stage_list


def _filtered(request, data):
    filterset = BoardFilter(data or None, queryset=opportunity_list_for_user(request.user))
    return filterset, filterset.qs


@login_required
def board(request):
    if not request.user.has_perm("sales.view_opportunity"):
        raise PermissionDenied
    filterset, queryset = _filtered(request, request.GET)
    stages = list(stage_list())
    columns = board_load(request.user, queryset, stages, limit=COLUMN_LIMIT,
                         filterset=filterset)
    return render(request, "sales/board/board.html", {
        "filter": filterset,
        "filter_errors": filterset.labelled_errors(),
        "columns": columns,
        "stages": stages,
        "limit": COLUMN_LIMIT,
        "can_move": request.user.has_perm("sales.change_opportunity"),
        "nav_active": "pipeline",
        "currency": settings.CRM_CURRENCY,
    })


class MoveForm(forms.Form):
    opportunity = forms.UUIDField()
    stage = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    version = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    lost_reason = forms.CharField(required=False, max_length=300, strip=True)

    def clean_stage(self):
        stage = stage_list().filter(pk=self.cleaned_data["stage"]).first()
        if stage is None:
            raise ValidationError(_("That stage does not exist or is no longer in use."))
        return stage


def _error(message, status: int) -> JsonResponse:
    return JsonResponse({"ok": False, "error": str(message)}, status=status)


@login_required
@require_POST
def board_move(request):
    """Move one card. JSON in, JSON out: 200 with the card's new version and the column
    totals (of the board as filtered by the query string), 400 bad input, 403 forbidden,
    404 not visible, 409 stale (someone changed the card since the board was drawn)."""
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages = [str(e) for errors in form.errors.values() for e in errors]
        return _error(" ".join(messages) or _("The move was not understood."), 400)
    data = form.cleaned_data
    try:
        opportunity = opportunity_get_for_user(request.user, data["opportunity"], "change")
    except Http404:
        return _error(_("That opportunity does not exist or you may not see it."), 404)
    except PermissionDenied:
        return _error(_("You may not move this opportunity."), 403)
    stage = data["stage"]
    try:
        moved = opportunity_move(actor=request.user, opportunity=opportunity, stage=stage,
                                 expected_version=data["version"],
                                 lost_reason=data["lost_reason"])
    except StaleObjectError as exc:
        return _error(exc.message, 409)
    except PermissionDenied:
        return _error(_("You may not move this opportunity."), 403)
    except ApplicationError as exc:
        return _error(exc.message, 400)
    filterset, queryset = _filtered(request, request.GET)
    stages = list(stage_list())
    totals = column_totals(request.user, filterset, queryset, [s.pk for s in stages])
    empty = {"count": 0, "total": 0, "other_currency": 0, "capped": False}

    def column(stage):
        data = totals.get(stage.pk, empty)
        if data["capped"]:
            # Past the cap: "10,000+" and no total (totals are exact or not shown).
            return {"stage": stage.pk, "count": data["count"], "capped": True,
                    "count_display": f"{intcomma(data['count'])}+", "total": None,
                    "total_display": _("Narrow the filters to see the total"),
                    "other_currency": 0}
        return {"stage": stage.pk, "count": data["count"], "capped": False,
                "count_display": intcomma(data["count"]), "total": str(data["total"]),
                "total_display": floatformat(data["total"], "2g"),
                "other_currency": data["other_currency"]}

    return JsonResponse({
        "ok": True,
        "opportunity": str(moved.uuid),
        "stage": moved.stage_id,
        "version": moved.version,
        "probability": moved.probability,
        "columns": [column(s) for s in stages],
        "message": _("“%(name)s” moved to %(stage)s.") % {"name": moved.name,
                                                        "stage": stage.name},
    })
