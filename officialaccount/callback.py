"""The callback's hot path: verify, parse, decide the reply, store once, answer.

Processing order (spec 1.3): size, `signature` + timestamp window, with an AES key only
encrypted pushes (unless WECHAT_MP_ALLOW_PLAINTEXT), parse with entities off, `msg_signature`
+ decrypt in safe/compatible mode, copy known fields, bind a plaintext body to its URL's
(timestamp, nonce), store under a unique key *with* the reply decided before the insert,
answer. A new text message costs one SQL statement (`INSERT … ON CONFLICT DO NOTHING
RETURNING id`), plus one cache SET NX in plaintext mode; a retry finds the row and gets
the stored reply. Events also update the follower, in the same transaction as the insert.
"""

import dataclasses
import datetime
import functools
import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connection, connections, transaction
from django.utils import timezone

from officialaccount import crypto, links, rules
from officialaccount.exceptions import (
    BadSignature,
    EncryptionRequired,
    MalformedMessage,
    NonceReused,
    PayloadTooLarge,
    StaleTimestamp,
)
from officialaccount.models import Message
from officialaccount.replies import NO_REPLY, Article, Reply, render_passive
from officialaccount.wxml import MalformedXml, parse_fields

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_SKEW_SECONDS = 300
# A (timestamp, nonce) pair passes the window for up to 600 s (from 300 s before its
# timestamp to 300 s after), so its body is remembered a little longer than that.
NONCE_TTL_SECONDS = 2 * MAX_SKEW_SECONDS + 30
PRODUCT_MATCHES = 3
# Fetching a customer's picture inside the 5-second reply: (connect, read) seconds. Past it
# the picture is matched after the download and answered by customer-service message.
PHOTO_FETCH_TIMEOUT = (1.0, 2.0)
# Larger pictures are matched after the reply too: decoding a 9 MB JPEG took about a second.
PHOTO_SYNC_MAX_BYTES = 2 * 1024 * 1024
NEEDS_PERSON = dataclasses.replace(NO_REPLY, needs_person=True)
INBOX_CHANNEL = "wechat_mp"  # inbox.models.Channel.WECHAT_MP

# Message types whose default/out-of-hours reply we give (unknown types get `success`).
KNOWN_MESSAGE_TYPES = frozenset({"text", "image", "voice", "video", "shortvideo", "location", "link"})


MAX_EPOCH_DIGITS = 11  # up to the year 5138: beyond, datetime and time_t overflow
MAX_MSGID_DIGITS = 32  # MsgId is 64-bit today; leave room, but keep the key bounded


def _ascii_digits(value: str, max_digits: int) -> bool:
    """Only 0-9 (str.isdigit also accepts '²' and other scripts' digits, which int() refuses
    or reads as another number), at most `max_digits` of them."""
    return value.isascii() and value.isdigit() and len(value) <= max_digits


