"""Re-encrypt every encrypted column with the primary key of FIELD_ENCRYPTION_KEYS."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from crm import crypto
from crm.fields import EncryptedTextField

BATCH = 1000


class Command(BaseCommand):
    help = "Re-encrypt encrypted fields with the newest key (run after prepending a new key)."

    def handle(self, *args, **options):
        total = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            for field in fields:
                total += self._rotate_column(model, field)
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} values."))

    def _rotate_column(self, model, field) -> int:
        table = connection.ops.quote_name(model._meta.db_table)
        column = connection.ops.quote_name(field.column)
        pk = connection.ops.quote_name(model._meta.pk.column)
        done, last = 0, None
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                where = f"{column} IS NOT NULL AND {column} <> ''"
                params: list = []
                if last is not None:
                    where += f" AND {pk} > %s"
                    params.append(last)
                cursor.execute(
                    f"SELECT {pk}, {column} FROM {table} WHERE {where} "  # noqa: S608
                    f"ORDER BY {pk} LIMIT {BATCH} FOR UPDATE",
                    params,
                )
                rows = cursor.fetchall()
                if not rows:
                    return done
                cursor.executemany(
                    f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608
                    [(crypto.rotate(value), key) for key, value in rows],
                )
                done += len(rows)
                last = rows[-1][0]
