"""Official-account callback signatures and message encryption (wechat-spec.md 1.1, 1.2).

Signatures are compared in constant time. Decryption makes every check the spec lists
(base64, block length, pad byte, message length, appid) and raises `CryptoError` on any.
"""

import base64
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32-byte blocks (PKCS#7 with k = 32), not AES's 16


class CryptoError(ValueError):
    """The envelope cannot be decrypted or does not belong to our appid."""


def sha1_signature(*parts: str) -> str:
    """Lowercase hex SHA-1 of the parts sorted lexicographically and concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 (WeChat's protocol, spec 1.1)


def signature_matches(expected_parts: tuple[str, ...], given: str) -> bool:
    """Constant-time check of a WeChat SHA-1 signature."""
    return hmac.compare_digest(sha1_signature(*expected_parts).encode(), (given or "").encode())


def aes_key(encoding_aes_key: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise CryptoError("EncodingAESKey must decode to 32 bytes")
    return key


def decrypt(*, encoding_aes_key: str, appid: str, encrypted: str) -> str:
    """Decrypt an `Encrypt` value and return the inner message (spec 1.2)."""
    key = aes_key(encoding_aes_key)
    try:
        ciphertext = base64.b64decode(encrypted, validate=True)
    except (ValueError, TypeError):
        raise CryptoError("Encrypt is not base64")
    if not ciphertext or len(ciphertext) % 16:
        raise CryptoError("bad ciphertext length")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    data = decryptor.update(ciphertext) + decryptor.finalize()
    pad = data[-1]
    if not 1 <= pad <= BLOCK or pad > len(data):
        raise CryptoError("bad padding")
    data = data[:-pad]
    if len(data) < 20:
        raise CryptoError("too short")
    (size,) = struct.unpack(">I", data[16:20])
    if 20 + size > len(data):
        raise CryptoError("bad message length")
    try:
        tail = data[20 + size :].decode()
        message = data[20 : 20 + size].decode()
    except UnicodeDecodeError:
        raise CryptoError("not UTF-8")
    if not hmac.compare_digest(tail.encode(), appid.encode()):
        raise CryptoError("appid does not match")
    return message


def encrypt(*, encoding_aes_key: str, appid: str, message: str, random: bytes | None = None) -> str:
    """Encrypt a reply: random(16) ‖ len ‖ message ‖ appid, PKCS#7/32, AES-256-CBC, base64."""
    key = aes_key(encoding_aes_key)
    body = message.encode()
    full = (random or os.urandom(16)) + struct.pack(">I", len(body)) + body + appid.encode()
    pad = BLOCK - len(full) % BLOCK
    full += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(full) + encryptor.finalize()).decode()


def encrypted_envelope(
    *, token: str, encoding_aes_key: str, appid: str, message: str, timestamp: str, nonce: str,
    random: bytes | None = None,
) -> str:
    """The encrypted passive-reply XML (spec 1.2); values are base64/hex/digits only."""
    nonce = "".join(ch for ch in nonce if ch.isalnum())[:64]  # echoed inside CDATA
    encrypted = encrypt(encoding_aes_key=encoding_aes_key, appid=appid, message=message, random=random)
    signature = sha1_signature(token, timestamp, nonce, encrypted)
    return (
        f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
    )
