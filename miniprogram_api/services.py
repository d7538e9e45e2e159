"""Customer writes: login and logout, profile, phone, subscribe grants, erasure."""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, TextField, Value
from django.db.models.functions import Cast
from django.utils import timezone

from miniprogram_api import gateway
from miniprogram_api.authentication import token_hash
from miniprogram_api.crypto import UnreadableValue, decrypt_any, encrypt, lookup_hash
from miniprogram_api.exceptions import (
    InvalidCode,
    InvalidPhoneCode,
    LoginBlocked,
    WeChatRateLimited,
    WeChatRefused,
    WeChatUnavailable,
)
from miniprogram_api.fields import EncryptedTextField
from miniprogram_api.models import ApiToken, Customer, SubscriptionGrant
from wxbackend.wechat import GatewayRejected, GatewayUnavailable

logger = logging.getLogger(__name__)

INVALID_CODE_ERRCODES = frozenset({40029, 40163})
RATE_LIMIT_ERRCODE = 45011
BLOCKED_ERRCODE = 40226
PROFILE_FIELDS = ("nickname", "avatar_url", "gender")


@dataclass(frozen=True)
class Login:
    customer: Customer
    token: str
    expires_at: datetime
    created: bool


def _wechat_error(exc: Exception, *, invalid_code: type[InvalidCode] = InvalidCode) -> Exception:
    """Our API error for a WeChat failure (spec 4's table)."""
    if isinstance(exc, GatewayUnavailable):
        return WeChatUnavailable()
    errcode = getattr(exc, "errcode", None)
    if errcode in INVALID_CODE_ERRCODES:
        return invalid_code()
    if errcode == RATE_LIMIT_ERRCODE:
        return WeChatRateLimited(retry_after=60)
    if errcode == BLOCKED_ERRCODE:
        return LoginBlocked()
    return WeChatRefused(f"WeChat refused the request (errcode {errcode}).")


def _exchange_code(code: str) -> gateway.Session:
    # spec 4: on -1 (busy) one quick retry, then 503.
    for attempt in (1, 2):
        try:
            return gateway.code_to_session(code=code)
        except GatewayUnavailable as exc:
            if exc.errcode == -1 and attempt == 1:
                continue
            raise _wechat_error(exc)
        except GatewayRejected as exc:
            raise _wechat_error(exc)
    raise WeChatUnavailable()  # unreachable: the loop returns or raises


def token_issue(*, customer: Customer) -> tuple[str, datetime]:
    """A new random token for the customer and its expiry; only its sha256 is stored."""
    token = secrets.token_urlsafe(32)
    expires_at = timezone.now() + settings.API_TOKEN_TTL
    ApiToken.objects.create(customer=customer, key_hash=token_hash(token), expires_at=expires_at)
    return token, expires_at


def customer_login(*, code: str) -> Login:
    """Exchange a wx.login code, find or create the customer by openid, store the fresh
    session_key (encrypted) and unionid, and issue a token.

    The WeChat call happens outside any transaction. Raises InvalidCode, WeChatRateLimited,
    LoginBlocked, WeChatUnavailable or WeChatRefused."""
    session = _exchange_code(code)
    now = timezone.now()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(openid=session.openid).first()
        created = customer is None
        if created:
            try:
                with transaction.atomic():
                    customer = Customer.objects.create(openid=session.openid)
            except IntegrityError:  # a concurrent first login of the same user won
                customer = Customer.objects.select_for_update().get(openid=session.openid)
                created = False
        customer.session_key = session.session_key
        if session.unionid:
            customer.unionid = session.unionid
        customer.last_login_at = now
        customer.save(update_fields=["session_key", "unionid", "last_login_at", "updated_at"])
        token, expires_at = token_issue(customer=customer)
    logger.info("customer login", extra={"event": {"customer": customer.pk, "created": created}})
    return Login(customer=customer, token=token, expires_at=expires_at, created=created)


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def customer_update_profile(*, customer: Customer, data: dict) -> Customer:
    changed = [k for k in PROFILE_FIELDS if k in data]
    for key in changed:
        setattr(customer, key, data[key])
    if changed:
        customer.save(update_fields=[*changed, "updated_at"])
    return customer


def customer_bind_phone(*, customer: Customer, code: str) -> Customer:
    """Ask WeChat for the phone behind a getPhoneNumber code and store it encrypted.

    Raises InvalidPhoneCode (40029), WeChatUnavailable, or WeChatRefused when the answer is
    for another app (watermark.appid, spec 4)."""
    try:
        phone = gateway.phone_number(code=code)
    except (GatewayUnavailable, GatewayRejected) as exc:
        raise _wechat_error(exc, invalid_code=InvalidPhoneCode)
    if phone.watermark_appid and phone.watermark_appid != settings.WECHAT_MINIAPP_APPID:
        raise WeChatRefused("The phone number was issued for another mini-program.")
    number = phone.pure_phone_number or phone.phone_number
    if not number:
        raise WeChatRefused("WeChat returned no phone number.")
    customer.phone = number
    customer.phone_country_code = phone.country_code
    customer.phone_hash = lookup_hash(f"+{phone.country_code}{number}")
    customer.save(update_fields=["phone", "phone_country_code", "phone_hash", "updated_at"])
    return customer


