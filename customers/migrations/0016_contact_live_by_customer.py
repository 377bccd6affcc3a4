# The customer's contacts index covers the live ones only: the 360 page counts them with an
# index-only scan instead of visiting every contact row to skip the deleted.

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built without blocking writes to a table of millions of rows; the new index exists
    # before the old one goes.
    atomic = False

    dependencies = [
        ('customers', '0015_sparse_foreign_key_indexes'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='contact',
            index=models.Index(condition=models.Q(('deleted_at__isnull', True)), fields=['customer', '-is_primary', 'last_name', 'first_name'], name='contact_live_by_customer'),
        ),
        RemoveIndexConcurrently(
            model_name='contact',
            name='contact_by_customer',
        ),
    ]
