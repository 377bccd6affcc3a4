"""Encrypted field and key rotation."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from crm import crypto
from crm.fields import EncryptedTextField

ALT_KEY = Fernet.generate_key().decode()


def test_it_round_trips_text(settings):
    token = crypto.encrypt("身份证 110101199003074512")
    assert "1101" not in token
    assert crypto.decrypt(token) == "身份证 110101199003074512"


def test_an_old_key_still_decrypts_after_rotation(settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    token = crypto.encrypt("secret")
    settings.FIELD_ENCRYPTION_KEYS = [ALT_KEY, old_key]
    assert crypto.decrypt(token) == "secret"
    rotated = crypto.rotate(token)
    settings.FIELD_ENCRYPTION_KEYS = [ALT_KEY]
    assert crypto.decrypt(rotated) == "secret"
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(token)


def test_the_field_stores_ciphertext_and_returns_plain_text():
    field = EncryptedTextField()
    stored = field.get_prep_value("private note")
    assert stored != "private note"
    assert field.from_db_value(stored, None, connection) == "private note"
    assert field.get_prep_value("") == ""
    assert field.from_db_value(None, None, connection) is None


@pytest.mark.django_db
def test_rotate_command_re_encrypts_every_encrypted_column(settings):
    # A throwaway table with an encrypted column, created for this test only.
    from django.db import models

    class Secret(models.Model):
        note = EncryptedTextField()

        class Meta:
            app_label = "core"
            db_table = "test_rotate_secret"

        def __str__(self):
            return str(self.pk)

    with connection.schema_editor() as editor:
        editor.create_model(Secret)
    try:
        old_key = settings.FIELD_ENCRYPTION_KEYS[0]
        Secret.objects.create(note="one")
        Secret.objects.create(note="two")
        settings.FIELD_ENCRYPTION_KEYS = [ALT_KEY, old_key]
        call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))
        settings.FIELD_ENCRYPTION_KEYS = [ALT_KEY]
        assert sorted(Secret.objects.values_list("note", flat=True)) == ["one", "two"]
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(Secret)
