"""The callback as WeChat sees it: verification, the three modes, bad input, retries."""

import time

import pytest
from defusedxml.ElementTree import fromstring
from django.test import Client

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


@pytest.fixture
def hello_rule():
    return ReplyRule.objects.create(name="问候", keyword="你好", text="您好，欢迎光临")


# --- URL verification -----------------------------------------------------------------------


def test_get_with_good_signature_echoes_echostr(client, plain_mode):
    query = {**signed_query(), "echostr": "4375120948345356249"}
    response = client.get(URL, query)
    assert response.status_code == 200
    assert response.content == b"4375120948345356249"


def test_get_with_forged_signature_is_403(client, plain_mode):
    query = {**signed_query(), "echostr": "1", "signature": "0" * 40}
    assert client.get(URL, query).status_code == 403


# --- modes ------------------------------------------------------------------------------------


def test_plaintext_text_gets_keyword_reply_and_is_stored(client, plain_mode, hello_rule):
    response = post_plain(client, text_xml("你好"))
    assert response.status_code == 200
    root = fromstring(response.content)
    assert root.findtext("MsgType") == "text"
    assert root.findtext("Content") == "您好，欢迎光临"
    assert root.findtext("ToUserName") == "o_follower_0001"
    assert root.findtext("FromUserName") == GH_ID
    message = Message.objects.get()
    assert (message.direction, message.msg_type, message.content) == ("in", "text", "你好")
    assert message.reply_text == "您好，欢迎光临"


def test_safe_mode_reply_is_encrypted_and_signed(client, safe_mode, hello_rule):
    response = post_safe(client, text_xml("你好"))
    assert response.status_code == 200
    plain = open_envelope(response.content)
    assert fromstring(plain).findtext("Content") == "您好，欢迎光临"
    assert Message.objects.get().content == "你好"


