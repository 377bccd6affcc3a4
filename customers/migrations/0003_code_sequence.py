"""A sequence for customer codes (C0001001, ...), safe under concurrent creates and imports."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_roles")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS customers_customer_code_seq START 1001",
            "DROP SEQUENCE IF EXISTS customers_customer_code_seq",
        )
    ]
