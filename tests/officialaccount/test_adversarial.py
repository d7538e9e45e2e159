"""Trying to break the callback: odd query strings, bodies at and over the limit, foreign
encodings, DTDs, deep nesting, CDATA injection, control characters, broken envelopes, odd
ids and times, unknown events and methods. Whatever arrives, the answer is never a 500,
nothing is stored on 403/413/400, and a retry gets the same answer."""

import base64
import time
from urllib.parse import urlencode

import pytest
from defusedxml.ElementTree import fromstring

from officialaccount import crypto
from officialaccount.models import Follower, Message, ReplyRule
from tests.officialaccount.conftest import (
    AES_KEY,
    APPID,
    GH_ID,
    TOKEN,
    URL,
    event_xml,
    open_envelope,
    post_plain,
    post_safe,
    signed_query,
    text_xml,
)

pytestmark = pytest.mark.django_db

LIMIT = 64 * 1024


@pytest.fixture
def hello_rule():
    return ReplyRule.objects.create(name="问候", keyword="你好", text="您好，欢迎光临")


def bare_text_xml(content: str, msg_id: int = 24000000000000001) -> bytes:
    """A text message whose Content is not in CDATA, so character references are parsed."""
    return text_xml("CONTENT", msg_id=msg_id).replace("<![CDATA[CONTENT]]>", content).encode()


def post_raw(client, query_string: str, body: bytes, **extra):
    return client.generic("POST", f"{URL}?{query_string}", body, content_type="text/xml", **extra)


def signed(timestamp: str, nonce: str = "1785743913") -> dict:
    return {"signature": crypto.sha1_signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


# --- query strings ----------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["signature", "timestamp", "nonce"])
def test_missing_query_params_are_403_and_store_nothing(client, plain_mode, missing):
    query = {k: v for k, v in signed_query().items() if k != missing}
    assert client.get(URL, {**query, "echostr": "1"}).status_code == 403
    assert post_raw(client, urlencode(query), text_xml("x").encode()).status_code == 403
    assert post_raw(client, "", text_xml("x").encode()).status_code == 403
    assert client.get(URL).status_code == 403
    assert not Message.objects.exists()


@pytest.mark.parametrize("timestamp", ["abc", "", "-1", "1e9", " 1764057600", "١٧٦٤٠٥٧٦٠٠", "²", "9" * 5000])
def test_non_numeric_or_absurd_timestamps_are_403_not_500(client, plain_mode, timestamp):
    """Even correctly signed (the token holder's own mistake), an odd timestamp is refused."""
    query = signed(timestamp)
    assert client.get(URL, {**query, "echostr": "1"}).status_code == 403
    assert post_raw(client, urlencode(query), text_xml("x").encode()).status_code == 403
    assert not Message.objects.exists()


@pytest.mark.parametrize("name", ["signature", "timestamp", "nonce", "encrypt_type", "msg_signature"])
def test_duplicated_security_params_are_refused(client, plain_mode, name):
    """Parameter pollution: a proxy and we could read different copies; refuse, store nothing."""
    query = signed_query()
    value = query.get(name, "raw")
    qs = urlencode({**query, name: value}) + "&" + urlencode({name: value})
    assert post_raw(client, qs, text_xml("x").encode()).status_code == 400
    assert client.get(f"{URL}?{qs}&echostr=1").status_code == 400
    assert not Message.objects.exists()


def test_huge_query_strings_are_refused_without_500(client, plain_mode):
    query = signed_query()
    many = urlencode(query) + "&" + "&".join(f"p{i}=1" for i in range(5000))
    assert post_raw(client, many, text_xml("x").encode()).status_code in (400, 403)
    big_nonce = {**query, "nonce": "n" * 200_000}
    assert post_raw(client, urlencode(big_nonce), text_xml("x").encode()).status_code == 403
    assert not Message.objects.exists()


def test_a_huge_correctly_signed_nonce_gives_a_valid_encrypted_reply(client, safe_mode, hello_rule):
    nonce = "n" * 10_000
    query = {**signed(str(int(time.time())), nonce=nonce)}
    encrypted = crypto.encrypt(encoding_aes_key=AES_KEY, appid=APPID, message=text_xml("你好", msg_id=41))
    body = f"<xml><ToUserName><![CDATA[{GH_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    query.update(encrypt_type="aes",
                 msg_signature=crypto.sha1_signature(TOKEN, query["timestamp"], nonce, encrypted))
    response = post_raw(client, urlencode(query), body.encode())
    assert response.status_code == 200
    assert fromstring(open_envelope(response.content)).findtext("Content") == "您好，欢迎光临"


