"""Give the roles their permissions on customers (accounts/roles.py)."""

from django.db import migrations

from accounts.roles import sync_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("accounts", "0003_session_epoch"),
    ]

    operations = [migrations.RunPython(sync_role_permissions, migrations.RunPython.noop)]
