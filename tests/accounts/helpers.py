"""Small helpers shared by the accounts tests (no fixtures, no mocks)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.contrib.messages import get_messages
from django.utils.html import escape

from crm.models import Event

LINK = re.compile(r"https?://\S+")


def messages_of(response) -> list[str]:
    """The flash messages a view queued on this request."""
    return [str(m) for m in get_messages(response.wsgi_request)]


def shows(response, text: str) -> bool:
    """The rendered page contains `text` (HTML-escaped as the template would write it)."""
    return escape(text) in response.content.decode()


def link_path(text: str) -> str:
    """The path of the only link in an e-mail's plain text."""
    links = LINK.findall(text)
    assert len(links) == 1, links
    return urlsplit(links[0]).path


def events(name: str, subject=None):
    qs = Event.objects.filter(name=name)
    if subject is not None:
        qs = qs.filter(subject_id=str(subject.pk))
    return qs


def without_csrf(content: bytes) -> str:
    """The page with its per-response CSRF tokens blanked, to compare two pages."""
    text = content.decode()
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", text)


def card_text(content: bytes) -> str:
    """The text inside the auth card of a sign-in page, tags stripped, spaces collapsed."""
    text = content.decode()
    start = text.index('class="card-body')
    text = re.sub(r"<[^>]+>", " ", text[start:])
    return " ".join(text.split())
