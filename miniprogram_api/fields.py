from django.db import models

from miniprogram_api.crypto import decrypt, encrypt


class EncryptedTextField(models.TextField):
    """A text field stored AES-GCM encrypted; Python sees plaintext. Not searchable."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
