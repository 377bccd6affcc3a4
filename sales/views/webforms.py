"""Admin pages for the lead configuration: web-to-lead forms (with their public address and
embeddable snippets), lead assignment rules and lead scoring rules. Admins only."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.exceptions import ApplicationError
from sales import lead_services
from sales.forms_leads import AssignmentRuleForm, PublicLeadForm, ScoreRuleForm, WebFormForm
from sales.models import LeadAssignmentRule, LeadScoreRule, WebForm
from sales.views.leads import add_service_error

TOKEN_SALT = "sales.webform.embed"


def embed_token(web_form: WebForm) -> str:
    """The per-form signed token the plain-HTML snippet posts instead of a CSRF cookie."""
    return signing.Signer(salt=TOKEN_SALT).sign(str(web_form.uuid))


def embed_token_valid(web_form: WebForm, token: str) -> bool:
    try:
        return signing.Signer(salt=TOKEN_SALT).unsign(token or "") == str(web_form.uuid)
    except signing.BadSignature:
        return False


def _require_admin(user) -> None:
    if not user.is_admin:
        raise PermissionDenied


def _get(model, uuid):
    try:
        return model.objects.get(uuid=uuid)
    except (model.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc


def _save(request, form, instance):
    """Create or update through the services; the saved record, or None (errors on form)."""
    try:
        if instance is None:
            return lead_services.config_create(actor=request.user, model=form._meta.model,
                                               data=form.service_data())
        return lead_services.config_update(actor=request.user, instance=instance,
                                           data=form.service_data(),
                                           expected_version=form.cleaned_data["version"])
    except IntegrityError:
        form.add_error(None, _("Another record already uses this address or name."))
    except (ApplicationError, ValidationError) as exc:
        add_service_error(form, exc)
    return None


# --- web forms ------------------------------------------------------------------------------
@login_required
def webform_list(request):
    _require_admin(request.user)
    forms = WebForm.objects.select_related("source", "owner", "team").order_by("name")
    return render(request, "sales/webforms/webform_list.html", {"web_forms": forms})


def _snippets(request, web_form: WebForm) -> dict:
    public_url = request.build_absolute_uri(
        reverse("sales_public:web_form", kwargs={"slug": web_form.slug}))
    embed_url = request.build_absolute_uri(
        reverse("sales_public:web_form", kwargs={"slug": web_form.slug})) + "?embed=1"
    submit_url = request.build_absolute_uri(
        reverse("sales_public:web_form_submit", kwargs={"slug": web_form.slug}))
    # Plain strings: the page's textareas escape them (a SafeString would not be).
    iframe = (f'<iframe src="{escape(embed_url)}" title="{escape(web_form.title)}" '
              'width="100%" height="720" style="border:0;max-width:640px" '
              'loading="lazy"></iframe>')
    html_form = render_to_string("sales/webforms/_snippet_form.html", {
        "form": PublicLeadForm(web_form=web_form), "web_form": web_form,
        "submit_url": submit_url, "token": embed_token(web_form),
    })
    html_form = "".join([html_form]).strip()
    return {"public_url": public_url, "iframe_snippet": iframe, "html_snippet": html_form}


@login_required
def webform_create(request):
    _require_admin(request.user)
    form = WebFormForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        web_form = _save(request, form, None)
        if web_form is not None:
            messages.success(request, _("Web form “%(name)s” was created. Copy its address "
                                        "or snippet below.") % {"name": web_form.name})
            return redirect("sales:webform_edit", uuid=web_form.uuid)
    return render(request, "sales/webforms/webform_form.html", {"form": form,
                                                                 "web_form": None})


@login_required
def webform_edit(request, uuid):
    _require_admin(request.user)
    web_form = _get(WebForm, uuid)
    form = WebFormForm(request.POST or None, instance=WebForm.objects.get(pk=web_form.pk))
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, web_form)
        if saved is not None:
            messages.success(request, _("Web form “%(name)s” was saved.") % {
                "name": saved.name})
            return redirect("sales:webform_edit", uuid=saved.uuid)
    return render(request, "sales/webforms/webform_form.html", {
        "form": form, "web_form": web_form, **_snippets(request, web_form)})


@login_required
@require_POST
def webform_toggle(request, uuid):
    _require_admin(request.user)
    web_form = _get(WebForm, uuid)
    web_form = lead_services.webform_set_active(actor=request.user, web_form=web_form,
                                                active=not web_form.is_active)
    if web_form.is_active:
        messages.success(request, _("“%(name)s” accepts submissions again.") % {
            "name": web_form.name})
    else:
        messages.success(request, _("“%(name)s” was deactivated: its public page now "
                                    "answers “not found”.") % {"name": web_form.name})
    return redirect("sales:webform_list")


# --- assignment and scoring rules ---------------------------------------------------------
RULE_KINDS = {
    "assignment": (LeadAssignmentRule, AssignmentRuleForm,
                   gettext_lazy("lead assignment rule")),
    "scoring": (LeadScoreRule, ScoreRuleForm, gettext_lazy("lead scoring rule")),
}


def _kind(kind: str):
    if kind not in RULE_KINDS:
        raise Http404
    return RULE_KINDS[kind]


@login_required
def rule_list(request):
    _require_admin(request.user)
    return render(request, "sales/leads/rule_list.html", {
        "assignment_rules": LeadAssignmentRule.objects.select_related(
            "match_source", "match_region", "team", "user", "last_assigned"),
        "score_rules": LeadScoreRule.objects.all(),
    })


@login_required
def rule_create(request, kind):
    _require_admin(request.user)
    model, form_class, label = _kind(kind)
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        rule = _save(request, form, None)
        if rule is not None:
            messages.success(request, _("Rule “%(name)s” was created.") % {"name": rule})
            return redirect("sales:lead_rules")
    return render(request, "sales/leads/rule_form.html", {
        "form": form, "rule": None, "kind": kind, "kind_label": label})


@login_required
def rule_edit(request, kind, uuid):
    _require_admin(request.user)
    model, form_class, label = _kind(kind)
    rule = _get(model, uuid)
    form = form_class(request.POST or None, instance=model.objects.get(pk=rule.pk))
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, rule)
        if saved is not None:
            messages.success(request, _("Rule “%(name)s” was saved.") % {"name": saved})
            return redirect("sales:lead_rules")
    return render(request, "sales/leads/rule_form.html", {
        "form": form, "rule": rule, "kind": kind, "kind_label": label})


@login_required
@require_POST
def rule_delete(request, kind, uuid):
    _require_admin(request.user)
    model, _form_class, _label = _kind(kind)
    rule = _get(model, uuid)
    lead_services.config_delete(actor=request.user, instance=rule)
    messages.success(request, _("Rule “%(name)s” was deleted.") % {"name": rule})
    return redirect("sales:lead_rules")