@transaction.atomic
def subscription_record(*, customer: Customer, template_ids: list[str], result: dict[str, str]) -> list[SubscriptionGrant]:
    """Record wx.requestSubscribeMessage's answer: each "accept" grants one more send of
    that template (spec 5.2); other answers only update `last_result`."""
    grants = []
    for template_id in dict.fromkeys(template_ids):
        answer = result.get(template_id, "")
        grant, _ = SubscriptionGrant.objects.select_for_update().get_or_create(
            customer=customer, template_id=template_id
        )
        updates = {"last_result": answer}
        if answer == "accept":
            updates["available"] = F("available") + 1
        SubscriptionGrant.objects.filter(pk=grant.pk).update(**updates, updated_at=timezone.now())
        grant.refresh_from_db()
        grants.append(grant)
    return grants


def subscription_grant_consume(*, customer_id: int, template_id: str) -> bool:
    """Use one granted send (conditional UPDATE, no lock); False when none is left."""
    return bool(
        SubscriptionGrant.objects.filter(customer_id=customer_id, template_id=template_id, available__gt=0)
        .update(available=F("available") - 1, updated_at=timezone.now())
    )


@transaction.atomic
def customer_erase(*, customer_id: int, actor: str = "customer") -> bool:
    """Erase the customer's personal data everywhere and revoke every token. Idempotent;
    returns False when there was nothing (left) to erase.

    Locks the customer row. Every registered section (`wxbackend.privacy`) erases its part:
    addresses, cart and subscribe grants are deleted; orders, payments and refunds stay
    without personal fields; the follower of the same unionid gets a pseudonym and its
    messages are emptied. The row stays (orders refer to it) without openid, unionid,
    session_key, phone or profile."""
    from wxbackend.privacy import data_subject, personal_data_erase

    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None:
        return False
    now = timezone.now()
    ApiToken.objects.filter(customer_id=customer_id, revoked_at__isnull=True).update(revoked_at=now)
    if customer.erased_at is not None:
        return False
    personal_data_erase(data_subject(customer))
    Customer.objects.filter(pk=customer_id).update(
        openid=None, unionid="", session_key="", nickname="", avatar_url="", gender=0, phone="",
        phone_country_code="", phone_hash="", erased_at=now, updated_at=now,
    )
    logger.info("customer erased", extra={"event": {"customer": customer_id, "actor": actor}})
    return True


# --- FIELD_ENCRYPTION_KEY rotation -------------------------------------------------------


@dataclass
class FieldRotation:
    """What `encrypted_fields_rotate` did to one encrypted column."""

    label: str
    reencrypted: int = 0
    current: int = 0
    unreadable: int = 0


def encrypted_fields_rotate(*, batch_size: int = 500) -> list[FieldRotation]:
    """Re-encrypt every stored value of every EncryptedTextField with the first key.

    Walks each column in primary-key batches. A row is rewritten only while it still holds
    the value read (a concurrent write is already under the first key and wins). Values
    already under the first key, and values no key opens, are counted and left alone, so
    running it again is harmless."""
    return [
        _encrypted_column_rotate(model=model, field=field, batch_size=batch_size)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def _encrypted_column_rotate(*, model, field, batch_size: int) -> FieldRotation:
    result = FieldRotation(label=f"{model._meta.label}.{field.name}")
    # Cast to text: the stored ciphertext itself, past the field's decryption.
    rows = model._default_manager.annotate(_stored=Cast(field.name, TextField())).exclude(_stored="")
    last_pk = None
    while True:
        batch = rows.order_by("pk") if last_pk is None else rows.filter(pk__gt=last_pk).order_by("pk")
        batch = list(batch.values_list("pk", "_stored")[:batch_size])
        if not batch:
            return result
        with transaction.atomic():
            for pk, stored in batch:
                try:
                    plaintext, key_index = decrypt_any(stored)
                except UnreadableValue:
                    result.unreadable += 1
                    continue
                if key_index == 0:
                    result.current += 1
                    continue
                result.reencrypted += rows.filter(pk=pk, _stored=stored).update(
                    **{field.name: Value(encrypt(plaintext), output_field=TextField())}
                )
        last_pk = batch[-1][0]


def customer_phone_hashes_refresh(*, batch_size: int = 500) -> int:
    """Recompute phone lookup hashes with the first key; returns how many changed."""
    changed, last_pk = 0, 0
    while True:
        batch = list(
            Customer.objects.filter(pk__gt=last_pk).exclude(phone_hash="").order_by("pk")
            .only("phone", "phone_country_code", "phone_hash")[:batch_size]
        )
        if not batch:
            return changed
        for customer in batch:
            if not customer.phone:  # unreadable: keep the hash it has
                continue
            fresh = lookup_hash(f"+{customer.phone_country_code}{customer.phone}")
            if fresh != customer.phone_hash:
                changed += Customer.objects.filter(pk=customer.pk, phone_hash=customer.phone_hash).update(
                    phone_hash=fresh
                )
        last_pk = batch[-1].pk
