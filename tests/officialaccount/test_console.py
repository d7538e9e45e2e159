"""The simulator console plays a follower: what they type or tap is pushed to our callback
over HTTP, signed (and encrypted in safe mode) as WeChat would, and the reply comes back
opened, next to what the project sent the follower afterwards."""

import base64

import pytest
import requests

from officialaccount.models import Follower, Message, ReplyRule
from wxbackend.wechat import call

pytestmark = pytest.mark.django_db(transaction=True)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _push(sim, **payload):
    return requests.post(f"{sim.url}/__sim__/console/mp/push", json=payload, timeout=10)


def _chat(sim, openid):
    return requests.get(f"{sim.url}/__sim__/console/mp/chat", params={"openid": openid}, timeout=5).json()["messages"]


def test_a_text_gets_the_keyword_reply_in_plaintext_mode(plain_mode, wechat_sim):
    ReplyRule.objects.create(name="问候", keyword="你好", text="您好，欢迎光临")

    answer = _push(wechat_sim, openid="o_console_1", kind="text", content="你好")

    assert answer.status_code == 200, answer.text
    exchange = answer.json()
    assert (exchange["mode"], exchange["status"]) == ("plaintext", 200)
    assert exchange["reply"] == {"msg_type": "text", "content": "您好，欢迎光临"}
    assert Message.objects.filter(openid="o_console_1", direction="in", content="你好").count() == 1


def test_safe_mode_pushes_are_encrypted_and_the_reply_is_opened(safe_mode, wechat_sim):
    ReplyRule.objects.create(name="问候", keyword="你好", text="您好")

    exchange = _push(wechat_sim, openid="o_console_2", kind="text", content="你好").json()

    # The callback refuses plaintext once an AES key is set: a reply proves the push was sealed.
    assert exchange["mode"] == "safe" and exchange["status"] == 200
    assert "<Encrypt>" in exchange["reply_raw"] and "您好" not in exchange["reply_raw"]
    assert exchange["reply"]["content"] == "您好"


def test_follow_then_tap_a_menu_shows_the_conversation_in_order(plain_mode, wechat_sim):
    ReplyRule.objects.create(name="欢迎", trigger="subscribe", text="感谢关注")

    welcome = _push(wechat_sim, openid="o_console_3", kind="subscribe").json()
    clicked = _push(wechat_sim, openid="o_console_3", kind="click", event_key="MENU_NEW").json()

    assert welcome["reply"]["content"] == "感谢关注"
    assert "<Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[MENU_NEW]]></EventKey>" in clicked["pushed"]
    assert Follower.objects.filter(openid="o_console_3", is_subscribed=True).exists()
    # What the project sends the follower later (a customer-service message) joins the chat.
    call("mp", "POST", "cgi-bin/message/custom/send",
         json={"touser": "o_console_3", "msgtype": "text", "text": {"content": "客服来了"}})
    chat = _chat(wechat_sim, "o_console_3")
    assert [m["from"] for m in chat] == ["user", "user", "project"]
    assert chat[0]["reply"]["content"] == "感谢关注"
    assert chat[2]["body"]["text"]["content"] == "客服来了"
    assert _chat(wechat_sim, "o_someone_else") == []


def test_a_photo_is_pushed_with_a_pic_url_that_serves_it(plain_mode, wechat_sim):
    exchange = _push(wechat_sim, openid="o_console_4", kind="image",
                     photo_base64=base64.b64encode(PNG).decode(), photo_type="image/png").json()

    assert exchange["status"] == 200
    [message] = Message.objects.filter(openid="o_console_4", msg_type="image")
    picture = requests.get(message.content, timeout=5)
    assert (picture.status_code, picture.headers["Content-Type"], picture.content) == (200, "image/png", PNG)


@pytest.mark.parametrize(("payload", "field"), [
    ({"openid": "", "kind": "text", "content": "hi"}, "openid"),
    ({"openid": "o<script>", "kind": "text", "content": "hi"}, "openid"),
    ({"openid": "o_1", "kind": "text", "content": "  "}, "content"),
    ({"openid": "o_1", "kind": "image", "photo_base64": "not base64!"}, "photo_base64"),
    ({"openid": "o_1", "kind": "image", "photo_base64": "", "photo_type": "image/png"}, "photo_base64"),
    ({"openid": "o_1", "kind": "image", "photo_base64": "AAAA", "photo_type": "text/html"}, "photo_type"),
    ({"openid": "o_1", "kind": "click"}, "event_key"),
    ({"openid": "o_1", "kind": "location"}, "kind"),
])
def test_bad_input_is_a_400_naming_the_field(plain_mode, wechat_sim, payload, field):
    answer = _push(wechat_sim, **payload)

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid" and answer.json()["detail"].startswith(field)
    assert not Message.objects.exists()


def test_a_cdata_terminator_in_the_text_arrives_intact(plain_mode, wechat_sim):
    _push(wechat_sim, openid="o_console_5", kind="text", content="a]]>b<xml>")

    assert Message.objects.get(openid="o_console_5").content == "a]]>b<xml>"
