"""Inviting a user: the account, the e-mail through a real SMTP server, and the link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import roles
from accounts.models import User
from accounts.tokens import InviteTokenGenerator
from tests.accounts.helpers import events, link_path, messages_of, shows
from tests.conftest import Mailbox, free_port

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a fresh and long passphrase"


def invite_data(team=None, **overrides):
    data = {
        "email": "New.Person@Example.com",
        "first_name": "Nina",
        "last_name": "Newcomer",
        "title": "Account executive",
        "roles": [Group.objects.get(name=roles.SALES).pk,
                  Group.objects.get(name=roles.MARKETING).pk],
        "teams": [team.pk] if team else [],
    }
    data.update(overrides)
    return data


def invite(client, team=None, **overrides):
    return client.post(reverse("accounts:user_invite"), invite_data(team, **overrides))


def invite_path(user, token):
    return reverse("accounts:invite_accept",
                   kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                           "token": token})


def accept(client, path, password=NEW_PASSWORD):
    return client.post(path, {"new_password1": password, "new_password2": password})


@pytest.fixture
def invited(client_for, admin, team, mailbox):
    """Invite Nina through the page; returns (user, path of the e-mailed link)."""
    response = invite(client_for(admin), team)
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    [message] = mailbox.wait_for(1)
    return user, link_path(Mailbox.text_of(message))


def test_it_creates_the_invited_user_with_roles_teams_and_an_event(client_for, admin, team,
                                                                   mailbox):
    response = invite(client_for(admin), team)

    user = User.objects.get(email="new.person@example.com")
    assert response.status_code == 302
    assert response.url == reverse("accounts:user_detail", kwargs={"uuid": user.uuid})
    assert messages_of(response) == ["Invitation sent to new.person@example.com."]
    assert not user.has_usable_password()
    assert user.invitation_pending
    assert user.is_active
    assert user.invited_by == admin
    assert (user.first_name, user.last_name, user.title) == ("Nina", "Newcomer",
                                                             "Account executive")
    assert set(user.groups.values_list("name", flat=True)) == {roles.SALES, roles.MARKETING}
    assert list(user.teams.all()) == [team]
    assert not user.is_staff
    [event] = events("user.invited", user)
    assert event.actor == admin
    assert event.payload == {"email": "new.person@example.com",
                             "roles": [roles.MARKETING, roles.SALES]}


def test_it_emails_the_invitation_with_a_link_through_smtp(client_for, admin, team, mailbox):
    invite(client_for(admin), team)

    [message] = mailbox.wait_for(1)
    user = User.objects.get(email="new.person@example.com")
    assert message["To"] == "new.person@example.com"
    assert message["Subject"] == "You are invited to CRM"
    text = Mailbox.text_of(message)
    assert "Hello Nina," in text
    assert "Alice" in text  # the inviter
    assert "expires in 7 days" in text
    path = link_path(text)
    assert path.startswith("/invite/")
    assert path.split("/")[2] == urlsafe_base64_encode(force_bytes(user.pk))
    html = message.get_body(preferencelist=("html",)).get_content()
    assert path in html


def test_it_lets_the_invitee_set_a_password_then_sign_in_once(invited, second_client):
    user, path = invited

    page = second_client.get(path)
    assert page.status_code == 200
    assert shows(page, "Welcome, Nina")
    assert shows(page, "Choose a password for new.person@example.com.")
    assert 'name="new_password1"' in page.content.decode()

    response = accept(second_client, path)
    assert response.status_code == 302
    assert response.url == reverse("accounts:login")
    assert messages_of(response) == ["Welcome! Your password is set: sign in to start."]
    assert SESSION_KEY not in second_client.session  # setting the password signs nobody in
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not user.invitation_pending
    assert events("user.invite_accepted", user).get().actor == user

    login = second_client.post(reverse("accounts:login"),
                               {"username": "new.person@example.com", "password": NEW_PASSWORD})
    assert login.status_code == 302
    assert login.url == reverse("home")
    assert second_client.session[SESSION_KEY] == str(user.pk)


def test_it_refuses_the_link_once_it_was_used(invited, second_client):
    user, path = invited
    accept(second_client, path)

    for response in (second_client.get(path), accept(second_client, path, "another long secret")):
        assert response.status_code == 400
        assert shows(response, "This invitation link does not work")
        assert shows(response, "Nothing was changed.")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert events("user.invite_accepted", user).count() == 1


def test_it_refuses_a_weak_password_and_keeps_the_invitation_open(invited, second_client):
    user, path = invited
    response = accept(second_client, path, "short")
    assert response.status_code == 200
    assert shows(response, "This password is too short.")
    user.refresh_from_db()
    assert user.invitation_pending


def assert_dead_link(client, path, user):
    for response in (client.get(path), accept(client, path)):
        assert response.status_code == 400
        assert shows(response, "This invitation link does not work")
        assert shows(response, "It is invalid, has expired, or was already used. Nothing was "
                               "changed.")
    user.refresh_from_db()
    assert user.invitation_pending
    assert not user.has_usable_password()
    assert not events("user.invite_accepted").exists()


def test_it_refuses_a_bad_token(invited, second_client):
    user, path = invited
    uidb64, token = path.strip("/").split("/")[1:]
    forged = token[:-1] + ("a" if token[-1] != "a" else "b")
    assert_dead_link(second_client, invite_path(user, forged), user)
    assert_dead_link(second_client, invite_path(user, "not-a-token"), user)
    assert_dead_link(second_client, invite_path(user, "garbage"), user)


def test_it_refuses_a_tampered_uid(invited, second_client, rep, invitee):
    user, path = invited
    token = path.strip("/").split("/")[2]
    # The token of Nina does not open the account of another user, pending or not.
    assert_dead_link(second_client, invite_path(invitee, token), user)
    assert_dead_link(second_client, invite_path(rep, token), user)
    invitee.refresh_from_db()
    assert invitee.invitation_pending
    garbled = reverse("accounts:invite_accept", kwargs={"uidb64": "!!!", "token": token})
    assert_dead_link(second_client, garbled, user)


def test_it_refuses_an_expired_link(invited, second_client, monkeypatch, settings):
    user, path = invited
    real_now = InviteTokenGenerator._now
    monkeypatch.setattr(InviteTokenGenerator, "_now",
                        lambda self: real_now(self) + timedelta(days=6, hours=23))
    assert second_client.get(path).status_code == 200  # still inside INVITE_TIMEOUT (7 days)

    monkeypatch.setattr(InviteTokenGenerator, "_now",
                        lambda self: real_now(self) + timedelta(days=7, minutes=1))
    assert_dead_link(second_client, path, user)


def test_it_refuses_the_link_of_a_deactivated_invitee(invited, client_for, admin,
                                                      second_client):
    user, path = invited
    client_for(admin).post(reverse("accounts:user_deactivate", kwargs={"uuid": user.uuid}))
    assert_dead_link(second_client, path, user)


@pytest.mark.parametrize("email", ["alice.admin@example.com", "ALICE.Admin@Example.COM",
                                   "  alice.admin@example.com "])
def test_it_refuses_a_duplicate_email_in_any_case(client_for, admin, mailbox, email):
    before = User.objects.count()
    response = invite(client_for(admin), email=email)
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [
        "A user with this e-mail address already exists."
    ]
    assert User.objects.count() == before
    assert not events("user.invited").exists()
    assert mailbox.wait_for(1, timeout=0.5) == []


def test_it_refuses_an_invitation_without_roles(client_for, admin, mailbox):
    response = invite(client_for(admin), roles=[])
    assert response.status_code == 200
    assert response.context["form"].errors["roles"] == ["Give the user at least one role."]
    assert not User.objects.filter(email="new.person@example.com").exists()
    assert mailbox.wait_for(1, timeout=0.5) == []


def test_it_keeps_the_user_and_warns_when_the_mail_server_is_down(client_for, admin, settings):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }
    response = invite(client_for(admin))

    user = User.objects.get(email="new.person@example.com")
    assert response.status_code == 302
    assert messages_of(response) == [
        "new.person@example.com was added, but the invitation e-mail could not be sent. "
        "Use “Resend invitation” once mail works."
    ]
    assert user.invitation_pending
    assert events("user.invited", user).count() == 1


def test_it_resends_the_invitation_once_mail_works(client_for, admin, invitee, mailbox,
                                                  second_client):
    response = client_for(admin).post(
        reverse("accounts:user_resend_invite", kwargs={"uuid": invitee.uuid})
    )
    assert messages_of(response) == ["Invitation sent again to ivy.invited@example.com."]
    [message] = mailbox.wait_for(1)
    assert message["To"] == "ivy.invited@example.com"
    path = link_path(Mailbox.text_of(message))
    assert second_client.get(path).status_code == 200


def test_it_reports_a_failed_resend(client_for, admin, invitee, settings):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }
    response = client_for(admin).post(
        reverse("accounts:user_resend_invite", kwargs={"uuid": invitee.uuid})
    )
    assert response.status_code == 302
    assert messages_of(response) == [
        "The invitation e-mail could not be sent; check the mail server settings and try again."
    ]


def test_it_does_not_resend_an_accepted_invitation(client_for, admin, rep, mailbox):
    rep.invited_at = rep.date_joined
    rep.save()
    response = client_for(admin).post(
        reverse("accounts:user_resend_invite", kwargs={"uuid": rep.uuid})
    )
    assert response.status_code == 302
    assert messages_of(response) == ["This user has already accepted the invitation."]
    assert mailbox.wait_for(1, timeout=0.5) == []


def test_it_escapes_names_in_the_html_email(client_for, admin, mailbox):
    admin.first_name = "<b>Alice</b>"
    admin.save()
    invite(client_for(admin), first_name="<i>Nina</i>")
    [message] = mailbox.wait_for(1)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<b>Alice</b>" not in html
    assert "&lt;b&gt;Alice&lt;/b&gt;" in html
    assert "&lt;i&gt;Nina&lt;/i&gt;" in html
