"""The public service pages (no login), mounted at /support/:

- the service request form: creates a ticket (channel "web") through service.services,
  matched to the contact or customer with the same e-mail address; the thank-you page never
  shows the ticket's link: the link goes only to the e-mail address given, so nobody can open
  a ticket in someone else's name and read the replies;
- the follow page of one ticket, reached by its signed link: the ticket's public replies and
  the requester's own replies (never internal notes, staff e-mails or other tickets), and a
  reply form;
- the satisfaction survey, answerable once.

CSRF: the pages send no Referer (Referrer-Policy: no-referrer), so browsers post them with
"Origin: null", which Django's CSRF check refuses. They are exempt from it, and protected
instead by what a forged cross-site post cannot know: the follow and survey forms by the signed
token in their URL (the capability the link grants), the request form by a signed, timestamped
form token (FORM_TOKEN_MAX_AGE). None of them acts on a session or a login.

Spam: every form has a honeypot (filled -> answered as if all went well, nothing changes) and
a per-address rate limit (crm.ratelimit; over it -> 429 with a clear message).
Every response says Referrer-Policy: no-referrer (the token in the URL must not leak to other
sites), X-Robots-Tag: noindex and Cache-Control: private, no-store."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.core import signing as django_signing
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from crm import ratelimit
from crm.exceptions import ApplicationError
from customers.models import Contact, Customer
from service import services, signing
from service.forms_public import CustomerReplyForm, ServiceRequestForm, SurveyForm
from service.models import Ticket

RATE_WINDOW = 10 * 60
REQUEST_LIMIT = 5  # new requests per address and window
REPLY_LIMIT = 10  # replies per address and window
SURVEY_LIMIT = 10  # survey posts per address and window
CLOSED = (Ticket.Status.CLOSED, Ticket.Status.ARCHIVED)
FORM_TOKEN_SALT = "service.public.request-form"
FORM_TOKEN_MAX_AGE = 24 * 60 * 60
HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Cache-Control": "private, no-store",
}


def public_page(view):
    """The privacy headers on every response of a public page, whatever it returns; CSRF
    exempt (see the module's docstring for what protects the posts instead)."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        for name, value in HEADERS.items():
            response.headers[name] = value
        return response

    return wrapped


def form_token() -> str:
    return django_signing.dumps("request", salt=FORM_TOKEN_SALT)


def form_token_valid(value: str) -> bool:
    try:
        return django_signing.loads(value or "", salt=FORM_TOKEN_SALT,
                                    max_age=FORM_TOKEN_MAX_AGE) == "request"
    except django_signing.BadSignature:
        return False


def _limited(request, scope: str, limit: int) -> bool:
    return ratelimit.limited(scope, ratelimit.client_ip(request), limit=limit,
                             window=RATE_WINDOW)


def _rate_limited(request):
    return render(request, "service/public/rate_limited.html",
                  {"minutes": RATE_WINDOW // 60}, status=429)


def _invalid_link(request):
    """The same answer for a tampered, foreign or expired token and a deleted ticket: the
    page reveals nothing about which it was."""
    return render(request, "service/public/invalid_link.html", status=404)


def match_requester(email: str) -> tuple[Customer | None, Contact | None]:
    """The contact (and its customer) with exactly this e-mail address, else the customer
    with it; the most recently created when several match. Two queries at most, each on
    the exact e-mail indexes (contact_email_exact, customer_email_exact)."""
    variants = sorted({email, email.lower()})
    contact = (Contact.objects.filter(email__in=variants, deleted_at__isnull=True,
                                      customer__deleted_at__isnull=True)
               .select_related("customer").order_by("-created_at", "-id").first())
    if contact is not None:
        return contact.customer, contact
    customer = (Customer.objects.filter(email__in=variants, deleted_at__isnull=True)
                .order_by("-created_at", "-id").first())
    return customer, None


# --- the service request ----------------------------------------------------------------------
@public_page
def request_form(request):
    form = ServiceRequestForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if _limited(request, "service-request", REQUEST_LIMIT):
            return _rate_limited(request)
        if form.is_spam():
            return redirect("service_public:thanks")  # the bot learns nothing
        if not form_token_valid(request.POST.get("form_token", "")):
            form.is_valid()
            form.add_error(None, _("This form was open for too long or did not come from "
                                   "our page. Nothing was sent: please send it again."))
        elif form.is_valid():
            data = form.cleaned_data
            customer, contact = match_requester(data["email"])
            attachments = [data["attachment"]] if data.get("attachment") else []
            try:
                services.ticket_create(actor=None, data={
                    "subject": data["subject"], "description": data["description"],
                    "requester_name": data["name"], "requester_email": data["email"],
                    "category": data.get("category"), "channel": Ticket.Channel.WEB,
                    "customer": customer, "contact": contact,
                }, attachments=attachments)
            except (ApplicationError, PermissionDenied) as exc:
                form.add_error(None, getattr(exc, "message", None) or _(
                    "Your request could not be sent. Check the details and try again."))
            else:
                return redirect("service_public:thanks")
    return render(request, "service/public/request_form.html",
                  {"form": form, "form_token": form_token()},
                  status=400 if form.is_bound and form.errors else 200)


@public_page
def request_thanks(request):
    return render(request, "service/public/request_thanks.html")


# --- the follow page --------------------------------------------------------------------------
def _public_comments(ticket: Ticket):
    """The ticket's public replies and the requester's replies, oldest first: never internal
    notes. Two queries (comments, their attachments)."""
    comments = list(ticket.comments.filter(is_public=True)
                    .only("id", "ticket_id", "author_name", "from_customer", "body",
                          "created_at")
                    .prefetch_related("attachments").order_by("created_at", "id"))
    for comment in comments:
        comment.public_author = _staff_name(comment.author_name)
    return comments


def _staff_name(name: str) -> str:
    """A staff author as the requester sees them: the first name only, never an e-mail
    address (a user without a name is stored by address)."""
    name = (name or "").strip()
    if not name or "@" in name:
        return ""
    return name.split()[0]


@public_page
def ticket_page(request, token):
    ticket = signing.ticket_from_token(token)
    if ticket is None:
        return _invalid_link(request)
    closed = ticket.status in CLOSED
    form = CustomerReplyForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if _limited(request, "service-reply", REPLY_LIMIT):
            return _rate_limited(request)
        if form.is_spam():
            return redirect("service_public:ticket", token=token)
        if closed:
            form.add_error(None, _("This request is closed, so it cannot take replies any "
                                   "more. Please send a new request."))
        elif form.is_valid():
            attachments = [form.cleaned_data["attachment"]] \
                if form.cleaned_data.get("attachment") else []
            try:
                services.ticket_customer_reply(ticket=ticket, body=form.cleaned_data["body"],
                                               attachments=attachments)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Thank you, your reply was sent."))
                return redirect("service_public:ticket", token=token)
        status = 400
    return render(request, "service/public/ticket.html", {
        "ticket": ticket, "comments": _public_comments(ticket), "form": form,
        "closed": closed, "token": token,
    }, status=status)


# --- the survey -------------------------------------------------------------------------------
@public_page
def survey(request, token):
    ticket = signing.survey_ticket_from_token(token)
    if ticket is None:
        return _invalid_link(request)
    if ticket.satisfaction_at is not None:
        return render(request, "service/public/survey_done.html",
                      {"ticket": ticket, "already": True})
    if ticket.survey_sent_at is None or ticket.status == Ticket.Status.ARCHIVED:
        return render(request, "service/public/survey_closed.html", {"ticket": ticket})
    form = SurveyForm(request.POST or None)
    if request.method == "POST":
        if _limited(request, "service-survey", SURVEY_LIMIT):
            return _rate_limited(request)
        if form.is_spam():
            return render(request, "service/public/survey_done.html",
                          {"ticket": ticket, "already": False})
        if form.is_valid():
            try:
                ticket = services.survey_answer(ticket=ticket, score=form.cleaned_data["score"],
                                                comment=form.cleaned_data["comment"])
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                return render(request, "service/public/survey_done.html",
                              {"ticket": ticket, "already": False})
    return render(request, "service/public/survey.html", {"ticket": ticket, "form": form},
                  status=400 if form.is_bound and form.errors else 200)