@dataclass(frozen=True)
class Inbound:
    """The known flat fields of one message or event, validated."""

    to_user: str
    openid: str
    create_time: int
    msg_type: str
    event: str
    event_key: str
    msg_id: str
    fields: dict

    @classmethod
    def from_fields(cls, fields: dict) -> "Inbound":
        to_user = fields.get("ToUserName", "")
        openid = fields.get("FromUserName", "")
        create_time = fields.get("CreateTime", "")
        msg_type = fields.get("MsgType", "").lower()
        if not (to_user and openid and msg_type and create_time):
            raise MalformedMessage("missing ToUserName, FromUserName, CreateTime or MsgType")
        if not _ascii_digits(create_time, MAX_EPOCH_DIGITS):
            raise MalformedMessage("CreateTime is not an epoch")
        if len(openid) > 64 or len(to_user) > 64 or len(msg_type) > 32:
            raise MalformedMessage("field too long")
        msg_id = fields.get("MsgId", "")
        if msg_id and not _ascii_digits(msg_id, MAX_MSGID_DIGITS):
            raise MalformedMessage("MsgId is not a number")
        event = fields.get("Event", "").lower()
        if msg_type == "event":
            if not event or len(event) > 64:
                raise MalformedMessage("event without Event")
            msg_id = ""  # events are keyed by sender + time (TEMPLATESENDJOBFINISH's MsgID is not ours)
        elif msg_type == "text" and ("Content" not in fields or not msg_id):
            raise MalformedMessage("text message without Content or MsgId")
        return cls(
            to_user=to_user, openid=openid, create_time=int(create_time), msg_type=msg_type,
            event=event, event_key=fields.get("EventKey", ""), msg_id=msg_id, fields=fields,
        )

    @property
    def is_event(self) -> bool:
        return self.msg_type == "event"

    @property
    def has_media(self) -> bool:
        """An image, voice or video message whose file we download after commit."""
        return self.msg_type in Message.MEDIA_TYPES and bool(self.fields.get("MediaId"))

    @property
    def dedupe_key(self) -> str:
        """`MsgId` for messages; sender, time, event and key for events (spec 2.4)."""
        if self.msg_id:
            return f"m:{self.msg_id}"
        key = f"e:{self.openid}:{self.create_time}:{self.event or self.msg_type}:{self.event_key}"
        if len(key) > 200:
            key = "e:" + hashlib.sha256(key.encode()).hexdigest()
        return key

    @property
    def qr_scene(self) -> str:
        """The QR scene of a subscribe (`qrscene_<scene>`) or SCAN (`<scene>`) event."""
        if self.event == "subscribe" and self.event_key.startswith("qrscene_"):
            return self.event_key[len("qrscene_"):][:64]
        if self.event == "scan":
            return self.event_key[:64]
        return ""

    @property
    def content(self) -> str:
        f = self.fields
        if self.msg_type == "text":
            return f.get("Content", "")
        if self.msg_type == "voice":
            return f.get("Recognition", "") or f.get("MediaId", "")
        if self.msg_type == "image":
            return f.get("PicUrl", "")
        if self.msg_type == "location":
            return f.get("Label", "") or f"{f.get('Location_X', '')},{f.get('Location_Y', '')}"
        if self.msg_type == "link":
            return f"{f.get('Title', '')} {f.get('Url', '')}".strip()
        if self.is_event and "List" in f:
            return "; ".join(
                f"{i.get('TemplateId', '')} {i.get('SubscribeStatusString') or i.get('ErrorStatus', '')}".strip()
                for i in f["List"]
            )
        if self.event == "templatesendjobfinish":
            return f.get("Status", "")
        return f.get("MediaId", "") or self.event_key


# --- verification and decoding -------------------------------------------------------------


def _verify_url_signature(query: Mapping[str, str], *, token: str, now: float) -> None:
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    if not crypto.signature_matches((token, timestamp, nonce), query.get("signature", "")):
        raise BadSignature()
    if not _ascii_digits(timestamp, MAX_EPOCH_DIGITS) or abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        raise StaleTimestamp()


def callback_verify_url(*, query: Mapping[str, str], now: float | None = None) -> str:
    """The `echostr` to answer WeChat's URL check with; raises BadSignature/StaleTimestamp."""
    _verify_url_signature(query, token=settings.WECHAT_MP_TOKEN, now=time.time() if now is None else now)
    return query.get("echostr", "")


def _is_encrypted(query: Mapping[str, str]) -> bool:
    return query.get("encrypt_type", "raw").lower() == "aes"


def _decode(query: Mapping[str, str], body: bytes, *, token: str, aes_key: str, appid: str) -> dict:
    try:
        outer = parse_fields(body)
    except MalformedXml:
        raise MalformedMessage()
    if not _is_encrypted(query):
        outer.pop("Encrypt", None)  # a plaintext body never carries our <Encrypt> forward
        return outer
    if not aes_key:
        raise MalformedMessage("encrypted message but no EncodingAESKey configured")
    envelope = outer.get("Encrypt", "")
    if not envelope:
        raise MalformedMessage("no Encrypt element")
    if not crypto.signature_matches((token, query.get("timestamp", ""), query.get("nonce", ""), envelope),
                                    query.get("msg_signature", "")):
        raise BadSignature()
    try:
        inner = crypto.decrypt(encoding_aes_key=aes_key, appid=appid, encrypted=envelope)
        fields = parse_fields(inner)
    except (crypto.CryptoError, MalformedXml):
        raise MalformedMessage()
    fields.pop("Encrypt", None)
    return fields  # only the decrypted copy: compatible mode's plaintext is unauthenticated


