import logging

from django.db import models

from miniprogram_api.crypto import UnreadableValue, decrypt, encrypt

logger = logging.getLogger(__name__)


class UnreadableText(str):
    """A stored value no configured key opens: it reads as empty and saves back unchanged,
    so putting the missing key back restores it."""

    stored: str

    def __new__(cls, stored: str):
        value = super().__new__(cls, "")
        value.stored = stored
        return value


class EncryptedTextField(models.TextField):
    """A text field stored AES-GCM encrypted; Python sees plaintext. Not searchable.

    A value that no FIELD_ENCRYPTION_KEY opens reads as empty (and is logged, without the
    value): the customer is asked again for what it held instead of every request failing."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        try:
            return decrypt(value)
        except UnreadableValue:
            logger.warning(
                "%s.%s holds a value no FIELD_ENCRYPTION_KEY opens; read as empty",
                self.model._meta.label, self.name,
            )
            return UnreadableText(value)

    def get_prep_value(self, value):
        if isinstance(value, UnreadableText):
            return value.stored
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
