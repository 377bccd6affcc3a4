"""Limits on sign-in guessing across accounts and on password-reset e-mails."""

import pytest
from django.urls import reverse

from crm.ratelimit import client_ip

pytestmark = pytest.mark.django_db


def test_it_pauses_an_address_that_guesses_across_many_accounts(client, settings, rep, password):
    settings.LOGIN_IP_FAILURE_LIMIT = 3
    for n in range(3):
        response = client.post(reverse("accounts:login"),
                               {"username": f"nobody{n}@example.com", "password": "x"})
        assert response.status_code == 200
    # Even the right password of a real account is refused from this address now.
    response = client.post(reverse("accounts:login"), {"username": rep.email,
                                                       "password": password})
    assert response.status_code == 429
    assert "too many failed sign-in attempts" in response.content.decode()


def test_it_limits_reset_mails_per_address_without_saying_so(client, settings, rep, mailbox):
    settings.PASSWORD_RESET_LIMIT = 2
    for _ in range(4):
        response = client.post(reverse("accounts:password_reset"), {"email": rep.email})
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:password_reset_done")
    mailbox.wait_for(2, timeout=5)
    import time

    time.sleep(0.5)
    assert len(mailbox.messages) == 2


def test_it_reads_the_client_address_behind_trusted_proxies(rf, settings):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7, 10.0.0.2",
                     REMOTE_ADDR="10.0.0.1")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 2
    # Two proxies of ours appended the last two entries; the first is the client's claim.
    assert client_ip(request) == "203.0.113.7"