# --- bodies -----------------------------------------------------------------------------------


def _padded_text(size: int, msg_id: int) -> bytes:
    """A text message of exactly `size` bytes (an XML comment pads it)."""
    xml = text_xml("你好", msg_id=msg_id).encode()
    pad = size - len(xml) - len(b"<!---->")
    return xml.replace(b"</xml>", b"<!--" + b"p" * pad + b"--></xml>")


def test_a_body_of_exactly_64_kb_is_accepted_and_one_byte_more_is_413(client, plain_mode, hello_rule):
    body = _padded_text(LIMIT, 42)
    assert len(body) == LIMIT
    response = post_plain(client, body)
    assert response.status_code == 200
    assert fromstring(response.content).findtext("Content") == "您好，欢迎光临"
    over = _padded_text(LIMIT + 1, 43)
    assert post_plain(client, over).status_code == 413
    assert list(Message.objects.values_list("dedupe_key", flat=True)) == ["m:42"]


@pytest.mark.parametrize("declared", ["", "abc", "-1", "99999999999999999999", "²", "١٢"])
def test_a_body_without_a_usable_content_length_is_never_read_past_the_limit(client, plain_mode, declared):
    """Without a Content-Length (chunked) Django reads no body at all: 400; a bogus one: 413."""
    over = _padded_text(LIMIT + 1, 44)
    response = client.generic("POST", f"{URL}?{urlencode(signed_query())}", over, content_type="text/xml",
                              CONTENT_LENGTH=declared)
    assert response.status_code == (400 if declared == "" else 413)
    assert not Message.objects.exists()


def test_long_content_near_the_limit_is_stored_whole(client, plain_mode):
    content = "长" * 20_000  # 60,000 bytes of UTF-8
    response = post_plain(client, text_xml(content, msg_id=45))
    assert response.status_code == 200
    assert Message.objects.get().content == content


def test_long_content_in_safe_mode_within_the_limit(client, safe_mode):
    """The envelope is base64 of the encrypted message: ~4/3 of the plaintext, so 64 KB holds
    a message of about 48 KB; more is 413 before any decryption."""
    content = "x" * 40_000
    response = post_safe(client, text_xml(content, msg_id=46))
    assert response.status_code == 200
    assert Message.objects.get().content == content
    assert post_safe(client, text_xml("x" * 50_000, msg_id=47)).status_code == 413
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(text_xml("x").encode().replace(b"x]]>", b"\xff\xfe]]>"), id="invalid-utf8"),
        pytest.param(text_xml("x").encode("utf-8").replace(b"x]]>", b"\xc3]]>"), id="truncated-utf8"),
        pytest.param(b'<?xml version="1.0" encoding="bogus-8"?>' + text_xml("x").encode(), id="unknown-encoding"),
        pytest.param(b'<?xml version="1.0" encoding="utf-7"?>' + text_xml("x").encode(), id="utf-7"),
        pytest.param(b'<!DOCTYPE xml><xml><ToUserName>a</ToUserName></xml>', id="doctype-without-entities"),
        pytest.param(b'<!DOCTYPE xml SYSTEM "http://example.com/x.dtd">' + text_xml("x").encode(), id="doctype-system"),
        pytest.param(text_xml("a\x00b").encode(), id="raw-nul"),
        pytest.param(bare_text_xml("a&#0;b"), id="nul-reference"),
        pytest.param(text_xml("a\x01\x1bb").encode(), id="control-characters"),
        pytest.param(bare_text_xml("a&#x1b;b"), id="control-reference"),
        pytest.param(bare_text_xml("a&#xD800;b"), id="surrogate-reference"),
        pytest.param(bare_text_xml("a&#x110000;b"), id="beyond-unicode-reference"),
        pytest.param(text_xml("a\ud800b").encode("utf-8", "surrogatepass"), id="encoded-surrogate"),
        pytest.param(text_xml("x").encode() + b"<xml/>", id="two-roots"),
        pytest.param(b"<?xml-stylesheet href='x'?>" + text_xml("x").encode() + b"trailing", id="trailing-text"),
        pytest.param(b"\xef\xbb\xbf\xef\xbb\xbf" + text_xml("x").encode(), id="double-bom"),
    ],
)
def test_undecodable_or_illegal_bodies_are_400_and_store_nothing(client, plain_mode, body):
    response = post_plain(client, body)
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_control_characters_in_an_encrypted_message_are_400(client, safe_mode):
    for n, content in enumerate(["a\x00b", "a\x01b"]):
        assert post_safe(client, text_xml(content, msg_id=50 + n)).status_code == 400
    assert post_safe(client, bare_text_xml("a&#0;b", msg_id=52).decode()).status_code == 400
    assert not Message.objects.exists()


