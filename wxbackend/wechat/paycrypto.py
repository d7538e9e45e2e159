"""WeChat Pay cryptography: v2 signs, XML and refund `req_info`; v3 request signatures,
answer/callback verification, paySign and AEAD_AES_256_GCM resources (wechat-spec.md 6, 7).

Pure functions over bytes and keys. Only `v3_verify` (and the key loaders it uses) reads
settings, and only when no key is passed. Every secret comparison is constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import string
import time
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from defusedxml import ElementTree
from django.conf import settings

V3_SCHEME = "WECHATPAY2-SHA256-RSA2048"
V3_MAX_SKEW_SECONDS = 5 * 60  # wechat-spec.md 6.3: reject |now - timestamp| >= 5 min
V3_PROBE_PREFIX = "WECHATPAY/SIGNTEST/"
AEAD_ALGORITHM = "AEAD_AES_256_GCM"
V2_SIGN_TYPES = ("MD5", "HMAC-SHA256")

_NONCE_ALPHABET = string.ascii_letters + string.digits
_TAG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_AUTH_PAIR = re.compile(r'(\w+)="([^"]*)"')


class PayCryptoError(ValueError):
    """Base of every failure here; the message never contains key material."""


class BadSignature(PayCryptoError):
    """A signature (v2 `sign`, v3 header) is missing, stale, from an unknown key or wrong."""


class BadCiphertext(PayCryptoError):
    """An encrypted field did not decrypt (wrong key, forged, or malformed padding)."""


class BadXml(PayCryptoError):
    """A v2 body is not the flat XML WeChat Pay speaks."""


def nonce_str(length: int = 32) -> str:
    """A random alphanumeric nonce (v2 `nonce_str`, v3 `nonce_str`, AEAD nonce of 12)."""
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(length))


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


# --- API v2 ----------------------------------------------------------------------------------


def v2_sign_string(params: Mapping[str, Any], api_key: str) -> str:
    """The string v2 signs: non-empty fields but `sign`, by name, then `&key=` (spec 7)."""
    parts = [f"{k}={_text(params[k])}" for k in sorted(params) if k != "sign" and params[k] not in (None, "")]
    return "&".join(parts) + "&key=" + api_key


def v2_sign(params: Mapping[str, Any], api_key: str, sign_type: str = "MD5") -> str:
    """The v2 `sign` of `params` (MD5 or HMAC-SHA256, uppercase hex)."""
    s = v2_sign_string(params, api_key).encode("utf-8")
    if sign_type == "HMAC-SHA256":
        return hmac.new(api_key.encode("utf-8"), s, hashlib.sha256).hexdigest().upper()
    if sign_type == "MD5":
        return hashlib.md5(s).hexdigest().upper()  # noqa: S324 - the protocol's choice
    raise PayCryptoError(f"unknown v2 sign_type {sign_type!r}")


def v2_verify(params: Mapping[str, Any], api_key: str, sign_type: str | None = None) -> None:
    """Raise BadSignature unless `params["sign"]` is right. The type is `sign_type`, else the
    params' own `sign_type` field, else MD5 (wechatpy always assumes MD5: spec 8, pitfall 9)."""
    kind = sign_type or params.get("sign_type") or "MD5"
    if kind not in V2_SIGN_TYPES:
        raise BadSignature(f"unknown sign_type {kind!r}")
    given = params.get("sign")
    if not isinstance(given, str) or not given:
        raise BadSignature("sign is missing")
    expected = v2_sign(params, api_key, kind)
    if not hmac.compare_digest(expected.encode(), given.upper().encode()):
        raise BadSignature("sign does not match")


