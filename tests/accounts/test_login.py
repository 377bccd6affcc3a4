"""Sign-in, lockout after repeated failures, password reset by e-mail and password change."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from tests.accounts.helpers import card_text, link_path, messages_of, shows
from tests.conftest import Mailbox

pytestmark = pytest.mark.django_db

NO_MATCH = "That e-mail address and password do not match an active account."
NEW_PASSWORD = "a brand new long passphrase"


def sign_in(client, email, password):
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def form_errors(response):
    return response.context["form"].non_field_errors()


# --- sign-in ------------------------------------------------------------------------------------
def test_it_signs_in_with_email_and_password(client, rep, password):
    response = sign_in(client, "bob.rep@example.com", password)
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert client.session[SESSION_KEY] == str(rep.pk)
    assert response.cookies["django_language"].value == "en"
    rep.refresh_from_db()
    assert rep.last_login is not None


def test_it_follows_a_safe_next_after_sign_in(client, rep, password):
    response = client.post(f"{reverse('accounts:login')}?next=/account/",
                           {"username": rep.email, "password": password, "next": "/account/"})
    assert response.url == "/account/"


def test_it_ignores_an_offsite_next(client, rep, password):
    response = client.post(reverse("accounts:login"),
                           {"username": rep.email, "password": password,
                            "next": "https://evil.example.com/"})
    assert response.url == reverse("home")


@pytest.mark.parametrize("email", ["BOB.REP@EXAMPLE.COM", "Bob.Rep@Example.com",
                                   " bob.rep@example.com "])
def test_it_signs_in_with_the_email_in_any_case(client, rep, password, email):
    response = sign_in(client, email, password)
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(rep.pk)


def test_it_refuses_a_wrong_password_without_saying_the_account_exists(client, rep):
    wrong = sign_in(client, rep.email, "not the password")
    unknown = sign_in(client, "nobody@example.com", "not the password")

    for response in (wrong, unknown):
        assert response.status_code == 200
        assert form_errors(response) == [NO_MATCH]
        assert shows(response, NO_MATCH)
        assert SESSION_KEY not in client.session
    assert card_text(wrong.content).replace(rep.email, "X") == \
        card_text(unknown.content).replace("nobody@example.com", "X")


def test_it_refuses_an_inactive_user_with_the_same_message(client, rep, password):
    rep.is_active = False
    rep.save()
    response = sign_in(client, rep.email, password)
    assert response.status_code == 200
    assert form_errors(response) == [NO_MATCH]
    assert SESSION_KEY not in client.session


def test_it_refuses_an_invited_user_without_password(client, invitee):
    response = sign_in(client, invitee.email, "")
    assert response.status_code == 200
    assert SESSION_KEY not in client.session


def test_it_signs_out_on_post(client_for, rep):
    client = client_for(rep)
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response.url == reverse("accounts:login")
    assert SESSION_KEY not in client.session


# --- lockout (django-axes) ----------------------------------------------------------------------
LOCKOUT_TEXT = "There were too many failed sign-in attempts."


def fail_until_locked(client, email, settings):
    responses = [sign_in(client, email, "wrong password") for _ in
                 range(settings.AXES_FAILURE_LIMIT)]
    assert [r.status_code for r in responses[:-1]] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    return responses[-1]


def test_it_locks_sign_in_after_too_many_failures(client, rep, password, settings):
    locked = fail_until_locked(client, rep.email, settings)

    assert locked.status_code == 429
    assert shows(locked, "Sign-in paused")
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert shows(locked, f"{LOCKOUT_TEXT} For your security, signing in from here is paused "
                         f"for {minutes} minutes.")
    assert shows(locked, "If you have forgotten your password, you can reset it now.")
    # Even the right password is refused while the lock holds.
    right = sign_in(client, rep.email, password)
    assert right.status_code == 429
    assert SESSION_KEY not in client.session
    assert AccessAttempt.objects.filter(username=rep.email).exists()


def test_it_shows_the_same_lockout_for_an_unknown_address(client, rep, settings):
    known = fail_until_locked(client, rep.email, settings)
    unknown = fail_until_locked(client, "nobody@example.com", settings)

    assert known.status_code == unknown.status_code == 429
    assert card_text(known.content) == card_text(unknown.content)


def test_it_counts_failures_for_the_address_in_any_case(client, rep, password, settings):
    variants = ["bob.rep@example.com", "BOB.REP@example.com", "Bob.Rep@Example.com"]
    for i in range(settings.AXES_FAILURE_LIMIT):
        response = sign_in(client, variants[i % len(variants)], "wrong password")
    assert response.status_code == 429
    assert sign_in(client, "BOB.rep@EXAMPLE.com", password).status_code == 429


def test_it_does_not_lock_a_colleague_out(client, rep, manager, password, settings):
    fail_until_locked(client, rep.email, settings)
    response = sign_in(client, manager.email, password)
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(manager.pk)


def test_it_resets_the_failure_count_after_a_success(client, rep, password, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, rep.email, "wrong password")
    assert sign_in(client, rep.email, password).status_code == 302
    client.post(reverse("accounts:logout"))
    response = sign_in(client, rep.email, "wrong password")
    assert response.status_code == 200
    assert form_errors(response) == [NO_MATCH]


# --- password reset -----------------------------------------------------------------------------
def request_reset(client, email):
    return client.post(reverse("accounts:password_reset"), {"email": email})


def test_it_resets_a_forgotten_password_by_email(client, rep, password, mailbox):
    response = request_reset(client, "Bob.Rep@Example.com")
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_done")
    done = client.get(response.url)
    assert shows(done, "Check your e-mail")

    [message] = mailbox.wait_for(1)
    assert message["To"] == "bob.rep@example.com"
    assert message["Subject"] == "Reset your CRM password"
    text = Mailbox.text_of(message)
    assert "(bob.rep@example.com)" in text
    path = link_path(text)
    assert path.startswith("/password/reset/")

    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    assert shows(form_page, "Choose a new password")
    set_url = form_page.redirect_chain[-1][0]
    saved = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert saved.status_code == 302
    assert saved.url == reverse("accounts:password_reset_complete")

    rep.refresh_from_db()
    assert rep.check_password(NEW_PASSWORD)
    assert not rep.check_password(password)
    assert sign_in(client, rep.email, password).status_code == 200
    assert sign_in(client, rep.email, NEW_PASSWORD).status_code == 302

    # The link worked once.
    client.post(reverse("accounts:logout"))
    again = client.get(path, follow=True)
    assert shows(again, "This link no longer works")


def test_it_shows_a_dead_reset_link_and_changes_nothing(client, rep, password, mailbox):
    request_reset(client, rep.email)
    [message] = mailbox.wait_for(1)
    path = link_path(Mailbox.text_of(message))
    forged = path.rstrip("/")[:-1] + ("a" if not path.rstrip("/").endswith("a") else "b") + "/"

    page = client.get(forged, follow=True)
    assert page.status_code == 200
    assert shows(page, "This link no longer works")
    assert shows(page, "Nothing was changed.")
    post = client.post(forged, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert shows(post, "This link no longer works")
    rep.refresh_from_db()
    assert rep.check_password(password)


def test_it_looks_the_same_for_an_unknown_address_and_sends_nothing(client, mailbox):
    response = request_reset(client, "nobody@example.com")
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_done")
    assert mailbox.wait_for(1, timeout=1) == []


def test_it_sends_no_reset_to_a_deactivated_user(client, rep, mailbox):
    rep.is_active = False
    rep.save()
    response = request_reset(client, rep.email)
    assert response.url == reverse("accounts:password_reset_done")
    assert mailbox.wait_for(1, timeout=1) == []


# --- password change ----------------------------------------------------------------------------
def change(client, old, new=NEW_PASSWORD):
    return client.post(reverse("accounts:password_change"),
                       {"old_password": old, "new_password1": new, "new_password2": new})


def test_it_refuses_a_password_change_with_a_wrong_old_password(client_for, rep, password):
    response = change(client_for(rep), "not my password")
    assert response.status_code == 200
    assert response.context["form"].errors["old_password"] == [
        "Your old password was entered incorrectly. Please enter it again."
    ]
    rep.refresh_from_db()
    assert rep.check_password(password)


def test_it_refuses_new_passwords_that_differ(client_for, rep, password):
    response = client_for(rep).post(reverse("accounts:password_change"), {
        "old_password": password, "new_password1": NEW_PASSWORD, "new_password2": "other one!"})
    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"] == [
        "The two password fields didn’t match."
    ]
    rep.refresh_from_db()
    assert rep.check_password(password)


def test_it_changes_the_password_and_keeps_the_session(client_for, rep, password):
    client = client_for(rep)
    response = change(client, password)
    assert response.status_code == 302
    assert response.url == reverse("accounts:profile")
    assert messages_of(response) == ["Your password was changed."]
    rep.refresh_from_db()
    assert rep.check_password(NEW_PASSWORD)
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_it_ends_other_sessions_after_a_password_change(client_for, second_client, rep,
                                                        password):
    second_client.force_login(rep)
    change(client_for(rep), password)
    response = second_client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
