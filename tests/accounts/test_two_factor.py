"""Two-factor login with an authenticator app (django-otp TOTP)."""

from __future__ import annotations

import base64
import time

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles, services
from tests.accounts.helpers import events, messages_of, shows

pytestmark = pytest.mark.django_db


def code_for(device) -> str:
    return f"{totp(device.bin_key):06d}"


def wrong_code_for(device) -> str:
    """A code that is right in no time step the device accepts (it tolerates one drift step)."""
    accepted = {totp(device.bin_key, drift=d) for d in (-2, -1, 0, 1, 2)}
    return next(f"{n:06d}" for n in range(100000, 999999) if n not in accepted)


def sign_in(client, user, password):
    response = client.post(reverse("accounts:login"), {"username": user.email,
                                                       "password": password})
    assert response.status_code == 302
    return response


def verify_url(next_path):
    return f"{reverse('accounts:otp_verify')}?next={next_path}"


# --- setting it up ------------------------------------------------------------------------------
def test_it_shows_a_qr_code_and_the_secret_for_setup(client_for, rep):
    response = client_for(rep).get(reverse("accounts:otp_setup"))

    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=rep)
    assert not device.confirmed
    content = response.content.decode()
    assert "<svg" in content
    secret = base64.b32encode(device.bin_key).decode()
    assert response.context["secret"].replace(" ", "") == secret
    assert response.context["secret"] in content
    assert not response.context["required"]


def test_it_reuses_the_unconfirmed_device_when_the_page_is_reloaded(client_for, rep):
    client = client_for(rep)
    first = client.get(reverse("accounts:otp_setup")).context["secret"]
    second = client.get(reverse("accounts:otp_setup")).context["secret"]
    assert first == second
    assert TOTPDevice.objects.filter(user=rep).count() == 1


def test_it_refuses_a_wrong_setup_code(client_for, rep):
    client = client_for(rep)
    client.get(reverse("accounts:otp_setup"))
    device = TOTPDevice.objects.get(user=rep)

    response = client.post(reverse("accounts:otp_setup"), {"token": wrong_code_for(device)})

    assert response.status_code == 200
    assert response.context["form"].errors["token"] == [
        "That code is not right. Check the time on your phone and try the next code."
    ]
    device.refresh_from_db()
    assert not device.confirmed
    assert not events("user.two_factor_enabled").exists()


def test_it_refuses_a_code_that_is_not_digits(client_for, rep):
    client = client_for(rep)
    client.get(reverse("accounts:otp_setup"))
    response = client.post(reverse("accounts:otp_setup"), {"token": "abcdef"})
    assert response.context["form"].errors["token"] == ["Enter the digits shown in your app."]
    assert not TOTPDevice.objects.get(user=rep).confirmed


def test_it_turns_two_factor_on_with_a_right_code(client_for, rep):
    client = client_for(rep)
    client.get(reverse("accounts:otp_setup"))
    device = TOTPDevice.objects.get(user=rep)

    response = client.post(reverse("accounts:otp_setup"), {"token": code_for(device)})

    assert response.status_code == 302
    assert response.url == reverse("accounts:profile")
    assert messages_of(response) == ["Two-factor login is on."]
    device.refresh_from_db()
    assert device.confirmed
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    [event] = events("user.two_factor_enabled", rep)
    assert event.actor == rep
    # This session is verified: the pages open without another code.
    assert client.get(reverse("home")).status_code == 200
    again = client.get(reverse("accounts:otp_setup"))
    assert again.status_code == 302
    assert messages_of(again) == ["Two-factor login is already on."]


# --- signing in with it -------------------------------------------------------------------------
def test_it_asks_for_the_code_after_the_password(client, rep, password, device_for):
    device = device_for(rep)
    sign_in(client, rep, password)

    for path in ("/", reverse("accounts:profile"), reverse("accounts:password_change")):
        response = client.get(path)
        assert response.status_code == 302
        assert response.url == verify_url(path)
    page = client.get(verify_url("/account/"))
    assert page.status_code == 200
    assert shows(page, "Enter the 6-digit code from your authenticator app.")

    response = client.post(verify_url("/account/"),
                           {"token": code_for(device), "next": "/account/"})
    assert response.status_code == 302
    assert response.url == "/account/"
    assert client.get("/account/").status_code == 200
    assert client.get("/").status_code == 200


def test_it_refuses_a_wrong_code_at_sign_in(client, rep, password, device_for):
    device = device_for(rep)
    sign_in(client, rep, password)

    response = client.post(verify_url("/"), {"token": wrong_code_for(device)})
    assert response.status_code == 200
    assert response.context["form"].errors["token"] == [
        "That code is not right, or it has expired."
    ]
    assert DEVICE_ID_SESSION_KEY not in client.session
    assert client.get("/").status_code == 302

    # Right after a failure the device pauses (django-otp throttling), then accepts.
    throttled = client.post(verify_url("/"), {"token": code_for(device)})
    assert throttled.status_code == 200
    assert shows(throttled, "Too many wrong codes. Wait a minute, then try again.")
    time.sleep(1.1)
    response = client.post(verify_url("/"), {"token": code_for(device)})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_it_refuses_to_reuse_a_code(client, second_client, rep, password, device_for):
    device = device_for(rep)
    code = code_for(device)
    sign_in(client, rep, password)
    assert client.post(verify_url("/"), {"token": code}).status_code == 302

    sign_in(second_client, rep, password)
    response = second_client.post(verify_url("/"), {"token": code})
    assert response.status_code == 200
    assert second_client.get("/").status_code == 302