def v2_xml_to_dict(body: bytes | str, *, root: str = "xml") -> dict[str, str]:
    """Parse flat v2 XML (defusedxml: no entities, no DTDs) into {tag: text}."""
    try:
        element = ElementTree.fromstring(body)
    except Exception as exc:  # defusedxml raises several types, all meaning "not acceptable"
        raise BadXml(f"not well-formed XML ({type(exc).__name__})")
    if element.tag != root:
        raise BadXml(f"root element is <{element.tag}>, expected <{root}>")
    data: dict[str, str] = {}
    for child in element:
        if len(child):
            raise BadXml(f"<{child.tag}> is not a flat field")
        if child.tag in data:
            raise BadXml(f"<{child.tag}> appears twice")
        data[child.tag] = child.text or ""
    return data


def _cdata(value: str) -> str:
    # "]]>" cannot sit inside CDATA: close and reopen around it (wechatpy does not: pitfall 7).
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def v2_dict_to_xml(params: Mapping[str, Any], *, root: str = "xml") -> str:
    """Render flat v2 XML; integers bare, text as CDATA. None values are left out."""
    out = [f"<{root}>"]
    for key, value in params.items():
        if value is None:
            continue
        if not _TAG.match(key):
            raise PayCryptoError(f"{key!r} is not a valid field name")
        if isinstance(value, int) and not isinstance(value, bool):
            out.append(f"<{key}>{value}</{key}>")
        else:
            out.append(f"<{key}>{_cdata(_text(value))}</{key}>")
    out.append(f"</{root}>")
    return "".join(out)


def _refund_key(api_key: str) -> bytes:
    # Spec 7: AES-256 key = the 32 ASCII characters of lowercase hex md5(API key).
    return hashlib.md5(api_key.encode("utf-8")).hexdigest().encode("ascii")  # noqa: S324


def v2_refund_decrypt(req_info: str, api_key: str) -> dict[str, str]:
    """Decrypt a v2 refund notification's `req_info` into its <root> fields (V14).

    AES-256-ECB with strict PKCS#7 over 16-byte blocks: wechatpy pads to 32 (pitfall 11),
    and anything but exact padding is rejected as a forgery."""
    try:
        raw = base64.b64decode(req_info, validate=True)
    except (binascii.Error, ValueError):
        raise BadCiphertext("req_info is not base64")
    if not raw or len(raw) % 16:
        raise BadCiphertext("req_info is not whole AES blocks")
    decryptor = Cipher(algorithms.AES(_refund_key(api_key)), modes.ECB()).decryptor()  # noqa: S305
    plain = decryptor.update(raw) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 16 or plain[-pad:] != bytes([pad]) * pad:
        raise BadCiphertext("req_info padding is wrong (wrong key?)")
    try:
        return v2_xml_to_dict(plain[:-pad], root="root")
    except BadXml:
        raise BadCiphertext("req_info did not decrypt to XML (wrong key?)")


def v2_refund_encrypt(fields: Mapping[str, Any], api_key: str) -> str:
    """The `req_info` WeChat sends for `fields` (used by the simulator; PKCS#7/16)."""
    plain = v2_dict_to_xml(fields, root="root").encode("utf-8")
    pad = 16 - len(plain) % 16
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(_refund_key(api_key)), modes.ECB()).encryptor()  # noqa: S305
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")


# --- keys ------------------------------------------------------------------------------------