def _bind_nonce(query: Mapping[str, str], body: bytes) -> None:
    """Refuse a second, different body under an already used (timestamp, nonce).

    A plaintext push's signature covers only token, timestamp and nonce, so whoever saw one
    signed URL could post any XML under it within the window. WeChat's true retry (the same
    bytes) passes and gets its stored reply. Safe and compatible mode need no binding: their
    `msg_signature` covers the envelope. One cache round trip (SET NX)."""
    pair = f"{query.get('timestamp', '')}:{query.get('nonce', '')}"
    key = "officialaccount:nonce:" + hashlib.sha256(pair.encode()).hexdigest()
    digest = hashlib.sha256(body).hexdigest()
    try:
        if cache.add(key, digest, timeout=NONCE_TTL_SECONDS):
            return
        seen = cache.get(key)
    except Exception as exc:
        # Fail open: with the cache down we keep receiving followers' messages, guarded by
        # the URL signature and the timestamp window, rather than lose them all.
        logger.warning("nonce binding unavailable", extra={"event": {"error": type(exc).__name__}})
        return
    if seen is not None and seen != digest:  # None: expired meanwhile, or a fail-open cache
        raise NonceReused()


def callback_handle(*, query: Mapping[str, str], body: bytes, now: float | None = None) -> str:
    """Handle one POSTed message or event and return the response body.

    Raises PayloadTooLarge, BadSignature, StaleTimestamp, EncryptionRequired (before
    anything is parsed), MalformedMessage or NonceReused. Stores the message before
    answering; a retry gets the same answer."""
    now = time.time() if now is None else now
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    token, aes_key, appid = settings.WECHAT_MP_TOKEN, settings.WECHAT_MP_ENCODING_AES_KEY, settings.WECHAT_MP_APPID
    _verify_url_signature(query, token=token, now=now)
    encrypted = _is_encrypted(query)
    if not encrypted and aes_key and not settings.WECHAT_MP_ALLOW_PLAINTEXT:
        raise EncryptionRequired()  # a downgrade: the URL signature does not cover the body
    inbound = Inbound.from_fields(_decode(query, body, token=token, aes_key=aes_key, appid=appid))
    if not encrypted:
        _bind_nonce(query, body)  # only a well-formed message uses up its URL
    plain = inbound_receive(inbound=inbound, now=now)
    if not encrypted or plain in ("success", ""):
        # The reply goes back in the mode the message came in; `success` and the empty
        # reply are never encrypted (spec 1.2).
        return plain
    return crypto.encrypted_envelope(
        token=token, encoding_aes_key=aes_key, appid=appid, message=plain,
        timestamp=str(int(now)), nonce=query.get("nonce", "") or str(int(now)),
    )


# --- deciding the reply ------------------------------------------------------------------