def test_a_nul_reference_inside_cdata_is_just_text(client, plain_mode):
    """In CDATA `&#0;` is five characters, not a NUL: stored as such (PostgreSQL would
    refuse a real NUL in text)."""
    assert post_plain(client, text_xml("a&#0;b", msg_id=53)).status_code == 200
    assert Message.objects.get().content == "a&#0;b"


def test_utf16_with_bom_is_read_as_the_xml_it_is(client, plain_mode, hello_rule):
    body = '<?xml version="1.0" encoding="UTF-16"?>'.encode("utf-16") + text_xml("你好", msg_id=48).encode("utf-16")[2:]
    response = post_plain(client, body)
    assert response.status_code == 200
    assert fromstring(response.content).findtext("Content") == "您好，欢迎光临"
    assert Message.objects.get().content == "你好"


def test_a_latin1_declared_body_is_decoded_as_declared(client, plain_mode):
    body = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + text_xml("caf\xe9", msg_id=49).encode("latin-1")
    assert post_plain(client, body).status_code == 200
    assert Message.objects.get().content == "café"


@pytest.mark.parametrize("depth", [100, 5_000, 9_000])
def test_deeply_nested_elements_are_harmless(client, plain_mode, hello_rule, depth):
    nested = "<a>" * depth + "</a>" * depth
    body = text_xml("你好", msg_id=60 + depth).replace("</xml>", nested + "</xml>").encode()
    assert len(body) <= LIMIT
    started = time.perf_counter()
    response = post_plain(client, body)
    assert response.status_code == 200
    assert time.perf_counter() - started < 1
    assert fromstring(response.content).findtext("Content") == "您好，欢迎光临"


def test_deeply_nested_list_containers_are_harmless(client, plain_mode):
    depth = 8_000
    nested = "<a>" * depth + "<List><TemplateId>t</TemplateId></List>" * 50 + "</a>" * depth
    body = event_xml("subscribe_msg_popup_event", extra=nested).encode()
    response = post_plain(client, body)
    assert response.status_code == 200
    assert len(Message.objects.get().fields["List"]) == 20


# --- CDATA injection ----------------------------------------------------------------------------


def test_cdata_breakout_in_a_rule_reply_and_in_the_echoed_user_text(client, plain_mode):
    ReplyRule.objects.create(name="回显", keyword="]]><MsgType>news</MsgType>", match="contains",
                             text="]]>]]><![CDATA[<MsgType>music</MsgType>]]>")
    response = post_plain(client, text_xml("a]]]]><![CDATA[><MsgType>news</MsgType>b", msg_id=70))
    assert response.status_code == 200
    root = fromstring(response.content)
    assert [e.text for e in root.iter("MsgType")] == ["text"]
    assert root.findtext("Content") == "]]>]]><![CDATA[<MsgType>music</MsgType>]]>"
    assert Message.objects.get().content == "a]]><MsgType>news</MsgType>b"


def test_cdata_breakout_in_an_echoed_product_title(client, plain_mode, settings, tmp_path):
    from tests.factories import ProductFactory, SkuFactory

    settings.MEDIA_ROOT = tmp_path
    product = ProductFactory(title="保温杯]]><MsgType>text</MsgType><Content>钓鱼</Content>")
    SkuFactory(product=product, price_fen=100)
    response = post_plain(client, text_xml("有保温杯吗", msg_id=71))
    root = fromstring(response.content)
    assert [e.text for e in root.iter("MsgType")] == ["news"]
    assert root.find("Content") is None
    assert root.findtext("Articles/item/Title").startswith("保温杯]]><MsgType>text</MsgType>")


# --- envelopes ----------------------------------------------------------------------------------


def _post_envelope(client, encrypted: str, **query_overrides):
    query = signed_query()
    body = f"<xml><ToUserName><![CDATA[{GH_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    query.update(encrypt_type="aes",
                 msg_signature=crypto.sha1_signature(TOKEN, query["timestamp"], query["nonce"], encrypted))
    query.update(query_overrides)
    return post_raw(client, urlencode(query), body.encode())


