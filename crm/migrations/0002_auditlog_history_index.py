"""An index for a record's change history (the 360 page's "Change history"): django-auditlog's
own indexes cover object_pk alone; this one serves content type + object, newest first."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("auditlog", "__latest__")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS crm_auditlog_object_history ON auditlog_logentry "
            "(content_type_id, object_pk, timestamp DESC)",
            "DROP INDEX IF EXISTS crm_auditlog_object_history",
        ),
    ]