def test_compatible_mode_uses_only_the_decrypted_copy(client, safe_mode, hello_rule):
    """The plaintext fields next to <Encrypt> are unauthenticated: an attacker's Content there
    must not be what we store or answer."""
    real = text_xml("你好", msg_id=1001)
    forged_outer = text_xml("forged", msg_id=9999)
    from tests.officialaccount.conftest import encrypt_body

    query = signed_query()
    body, signature = encrypt_body(real, timestamp=query["timestamp"], nonce=query["nonce"])
    encrypted = fromstring(body).findtext("Encrypt")
    compat = forged_outer.replace("</xml>", f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
    qs = "&".join(f"{k}={v}" for k, v in {**query, "encrypt_type": "aes", "msg_signature": signature}.items())
    response = client.generic("POST", f"{URL}?{qs}", compat.encode(), content_type="text/xml")
    assert response.status_code == 200
    assert fromstring(open_envelope(response.content)).findtext("Content") == "您好，欢迎光临"
    message = Message.objects.get()
    assert (message.content, message.dedupe_key) == ("你好", "m:1001")


@pytest.mark.parametrize("encrypt_type", [None, "raw", "des"])
def test_a_plaintext_push_is_refused_when_a_key_is_configured(client, safe_mode, hello_rule, encrypt_type):
    """With safe mode configured, a push that is not encrypted is a downgrade: its URL
    signature does not cover the body, so anyone holding one signed URL could post any XML."""
    extra = {"encrypt_type": encrypt_type} if encrypt_type else {}
    response = post_plain(client, text_xml("你好"), **extra)
    assert response.status_code == 403
    assert response.content == b"encryption_required"
    assert not Message.objects.exists()


def test_a_plaintext_push_is_answered_in_plaintext_while_switching_over(client, safe_mode, hello_rule):
    """WECHAT_MP_ALLOW_PLAINTEXT lets a key be set before the account switches mode in WeChat."""
    safe_mode.WECHAT_MP_ALLOW_PLAINTEXT = True
    response = post_plain(client, text_xml("你好"))
    assert response.status_code == 200
    assert fromstring(response.content).findtext("Content") == "您好，欢迎光临"
    assert Message.objects.get().content == "你好"
    assert open_envelope(post_safe(client, text_xml("你好", msg_id=2)).content)  # safe mode too


def test_plaintext_message_with_a_bad_signature_is_refused_when_a_key_is_configured(client, safe_mode):
    safe_mode.WECHAT_MP_ALLOW_PLAINTEXT = True
    response = post_plain(client, text_xml("你好"), signature="0" * 40)
    assert response.status_code == 403
    assert response.content == b"bad_signature"
    assert not Message.objects.exists()


@pytest.mark.parametrize("allow_plaintext_with_key", [False, True])
def test_a_signed_url_cannot_carry_a_second_body(client, settings, hello_rule, allow_plaintext_with_key):
    """Whoever saw one signed plaintext URL (proxy log, plain-HTTP hop) cannot post a forged
    unsubscribe "from" the follower under it; WeChat's true retry still gets its reply."""
    settings.WECHAT_MP_TOKEN, settings.WECHAT_MP_APPID = TOKEN, APPID
    settings.WECHAT_MP_ENCODING_AES_KEY = AES_KEY if allow_plaintext_with_key else ""
    settings.WECHAT_MP_ALLOW_PLAINTEXT = allow_plaintext_with_key
    Follower.objects.create(openid="o_follower_0001", is_subscribed=True)
    seen = signed_query()
    real = text_xml("你好", msg_id=777)
    first = post_plain(client, real, **seen)
    forged = post_plain(client, event_xml("unsubscribe", create_time=int(time.time())), **seen)
    retry = post_plain(client, real, **seen)
    assert (forged.status_code, forged.content) == (403, b"nonce_reused")
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.content == first.content
    assert list(Message.objects.values_list("msg_type", flat=True)) == ["text"]
    assert Follower.objects.get().is_subscribed


def test_plaintext_mode_refuses_an_encrypted_message(client, plain_mode):
    response = post_plain(client, "<xml><Encrypt><![CDATA[abcd]]></Encrypt></xml>", encrypt_type="aes")
    assert response.status_code == 400


def test_success_is_never_encrypted(client, safe_mode):
    response = post_safe(client, text_xml("no rule matches this"))
    assert response.status_code == 200
    assert response.content == b"success"


# --- bad input ------------------------------------------------------------------------------


def test_forged_signature_is_403_and_stores_nothing(client, plain_mode, hello_rule):
    response = post_plain(client, text_xml("你好"), signature="f" * 40)
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_stale_timestamp_is_refused_as_replay(client, plain_mode):
    old = int(time.time()) - 301
    response = post_plain(client, text_xml("你好"), **signed_query(timestamp=old))
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_future_timestamp_is_refused(client, plain_mode):
    response = post_plain(client, text_xml("你好"), **signed_query(timestamp=int(time.time()) + 400))
    assert response.status_code == 403


def test_signature_is_checked_before_parsing(client, plain_mode):
    """A forged request with a malformed body gets 403, not 400: nothing was parsed."""
    response = post_plain(client, b"<not xml", signature="0" * 40)
    assert response.status_code == 403


def test_forged_msg_signature_is_403(client, safe_mode):
    response = post_safe(client, text_xml("你好"), msg_signature="0" * 40)
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_encrypted_for_another_appid_is_400(client, safe_mode):
    from officialaccount import crypto

    query = signed_query()
    encrypted = crypto.encrypt(encoding_aes_key=AES_KEY, appid="wx_other_app_0001", message=text_xml("x"))
    body = f"<xml><ToUserName>{GH_ID}</ToUserName><Encrypt>{encrypted}</Encrypt></xml>"
    signature = crypto.sha1_signature(TOKEN, query["timestamp"], query["nonce"], encrypted)
    qs = "&".join(f"{k}={v}" for k, v in {**query, "encrypt_type": "aes", "msg_signature": signature}.items())
    response = client.generic("POST", f"{URL}?{qs}", body.encode(), content_type="text/xml")
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_body_over_64_kb_is_413(client, plain_mode):
    response = post_plain(client, text_xml("x" * (65 * 1024)))
    assert response.status_code == 413
    assert not Message.objects.exists()


def test_an_unexpected_failure_is_a_plain_text_500_so_wechat_retries(plain_mode, django_db_blocker):
    """With the database out of reach nothing can be recorded: WeChat gets a bare 500 to
    retry on, in its plain-text terms, not Django's HTML error page."""
    client = Client(raise_request_exception=False)
    with django_db_blocker.block():
        response = post_plain(client, text_xml("你好"))
    assert response.status_code == 500
    assert response["Content-Type"] == "text/plain"
    assert response.content == b"server_error"


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">'
    '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">'
    '<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">'
    '<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">'
    '<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">'
    '<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o_1</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o_1</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>2</MsgId></xml>"
)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(XXE, id="xxe"),
        pytest.param("<xml><ToUserName>gh", id="malformed"),
        pytest.param("", id="empty"),
        pytest.param("<other><a>1</a></other>", id="wrong-root"),
        pytest.param(text_xml("x").replace("<MsgId>24000000000000001</MsgId>", ""), id="text-without-msgid"),
        pytest.param(text_xml("x").replace("<CreateTime>", "<CreateTime>x"), id="bad-createtime"),
        pytest.param("<xml><ToUserName>gh</ToUserName><MsgType>text</MsgType></xml>", id="missing-sender"),
        pytest.param(event_xml("").replace("<Event><![CDATA[]]></Event>", ""), id="event-without-event"),
    ],
)
def test_bad_bodies_are_400_fast_without_traceback(client, plain_mode, body):
    started = time.perf_counter()
    response = post_plain(client, body)
    elapsed = time.perf_counter() - started
    assert response.status_code == 400
    assert elapsed < 0.1
    assert b"Traceback" not in response.content and b"passwd" not in response.content
    assert not Message.objects.exists()