def _raw_encrypt(plain: bytes) -> str:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = crypto.aes_key(AES_KEY)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def _full(message: bytes, appid: bytes = APPID.encode(), declared: int | None = None) -> bytes:
    size = len(message) if declared is None else declared
    return b"r" * 16 + size.to_bytes(4, "big") + message + appid


def _pad(data: bytes, value: int | None = None) -> bytes:
    pad = 32 - len(data) % 32
    return data + bytes([value if value is not None else pad]) * pad


@pytest.mark.parametrize(
    "encrypted",
    [
        pytest.param(base64.b64encode(b"x" * 15).decode(), id="not-a-block"),
        pytest.param(base64.b64encode(b"x" * 33).decode(), id="33-bytes"),
        pytest.param("", id="empty"),
        pytest.param("@@@@", id="not-base64"),
        pytest.param(base64.b64encode(b"x" * 32).decode() + "\n", id="trailing-newline"),
        pytest.param(_raw_encrypt(_pad(_full(text_xml("x", msg_id=80).encode()), value=0)), id="pad-zero"),
        pytest.param(_raw_encrypt(_pad(_full(text_xml("x", msg_id=81).encode()), value=33)), id="pad-33"),
        pytest.param(_raw_encrypt(_pad(_full(text_xml("x", msg_id=82).encode(), appid=b"wx_other"))), id="wrong-appid"),
        pytest.param(_raw_encrypt(_pad(_full(text_xml("x", msg_id=83).encode(), appid=b""))), id="no-appid"),
        pytest.param(_raw_encrypt(_pad(_full(text_xml("x", msg_id=84).encode(), declared=2**32 - 1))), id="huge-length"),
        pytest.param(_raw_encrypt(_pad(_full(text_xml("x", msg_id=85).encode(), declared=0))), id="zero-length"),
        pytest.param(_raw_encrypt(_pad(b"r" * 16)), id="too-short"),
        pytest.param(_raw_encrypt(_pad(_full(b"\xff\xfe<xml/>"))), id="inner-not-utf8"),
        pytest.param(_raw_encrypt(_pad(_full(b"<xml><a>"))), id="inner-malformed"),
        pytest.param(_raw_encrypt(_pad(_full(b'<!DOCTYPE x [<!ENTITY e "e">]><xml>&e;</xml>'))), id="inner-entity"),
    ],
)
def test_broken_envelopes_are_400_and_store_nothing(client, safe_mode, encrypted):
    assert _post_envelope(client, encrypted).status_code == 400
    assert not Message.objects.exists()


def test_uppercase_encrypt_type_is_safe_mode(client, safe_mode, hello_rule):
    encrypted = crypto.encrypt(encoding_aes_key=AES_KEY, appid=APPID, message=text_xml("你好", msg_id=90))
    response = _post_envelope(client, encrypted, encrypt_type="AES")
    assert response.status_code == 200
    assert fromstring(open_envelope(response.content)).findtext("Content") == "您好，欢迎光临"


def test_missing_msg_signature_is_403(client, safe_mode):
    encrypted = crypto.encrypt(encoding_aes_key=AES_KEY, appid=APPID, message=text_xml("x", msg_id=91))
    query = {**signed_query(), "encrypt_type": "aes"}
    body = f"<xml><ToUserName>{GH_ID}</ToUserName><Encrypt>{encrypted}</Encrypt></xml>"
    assert post_raw(client, urlencode(query), body.encode()).status_code == 403
    assert not Message.objects.exists()


def test_unknown_encrypt_type_is_refused(client, safe_mode):
    """Anything but `aes` is not safe mode, so with a key configured it is a downgrade."""
    encrypted = crypto.encrypt(encoding_aes_key=AES_KEY, appid=APPID, message=text_xml("x", msg_id=92))
    assert _post_envelope(client, encrypted, encrypt_type="des").status_code == 403
    assert not Message.objects.exists()


# --- ids, times and events ------------------------------------------------------------------------


def test_a_25_digit_msgid_is_stored_and_deduplicated(client, plain_mode, hello_rule):
    msg_id = "1" * 25
    xml = text_xml("你好").replace("<MsgId>24000000000000001</MsgId>", f"<MsgId>{msg_id}</MsgId>")
    first, second = post_plain(client, xml), post_plain(client, xml)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert Message.objects.get().dedupe_key == f"m:{msg_id}"


