"""Teams, managed by Admins: create, edit, optimistic locking, unique names, the list."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Team
from tests.accounts.helpers import events, messages_of
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

STALE = ("Someone else changed this record while you were editing it. Nothing was saved: "
         "reload the page to see their changes, then make yours again.")


def team_data(team=None, **overrides):
    data = {"name": "", "description": "", "manager": "", "members": []}
    if team is not None:
        data.update(name=team.name, description=team.description,
                    manager=team.manager_id or "",
                    members=list(team.members.values_list("pk", flat=True)),
                    version=team.version)
    data.update(overrides)
    return data


def edit_url(team):
    return reverse("accounts:team_edit", kwargs={"uuid": team.uuid})


def test_it_creates_a_team_with_its_manager_as_member(client_for, admin, manager, rep):
    response = client_for(admin).post(reverse("accounts:team_create"), team_data(
        name="Sales West", description="West coast", manager=manager.pk, members=[rep.pk]))

    assert response.status_code == 302
    assert response.url == reverse("accounts:team_list")
    assert messages_of(response) == ["Team Sales West was created."]
    team = Team.objects.get(name="Sales West")
    assert team.description == "West coast"
    assert team.manager == manager
    assert set(team.members.all()) == {manager, rep}
    event = events("team.created", team).get()
    assert event.actor == admin
    assert event.payload == {"name": "Sales West"}


def test_it_creates_a_team_without_manager_or_members(client_for, admin):
    client_for(admin).post(reverse("accounts:team_create"), team_data(name="Empty"))
    team = Team.objects.get(name="Empty")
    assert team.manager is None
    assert team.members.count() == 0


def test_it_refuses_a_duplicate_team_name(client_for, admin, team):
    response = client_for(admin).post(reverse("accounts:team_create"),
                                      team_data(name="Sales East"))
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["Team with this Name already exists."]
    assert Team.objects.filter(name="Sales East").count() == 1
    assert not events("team.created").exists()


def test_it_refuses_a_team_without_a_name(client_for, admin):
    response = client_for(admin).post(reverse("accounts:team_create"), team_data())
    assert response.context["form"].errors["name"] == ["This field is required."]
    assert not Team.objects.exists()


def test_it_offers_only_active_users_as_manager_and_members(client_for, admin, rep):
    rep.is_active = False
    rep.save()
    response = client_for(admin).post(reverse("accounts:team_create"), team_data(
        name="Ghosts", manager=rep.pk))
    assert "manager" in response.context["form"].errors
    assert not Team.objects.filter(name="Ghosts").exists()


def test_it_edits_a_team_and_adds_the_new_manager_to_members(client_for, admin, team, analyst,
                                                             rep):
    version = team.version

    response = client_for(admin).post(edit_url(team), team_data(
        team, name="Sales North", manager=analyst.pk, members=[rep.pk]))

    assert response.status_code == 302
    assert messages_of(response) == ["Team Sales North was saved."]
    team.refresh_from_db()
    assert team.name == "Sales North"
    assert team.manager == analyst
    assert set(team.members.all()) == {analyst, rep}
    assert team.version == version + 1
    event = events("team.updated", team).get()
    assert event.actor == admin
    assert sorted(event.payload["fields"]) == ["manager", "members", "name"]


def test_it_records_nothing_for_an_unchanged_team(client_for, admin, team):
    version = team.version
    response = client_for(admin).post(edit_url(team), team_data(team))
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.version == version
    assert not events("team.updated").exists()


def test_it_refuses_a_stale_team_edit(client_for, second_client, admin, other_admin, team,
                                      analyst):
    client = client_for(admin)
    opened = client.get(edit_url(team)).context["form"].initial["version"]
    second_client.force_login(other_admin)
    assert second_client.post(edit_url(team), team_data(
        team, description="Changed by Dan")).status_code == 302

    response = client.post(edit_url(team), team_data(
        team, version=opened, name="Overwritten", manager=analyst.pk, members=[]))

    assert response.status_code == 200
    assert list(response.context["form"].non_field_errors()) == [STALE]
    team.refresh_from_db()
    assert team.name == "Sales East"
    assert team.description == "Changed by Dan"
    assert team.manager.email == "mia.manager@example.com"
    assert team.members.count() == 2
    assert events("team.updated", team).count() == 1


def test_it_refuses_renaming_to_an_existing_name(client_for, admin, team):
    other = TeamFactory(name="Support")
    response = client_for(admin).post(edit_url(other), team_data(other, name="Sales East"))
    assert response.context["form"].errors["name"] == ["Team with this Name already exists."]
    other.refresh_from_db()
    assert other.name == "Support"


def test_it_lists_teams_with_manager_and_member_count(client_for, admin, team):
    TeamFactory(name="Alpha")
    response = client_for(admin).get(reverse("accounts:team_list"))
    rows = {t.name: t for t in response.context["page"].object_list}
    assert rows["Sales East"].member_count == 2
    assert rows["Sales East"].manager.first_name == "Mia"
    assert rows["Alpha"].member_count == 0


def test_it_searches_teams_by_name(client_for, admin, team):
    TeamFactory(name="Support Europe")
    response = client_for(admin).get(reverse("accounts:team_list"), {"q": "east"})
    assert [t.name for t in response.context["page"].object_list] == ["Sales East"]


@pytest.mark.filterwarnings("error::django.core.paginator.UnorderedObjectListWarning")
def test_it_lists_teams_in_name_order(client_for, admin):
    for name in ["Mango", "Zulu", "Alpha", "Kilo", "Bravo"]:
        TeamFactory(name=name)
    response = client_for(admin).get(reverse("accounts:team_list"))
    names = [t.name for t in response.context["page"].object_list]
    assert names == sorted(names)


def test_it_refuses_a_team_form_after_a_member_was_added_from_the_user_page(
    client_for, admin, team, analyst
):
    """Memberships are edited from two sides; the second save must not undo the first."""
    client = client_for(admin)
    team_version = team.version
    response = client.post(f"/users/{analyst.uuid}/", {
        "email": analyst.email, "first_name": analyst.first_name, "last_name": "",
        "title": "", "phone": "", "language": "en",
        "roles": [g.pk for g in analyst.groups.all()], "teams": [team.pk],
        "version": analyst.version,
    })
    assert response.status_code == 302
    response = client.post(f"/teams/{team.uuid}/", {
        "name": team.name, "description": "", "manager": team.manager_id,
        "members": [m.pk for m in team.members.exclude(pk=analyst.pk)],
        "version": team_version,
    })
    assert response.status_code == 200
    assert "Someone else changed this record" in response.content.decode()
    assert team.members.filter(pk=analyst.pk).exists()