def _yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def product_link(product_id: int) -> str:
    """An https link that opens the product page of the mini-program (see views.product_link)."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/wechat/mp/product/{product_id}/"


def _product_reply(text: str) -> Reply | None:
    try:
        from catalog.selectors import product_matches
    except ImportError:  # the catalog is optional for the official account
        return None
    try:
        matches = product_matches(text=text[:100], limit=PRODUCT_MATCHES)
    except Exception as exc:  # the cache (catalog version) is down: store the message anyway
        logger.warning("product match unavailable", extra={"event": {"error": type(exc).__name__}})
        return None
    return product_matches_reply(matches)


def product_matches_reply(matches) -> Reply | None:
    """A news reply naming the matched products (catalog ProductMatch rows), or None."""
    if not matches:
        return None
    best, others = matches[0], matches[1:]
    description = f"{_yuan(best.price_fen)}，点击查看详情"
    if others:
        description += "。还有：" + "；".join(f"{m.title} {_yuan(m.price_fen)}" for m in others)
    # A cached URL link goes out as is; otherwise our redirect gets one on the first tap.
    url = links.product_url_link_cached(best.id) or product_link(best.id)
    # A reply to a user's message shows one article (spec 2.3): the others are named in it.
    article = Article(title=f"{best.title} {_yuan(best.price_fen)}", description=description,
                      pic_url=best.cover_url, url=url)
    return Reply(kind="news", articles=(article,))


@dataclass(frozen=True)
class PhotoAnswer:
    """What a customer's picture answered: products (`reply`), nothing, or not yet (`pending`:
    the picture could not be fetched in time, so a task decides after the media download)."""

    reply: Reply | None = None
    pending: bool = False


def photo_answer(inbound: Inbound) -> PhotoAnswer:
    """Fetch the picture of an image message (media/get, on a short deadline: the reply is due
    within 5 seconds, spec 2.4) and match it against the products' pictures. Never raises."""
    media_id = inbound.fields.get("MediaId", "")
    if inbound.msg_type != "image" or not media_id or not rules.ruleset().match_products:
        return PhotoAnswer()
    try:
        from catalog.selectors import product_photo_matches, product_photos_indexed

        if not product_photos_indexed():
            return PhotoAnswer()  # no product has a picture: fetching would be for nothing
        if Message.objects.filter(dedupe_key=inbound.dedupe_key).exists():
            return PhotoAnswer()  # WeChat's retry: the first delivery decided
    except Exception as exc:
        logger.warning("photo match unavailable", extra={"event": {"error": type(exc).__name__}})
        return PhotoAnswer()
    from officialaccount import gateway
    from wxbackend.wechat import GatewayRejected, GatewayUnavailable

    try:
        media = gateway.media_get(media_id=media_id, timeout=PHOTO_FETCH_TIMEOUT)
    except GatewayUnavailable:
        return PhotoAnswer(pending=True)
    except GatewayRejected:
        return PhotoAnswer()
    if len(media.content) > PHOTO_SYNC_MAX_BYTES:
        return PhotoAnswer(pending=True)  # decoding could eat the rest of the 5 s: decide later
    try:
        return PhotoAnswer(reply=product_matches_reply(product_photo_matches(data=media.content,
                                                                             limit=PRODUCT_MATCHES)))
    except Exception as exc:
        logger.warning("photo match failed", extra={"event": {"error": type(exc).__name__}})
        return PhotoAnswer()


def reply_for(inbound: Inbound, *, at: datetime.datetime, photo: Reply | None = None) -> Reply:
    """Decide the answer from the in-memory rules (and the catalog for free text; `photo`:
    the products a picture matched)."""
    ruleset = rules.ruleset()
    if inbound.is_event:
        if inbound.event == "subscribe":
            scene = inbound.qr_scene
            return (scene and ruleset.scans.get(scene)) or ruleset.welcome or NO_REPLY
        if inbound.event == "click":
            return ruleset.clicks.get(inbound.event_key) or NO_REPLY
        if inbound.event == "scan":
            return ruleset.scans.get(inbound.event_key) or ruleset.scans.get("") or NO_REPLY
        return NO_REPLY
    if inbound.msg_type not in KNOWN_MESSAGE_TYPES:
        return NEEDS_PERSON
    if photo is not None:
        return photo
    text = inbound.content if inbound.msg_type in ("text", "voice") else ""
    if text:
        found = ruleset.keyword_reply(text)
        if found is None and ruleset.match_products:
            found = _product_reply(text)
        if found is not None:
            return found
    if ruleset.out_of_hours_text and ruleset.is_out_of_hours(at):
        return Reply(kind="text", text=ruleset.out_of_hours_text, needs_person=True)
    if ruleset.default_text:
        return Reply(kind="text", text=ruleset.default_text, needs_person=True)
    return NEEDS_PERSON


# --- storing ---------------------------------------------------------------------------------

