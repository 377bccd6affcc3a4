"""Ticket numbers from a sequence, default SLA policies and settings, and the service roles'
permissions."""

from django.db import migrations

from accounts.roles import sync_role_permissions

WEEKDAYS = [1, 2, 3, 4, 5]
POLICIES = [
    # name, priority, first response (min), resolution (min), business hours only
    ("Urgent", "urgent", 60, 8 * 60, False),
    ("High", "high", 4 * 60, 24 * 60, False),
    ("Normal", "normal", 8 * 60, 3 * 9 * 60, True),
    ("Low", "low", 2 * 9 * 60, 5 * 9 * 60, True),
]


def seed(apps, schema_editor):
    SLAPolicy = apps.get_model("service", "SLAPolicy")
    ServiceConfig = apps.get_model("service", "ServiceConfig")
    ServiceConfig.objects.get_or_create(id=1)
    if SLAPolicy.objects.exists():
        return
    for name, priority, first, resolution, business in POLICIES:
        SLAPolicy.objects.create(
            name=name, priority=priority, first_response_minutes=first,
            resolution_minutes=resolution, business_hours_only=business,
            business_days=WEEKDAYS,
        )


class Migration(migrations.Migration):
    dependencies = [("service", "0001_initial"), ("sales", "0002_defaults")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS service_ticket_number_seq START 1001",
            "DROP SEQUENCE IF EXISTS service_ticket_number_seq",
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(sync_role_permissions, migrations.RunPython.noop),
    ]
