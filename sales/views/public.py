"""The public web-to-lead pages (no login): a form built from a WebForm's configuration and
its thank-you page.

Spam: a honeypot field (filled -> a thank-you and nothing created) and a per-form, per-address
rate limit (RATE_LIMIT submissions per RATE_WINDOW seconds -> 429).

Framing: these pages may be framed anywhere (X-Frame-Options exempt, CSP frame-ancestors *).
CSRF: the page itself keeps Django's CSRF check. Inside an iframe on another site, though,
browsers do not send our SameSite=Lax CSRF cookie, so the framed page (?embed=1) and the
plain-HTML snippet post to `web_form_submit`, which instead of the cookie requires the form's
signed token (sales.views.webforms.embed_token). Posting there needs no session and grants
nothing but a lead, which the honeypot and the rate limit guard."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csp import csp_override
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from crm import ratelimit
from crm.exceptions import ApplicationError
from sales import lead_services
from sales.forms_leads import PublicLeadForm
from sales.models import WebForm
from sales.views.webforms import embed_token, embed_token_valid

RATE_LIMIT = 5
RATE_WINDOW = 10 * 60
FRAMABLE_CSP = {**settings.SECURE_CSP, "frame-ancestors": ["*"]}


def framable(view):
    return xframe_options_exempt(csp_override(FRAMABLE_CSP)(view))


def _web_form(slug: str) -> WebForm:
    web_form = WebForm.objects.filter(slug=slug, is_active=True).select_related("source") \
        .first()
    if web_form is None:
        raise Http404
    return web_form


def _thanks(request, web_form: WebForm, embed: bool):
    url = reverse("sales_public:web_form_thanks", kwargs={"slug": web_form.slug})
    return redirect(url + ("?embed=1" if embed else ""))


def _handle(request, web_form: WebForm, *, embed: bool):
    form = PublicLeadForm(request.POST or None, web_form=web_form)
    if request.method == "POST":
        ident = f"{web_form.pk}:{ratelimit.client_ip(request)}"
        if ratelimit.limited("webform", ident, limit=RATE_LIMIT, window=RATE_WINDOW):
            return render(request, "sales/public/rate_limited.html",
                          {"web_form": web_form, "minutes": RATE_WINDOW // 60}, status=429)
        if form.is_spam():
            return _thanks(request, web_form, embed)  # silently: the bot learns nothing
        if form.is_valid():
            try:
                lead_services.lead_create(actor=None, data=form.service_data(),
                                          web_form=web_form)
            except (ApplicationError, ValidationError) as exc:
                form.add_error(None, getattr(exc, "message", None) or _(
                    "Some of the details are not valid. Check them and send again."))
            else:
                return _thanks(request, web_form, embed)
    return render(request, "sales/public/web_form.html", {
        "web_form": web_form, "form": form, "embed": embed,
        "token": embed_token(web_form) if embed else "",
    }, status=400 if form.is_bound and form.errors else 200)


@framable
def web_form(request, slug):
    """The public form page, CSRF-protected; ?embed=1 (the iframe snippet) posts to the token
    endpoint instead (no cookie there)."""
    web_form = _web_form(slug)
    return _handle(request, web_form, embed=request.GET.get("embed") == "1")


@framable
@csrf_exempt
@require_POST
def web_form_submit(request, slug):
    """Posts from the framed page and the plain-HTML snippet: the per-form signed token
    stands in for the CSRF cookie (a missing or foreign token is refused)."""
    web_form = _web_form(slug)
    if not embed_token_valid(web_form, request.POST.get("token", "")):
        return render(request, "sales/public/invalid_token.html", {"web_form": web_form},
                      status=403)
    return _handle(request, web_form, embed=True)


@framable
def web_form_thanks(request, slug):
    web_form = _web_form(slug)
    return render(request, "sales/public/thanks.html", {
        "web_form": web_form, "embed": request.GET.get("embed") == "1"})


