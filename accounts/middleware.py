"""Session idle timeout and the two-factor gate."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

LAST_SEEN_KEY = "_last_seen"
# Writing the session on every request would cost a write per click: refresh once a minute.
TOUCH_EVERY = 60


def _redirect(request, url):
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


class IdleTimeoutMiddleware:
    """Signs a user out after SESSION_IDLE_TIMEOUT seconds without a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            last = request.session.get(LAST_SEEN_KEY)
            if last is not None and now - last > settings.SESSION_IDLE_TIMEOUT:
                logout(request)
                messages.info(request, _("You were signed out after a period of inactivity. "
                                         "Sign in again to continue."))
                login = redirect_to_login(request.get_full_path())
                return _redirect(request, login.url)
            if last is None or now - last >= TOUCH_EVERY:
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)


class TwoFactorMiddleware:
    """Finishes two-factor sign-in before anything else is served.

    A user with an authenticator must enter a code after the password; an Admin without one
    must set it up first when REQUIRE_2FA_FOR_ADMINS is on.
    """

    ALWAYS_OPEN = ("accounts:logout", "accounts:set_language", "healthz")
    # Session key remembering that this user, as they are now, needs no second step; a
    # change of version or of Admin status (however it was made) asks again.
    CLEARED_KEY = "_2fa_cleared"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return self.get_response(request)
        cleared = [user.version, user.is_admin]
        if request.session.get(self.CLEARED_KEY) == cleared:
            return self.get_response(request)
        open_paths = {reverse(name) for name in self.ALWAYS_OPEN}
        if request.path in open_paths or request.path.startswith(settings.STATIC_URL):
            return self.get_response(request)

        verify_url = reverse("accounts:otp_verify")
        setup_url = reverse("accounts:otp_setup")
        has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        if has_device:
            if request.path == verify_url:
                return self.get_response(request)
            return _redirect(request, redirect_to_login(request.get_full_path(), verify_url).url)
        if settings.REQUIRE_2FA_FOR_ADMINS and user.is_admin:
            if request.path == setup_url:
                return self.get_response(request)
            messages.warning(request, _("Admins must use two-factor login. Set it up to "
                                        "continue."))
            return _redirect(request, setup_url)
        request.session[self.CLEARED_KEY] = cleared
        return self.get_response(request)
