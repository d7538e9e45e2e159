"""Encryption at rest for personal fields (session_key, phone numbers): AES-256-GCM.

FIELD_ENCRYPTION_KEY holds one or more comma-separated keys, each the base64 of 32 bytes (or
a passphrase of 32+ characters, stretched with HKDF), read at call time. New values are
sealed with the first key and stored ones opened with whichever key fits, so a key is
rotated by putting the new one first and running `manage.py rotate_field_key`. Unset (debug
only: the settings require it otherwise) the key derives from SECRET_KEY.
Stored values look like `v1:<base64(nonce|ct|tag)>`.
"""

import base64
import binascii
import functools
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "v1:"
NONCE_BYTES = 12


class UnreadableValue(ValueError):
    """No configured key opens the stored value (or it is not one of ours)."""


def _derive(material: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"wxbackend field encryption"
    ).derive(material.encode())


def _parse(configured: str) -> bytes:
    try:
        key = base64.b64decode(configured, validate=True)
    except ValueError:
        key = b""
    if len(key) == 32:
        return key
    # Not base64 of 32 bytes: accept a long random passphrase, stretched with HKDF.
    if len(configured) < 32:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be the base64 of 32 random bytes (or 32+ random characters); "
            "separate several keys with commas"
        )
    return _derive(configured)


@functools.lru_cache(maxsize=8)
def _keys(configured: str, secret_key: str) -> tuple[bytes, ...]:
    parts = [part.strip() for part in configured.split(",") if part.strip()]
    if not parts:
        return (_derive(secret_key),)
    return tuple(_parse(part) for part in parts)


def field_keys() -> tuple[bytes, ...]:
    """The configured keys, the one new values are sealed with first."""
    return _keys(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(field_keys()[0]).encrypt(nonce, plaintext.encode(), PREFIX.encode())
    return PREFIX + base64.b64encode(nonce + sealed).decode()


def decrypt_any(stored: str) -> tuple[str, int]:
    """The plaintext and the index of the key that opened it; raises UnreadableValue."""
    if not stored.startswith(PREFIX):
        raise UnreadableValue("not an encrypted value")
    try:
        raw = base64.b64decode(stored[len(PREFIX):], validate=True)
    except binascii.Error:
        raise UnreadableValue("not an encrypted value") from None
    for index, key in enumerate(field_keys()):
        try:
            plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], PREFIX.encode())
        except (InvalidTag, ValueError):
            continue
        return plain.decode(), index
    raise UnreadableValue("no FIELD_ENCRYPTION_KEY opens this value")


def decrypt(stored: str) -> str:
    return decrypt_any(stored)[0]


def lookup_hash(value: str) -> str:
    """A keyed hash for equality lookups on an encrypted value (HMAC-SHA256 with the first key)."""
    return hmac.new(field_keys()[0], value.encode(), hashlib.sha256).hexdigest()


def lookup_hashes(value: str) -> list[str]:
    """The value's keyed hash under every configured key: rows not yet rotated match too."""
    return [hmac.new(key, value.encode(), hashlib.sha256).hexdigest() for key in field_keys()]
