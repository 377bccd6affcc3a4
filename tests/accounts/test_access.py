"""Who may open which accounts page: anonymous, every role, and the Admin."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from tests.accounts.helpers import events

pytestmark = pytest.mark.django_db

ROLES_WITHOUT_ADMIN = ["manager", "rep", "analyst"]

# (url name, what the URL points at): the Admin-only pages answering GET.
ADMIN_PAGES = [
    ("accounts:user_list", None),
    ("accounts:user_invite", None),
    ("accounts:user_detail", "user"),
    ("accounts:team_list", None),
    ("accounts:team_create", None),
    ("accounts:team_edit", "team"),
]
# The Admin-only actions: POST only, on a user.
ADMIN_ACTIONS = [
    "accounts:user_deactivate",
    "accounts:user_activate",
    "accounts:user_resend_invite",
    "accounts:user_reset_two_factor",
]
# Every other page that needs a signed-in user.
MEMBER_PAGES = [
    "home",
    "accounts:profile",
    "accounts:password_change",
    "accounts:otp_setup",
    "accounts:otp_disable",
    "accounts:otp_verify",
]


def url_for(name, target, *, user=None, team=None):
    if target == "user":
        return reverse(name, kwargs={"uuid": user.uuid})
    if target == "team":
        return reverse(name, kwargs={"uuid": team.uuid})
    return reverse(name)


def login_redirect(path):
    return f"{reverse('accounts:login')}?next={path}"


# --- anonymous --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", MEMBER_PAGES)
def test_it_sends_anonymous_visitors_of_member_pages_to_sign_in(client, name):
    path = reverse(name)
    response = client.get(path)
    assert response.status_code == 302
    assert response.url == login_redirect(path)


@pytest.mark.parametrize(("name", "target"), ADMIN_PAGES)
def test_it_sends_anonymous_visitors_of_admin_pages_to_sign_in(client, invitee, team, name,
                                                               target):
    path = url_for(name, target, user=invitee, team=team)
    for response in (client.get(path), client.post(path, {"name": "x", "email": "x@x.com"})):
        assert response.status_code == 302
        assert response.url == login_redirect(path)
    assert events("user.invited").count() == 0
    assert events("team.created").count() == 0


@pytest.mark.parametrize("name", ADMIN_ACTIONS)
def test_it_sends_anonymous_admin_actions_to_sign_in_and_changes_nothing(client, invitee, name):
    path = reverse(name, kwargs={"uuid": invitee.uuid})
    version = invitee.version
    response = client.post(path)
    assert response.status_code == 302
    assert response.url == login_redirect(path)
    invitee.refresh_from_db()
    assert invitee.is_active
    assert invitee.version == version
    assert not events("user.deactivated").exists()


@pytest.mark.parametrize(
    "name",
    ["accounts:login", "accounts:password_reset", "accounts:password_reset_done",
     "accounts:password_reset_complete"],
)
def test_it_shows_sign_in_pages_to_anonymous_visitors(client, name):
    assert client.get(reverse(name)).status_code == 200


def test_it_shows_anonymous_visitors_the_dead_reset_link_page(client):
    path = reverse("accounts:password_reset_confirm",
                   kwargs={"uidb64": "MQ", "token": "abc-def"})
    response = client.get(path)
    assert response.status_code == 200
    assert "This link no longer works" in response.content.decode()


def test_it_answers_a_bad_invitation_link_with_400(client):
    path = reverse("accounts:invite_accept", kwargs={"uidb64": "MQ", "token": "abc-def"})
    response = client.get(path)
    assert response.status_code == 400
    assert "This invitation link does not work" in response.content.decode()


@pytest.mark.parametrize("name", ["accounts:logout", "accounts:set_language"])
def test_it_rejects_get_on_post_only_public_actions(client, name):
    assert client.get(reverse(name)).status_code == 405


# --- signed in, any role ------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES_WITHOUT_ADMIN)
@pytest.mark.parametrize(
    "name", ["home", "accounts:profile", "accounts:password_change", "accounts:otp_setup",
             "accounts:otp_disable"],
)
def test_it_shows_member_pages_to_every_role(client_for, request, role, name):
    client = client_for(request.getfixturevalue(role))
    assert client.get(reverse(name)).status_code == 200


def test_it_sends_a_user_without_authenticator_from_verify_to_home(client_for, rep):
    response = client_for(rep).get(reverse("accounts:otp_verify"))
    assert response.status_code == 302
    assert response.url == reverse("home")


def test_it_sends_a_signed_in_user_from_the_login_page_to_home(client_for, rep):
    response = client_for(rep).get(reverse("accounts:login"))
    assert response.status_code == 302
    assert response.url == reverse("home")


# --- Admin-only pages ---------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES_WITHOUT_ADMIN)
@pytest.mark.parametrize(("name", "target"), ADMIN_PAGES)
def test_it_forbids_admin_pages_to_other_roles(client_for, request, invitee, team, role, name,
                                               target):
    client = client_for(request.getfixturevalue(role))
    path = url_for(name, target, user=invitee, team=team)
    assert client.get(path).status_code == 403
    post = client.post(path, {"name": "Hijacked", "email": "evil@example.com",
                              "first_name": "Evil", "version": 1})
    assert post.status_code == 403
    invitee.refresh_from_db()
    team.refresh_from_db()
    assert invitee.first_name == "Ivy"
    assert team.name == "Sales East"
    assert not events("user.invited").exists()
    assert not events("team.created").exists()


@pytest.mark.parametrize("role", ROLES_WITHOUT_ADMIN)
@pytest.mark.parametrize("name", ADMIN_ACTIONS)
def test_it_forbids_admin_actions_to_other_roles(client_for, request, invitee, device_for,
                                                 mailbox, role, name):
    device_for(invitee)
    client = client_for(request.getfixturevalue(role))
    response = client.post(reverse(name, kwargs={"uuid": invitee.uuid}))
    assert response.status_code == 403
    invitee.refresh_from_db()
    assert invitee.is_active
    assert invitee.totpdevice_set.count() == 1
    assert mailbox.messages == []


@pytest.mark.parametrize(("name", "target"), ADMIN_PAGES)
def test_it_shows_admin_pages_to_an_admin(client_for, admin, invitee, team, name, target):
    response = client_for(admin).get(url_for(name, target, user=invitee, team=team))
    assert response.status_code == 200


@pytest.mark.parametrize("name", ADMIN_ACTIONS)
def test_it_lets_an_admin_post_actions_and_returns_to_the_user(client_for, admin, invitee,
                                                               mailbox, name):
    response = client_for(admin).post(reverse(name, kwargs={"uuid": invitee.uuid}))
    assert response.status_code == 302
    assert response.url == reverse("accounts:user_detail", kwargs={"uuid": invitee.uuid})


@pytest.mark.parametrize("name", ADMIN_ACTIONS)
def test_it_rejects_get_on_admin_actions(client_for, admin, invitee, name):
    response = client_for(admin).get(reverse(name, kwargs={"uuid": invitee.uuid}))
    assert response.status_code == 405
    invitee.refresh_from_db()
    assert invitee.is_active


@pytest.mark.parametrize(
    ("name", "method"),
    [("accounts:user_detail", "get"), ("accounts:user_detail", "post"),
     ("accounts:team_edit", "get"), ("accounts:team_edit", "post"),
     *[(name, "post") for name in ADMIN_ACTIONS]],
)
def test_it_answers_404_to_an_admin_for_an_unknown_uuid(client_for, admin, name, method):
    path = reverse(name, kwargs={"uuid": uuid.uuid4()})
    assert getattr(client_for(admin), method)(path).status_code == 404


def test_it_answers_404_for_a_malformed_uuid(client_for, admin):
    assert client_for(admin).get("/users/not-a-uuid/").status_code == 404
