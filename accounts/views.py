"""Pages of the accounts app: sign-in, two-factor, profile, and user/team management (Admins)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.encoding import force_str
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.utils.translation import check_for_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import forms, selectors, services
from accounts.filters import TeamFilter, UserFilter
from accounts.tokens import invite_token_generator
from crm import ratelimit
from crm.exceptions import ApplicationError
from crm.ratelimit import client_ip

PAGE_SIZE = 50


# --- home -------------------------------------------------------------------------------------
@login_required
def home(request):
    return render(request, "accounts/home.html", selectors.workspace_for_user(request.user))


# --- sign-in ----------------------------------------------------------------------------------
class LoginView(auth_views.LoginView):
    form_class = forms.LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        # django-axes pauses one (account, address) pair; this pauses an address that guesses
        # across many accounts.
        if ratelimit.count("login-ip", client_ip(request)) >= settings.LOGIN_IP_FAILURE_LIMIT:
            return lockout(request)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        window = int(settings.AXES_COOLOFF_TIME.total_seconds())
        ratelimit.hit("login-ip", client_ip(self.request), window=window)
        return super().form_invalid(form)

    def form_valid(self, form):
        response = super().form_valid(form)
        # Start in the user's own language.
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, form.get_user().language,
            secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
        return response


def lockout(request, original_response=None, credentials=None):
    """The page after too many failed sign-ins (django-axes); the same for every address."""
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return render(request, "accounts/lockout.html", {"lockout_minutes": minutes}, status=429)


class PasswordResetView(auth_views.PasswordResetView):
    """Sends the link; the answer is the same whether or not the address has an account, and
    both the address and the client are limited to PASSWORD_RESET_LIMIT e-mails an hour."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset_body.txt"
    html_email_template_name = "accounts/email/password_reset_body.html"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")
    extra_email_context = {"site_name": settings.SITE_NAME}

    def form_valid(self, form):
        limit = settings.PASSWORD_RESET_LIMIT
        email = form.cleaned_data["email"].strip().lower()
        over_ip = ratelimit.limited("reset-ip", client_ip(self.request), limit=limit,
                                    window=3600)
        over_email = ratelimit.limited("reset-email", email, limit=limit, window=3600)
        if over_ip or over_email:
            # Say nothing different: the page must not tell whether the address exists.
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):
        messages.success(self.request, _("Your password was changed."))
        return super().form_valid(form)


@require_POST
def set_language(request):
    """Switch the interface language; a signed-in user keeps the choice on their account."""
    from django.views.i18n import set_language as django_set_language

    response = django_set_language(request)
    code = request.POST.get("language", "")
    user = request.user
    if user.is_authenticated and check_for_language(code) and code in dict(settings.LANGUAGES):
        services.user_set_language(user=user, language=code)
    return response


def _user_from_uidb64(uidb64):
    try:
        pk = force_str(urlsafe_base64_decode(uidb64))
        return get_user_model().objects.get(pk=pk)
    except (TypeError, ValueError, OverflowError, get_user_model().DoesNotExist):
        return None


def invite_accept(request, uidb64, token):
    user = _user_from_uidb64(uidb64)
    valid = (
        user is not None
        and user.is_active
        and user.invitation_pending
        and invite_token_generator.check_token(user, token)
    )
    if not valid:
        return render(request, "accounts/invite_invalid.html", status=400)
    form = forms.AcceptInviteForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.invite_accept(user=user, password=form.cleaned_data["new_password1"])
        messages.success(request, _("Welcome! Your password is set: sign in to start."))
        return redirect("accounts:login")
    return render(request, "accounts/invite_accept.html", {"form": form, "invitee": user})


# --- two-factor -------------------------------------------------------------------------------
def _safe_next(request, default="home"):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


@login_required
def otp_verify(request):
    if request.user.is_verified():
        return HttpResponseRedirect(_safe_next(request))
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    if device is None:
        return redirect("home")
    form = forms.OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, details = device.verify_is_allowed()
        if not allowed:
            form.add_error(None, _("Too many wrong codes. Wait a minute, then try again."))
        elif device.verify_token(form.cleaned_data["token"]):
            otp_login(request, device)
            return HttpResponseRedirect(_safe_next(request))
        else:
            form.add_error("token", _("That code is not right, or it has expired."))
    return render(request, "accounts/otp_verify.html",
                  {"form": form, "next": request.GET.get("next", "")})


