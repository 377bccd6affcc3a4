"""Order numbers from a sequence, the default pipeline, and the sales roles' permissions."""

from django.db import migrations

from accounts.roles import sync_role_permissions

STAGES = [
    # name, order, probability, won, lost
    ("Prospecting", 10, 10, False, False),
    ("Qualification", 20, 25, False, False),
    ("Proposal", 30, 50, False, False),
    ("Negotiation", 40, 75, False, False),
    ("Won", 90, 100, True, False),
    ("Lost", 100, 0, False, True),
]


def seed_stages(apps, schema_editor):
    PipelineStage = apps.get_model("sales", "PipelineStage")
    if PipelineStage.objects.exists():
        return
    for name, order, probability, won, lost in STAGES:
        PipelineStage.objects.create(name=name, order=order, probability=probability,
                                     is_won=won, is_lost=lost)


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial"), ("customers", "0010_export_jobs")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS sales_order_number_seq START 1001",
            "DROP SEQUENCE IF EXISTS sales_order_number_seq",
        ),
        migrations.RunPython(seed_stages, migrations.RunPython.noop),
        migrations.RunPython(sync_role_permissions, migrations.RunPython.noop),
    ]
