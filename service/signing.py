"""Signed links for requesters (no login): follow a ticket, and answer its survey.

A token is django.core.signing over the ticket's uuid, with one salt per purpose, so a follow
token does not open the survey and the other way round. A bad or tampered token gives None
(the public views answer 404) and reveals nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.urls import reverse

FOLLOW_SALT = "service.ticket.follow"
SURVEY_SALT = "service.ticket.survey"
# The survey link is for the customer's answer after resolution; months later it is stale.
SURVEY_MAX_AGE = 60 * 60 * 24 * 90


def _dumps(ticket, salt: str) -> str:
    return signing.dumps(str(ticket.uuid), salt=salt, compress=False)


def _loads(token: str, salt: str, max_age: int | None = None):
    from service.models import Ticket

    try:
        value = signing.loads(str(token), salt=salt, max_age=max_age)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    try:
        return Ticket.objects.select_related("customer", "contact", "assignee").get(uuid=value)
    except (Ticket.DoesNotExist, ValidationError, ValueError, TypeError):
        return None


def ticket_token(ticket) -> str:
    return _dumps(ticket, FOLLOW_SALT)


def survey_token(ticket) -> str:
    return _dumps(ticket, SURVEY_SALT)


def ticket_link(ticket) -> str:
    """The absolute URL of the public follow page of the ticket."""
    return settings.SITE_URL + reverse("service_public:ticket", args=[ticket_token(ticket)])


def ticket_from_token(token: str):
    """The ticket of a follow token, or None."""
    return _loads(token, FOLLOW_SALT)


def survey_link(ticket) -> str:
    return settings.SITE_URL + reverse("service_public:survey", args=[survey_token(ticket)])


def survey_ticket_from_token(token: str):
    """The ticket of a survey token, or None (also when the token is older than 90 days)."""
    return _loads(token, SURVEY_SALT, max_age=SURVEY_MAX_AGE)
