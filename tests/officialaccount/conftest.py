"""Helpers to talk to the callback as WeChat does: signed query strings, plaintext and
encrypted bodies, a fresh in-process rule cache per test."""

import secrets
import time

import pytest

from officialaccount import crypto, rules

TOKEN = "wxbackend_token"
AES_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"  # V6
APPID = "wx1234567890abcdef"
GH_ID = "gh_brand0001"
URL = "/wechat/mp/callback/"


@pytest.fixture(autouse=True)
def _fresh_rules():
    rules.reset_local()
    yield
    rules.reset_local()


@pytest.fixture
def plain_mode(settings):
    settings.WECHAT_MP_TOKEN = TOKEN
    settings.WECHAT_MP_APPID = APPID
    settings.WECHAT_MP_ENCODING_AES_KEY = ""
    return settings


@pytest.fixture
def safe_mode(settings):
    settings.WECHAT_MP_TOKEN = TOKEN
    settings.WECHAT_MP_APPID = APPID
    settings.WECHAT_MP_ENCODING_AES_KEY = AES_KEY
    return settings


def text_xml(content: str, *, msg_id: int = 24000000000000001, openid: str = "o_follower_0001",
             create_time: int | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{GH_ID}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(event: str, *, openid: str = "o_follower_0001", create_time: int = 1764057600,
              event_key: str | None = None, extra: str = "") -> str:
    key = f"<EventKey><![CDATA[{event_key}]]></EventKey>" if event_key is not None else ""
    return (
        f"<xml><ToUserName><![CDATA[{GH_ID}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>{key}{extra}</xml>"
    )


def signed_query(*, timestamp: int | None = None, nonce: str | None = None, token: str = TOKEN) -> dict:
    """A signed query as WeChat builds one: a fresh nonce for every push."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce if nonce is not None else str(secrets.randbelow(10**10))
    return {"signature": crypto.sha1_signature(token, ts, nonce), "timestamp": ts, "nonce": nonce,
            "openid": "o_follower_0001"}


def post_plain(client, xml: str | bytes, **query_overrides):
    query = {**signed_query(), **query_overrides}
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    body = xml.encode() if isinstance(xml, str) else xml
    return client.generic("POST", f"{URL}?{qs}", body, content_type="text/xml")


def encrypt_body(xml: str, *, timestamp: str, nonce: str, with_plain_fields: bool = False) -> tuple[str, str]:
    """(body, msg_signature) of an encrypted push; `with_plain_fields` gives compatible mode."""
    encrypted = crypto.encrypt(encoding_aes_key=AES_KEY, appid=APPID, message=xml)
    inner = xml[len("<xml>"):-len("</xml>")] if with_plain_fields else f"<ToUserName><![CDATA[{GH_ID}]]></ToUserName>"
    body = f"<xml>{inner}<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    return body, crypto.sha1_signature(TOKEN, timestamp, nonce, encrypted)


def post_safe(client, xml: str, *, with_plain_fields: bool = False, body_override: str | None = None,
              msg_signature: str | None = None):
    query = signed_query()
    body, signature = encrypt_body(xml, timestamp=query["timestamp"], nonce=query["nonce"],
                                   with_plain_fields=with_plain_fields)
    query.update(encrypt_type="aes", msg_signature=msg_signature or signature)
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return client.generic("POST", f"{URL}?{qs}", (body_override or body).encode(), content_type="text/xml")


def open_envelope(content: bytes) -> str:
    """Check an encrypted reply's MsgSignature and return the plaintext reply inside."""
    from defusedxml.ElementTree import fromstring

    from officialaccount.wxml import parse_fields

    root = fromstring(content)
    encrypted = root.findtext("Encrypt")
    signature = crypto.sha1_signature(TOKEN, root.findtext("TimeStamp"), root.findtext("Nonce"), encrypted)
    assert signature == root.findtext("MsgSignature")
    assert parse_fields(content)  # well-formed
    return crypto.decrypt(encoding_aes_key=AES_KEY, appid=APPID, encrypted=encrypted)
