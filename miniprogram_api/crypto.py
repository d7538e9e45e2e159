"""Encryption at rest for personal fields (session_key, phone numbers): AES-256-GCM.

The key is FIELD_ENCRYPTION_KEY (base64 of 32 bytes) or, when unset, derived from
SECRET_KEY with HKDF, read at call time. Stored values look like `v1:<base64(nonce|ct|tag)>`.
"""

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "v1:"
NONCE_BYTES = 12


def _derive(material: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"wxbackend field encryption"
    ).derive(material.encode())


def _key() -> bytes:
    configured = settings.FIELD_ENCRYPTION_KEY
    if configured:
        try:
            key = base64.b64decode(configured, validate=True)
        except ValueError:
            key = b""
        if len(key) == 32:
            return key
        # Not base64 of 32 bytes: accept a long random passphrase, stretched with HKDF.
        if len(configured) < 32:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEY must be the base64 of 32 random bytes (or 32+ random characters)"
            )
        return _derive(configured)
    return _derive(settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_key()).encrypt(nonce, plaintext.encode(), PREFIX.encode())
    return PREFIX + base64.b64encode(nonce + sealed).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise ValueError("not an encrypted value")
    raw = base64.b64decode(stored[len(PREFIX):])
    return AESGCM(_key()).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], PREFIX.encode()).decode()


def lookup_hash(value: str) -> str:
    """A keyed hash for equality lookups on an encrypted value (HMAC-SHA256, hex)."""
    return hmac.new(_key(), value.encode(), hashlib.sha256).hexdigest()