def load_private_key(pem: bytes | str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PayCryptoError("not an RSA private key")
    return key


def load_public_key(pem: bytes | str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise PayCryptoError("not an RSA public key")
    return key


@lru_cache(maxsize=16)
def _private_key_cached(path: str, _mtime_ns: int) -> rsa.RSAPrivateKey:
    return load_private_key(Path(path).read_bytes())


@lru_cache(maxsize=16)
def _public_key_cached(path: str, _mtime_ns: int) -> rsa.RSAPublicKey:
    return load_public_key(Path(path).read_bytes())


def private_key_from_path(path: str | Path) -> rsa.RSAPrivateKey:
    """Load (and cache until the file changes) an RSA private key from a PEM file."""
    return _private_key_cached(str(path), Path(path).stat().st_mtime_ns)


def public_key_from_path(path: str | Path) -> rsa.RSAPublicKey:
    """Load (and cache until the file changes) an RSA public key from a PEM file."""
    return _public_key_cached(str(path), Path(path).stat().st_mtime_ns)


# --- API v3: signing -------------------------------------------------------------------------


def v3_request_message(method: str, url: str, timestamp: int | str, nonce: str, body: bytes | str = b"") -> bytes:
    """The five lines a v3 request signs: method, path+query as sent, ts, nonce, body (6.2)."""
    body_bytes = body.encode("utf-8") if isinstance(body, str) else body
    head = f"{method.upper()}\n{url}\n{timestamp}\n{nonce}\n".encode()
    return head + body_bytes + b"\n"


def v3_answer_message(timestamp: int | str, nonce: str, body: bytes | str = b"") -> bytes:
    """The three lines an answer or callback signs: ts, nonce, body (6.3)."""
    body_bytes = body.encode("utf-8") if isinstance(body, str) else body
    return f"{timestamp}\n{nonce}\n".encode() + body_bytes + b"\n"


def rsa_sign(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    """base64 RSASSA-PKCS1-v1_5 / SHA-256 of `message`."""
    return base64.b64encode(private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def rsa_verify(public_key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


def v3_authorization(
    *,
    method: str,
    url: str,
    body: bytes | str,
    mchid: str,
    serial_no: str,
    private_key: rsa.RSAPrivateKey,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> str:
    """The `Authorization` header of a v3 request (epoch seconds, never milliseconds)."""
    ts = int(time.time()) if timestamp is None else timestamp
    nonce = nonce or nonce_str(32)
    signature = rsa_sign(private_key, v3_request_message(method, url, ts, nonce, body))
    return (
        f'{V3_SCHEME} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{ts}",serial_no="{serial_no}"'
    )


def v3_parse_authorization(header: str) -> dict[str, str]:
    """Split an `Authorization` header into its pairs; raise BadSignature if malformed."""
    scheme, _, rest = (header or "").strip().partition(" ")
    if scheme != V3_SCHEME:
        raise BadSignature(f"authorization scheme must be {V3_SCHEME}")
    pairs = dict(_AUTH_PAIR.findall(rest))
    missing = [k for k in ("mchid", "nonce_str", "signature", "timestamp", "serial_no") if not pairs.get(k)]
    if missing:
        raise BadSignature("authorization lacks " + ", ".join(missing))
    return pairs


def v3_signed_headers(
    body: bytes | str,
    *,
    private_key: rsa.RSAPrivateKey,
    serial: str,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The Wechatpay-* headers that sign an answer or a callback body (what WeChat sends)."""
    ts = int(time.time()) if timestamp is None else timestamp
    nonce = nonce or nonce_str(32)
    return {
        "Wechatpay-Timestamp": str(ts),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa_sign(private_key, v3_answer_message(ts, nonce, body)),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": V3_SCHEME,
    }


def v3_pay_sign(private_key: rsa.RSAPrivateKey, *, app_id: str, timestamp: str, nonce: str, package: str) -> str:
    """The `paySign` of `wx.requestPayment` with signType RSA (6.5; signType is not signed)."""
    return rsa_sign(private_key, f"{app_id}\n{timestamp}\n{nonce}\n{package}\n".encode())


# --- API v3: verification ---------------------------------------------------------------------


def _header_map(headers: Mapping[str, str]) -> dict[str, str]:
    """Case-insensitive view that also reads Django's META (`HTTP_WECHATPAY_NONCE`)."""
    out: dict[str, str] = {}
    for key, value in headers.items():
        name = str(key).lower()
        if name.startswith("http_"):
            name = name[5:].replace("_", "-")
        out[name] = value
    return out


def v3_verify(
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    public_key: rsa.RSAPublicKey | None = None,
    public_key_id: str | None = None,
    now: float | None = None,
) -> None:
    """Raise BadSignature unless a v3 answer or callback is signed by WeChat Pay's key.

    Checks, before any body field is trusted (6.3): the signature type; the serial is our
    `PUB_KEY_ID_…` (no lookups of unknown serials: spec 8, wechatpayv3 pitfall 5); the
    timestamp within 5 minutes either way (wechatpayv3 checks none: pitfall 3); probe
    signatures (`WECHATPAY/SIGNTEST/`) fail; then RSA-SHA256 over ts, nonce and body.
    Defaults: settings.WECHAT_PAY_PUBLIC_KEY_PATH / WECHAT_PAY_PUBLIC_KEY_ID."""
    h = _header_map(headers)
    signature = h.get("wechatpay-signature", "")
    timestamp = h.get("wechatpay-timestamp", "")
    nonce = h.get("wechatpay-nonce", "")
    serial = h.get("wechatpay-serial", "")
    if h.get("wechatpay-signature-type", "") != V3_SCHEME:
        raise BadSignature("Wechatpay-Signature-Type is missing or unsupported")
    if not signature or not nonce or not serial:
        raise BadSignature("Wechatpay-Signature, -Nonce or -Serial is missing")
    if signature.startswith(V3_PROBE_PREFIX):
        raise BadSignature("probe signature")
    expected_serial = public_key_id if public_key_id is not None else settings.WECHAT_PAY_PUBLIC_KEY_ID
    if not hmac.compare_digest(serial.encode(), expected_serial.encode()):
        raise BadSignature("unknown Wechatpay-Serial")
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise BadSignature("Wechatpay-Timestamp is not epoch seconds")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) >= V3_MAX_SKEW_SECONDS:
        raise BadSignature("Wechatpay-Timestamp is more than 5 minutes off")
    key = public_key or public_key_from_path(settings.WECHAT_PAY_PUBLIC_KEY_PATH)
    if not rsa_verify(key, v3_answer_message(timestamp, nonce, body), signature):
        raise BadSignature("Wechatpay-Signature does not verify")


# --- API v3: AEAD_AES_256_GCM resources ---------------------------------------------------------


def _aead(apiv3_key: str) -> AESGCM:
    key = apiv3_key.encode("utf-8")
    if len(key) != 32:
        raise PayCryptoError("the APIv3 key must be 32 bytes")
    return AESGCM(key)


def v3_decrypt_resource(apiv3_key: str, resource: Mapping[str, Any]) -> dict[str, Any]:
    """Decrypt a notification's `resource` (6.4, V17) into its JSON object."""
    if resource.get("algorithm") != AEAD_ALGORITHM:
        raise BadCiphertext("resource.algorithm must be AEAD_AES_256_GCM")
    try:
        data = base64.b64decode(resource["ciphertext"], validate=True)
        nonce = str(resource["nonce"]).encode("utf-8")
        plain = _aead(apiv3_key).decrypt(nonce, data, (resource.get("associated_data") or "").encode("utf-8"))
    except (KeyError, binascii.Error, ValueError, InvalidTag):
        raise BadCiphertext("resource did not decrypt (wrong APIv3 key or forged)")
    try:
        value = json.loads(plain)
    except ValueError:
        raise BadCiphertext("resource is not JSON")
    if not isinstance(value, dict):
        raise BadCiphertext("resource is not a JSON object")
    return value


def v3_encrypt_resource(
    apiv3_key: str,
    plaintext: Mapping[str, Any] | str | bytes,
    *,
    associated_data: str,
    original_type: str,
    nonce: str | None = None,
) -> dict[str, str]:
    """A `resource` object as WeChat sends it (used by the simulator)."""
    if isinstance(plaintext, Mapping):
        plaintext = json.dumps(plaintext, ensure_ascii=False, separators=(",", ":"))
    data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
    nonce = nonce or nonce_str(12)
    sealed = _aead(apiv3_key).encrypt(nonce.encode("utf-8"), data, associated_data.encode("utf-8"))
    return {
        "original_type": original_type,
        "algorithm": AEAD_ALGORITHM,
        "ciphertext": base64.b64encode(sealed).decode("ascii"),
        "associated_data": associated_data,
        "nonce": nonce,
    }
