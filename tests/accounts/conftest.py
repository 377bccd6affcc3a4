"""Fixtures of the accounts tests."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _two_factor_not_required(settings):
    """The default follows DEBUG; tests that need the Admin rule switch it on themselves."""
    settings.REQUIRE_2FA_FOR_ADMINS = False


@pytest.fixture
def other_admin(db):
    return UserFactory(email="dan.admin@example.com", first_name="Dan", roles=[roles.ADMIN])


@pytest.fixture
def superuser(db):
    """A superuser outside the Admin group: may manage users, but is not counted as an Admin."""
    return UserFactory(email="root@example.com", first_name="Root", is_superuser=True,
                       is_staff=True)


@pytest.fixture
def second_client():
    """A second, separate browser."""
    return Client()


@pytest.fixture
def device_for(db):
    """device_for(user): a confirmed TOTP authenticator of that user."""

    def make(user):
        return TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)

    return make


@pytest.fixture
def verified_client_for(client, device_for):
    """verified_client_for(user): signed in and past the second step, as after a right code."""

    def sign_in(user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or device_for(user)
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    return sign_in


@pytest.fixture
def invitee(admin):
    """An invited user who has not chosen a password yet."""
    from django.utils import timezone

    user = UserFactory(email="ivy.invited@example.com", first_name="Ivy", roles=[roles.SALES],
                       invited_at=timezone.now(), invited_by=admin)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return user
