"""Managers and Marketing may rename and recolour tags (accounts/roles.py)."""

from django.db import migrations

from accounts.roles import sync_role_permissions


class Migration(migrations.Migration):
    dependencies = [("customers", "0007_contact_list_indexes")]

    operations = [migrations.RunPython(sync_role_permissions, migrations.RunPython.noop)]
