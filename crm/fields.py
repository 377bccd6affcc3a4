"""Model fields of the shared core."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm import crypto


class EncryptedTextField(models.TextField):
    """Text stored encrypted at rest; reads return plain text.

    The database holds only Fernet tokens, so the column cannot be searched, filtered or
    indexed by its content: keep searchable data in ordinary fields.
    """

    description = _("Encrypted text")

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)