def _qr_svg(text: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


@login_required
def otp_setup(request):
    user = request.user
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        messages.info(request, _("Two-factor login is already on."))
        return redirect("accounts:profile")
    device, _created = TOTPDevice.objects.get_or_create(
        user=user, confirmed=False, defaults={"name": gettext_lazy("Authenticator app")}
    )
    form = forms.OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            services.two_factor_confirm(user=user, device=device)
            update_session_auth_hash(request, user)
            otp_login(request, device)
            messages.success(request, _("Two-factor login is on."))
            return redirect("accounts:profile")
        form.add_error("token", _("That code is not right. Check the time on your phone and "
                                  "try the next code."))
    import base64

    secret = base64.b32encode(device.bin_key).decode()
    return render(request, "accounts/otp_setup.html", {
        "form": form,
        "qr_svg": _qr_svg(device.config_url),
        "secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
        "required": settings.REQUIRE_2FA_FOR_ADMINS and user.is_admin,
    })


@login_required
def otp_disable(request):
    form = forms.ConfirmPasswordForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.two_factor_disable(user=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Two-factor login is off."))
        return redirect("accounts:profile")
    return render(request, "accounts/otp_disable.html", {"form": form})


# --- own profile ----------------------------------------------------------------------------
@login_required
def profile(request):
    user = request.user
    form = forms.ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        try:
            services.profile_update(user=user, data=data,
                                    expected_version=form.cleaned_data["version"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your profile was saved."))
            response = redirect("accounts:profile")
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, data["language"],
                                secure=settings.LANGUAGE_COOKIE_SECURE,
                                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                                samesite=settings.LANGUAGE_COOKIE_SAMESITE)
            return response
    has_2fa = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    return render(request, "accounts/profile.html", {
        "form": form,
        "has_2fa": has_2fa,
        "teams": user.teams.select_related("manager"),
    })


# --- users (Admins) ---------------------------------------------------------------------------
@login_required
def user_list(request):
    filterset = UserFilter(request.GET or None, queryset=selectors.user_list_for_user(request.user))
    users = filterset.qs
    # A stable order for paging: the chosen sort, then the primary key.
    order = [*(users.query.order_by or ["first_name", "last_name"]), "id"]
    page = Paginator(users.order_by(*order), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"filter": filterset, "page": page}
    template = "accounts/user_list.html"
    if request.htmx and not request.htmx.boosted:
        template = "accounts/_user_results.html"
    return render(request, template, context)


@login_required
def user_invite(request):
    selectors.user_list_for_user(request.user)  # the access check: Admins only
    form = forms.InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = services.user_invite(
            actor=request.user,
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            title=data["title"],
            role_groups=data["roles"],
            teams=data["teams"],
        )
        if services.user_send_invite(user=user, actor=request.user):
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": user.email})
        else:
            messages.warning(request, _("%(email)s was added, but the invitation e-mail could "
                                        "not be sent. Use “Resend invitation” once mail works.")
                             % {"email": user.email})
        return redirect("accounts:user_detail", uuid=user.uuid)
    return render(request, "accounts/user_invite.html", {"form": form})


@login_required
def user_detail(request, uuid):
    user = selectors.user_get_for_user(request.user, uuid)
    form = forms.UserEditForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.user_update(
                actor=request.user,
                user=user,
                data={k: data[k] for k in forms.UserEditForm.Meta.fields},
                role_groups=data["roles"],
                teams=data["teams"],
                expected_version=data["version"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Changes to %(name)s were saved.") % {"name": user})
            return redirect("accounts:user_detail", uuid=user.uuid)
    has_2fa = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    return render(request, "accounts/user_detail.html",
                  {"form": form, "subject": user, "has_2fa": has_2fa})


def _user_action(request, uuid, action):
    user = selectors.user_get_for_user(request.user, uuid)
    try:
        message = action(user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, message)
    return redirect("accounts:user_detail", uuid=user.uuid)


@login_required
@require_POST
def user_deactivate(request, uuid):
    def action(user):
        services.user_set_active(actor=request.user, user=user, active=False)
        return _("%(name)s was deactivated and can no longer sign in.") % {"name": user}

    return _user_action(request, uuid, action)


@login_required
@require_POST
def user_activate(request, uuid):
    def action(user):
        services.user_set_active(actor=request.user, user=user, active=True)
        return _("%(name)s can sign in again.") % {"name": user}

    return _user_action(request, uuid, action)


@login_required
@require_POST
def user_resend_invite(request, uuid):
    def action(user):
        if not services.user_send_invite(user=user, actor=request.user):
            raise ApplicationError(_("The invitation e-mail could not be sent; check the mail "
                                     "server settings and try again."))
        return _("Invitation sent again to %(email)s.") % {"email": user.email}

    return _user_action(request, uuid, action)


@login_required
@require_POST
def user_reset_two_factor(request, uuid):
    def action(user):
        services.user_reset_two_factor(actor=request.user, user=user)
        return _("Two-factor login of %(name)s was reset.") % {"name": user}

    return _user_action(request, uuid, action)


# --- teams (Admins) ---------------------------------------------------------------------------
@login_required
def team_list(request):
    filterset = TeamFilter(request.GET or None, queryset=selectors.team_list_for_user(request.user))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "accounts/team_list.html", {"filter": filterset, "page": page})


def _team_form_data(form):
    data = form.cleaned_data
    return {k: data[k] for k in ("name", "description", "manager")}, data.get("members") or []


@login_required
def team_create(request):
    selectors.team_list_for_user(request.user)  # the access check: Admins only
    form = forms.TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data, members = _team_form_data(form)
        team = services.team_create(actor=request.user, data=data, members=members)
        messages.success(request, _("Team %(name)s was created.") % {"name": team.name})
        return redirect("accounts:team_list")
    return render(request, "accounts/team_form.html", {"form": form})


@login_required
def team_edit(request, uuid):
    team = selectors.team_get_for_user(request.user, uuid)
    form = forms.TeamForm(request.POST or None, instance=team)
    if request.method == "POST" and form.is_valid():
        data, members = _team_form_data(form)
        try:
            services.team_update(actor=request.user, team=team, data=data, members=members,
                                 expected_version=form.cleaned_data["version"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Team %(name)s was saved.") % {"name": team.name})
            return redirect("accounts:team_list")
    return render(request, "accounts/team_form.html", {"form": form, "team": team})
