"""Why the callback refuses a request. The view answers these in WeChat's terms (plain
status, no body to speak of), never with a traceback."""

from wxbackend.api import DomainError


class BadSignature(DomainError):
    code = "bad_signature"
    status = 403
    default_detail = "Signature check failed."


class StaleTimestamp(DomainError):
    code = "stale_timestamp"
    status = 403
    default_detail = "Timestamp outside the allowed window."


class EncryptionRequired(DomainError):
    code = "encryption_required"
    status = 403
    default_detail = "Safe mode is configured: the push must be encrypted."


class NonceReused(DomainError):
    code = "nonce_reused"
    status = 403
    default_detail = "This timestamp and nonce already signed another body."


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413
    default_detail = "Body too large."


class MalformedMessage(DomainError):
    code = "malformed_message"
    status = 400
    default_detail = "Malformed message."


class MenuInvalid(DomainError):
    code = "menu_invalid"
    status = 400
    default_detail = "The menu cannot be pushed as it is."