_COLUMNS = (
    "direction", "openid", "dedupe_key", "msg_type", "event", "event_key", "qr_scene", "content",
    "fields", "wechat_created_at", "created_at", "reply_kind", "reply_text", "reply_xml", "status", "error",
)


_insert_sql_by_vendor: dict[tuple[str, str | None], str] = {}


def _insert_sql(conn, inbox_mode: str | None = None) -> str:
    sql = _insert_sql_by_vendor.get((conn.vendor, inbox_mode))
    if sql is None:
        sql = _build_insert_sql(conn)
        if inbox_mode is not None:
            from inbox.hotpath import wrap_insert_sql

            sql = wrap_insert_sql(conn, sql, inbox_mode)
        _insert_sql_by_vendor[(conn.vendor, inbox_mode)] = sql
    return sql


def _inbox_mode(inbound: Inbound, reply: Reply) -> str | None:
    """What the message does to the customer's inbox conversation: a message no rule
    answered opens it, any other message counts as unread in an open one; events do
    nothing (a follow or a menu tap is not a question)."""
    if inbound.is_event:
        return None
    return "open" if reply.needs_person else "touch"


def _build_insert_sql(conn) -> str:
    qn = conn.ops.quote_name
    table, columns = qn(Message._meta.db_table), ", ".join(qn(c) for c in _COLUMNS)
    placeholders = ", ".join(["%s"] * len(_COLUMNS))
    # Only quoted identifiers are interpolated; every value is a bound parameter.
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "  # noqa: S608
    return sql + f"ON CONFLICT ({qn('dedupe_key')}) DO NOTHING RETURNING {qn('id')}"


@functools.cache
def _fields_field():
    return Message._meta.get_field("fields")


def _message_insert(inbound: Inbound, reply: Reply, reply_xml: str, at: datetime.datetime,
                    inbox_mode: str | None = None) -> int | None:
    """Insert the inbound row with its reply in one statement; None if it already exists.

    On PostgreSQL the same statement applies `inbox_mode` to the customer's conversation
    (inbox.hotpath); elsewhere the caller applies it in the message's transaction."""
    # The thread's connection, looked up once (each `connection.<attr>` goes through the
    # ConnectionProxy and a thread-local lookup; this is the hot path).
    conn = connections[DEFAULT_DB_ALIAS]
    ops = conn.ops
    fields_value = _fields_field().get_db_prep_save(inbound.fields, conn)
    wechat_at = datetime.datetime.fromtimestamp(inbound.create_time, tz=datetime.UTC)
    values = (
        Message.Direction.INBOUND, inbound.openid, inbound.dedupe_key, inbound.msg_type[:32],
        inbound.event, inbound.event_key[:512], inbound.qr_scene, inbound.content, fields_value,
        ops.adapt_datetimefield_value(wechat_at), ops.adapt_datetimefield_value(at),
        "" if reply.kind == "none" else reply.kind, reply.summary(), reply_xml, Message.Status.RECEIVED, "",
    )
    mode = inbox_mode if conn.vendor == "postgresql" else None
    if mode is not None:
        from inbox.hotpath import wrap_params

        values += wrap_params(mode, channel=INBOX_CHANNEL, contact=inbound.openid,
                              at=ops.adapt_datetimefield_value(at))
    if conn.vendor != "postgresql" or conn.in_atomic_block:
        return _execute_insert(conn, values, conn.cursor(), mode)
    try:
        return _execute_insert(conn, values, _optimistic_cursor(conn), mode)
    except (OperationalError, InterfaceError):
        # The persistent connection was dropped by the server: the INSERT served as its
        # health check. Reconnect and insert again; if the first attempt did commit, the
        # second finds the row and the caller answers with the stored reply.
        conn.close()
        return _execute_insert(conn, values, _optimistic_cursor(conn), mode)


def _execute_insert(conn, values: tuple, cursor, inbox_mode: str | None = None) -> int | None:
    with cursor:
        cursor.execute(_insert_sql(conn, inbox_mode), values)
        row = cursor.fetchone()
    return row[0] if row else None


