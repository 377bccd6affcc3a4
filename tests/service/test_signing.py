"""Signed tokens of the public pages: round trip, one purpose each, tampering refused."""

from __future__ import annotations

import pytest
from django.core import signing as django_signing

from service import signing
from service.models import Ticket
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_a_follow_token_gives_its_ticket_back():
    ticket = TicketFactory()
    assert signing.ticket_from_token(signing.ticket_token(ticket)) == ticket


def test_a_survey_token_gives_its_ticket_back():
    ticket = TicketFactory()
    assert signing.survey_ticket_from_token(signing.survey_token(ticket)) == ticket


def test_tokens_do_not_open_the_other_purpose():
    ticket = TicketFactory()
    assert signing.survey_ticket_from_token(signing.ticket_token(ticket)) is None
    assert signing.ticket_from_token(signing.survey_token(ticket)) is None


@pytest.mark.parametrize("token", ["", "garbage", "a:b:c", None, "x" * 500])
def test_bad_tokens_give_none(token):
    assert signing.ticket_from_token(token) is None
    assert signing.survey_ticket_from_token(token) is None


def test_a_tampered_token_gives_none():
    ticket, other = TicketFactory(), TicketFactory()
    token = signing.ticket_token(ticket)
    forged = signing.ticket_token(other).split(":")[0] + ":" + token.split(":", 1)[1]
    assert signing.ticket_from_token(forged) is None


def test_a_token_for_a_deleted_ticket_gives_none():
    ticket = TicketFactory()
    token = signing.ticket_token(ticket)
    Ticket.objects.filter(pk=ticket.pk).delete()
    assert signing.ticket_from_token(token) is None


def test_a_signed_non_uuid_gives_none():
    token = django_signing.dumps("not-a-uuid", salt=signing.FOLLOW_SALT)
    assert signing.ticket_from_token(token) is None


def test_links_are_absolute_urls_of_the_public_pages(settings):
    from django.urls import NoReverseMatch, reverse

    try:
        reverse("service_public:ticket", args=["x"])
        reverse("service_public:survey", args=["x"])
    except NoReverseMatch:
        pytest.skip("the public pages (service/urls_public.py) are not routed yet")
    ticket = TicketFactory()
    link = signing.ticket_link(ticket)
    assert link.startswith(settings.SITE_URL + "/")
    assert signing.ticket_token(ticket) in link
    assert signing.survey_token(ticket) in signing.survey_link(ticket)
