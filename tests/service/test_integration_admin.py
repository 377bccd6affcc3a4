"""The service desk's Django admin (service/admin.py): configuration is edited there, tickets
and feedback are looked up; the settings row is a singleton."""

from __future__ import annotations

import pytest
from django.urls import reverse

from service import services
from service.models import ServiceConfig, Ticket
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_admin(admin):
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    return admin


@pytest.mark.parametrize("model", ["slapolicy", "assignmentrule", "serviceconfig", "ticket",
                                   "feedback"])
def test_every_admin_list_opens(client_for, staff_admin, sla_policies, model):
    TicketFactory(subject="Admin sees me")
    response = client_for(staff_admin).get(reverse(f"admin:service_{model}_changelist"))
    assert response.status_code == 200


def test_the_settings_row_cannot_be_added_twice_or_deleted(client_for, staff_admin,
                                                           sla_policies):
    ServiceConfig.get()
    client = client_for(staff_admin)
    assert client.get(reverse("admin:service_serviceconfig_add")).status_code == 403
    url = reverse("admin:service_serviceconfig_delete", args=[1])
    assert client.get(url).status_code == 403
    assert ServiceConfig.objects.count() == 1


def test_the_settings_row_can_be_changed(client_for, staff_admin, sla_policies):
    ServiceConfig.get()
    response = client_for(staff_admin).post(
        reverse("admin:service_serviceconfig_change", args=[1]),
        {"auto_close_days": 5, "archive_days": 20, "near_breach_percent": 75,
         "max_attachment_mb": 8})
    assert response.status_code == 302
    config = ServiceConfig.get()
    assert (config.auto_close_days, config.archive_days) == (5, 20)


def test_tickets_are_read_mostly(client_for, staff_admin, sla_policies, manager, team,
                                 team_customer):
    ticket = services.ticket_create(actor=manager, data={
        "subject": "Look me up", "description": "x", "customer": team_customer})
    client = client_for(staff_admin)
    assert client.get(reverse("admin:service_ticket_add")).status_code == 403
    page = client.get(reverse("admin:service_ticket_change", args=[ticket.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="customer"' in html and "vForeignKeyRawIdAdminField" in html
    assert 'name="status"' not in html  # status moves only through the services
    found = client.get(reverse("admin:service_ticket_changelist") + f"?q={ticket.number}")
    assert ticket.number in found.content.decode()
    assert Ticket.objects.count() == 1


def test_non_staff_cannot_open_the_admin(client_for, manager):
    response = client_for(manager).get(reverse("admin:service_ticket_changelist"))
    assert response.status_code == 302