def test_bombs_are_400_in_safe_mode_too(client, safe_mode):
    response = post_safe(client, BILLION_LAUGHS)
    assert response.status_code == 400
    response = post_safe(client, text_xml("x"), body_override=XXE)
    assert response.status_code in (400, 403)
    assert not Message.objects.exists()


def test_unknown_message_type_is_stored_and_answered_success(client, plain_mode):
    xml = text_xml("x", msg_id=77).replace("<![CDATA[text]]>", "<![CDATA[hologram]]>")
    response = post_plain(client, xml)
    assert response.status_code == 200
    assert response.content == b"success"
    assert Message.objects.get().msg_type == "hologram"


def test_unknown_extra_and_nested_fields_are_ignored(client, plain_mode, hello_rule):
    xml = text_xml("你好").replace("</xml>", "<Secret>s</Secret><Nested><Content>evil</Content></Nested></xml>")
    assert post_plain(client, xml).status_code == 200
    fields = Message.objects.get().fields
    assert "Secret" not in fields and "Nested" not in fields
    assert fields["Content"] == "你好"


def test_user_text_echoed_in_a_reply_cannot_break_cdata(client, plain_mode):
    """A rule's text goes into CDATA verbatim; `]]>` in it must not inject elements."""
    ReplyRule.objects.create(name="回显", keyword="cdata", text="x]]><MsgType>news</MsgType>")
    response = post_plain(client, text_xml("cdata"))
    root = fromstring(response.content)
    assert [e.text for e in root.iter("MsgType")] == ["text"]
    assert root.findtext("Content") == "x]]><MsgType>news</MsgType>"


# --- retries ----------------------------------------------------------------------------------


def test_retry_gets_the_same_answer_and_stores_one_row(client, plain_mode, hello_rule):
    xml = text_xml("你好", msg_id=555)
    first = post_plain(client, xml)
    hello_rule.text = "changed meanwhile"
    hello_rule.save()
    second = post_plain(client, xml)
    third = post_plain(client, xml)
    assert first.status_code == second.status_code == third.status_code == 200
    assert first.content == second.content == third.content
    assert Message.objects.count() == 1


def test_safe_mode_retry_decrypts_to_the_same_reply(client, safe_mode, hello_rule):
    xml = text_xml("你好", msg_id=556)
    first, second = post_safe(client, xml), post_safe(client, xml)
    assert open_envelope(first.content) == open_envelope(second.content)
    assert Message.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_new_text_message_costs_one_sql_statement(client, plain_mode, hello_rule, django_assert_num_queries):
    post_plain(client, text_xml("你好", msg_id=1))  # warms the in-process rule cache
    with django_assert_num_queries(1):
        response = post_plain(client, text_xml("你好", msg_id=2))
    assert fromstring(response.content).findtext("Content") == "您好，欢迎光临"


def test_event_retries_are_keyed_by_sender_and_time(client, plain_mode):
    for _ in range(3):
        assert post_plain(client, event_xml("LOCATION", extra="<Latitude>23.1</Latitude>")).status_code == 200
    assert Message.objects.count() == 1
    post_plain(client, event_xml("LOCATION", create_time=1764057601))
    assert Message.objects.count() == 2


def test_two_clicks_in_one_second_are_two_messages_with_their_own_replies(client, plain_mode):
    """A follower tapping two menu buttons within one second sends the same sender and
    CreateTime; only the EventKey tells the events apart, so each gets its own reply."""
    ReplyRule.objects.create(name="新品", trigger="click", keyword="NEW", text="本周新品")
    ReplyRule.objects.create(name="客服", trigger="click", keyword="HELP", text="客服在线")
    first = post_plain(client, event_xml("CLICK", event_key="NEW", create_time=1764057600))
    second = post_plain(client, event_xml("CLICK", event_key="HELP", create_time=1764057600))
    assert fromstring(first.content).findtext("Content") == "本周新品"
    assert fromstring(second.content).findtext("Content") == "客服在线"
    assert sorted(Message.objects.values_list("event_key", "reply_text")) == [
        ("HELP", "客服在线"), ("NEW", "本周新品"),
    ]
