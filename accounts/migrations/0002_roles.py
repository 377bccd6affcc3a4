"""Seed the role groups (Admin, Manager, Sales, Marketing, Support, Analyst) and their permissions."""

from django.db import migrations

from accounts.roles import sync_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0001_initial"),
        ("admin", "__latest__"),
        ("sessions", "__latest__"),
        ("guardian", "__latest__"),
        ("otp_totp", "__latest__"),
        ("axes", "__latest__"),
        ("auditlog", "__latest__"),
    ]

    operations = [migrations.RunPython(sync_role_permissions, migrations.RunPython.noop)]
