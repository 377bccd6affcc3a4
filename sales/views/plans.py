"""Development plan pages: create a plan (from the opportunity's page), the plan's page (steps
by date, overdue ones marked), add a step and record a step's result (htmx: the steps list is
swapped in place), reopen a step, close the plan. Plans come through sales.selectors (not
visible: 404; visible but not changeable: 403); writes go through sales.plan_services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.exceptions import ApplicationError
from sales import plan_services
from sales.forms_opportunities import PlanCloseForm, PlanForm, StepForm, StepResultForm
from sales.models import DevelopmentPlan, PlanStep
from sales.selectors import opportunity_get_for_user, plan_get_for_user


def _partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return getattr(exc, "message", str(exc))


def _can_change(user, plan: DevelopmentPlan) -> bool:
    return (plan.status == DevelopmentPlan.Status.ACTIVE
            and user.has_perm("sales.change_planstep")
            and plan_services.plan_can_change(user, plan.opportunity))


def _steps(plan: DevelopmentPlan) -> list[PlanStep]:
    return list(PlanStep.objects.filter(plan=plan).select_related("done_by")
                .order_by("planned_date", "id"))


def _steps_context(request, plan, *, step_form=None, errors=None) -> dict:
    can_change = _can_change(request.user, plan)
    return {
        "plan": plan,
        "steps": _steps(plan),
        "can_change": can_change,
        "can_add_step": can_change and request.user.has_perm("sales.add_planstep"),
        "step_form": step_form or StepForm(),
        "step_errors": errors or {},
    }


def _get_step(plan: DevelopmentPlan, step_uuid) -> PlanStep:
    try:
        step = PlanStep.objects.get(plan=plan, uuid=step_uuid)
    except (PlanStep.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc
    step.plan = plan  # already loaded, with its opportunity
    return step


def _steps_response(request, plan, **kwargs):
    """The steps fragment for htmx; the plan's page otherwise."""
    if _partial(request):
        return render(request, "sales/plans/_steps.html", _steps_context(request, plan, **kwargs))
    for error in (kwargs.get("errors") or {}).values():
        messages.error(request, error)
    form = kwargs.get("step_form")
    if form is not None and form.errors:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("sales:plan_detail", uuid=plan.uuid)


@login_required
@require_POST
def plan_create(request, uuid):
    opportunity = opportunity_get_for_user(request.user, uuid, "change")
    if not request.user.has_perm("sales.add_developmentplan"):
        raise PermissionDenied
    form = PlanForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("sales:opportunity_detail", uuid=opportunity.uuid)
    try:
        plan = plan_services.plan_create(actor=request.user, opportunity=opportunity,
                                         title=form.cleaned_data["title"],
                                         goal=form.cleaned_data["goal"])
    except (ApplicationError, ValidationError) as exc:
        messages.error(request, _message(exc))
        return redirect("sales:opportunity_detail", uuid=opportunity.uuid)
    messages.success(request, _("Plan “%(title)s” was created: add its steps.")
                     % {"title": plan.title})
    return redirect("sales:plan_detail", uuid=plan.uuid)


@login_required
def plan_detail(request, uuid):
    plan = plan_get_for_user(request.user, uuid)
    context = _steps_context(request, plan)
    context["close_form"] = PlanCloseForm(initial={"version": plan.version})
    context["can_close"] = (context["can_change"]
                            and request.user.has_perm("sales.change_developmentplan"))
    return render(request, "sales/plans/detail.html", context)


@login_required
@require_POST
def step_add(request, uuid):
    plan = plan_get_for_user(request.user, uuid, "change")
    if not request.user.has_perm("sales.add_planstep"):
        raise PermissionDenied
    form = StepForm(request.POST)
    if form.is_valid():
        try:
            plan_services.step_add(actor=request.user, plan=plan,
                                   planned_date=form.cleaned_data["planned_date"],
                                   action=form.cleaned_data["action"])
        except (ApplicationError, ValidationError) as exc:
            form.add_error(None, _message(exc))
        else:
            return _steps_response(request, plan)
    return _steps_response(request, plan, step_form=form)


@login_required
@require_POST
def step_result(request, uuid, step_uuid):
    plan = plan_get_for_user(request.user, uuid, "change")
    step = _get_step(plan, step_uuid)
    form = StepResultForm(request.POST)
    errors = {}
    if form.is_valid():
        try:
            plan_services.step_record_result(actor=request.user, step=step,
                                             result=form.cleaned_data["result"],
                                             done=form.cleaned_data["done"],
                                             expected_version=form.cleaned_data["version"])
        except (ApplicationError, ValidationError) as exc:
            errors[step.pk] = _message(exc)
    else:
        errors[step.pk] = " ".join(e for errs in form.errors.values() for e in errs)
    return _steps_response(request, plan, errors=errors)


@login_required
@require_POST
def step_reopen(request, uuid, step_uuid):
    plan = plan_get_for_user(request.user, uuid, "change")
    step = _get_step(plan, step_uuid)
    errors = {}
    try:
        plan_services.step_reopen(actor=request.user, step=step)
    except (ApplicationError, ValidationError) as exc:
        errors[step.pk] = _message(exc)
    return _steps_response(request, plan, errors=errors)


@login_required
@require_POST
def plan_close(request, uuid):
    plan = plan_get_for_user(request.user, uuid, "change")
    form = PlanCloseForm(request.POST)
    if form.is_valid():
        try:
            plan = plan_services.plan_close(actor=request.user, plan=plan,
                                            status=form.cleaned_data["status"],
                                            outcome=form.cleaned_data["outcome"],
                                            expected_version=form.cleaned_data["version"])
        except (ApplicationError, ValidationError) as exc:
            messages.error(request, _message(exc))
        else:
            messages.success(request, _("The plan was closed as “%(status)s”.")
                             % {"status": plan.get_status_display()})
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("sales:plan_detail", uuid=plan.uuid)