def test_it_lets_a_half_signed_in_user_sign_out_and_switch_language(client, rep, password,
                                                                    device_for):
    device_for(rep)
    sign_in(client, rep, password)
    assert client.post(reverse("accounts:set_language"),
                       {"language": "en", "next": "/"}).status_code == 302
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert SESSION_KEY not in client.session


def test_it_ignores_an_offsite_next_after_the_code(client, rep, password, device_for):
    device = device_for(rep)
    sign_in(client, rep, password)
    response = client.post(f"{reverse('accounts:otp_verify')}?next=https://evil.example.com/",
                           {"token": code_for(device), "next": "https://evil.example.com/"})
    assert response.status_code == 302
    assert response.url == reverse("home")


# --- required for Admins ------------------------------------------------------------------------
def test_it_forces_an_admin_without_device_to_set_it_up(client_for, admin, settings):
    settings.REQUIRE_2FA_FOR_ADMINS = True
    client = client_for(admin)

    for path in ("/", reverse("accounts:user_list"), reverse("accounts:profile")):
        response = client.get(path)
        assert response.status_code == 302
        assert response.url == reverse("accounts:otp_setup")
    assert "Admins must use two-factor login. Set it up to continue." in messages_of(response)
    page = client.get(reverse("accounts:otp_setup"))
    assert page.status_code == 200
    assert page.context["required"]
    assert shows(page, "Admins must use two-factor login.")

    device = TOTPDevice.objects.get(user=admin)
    client.post(reverse("accounts:otp_setup"), {"token": code_for(device)})
    assert client.get(reverse("accounts:user_list")).status_code == 200


def test_it_does_not_force_other_roles_to_set_it_up(client_for, rep, settings):
    settings.REQUIRE_2FA_FOR_ADMINS = True
    assert client_for(rep).get("/").status_code == 200


def test_it_asks_again_when_a_user_becomes_admin(client_for, second_client, admin, rep,
                                                 settings):
    settings.REQUIRE_2FA_FOR_ADMINS = True
    second_client.force_login(rep)
    assert second_client.get("/").status_code == 200
    services.user_update(actor=admin, user=rep, data={}, expected_version=rep.version,
                         role_groups=Group.objects.filter(name=roles.ADMIN), teams=[])
    response = second_client.get("/")
    assert response.status_code == 302
    assert response.url == reverse("accounts:otp_setup")


# --- turning it off -----------------------------------------------------------------------------
def test_it_needs_the_right_password_to_turn_it_off(verified_client_for, rep):
    client = verified_client_for(rep)
    assert client.get(reverse("accounts:otp_disable")).status_code == 200

    response = client.post(reverse("accounts:otp_disable"), {"password": "not my password"})

    assert response.status_code == 200
    assert response.context["form"].errors["password"] == ["That password is not right."]
    assert TOTPDevice.objects.filter(user=rep).count() == 1
    assert not events("user.two_factor_disabled").exists()


def test_it_turns_it_off_with_the_right_password(verified_client_for, rep, password):
    client = verified_client_for(rep)

    response = client.post(reverse("accounts:otp_disable"), {"password": password})

    assert response.status_code == 302
    assert response.url == reverse("accounts:profile")
    assert messages_of(response) == ["Two-factor login is off."]
    assert not TOTPDevice.objects.filter(user=rep).exists()
    assert events("user.two_factor_disabled", rep).get().actor == rep


def test_it_keeps_it_on_for_an_admin_when_required(verified_client_for, admin, password,
                                                   settings):
    settings.REQUIRE_2FA_FOR_ADMINS = True
    client = verified_client_for(admin)

    response = client.post(reverse("accounts:otp_disable"), {"password": password})

    assert response.status_code == 302
    assert messages_of(response) == [
        "Two-factor login is required for Admins and cannot be turned off."
    ]
    assert TOTPDevice.objects.filter(user=admin, confirmed=True).count() == 1
    assert not events("user.two_factor_disabled").exists()


def test_it_lets_an_admin_turn_it_off_when_not_required(verified_client_for, admin, password):
    client = verified_client_for(admin)
    response = client.post(reverse("accounts:otp_disable"), {"password": password})
    assert messages_of(response) == ["Two-factor login is off."]
    assert not TOTPDevice.objects.filter(user=admin).exists()


# --- reset by an Admin --------------------------------------------------------------------------
def test_it_lets_an_admin_reset_a_lost_authenticator(client_for, admin, rep, device_for,
                                                     second_client, password):
    device_for(rep)
    detail = client_for(admin).get(reverse("accounts:user_detail", kwargs={"uuid": rep.uuid}))
    assert detail.context["has_2fa"]

    response = client_for(admin).post(
        reverse("accounts:user_reset_two_factor", kwargs={"uuid": rep.uuid})
    )

    assert response.status_code == 302
    assert messages_of(response) == [f"Two-factor login of {rep} was reset."]
    assert not TOTPDevice.objects.filter(user=rep).exists()
    assert events("user.two_factor_reset", rep).get().actor == admin
    # The next sign-in needs the password only.
    sign_in(second_client, rep, password)
    assert second_client.get("/").status_code == 200