def _optimistic_cursor(conn):
    """A PostgreSQL cursor for the autocommit hot path.

    Server-side binding lets psycopg prepare the INSERT once per connection (Django's
    default client-side binding re-sends and re-plans it each time). Django's per-request
    health check (`SELECT 1` with CONN_HEALTH_CHECKS) is skipped: it doubled the round trips
    of a message, and the idempotent INSERT is a health check of its own (see the caller's
    retry). Wrapped like Django's own cursors, so queries are logged and errors mapped."""
    import psycopg

    conn.health_check_done = True
    conn.ensure_connection()
    with conn.wrap_database_errors:
        return conn._prepare_cursor(psycopg.Cursor(conn.connection))


def _stored_reply(dedupe_key: str) -> str:
    stored = Message.objects.filter(dedupe_key=dedupe_key).values_list("reply_xml", flat=True).first()
    return stored if stored is not None else "success"


def _media_fetch_put(message_id: int) -> None:
    """Download the media of a new image/voice/video message after commit (the outbox)."""
    from officialaccount.tasks import message_media_fetch_task
    from wxbackend.outbox import outbox_put

    outbox_put(task=message_media_fetch_task, args=[message_id], key=f"oa.media:{message_id}")


def _photo_answer_put(message_id: int) -> None:
    """Match the picture after its download and answer by customer-service message (the outbox)."""
    from officialaccount.tasks import photo_question_answer_task
    from wxbackend.outbox import outbox_put

    outbox_put(task=photo_question_answer_task, args=[message_id], key=f"oa.photo:{message_id}")


def inbound_receive(*, inbound: Inbound, now: float | None = None) -> str:
    """Store `inbound` once (with the reply decided for it) and return the plaintext reply.

    A new plain message is one INSERT in autocommit; an event also updates the follower in
    the same transaction; media downloads and answers that need an API call (a
    customer-service message) are recorded in the outbox in that transaction too, so none is
    lost to a broker outage. A repeat delivery changes nothing and gets the stored reply."""
    at = timezone.now() if now is None else datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
    photo = photo_answer(inbound) if inbound.msg_type == "image" else PhotoAnswer()
    reply = reply_for(inbound, at=at, photo=photo.reply)
    reply_xml = render_passive(
        reply, to_user=inbound.openid, from_user=inbound.to_user, create_time=int(at.timestamp()),
        for_event=inbound.is_event,
    )
    inbox_mode = _inbox_mode(inbound, reply)
    # Without PostgreSQL the inbox is a second statement, so it needs the transaction.
    inbox_apart = inbox_mode is not None and connection.vendor != "postgresql"
    side_effects = inbound.is_event or inbound.has_media or reply.needs_customer_service or inbox_apart
    if not side_effects and connection.get_autocommit():
        message_id = _message_insert(inbound, reply, reply_xml, at, inbox_mode)  # the one statement
        return reply_xml if message_id is not None else _stored_reply(inbound.dedupe_key)

    from officialaccount import services

    with transaction.atomic():
        message_id = _message_insert(inbound, reply, reply_xml, at, inbox_mode)
        if message_id is None:
            return _stored_reply(inbound.dedupe_key)
        if inbox_apart:
            from inbox.hotpath import conversation_inbound

            conversation_inbound(channel=INBOX_CHANNEL, contact=inbound.openid, message_id=message_id,
                                 at=at, mode=inbox_mode)
        if inbound.has_media:
            _media_fetch_put(message_id)  # in the message's transaction: never lost
        if photo.pending:
            _photo_answer_put(message_id)
        if inbound.is_event:
            services.follower_event_apply(
                openid=inbound.openid, event=inbound.event, qr_scene=inbound.qr_scene,
                at=datetime.datetime.fromtimestamp(inbound.create_time, tz=datetime.UTC),
            )
        if reply.needs_customer_service:
            services.customer_service_queue(
                openid=inbound.openid, reply=reply, dedupe_key=f"cs:{message_id}", in_reply_to_id=message_id,
            )
    return reply_xml