@pytest.mark.parametrize("msg_id", ["٣٤", "²", "-1", "1 2", "9" * 200])
def test_non_ascii_or_absurd_msgids_are_400(client, plain_mode, msg_id):
    xml = text_xml("x").replace("<MsgId>24000000000000001</MsgId>", f"<MsgId>{msg_id}</MsgId>")
    assert post_plain(client, xml).status_code == 400
    assert not Message.objects.exists()


def test_create_time_far_in_the_future_is_stored_as_sent(client, plain_mode):
    assert post_plain(client, text_xml("x", msg_id=93, create_time=4_102_444_800)).status_code == 200  # 2100
    assert Message.objects.get().wechat_created_at.year == 2100


@pytest.mark.parametrize("create_time", ["99999999999999", "9" * 400, "²", "١٧٦٤٠٥٧٦٠٠", "0x10"])
def test_absurd_create_times_are_400_not_500(client, plain_mode, create_time):
    xml = text_xml("x", msg_id=94).replace(f"<CreateTime>{int(time.time())}", f"<CreateTime>{create_time}")
    xml = xml.replace("<CreateTime>", "<CreateTime>", 1)
    import re

    xml = re.sub(r"<CreateTime>[^<]*</CreateTime>", f"<CreateTime>{create_time}</CreateTime>", xml)
    assert post_plain(client, xml).status_code == 400
    assert not Message.objects.exists()
    event = re.sub(r"<CreateTime>[^<]*</CreateTime>", f"<CreateTime>{create_time}</CreateTime>",
                   event_xml("subscribe"))
    assert post_plain(client, event).status_code == 400
    assert not Follower.objects.exists()


def test_an_unknown_event_is_stored_and_answered_success(client, plain_mode):
    response = post_plain(client, event_xml("brand_new_event", event_key="k"))
    assert (response.status_code, response.content) == (200, b"success")
    message = Message.objects.get()
    assert (message.msg_type, message.event) == ("event", "brand_new_event")


def test_subscribe_with_an_empty_qr_scene(client, plain_mode):
    ReplyRule.objects.create(name="欢迎", trigger="subscribe", text="感谢关注")
    response = post_plain(client, event_xml("subscribe", event_key="qrscene_"))
    assert response.status_code == 200
    assert fromstring(response.content).findtext("Content") == "感谢关注"
    follower = Follower.objects.get()
    assert (follower.is_subscribed, follower.qr_scene) == (True, "")


def test_scan_of_an_unknown_scene_is_answered_success(client, plain_mode):
    response = post_plain(client, event_xml("SCAN", event_key="no_such_scene"))
    assert (response.status_code, response.content) == (200, b"success")
    assert Message.objects.get().qr_scene == "no_such_scene"


@pytest.mark.parametrize("method", ["HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_405(client, plain_mode, method):
    response = client.generic(method, f"{URL}?{urlencode(signed_query())}", text_xml("x").encode(),
                              content_type="text/xml")
    assert response.status_code == 405
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "multipart/form-data",
     "application/json", "text/plain; charset=gbk", ""],
)
def test_any_content_type_is_read_as_the_raw_body(client, plain_mode, hello_rule, content_type):
    """WeChat's Content-Type is not a contract: nothing may parse the body as a form first."""
    response = client.generic("POST", f"{URL}?{urlencode(signed_query())}", text_xml("你好", msg_id=95).encode(),
                              content_type=content_type)
    assert response.status_code == 200
    assert fromstring(response.content).findtext("Content") == "您好，欢迎光临"


def test_the_callback_answers_without_the_trailing_slash(client, plain_mode, hello_rule):
    """A URL typed into WeChat's console without the slash must not be a redirect (WeChat
    does not re-POST) nor, in debug, CommonMiddleware's 500."""
    url = URL.rstrip("/")
    assert client.get(url, {**signed_query(), "echostr": "e1"}).content == b"e1"
    response = client.generic("POST", f"{url}?{urlencode(signed_query())}", text_xml("你好", msg_id=96).encode(),
                              content_type="text/xml")
    assert response.status_code == 200
    assert fromstring(response.content).findtext("Content") == "您好，欢迎光临"


def test_a_very_long_event_key_is_stored_bounded_and_deduplicated(client, plain_mode):
    xml = event_xml("CLICK", event_key="k" * 7000)
    assert post_plain(client, xml).status_code == 200
    assert post_plain(client, xml).status_code == 200
    message = Message.objects.get()
    assert len(message.event_key) == 512
    assert len(message.dedupe_key) <= 200
