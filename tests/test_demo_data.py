"""`manage.py demo_data` builds every module's demo records, and a second run changes nothing."""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Team, User
from customers.models import Contact, Customer, Interaction, Task

pytestmark = pytest.mark.django_db


def counts():
    return (User.objects.count(), Team.objects.count(), Customer.objects.count(),
            Contact.objects.count(), Interaction.objects.count(), Task.objects.count())


def test_it_builds_demo_data_once(monkeypatch, role_groups):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-123")
    call_command("demo_data", stdout=io.StringIO())
    first = counts()
    assert first[0] == 8 and first[1] == 5  # one per role, two more agents; 4 + Service Desk
    assert first[2] == 300
    assert first[5] > 0 and Task.objects.filter(status="open").exists()
    assert Customer.objects.filter(name__contains="有限公司").exists()  # Chinese names too
    assert User.objects.get(email="sales@example.com").check_password("demo-password-123")
    call_command("demo_data", stdout=io.StringIO())
    assert counts() == first


def test_it_refuses_without_a_demo_password(monkeypatch, role_groups):
    monkeypatch.setenv("DEMO_PASSWORD", "")
    with pytest.raises(CommandError, match="DEMO_PASSWORD"):
        call_command("demo_data", stdout=io.StringIO())
    assert User.objects.count() == 0
