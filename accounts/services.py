"""Writes of the accounts app. Each runs in one transaction and records a business event."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from accounts.models import Team, User, normalize_email
from accounts.selectors import active_admin_count
from accounts.tokens import invite_token_generator
from crm.events import event_record
from crm.exceptions import ApplicationError
from crm.services import bump_versions, model_update

logger = logging.getLogger(__name__)

LAST_ADMIN_LOCK = 7_316_001  # an arbitrary, project-wide advisory lock number


def send_templated_email(*, template: str, to: str, context: dict, language: str = "en") -> None:
    """Render `<template>_subject.txt`, `_body.txt` and `_body.html`, and send them."""
    with translation.override(language):
        context = {"site_name": settings.SITE_NAME, **context}
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        text = render_to_string(f"{template}_body.txt", context)
        html = render_to_string(f"{template}_body.html", context)
    message = EmailMultiAlternatives(" ".join(subject.splitlines()), text, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()


def _lock_admins() -> None:
    """Serialize changes that could leave no active Admin (two Admins demoting each other)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LAST_ADMIN_LOCK])


def _set_roles(user: User, role_groups: Iterable[Group]) -> None:
    groups = list(role_groups)
    user.groups.set(groups)
    # A new version makes open edit forms stale and re-runs the two-factor gate.
    user.is_staff = any(g.name == roles.ADMIN for g in groups)
    user.version += 1
    user.save(update_fields=["is_staff", "version", "updated_at"])
    user.__dict__.pop("role_names", None)


@transaction.atomic
def user_invite(
    *,
    actor: User,
    email: str,
    first_name: str,
    last_name: str = "",
    title: str = "",
    role_groups: Iterable[Group],
    teams: Iterable[Team] = (),
) -> User:
    """Create an account without a password; the invitee sets one through the e-mailed link."""
    user = User(
        email=normalize_email(email),
        first_name=first_name,
        last_name=last_name,
        title=title,
        invited_at=timezone.now(),
        invited_by=actor,
        language=actor.language,
    )
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    role_groups = list(role_groups)
    _set_roles(user, role_groups)
    teams = list(teams)
    user.teams.set(teams)
    bump_versions(Team, {t.pk for t in teams})
    event_record(
        name="user.invited",
        actor=actor,
        subject=user,
        payload={"email": user.email, "roles": sorted(g.name for g in role_groups)},
    )
    return user


def invite_link(user: User) -> str:
    path = reverse(
        "accounts:invite_accept",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": invite_token_generator.make_token(user),
        },
    )
    return f"{settings.SITE_URL}{path}"


def user_send_invite(*, user: User, actor: User) -> bool:
    """E-mail the invitation; returns False (and logs) when the mail server refused it."""
    if not user.invitation_pending:
        raise ApplicationError(_("This user has already accepted the invitation."))
    try:
        send_templated_email(
            template="accounts/email/invite",
            to=user.email,
            language=user.language,
            context={
                "user": user,
                "inviter": actor,
                "link": invite_link(user),
                "days": settings.INVITE_TIMEOUT // 86400,
            },
        )
    except OSError:
        logger.exception("invitation e-mail to user %s failed", user.pk)
        return False
    return True


@transaction.atomic
def invite_accept(*, user: User, password: str) -> User:
    user.set_password(password)
    user.save(update_fields=["password"])
    event_record(name="user.invite_accepted", actor=user, subject=user)
    return user


@transaction.atomic
def user_update(
    *,
    actor: User,
    user: User,
    data: dict,
    role_groups: Iterable[Group],
    teams: Iterable[Team],
    expected_version: int,
) -> User:
    """Edit a user's profile, roles and teams; refuses to strip the last active Admin."""
    role_groups = list(role_groups)
    new_roles = {g.name for g in role_groups}
    old_roles = set(user.groups.values_list("name", flat=True))
    if roles.ADMIN in old_roles and roles.ADMIN not in new_roles:
        _lock_admins()
        if user.pk == actor.pk:
            raise ApplicationError(_("You cannot remove the Admin role from yourself."))
        if user.is_active and active_admin_count() <= 1:
            raise ApplicationError(_("This is the last active Admin; give another user the "
                                     "Admin role first."))
    user, changed = model_update(
        instance=user,
        data={**data, "teams": list(teams)},
        expected_version=expected_version,
    )
    if new_roles != old_roles:
        _set_roles(user, role_groups)
        event_record(
            name="user.roles_changed",
            actor=actor,
            subject=user,
            payload={"before": sorted(old_roles), "after": sorted(new_roles)},
        )
    if changed:
        event_record(name="user.updated", actor=actor, subject=user, payload={"fields": changed})
    return user


