"""The idle timeout and the language switcher."""

from __future__ import annotations

import time

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.middleware import LAST_SEEN_KEY, TOUCH_EVERY
from tests.accounts.helpers import shows

pytestmark = pytest.mark.django_db

IDLE_MESSAGE = ("You were signed out after a period of inactivity. Sign in again to "
                "continue.")


def last_seen(client, seconds_ago):
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - seconds_ago
    session.save()


# --- idle timeout -------------------------------------------------------------------------------
def test_it_signs_out_a_session_idle_for_too_long(client_for, rep, settings):
    settings.SESSION_IDLE_TIMEOUT = 60
    client = client_for(rep)
    last_seen(client, 61 + 5)

    response = client.get(reverse("accounts:profile"))

    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={reverse('accounts:profile')}"
    assert SESSION_KEY not in client.session
    login = client.get(response.url)
    assert login.status_code == 200
    assert shows(login, IDLE_MESSAGE)
    # Signed out for good: the next page asks for a sign-in again, without the message.
    again = client.get(reverse("home"))
    assert again.status_code == 302
    assert again.url.startswith(reverse("accounts:login"))


def test_it_keeps_an_active_session(client_for, rep, settings):
    settings.SESSION_IDLE_TIMEOUT = 60
    client = client_for(rep)
    last_seen(client, 30)
    stamp = client.session[LAST_SEEN_KEY]

    assert client.get(reverse("accounts:profile")).status_code == 200
    assert client.session[SESSION_KEY] == str(rep.pk)
    # Touched at most once a minute: no session write on every click.
    assert client.session[LAST_SEEN_KEY] == stamp


def test_it_refreshes_the_last_seen_time(client_for, rep, settings):
    settings.SESSION_IDLE_TIMEOUT = 3600
    client = client_for(rep)
    last_seen(client, TOUCH_EVERY + 10)

    assert client.get(reverse("home")).status_code == 200
    assert client.session[LAST_SEEN_KEY] >= int(time.time()) - 2


def test_it_stamps_a_fresh_session(client_for, rep):
    client = client_for(rep)
    assert LAST_SEEN_KEY not in client.session
    client.get(reverse("home"))
    assert abs(client.session[LAST_SEEN_KEY] - time.time()) < 5




def test_it_tells_htmx_to_go_to_the_login_page(client_for, admin, settings):
    settings.SESSION_IDLE_TIMEOUT = 60
    client = client_for(admin)
    last_seen(client, 120)

    response = client.get(reverse("accounts:user_list"), {"q": "x"},
                          headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(f"{reverse('accounts:login')}?next=")
    assert SESSION_KEY not in client.session


def test_it_tells_htmx_to_go_to_the_two_factor_page(client_for, rep, device_for):
    device_for(rep)
    response = client_for(rep).get(reverse("home"), headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("accounts:otp_verify"))


def test_it_leaves_anonymous_visitors_alone(client, settings):
    settings.SESSION_IDLE_TIMEOUT = 1
    assert client.get(reverse("accounts:login")).status_code == 200


# --- language -----------------------------------------------------------------------------------
def test_it_switches_the_language_of_an_anonymous_visitor(client):
    response = client.post(reverse("accounts:set_language"),
                           {"language": "zh-hans", "next": "/login/"})
    assert response.status_code == 302
    assert response.url == "/login/"
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"


def test_it_stores_the_language_on_the_user(client_for, rep):
    response = client_for(rep).post(reverse("accounts:set_language"),
                                    {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    rep.refresh_from_db()
    assert rep.language == "zh-hans"


def test_it_keeps_the_language_when_it_is_already_chosen(client_for, rep):
    response = client_for(rep).post(reverse("accounts:set_language"),
                                    {"language": "en", "next": "/"})
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.language == "en"


def test_it_starts_the_next_sign_in_in_the_chosen_language(client_for, client, rep, password):
    client_for(rep).post(reverse("accounts:set_language"), {"language": "zh-hans", "next": "/"})
    client.post(reverse("accounts:logout"))
    client.cookies.pop(django_settings.LANGUAGE_COOKIE_NAME, None)
    response = client.post(reverse("accounts:login"),
                           {"username": rep.email, "password": password})
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"


def test_it_ignores_an_unknown_language(client_for, rep):
    response = client_for(rep).post(reverse("accounts:set_language"),
                                    {"language": "xx", "next": "/"})
    assert response.status_code == 302
    assert django_settings.LANGUAGE_COOKIE_NAME not in response.cookies
    rep.refresh_from_db()
    assert rep.language == "en"


def test_it_starts_a_session_in_the_language_of_the_user(client, rep, password):
    rep.language = "zh-hans"
    rep.save()
    response = client.post(reverse("accounts:login"),
                           {"username": rep.email, "password": password})
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    page = client.get(reverse("home"))
    assert page.wsgi_request.LANGUAGE_CODE == "zh-hans"
