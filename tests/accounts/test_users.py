"""User management by Admins: editing, optimistic locking, guards, (de)activation, the list."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.models import User
from tests.accounts.helpers import events, messages_of, shows
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

STALE = ("Someone else changed this record while you were editing it. Nothing was saved: "
         "reload the page to see their changes, then make yours again.")


def group_pks(*names):
    return [Group.objects.get(name=name).pk for name in names]


def edit_data(user, **overrides):
    """What the edit form posts when nothing is touched."""
    data = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "title": user.title,
        "phone": user.phone,
        "language": user.language,
        "version": user.version,
        "roles": list(user.groups.values_list("pk", flat=True)),
        "teams": list(user.teams.values_list("pk", flat=True)),
    }
    data.update(overrides)
    return data


def detail_url(user):
    return reverse("accounts:user_detail", kwargs={"uuid": user.uuid})


def action(client, name, user):
    return client.post(reverse(f"accounts:{name}", kwargs={"uuid": user.uuid}))


def non_field_errors(response):
    return list(response.context["form"].non_field_errors())


# --- editing ------------------------------------------------------------------------------------
def test_it_shows_the_edit_form_filled_in(client_for, admin, rep, team):
    response = client_for(admin).get(detail_url(rep))
    form = response.context["form"]
    assert form.initial["version"] == rep.version
    assert [g.name for g in form.initial["roles"]] == [roles.SALES]
    assert form.initial["teams"] == [team]
    assert shows(response, rep.email)


def test_it_saves_profile_roles_and_teams(client_for, admin, rep, team):
    other_team = TeamFactory(name="Key accounts")
    version = rep.version

    response = client_for(admin).post(detail_url(rep), edit_data(
        rep, first_name="Robert", title="Senior rep",
        roles=group_pks(roles.SALES, roles.MANAGER), teams=[other_team.pk],
    ))

    assert response.status_code == 302
    assert response.url == detail_url(rep)
    rep.refresh_from_db()
    assert messages_of(response) == [f"Changes to {rep} were saved."]
    assert (rep.first_name, rep.title) == ("Robert", "Senior rep")
    assert set(rep.groups.values_list("name", flat=True)) == {roles.SALES, roles.MANAGER}
    assert list(rep.teams.all()) == [other_team]
    assert rep.version > version
    updated = events("user.updated", rep).get()
    assert updated.actor == admin
    assert sorted(updated.payload["fields"]) == ["first_name", "teams", "title"]
    changed = events("user.roles_changed", rep).get()
    assert changed.payload == {"before": [roles.SALES], "after": [roles.MANAGER, roles.SALES]}


def test_it_makes_an_admin_staff_and_back(client_for, admin, rep):
    client = client_for(admin)
    client.post(detail_url(rep), edit_data(rep, roles=group_pks(roles.ADMIN)))
    rep.refresh_from_db()
    assert rep.is_staff
    assert rep.is_admin

    client.post(detail_url(rep), edit_data(rep, roles=group_pks(roles.SALES)))
    rep.refresh_from_db()
    assert not rep.is_staff


def test_it_records_nothing_when_nothing_changed(client_for, admin, rep, team):
    version = rep.version
    response = client_for(admin).post(detail_url(rep), edit_data(rep))
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.version == version
    assert not events("user.updated").exists()
    assert not events("user.roles_changed").exists()


def test_it_refuses_a_stale_form(client_for, admin, other_admin, second_client, rep, team):
    client = client_for(admin)
    opened = client.get(detail_url(rep)).context["form"].initial["version"]
    # Meanwhile another Admin saves a change.
    second_client.force_login(other_admin)
    saved = second_client.post(detail_url(rep), edit_data(rep, title="Changed by Dan"))
    assert saved.status_code == 302

    response = client.post(detail_url(rep), edit_data(
        rep, version=opened, first_name="Overwritten", roles=group_pks(roles.ANALYST), teams=[],
    ))

    assert response.status_code == 200
    assert non_field_errors(response) == [STALE]
    assert shows(response, "Someone else changed this record")
    rep.refresh_from_db()
    assert rep.title == "Changed by Dan"
    assert rep.first_name == "Bob"
    assert list(rep.groups.values_list("name", flat=True)) == [roles.SALES]
    assert list(rep.teams.all()) == [team]
    assert events("user.updated", rep).count() == 1
    assert not events("user.roles_changed").exists()


def test_it_refuses_a_duplicate_email_on_edit(client_for, admin, rep, manager):
    response = client_for(admin).post(detail_url(rep),
                                      edit_data(rep, email="MIA.manager@example.com"))
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [
        "A user with this e-mail address already exists."
    ]
    rep.refresh_from_db()
    assert rep.email == "bob.rep@example.com"


def test_it_stores_an_edited_email_in_lower_case(client_for, admin, rep):
    client_for(admin).post(detail_url(rep), edit_data(rep, email="Robert@Example.com"))
    rep.refresh_from_db()
    assert rep.email == "robert@example.com"


def test_it_refuses_an_edit_without_roles(client_for, admin, rep):
    response = client_for(admin).post(detail_url(rep), edit_data(rep, roles=[]))
    assert response.context["form"].errors["roles"] == ["Give the user at least one role."]
    assert list(rep.groups.values_list("name", flat=True)) == [roles.SALES]


# --- guards -------------------------------------------------------------------------------------
def test_it_refuses_to_remove_the_admin_role_from_yourself(client_for, admin, other_admin):
    version = User.objects.get(pk=admin.pk).version
    response = client_for(admin).post(detail_url(admin), edit_data(
        admin, first_name="Changed", roles=group_pks(roles.MANAGER)))

    assert response.status_code == 200
    assert non_field_errors(response) == ["You cannot remove the Admin role from yourself."]
    admin.refresh_from_db()
    assert admin.is_admin
    assert admin.first_name == "Alice"
    assert admin.version == version
    assert not events("user.roles_changed").exists()


def test_it_refuses_to_deactivate_yourself(client_for, admin, other_admin):
    response = action(client_for(admin), "user_deactivate", admin)
    assert response.status_code == 302
    assert messages_of(response) == ["You cannot deactivate your own account."]
    admin.refresh_from_db()
    assert admin.is_active
    assert not events("user.deactivated").exists()


def test_it_refuses_to_deactivate_the_last_active_admin(client_for, superuser, admin):
    response = action(client_for(superuser), "user_deactivate", admin)
    assert messages_of(response) == ["This is the last active Admin and cannot be deactivated."]
    admin.refresh_from_db()
    assert admin.is_active


def test_it_refuses_to_strip_the_last_active_admin(client_for, superuser, admin):
    response = client_for(superuser).post(detail_url(admin), edit_data(
        admin, roles=group_pks(roles.MANAGER)))
    assert non_field_errors(response) == [
        "This is the last active Admin; give another user the Admin role first."
    ]
    admin.refresh_from_db()
    assert admin.is_admin


def test_it_lets_an_admin_deactivate_another_admin(client_for, admin, other_admin):
    action(client_for(admin), "user_deactivate", other_admin)
    other_admin.refresh_from_db()
    assert not other_admin.is_active


# --- deactivation -------------------------------------------------------------------------------
def test_it_deactivates_a_user_and_ends_their_session(client_for, admin, rep, second_client,
                                                      password):
    second_client.force_login(rep)
    assert second_client.get("/").status_code == 200
    version = rep.version

    response = action(client_for(admin), "user_deactivate", rep)

    assert response.status_code == 302
    assert response.url == detail_url(rep)
    assert messages_of(response) == [f"{rep} was deactivated and can no longer sign in."]
    rep.refresh_from_db()
    assert not rep.is_active
    assert rep.version == version + 1
    assert events("user.deactivated", rep).get().actor == admin
    # The open session of the user no longer works, nor does a new sign-in.
    page = second_client.get("/")
    assert page.status_code == 302
    assert page.url.startswith(reverse("accounts:login"))
    assert second_client.get(reverse("accounts:profile")).status_code == 302
    login = second_client.post(reverse("accounts:login"),
                               {"username": rep.email, "password": password})
    assert login.status_code == 200


def test_it_reactivates_a_user(client_for, admin, rep, second_client, password):
    client = client_for(admin)
    action(client, "user_deactivate", rep)

    response = action(client, "user_activate", rep)

    assert messages_of(response)[-1] == f"{rep} can sign in again."
    rep.refresh_from_db()
    assert rep.is_active
    assert events("user.activated", rep).get().actor == admin
    login = second_client.post(reverse("accounts:login"),
                               {"username": rep.email, "password": password})
    assert login.status_code == 302


def test_it_does_not_revive_old_sessions_on_reactivation(client_for, admin, rep, second_client):
    second_client.force_login(rep)
    client = client_for(admin)
    action(client, "user_deactivate", rep)
    action(client, "user_activate", rep)
    response = second_client.get("/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_it_does_nothing_when_activating_an_active_user(client_for, admin, rep):
    version = rep.version
    action(client_for(admin), "user_activate", rep)
    rep.refresh_from_db()
    assert rep.version == version
    assert not events("user.activated").exists()


# --- the list -----------------------------------------------------------------------------------
@pytest.fixture
def people(admin, manager, rep, analyst, team, invitee):
    gone = UserFactory(email="zed.gone@example.com", first_name="Zed", last_name="Gone",
                       roles=[roles.SUPPORT], is_active=False)
    everyone = {"admin": admin, "manager": manager, "rep": rep, "analyst": analyst,
                "invitee": invitee, "gone": gone}
    # Fixed surnames, so the expected order does not depend on Faker or on the collation.
    for user, last_name in zip(everyone.values(), ["Evans", "Baker", "Foster", "Adams",
                                                    "Davis", "Carter"], strict=True):
        User.objects.filter(pk=user.pk).update(last_name=last_name)
    return everyone


def listed(client, **params):
    response = client.get(reverse("accounts:user_list"), params)
    assert response.status_code == 200
    return {u.email for u in response.context["page"].object_list}


def test_it_lists_every_user(client_for, people):
    assert listed(client_for(people["admin"])) == {u.email for u in people.values()}


@pytest.mark.parametrize(("q", "expected"), [
    ("bob", {"bob.rep@example.com"}),
    ("BOB", {"bob.rep@example.com"}),
    ("mia.manager@", {"mia.manager@example.com"}),
    ("Gone", {"zed.gone@example.com"}),
    ("  carol ", {"carol.analyst@example.com"}),
    ("nobody-matches", set()),
])
def test_it_searches_by_name_and_email(client_for, people, q, expected):
    assert listed(client_for(people["admin"]), q=q) == expected


def test_it_filters_by_role(client_for, people):
    client = client_for(people["admin"])
    assert listed(client, role=roles.SALES) == {"bob.rep@example.com", "ivy.invited@example.com"}
    assert listed(client, role=roles.ADMIN) == {"alice.admin@example.com"}


def test_it_filters_by_team(client_for, people, team):
    assert listed(client_for(people["admin"]), team=str(team.uuid)) == {
        "mia.manager@example.com", "bob.rep@example.com"}


@pytest.mark.parametrize(("status", "expected"), [
    ("inactive", {"zed.gone@example.com"}),
    ("invited", {"ivy.invited@example.com"}),
])
def test_it_filters_by_status(client_for, people, status, expected):
    assert listed(client_for(people["admin"]), status=status) == expected


def test_it_filters_active_users(client_for, people):
    active = listed(client_for(people["admin"]), status="active")
    assert "zed.gone@example.com" not in active
    assert len(active) == 5


def test_it_orders_the_list(client_for, people):
    client = client_for(people["admin"])

    def emails(ordering):
        response = client.get(reverse("accounts:user_list"), {"ordering": ordering})
        return [u.email for u in response.context["page"].object_list]

    everyone = sorted(u.email for u in people.values())
    assert emails("email") == everyone
    assert emails("-email") == everyone[::-1]
    assert emails("name") == ["carol.analyst@example.com", "mia.manager@example.com",
                              "zed.gone@example.com", "ivy.invited@example.com",
                              "alice.admin@example.com", "bob.rep@example.com"]
    assert emails("-name")[0] == "bob.rep@example.com"


def test_it_combines_filters(client_for, people, team):
    assert listed(client_for(people["admin"]), role=roles.SALES, team=str(team.uuid),
                  q="bob", status="active") == {"bob.rep@example.com"}


@pytest.mark.parametrize("params", [
    {"role": "Nope"},
    {"status": "bogus"},
    {"team": "not-a-uuid"},
    {"team": "00000000-0000-0000-0000-000000000000"},
    {"ordering": "password"},
    {"page": "abc"},
    {"page": "999"},
    {"page": "-1"},
    {"role": "Nope", "status": "bogus", "page": "abc", "ordering": "-nothing"},
])
def test_it_survives_bad_filter_values(client_for, people, params):
    response = client_for(people["admin"]).get(reverse("accounts:user_list"), params)
    assert response.status_code == 200
    assert response.context["page"].number >= 1
    if set(params) - {"page"}:
        assert shows(response, "Some filters were not valid and were ignored:")


def test_it_ignores_a_bad_filter_but_keeps_the_good_ones(client_for, people):
    assert listed(client_for(people["admin"]), role="Nope", q="bob") == {"bob.rep@example.com"}


def test_it_pages_the_list(client_for, admin):
    UserFactory.create_batch(55)
    client = client_for(admin)
    first = client.get(reverse("accounts:user_list")).context["page"]
    second = client.get(reverse("accounts:user_list"), {"page": 2}).context["page"]
    assert first.paginator.count == 56
    assert len(first.object_list) == 50
    assert len(second.object_list) == 6
    assert not {u.pk for u in first.object_list} & {u.pk for u in second.object_list}


def test_it_answers_htmx_with_the_results_only(client_for, people):
    response = client_for(people["admin"]).get(reverse("accounts:user_list"), {"q": "bob"},
                                               headers={"HX-Request": "true"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" not in content
    assert "bob.rep@example.com" in content
    assert "alice.admin@example.com" not in content


# --- own profile --------------------------------------------------------------------------------
def profile_data(user, **overrides):
    data = {"first_name": user.first_name, "last_name": user.last_name, "title": user.title,
            "phone": user.phone, "language": user.language, "version": user.version}
    data.update(overrides)
    return data




def test_it_saves_the_own_profile(client_for, rep):
    response = client_for(rep).post(reverse("accounts:profile"),
                                    profile_data(rep, title="Closer", language="zh-hans"))
    assert response.status_code == 302
    assert messages_of(response) == ["Your profile was saved."]
    assert response.cookies["django_language"].value == "zh-hans"
    rep.refresh_from_db()
    assert (rep.title, rep.language) == ("Closer", "zh-hans")
    assert events("user.updated", rep).get().payload == {"fields": ["title", "language"]}


def test_it_refuses_a_stale_profile_form(client_for, rep, admin):
    rep.title = "Set by the Admin"
    rep.version += 1
    rep.save()
    response = client_for(rep).post(reverse("accounts:profile"),
                                    profile_data(rep, version=rep.version - 1, title="Mine"))
    assert response.status_code == 200
    assert messages_of(response) == [STALE]
    rep.refresh_from_db()
    assert rep.title == "Set by the Admin"


def test_it_shows_who_invited_a_pending_user(client_for, admin, invitee):
    response = client_for(admin).get(detail_url(invitee))
    assert shows(response, "Invitation pending")
    assert shows(response, "Resend invitation")
    assert invitee.invited_at <= timezone.now()