@transaction.atomic
def user_set_active(*, actor: User, user: User, active: bool) -> User:
    """Deactivate (never delete) or reactivate an account; sessions end with deactivation."""
    if user.is_active == active:
        return user
    if not active:
        if user.pk == actor.pk:
            raise ApplicationError(_("You cannot deactivate your own account."))
        _lock_admins()
        if roles.ADMIN in user.role_names and active_admin_count() <= 1:
            raise ApplicationError(_("This is the last active Admin and cannot be deactivated."))
    user.is_active = active
    user.version += 1
    fields = ["is_active", "version", "updated_at"]
    if not active:
        # Every open session of the user ends now, and stays ended after a reactivation.
        user.session_epoch += 1
        fields.append("session_epoch")
    user.save(update_fields=fields)
    event_record(
        name="user.activated" if active else "user.deactivated", actor=actor, subject=user
    )
    return user


@transaction.atomic
def user_reset_two_factor(*, actor: User, user: User) -> int:
    """Remove a user's authenticator devices (for a lost phone) and end their sessions; they
    sign in again and, where required, set up a new authenticator."""
    deleted, _per_model = TOTPDevice.objects.filter(user=user).delete()
    if not deleted:
        raise ApplicationError(_("This user has no two-factor login to reset."))
    user.session_epoch += 1
    user.save(update_fields=["session_epoch"])
    event_record(name="user.two_factor_reset", actor=actor, subject=user)
    return deleted


@transaction.atomic
def profile_update(*, user: User, data: dict, expected_version: int) -> User:
    user, changed = model_update(instance=user, data=data, expected_version=expected_version)
    if changed:
        event_record(name="user.updated", actor=user, subject=user, payload={"fields": changed})
    return user


def user_set_language(*, user: User, language: str) -> None:
    """Remember the interface language on the account (a preference: no version bump)."""
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


@transaction.atomic
def two_factor_confirm(*, user: User, device: TOTPDevice) -> None:
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    # Other sessions, signed in without a code, end; the view keeps the current one.
    user.session_epoch += 1
    user.save(update_fields=["session_epoch"])
    event_record(name="user.two_factor_enabled", actor=user, subject=user)


@transaction.atomic
def two_factor_disable(*, user: User) -> None:
    if settings.REQUIRE_2FA_FOR_ADMINS and user.is_admin:
        raise ApplicationError(_("Two-factor login is required for Admins and cannot be "
                                 "turned off."))
    if not TOTPDevice.objects.filter(user=user).delete()[0]:
        raise ApplicationError(_("Two-factor login is not on."))
    event_record(name="user.two_factor_disabled", actor=user, subject=user)


@transaction.atomic
def team_create(*, actor: User, data: dict, members: Iterable[User]) -> Team:
    team = Team(**data)
    team.full_clean()
    team.save()
    members = list(members)
    team.members.set(members)
    bump_versions(User, {m.pk for m in members})
    event_record(name="team.created", actor=actor, subject=team, payload={"name": team.name})
    return team


@transaction.atomic
def team_update(
    *, actor: User, team: Team, data: dict, members: Iterable[User], expected_version: int
) -> Team:
    team, changed = model_update(
        instance=team, data={**data, "members": list(members)}, expected_version=expected_version
    )
    if changed:
        event_record(name="team.updated", actor=actor, subject=team, payload={"fields": changed})
    return team


def login_records_prune() -> int:
    """Delete failed-attempt and access-log rows older than the retention period."""
    from datetime import timedelta

    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    cutoff = timezone.now() - timedelta(days=settings.LOGIN_LOG_RETENTION_DAYS)
    deleted = 0
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        deleted += model.objects.filter(attempt_time__lt=cutoff).delete()[0]
    return deleted
