"""Staff replies: inside the 48-hour window a reply reaches the simulator's
customer-service endpoint once; outside it, or to a follower who left, it is refused with
the reason and no call is made; WeChat's refusal (45015) is recorded and shown."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from inbox.models import CannedReply, Conversation, FirstResponse, StaffReply
from officialaccount.models import Follower, Message
from tests.factories import ProductFactory
from tests.officialaccount.conftest import post_plain, text_xml

pytestmark = pytest.mark.django_db

OPENID = "o_follower_cs"


@pytest.fixture
def conversation(client, plain_mode, wechat_sim):
    """A follower (known to the simulator) who just asked something no rule answers."""
    wechat_sim.set_user(OPENID)
    Follower.objects.create(openid=OPENID, is_subscribed=True, remark="老王")
    post_plain(client, text_xml("我的订单什么时候发货", msg_id=77, openid=OPENID))
    return Conversation.objects.get(contact=OPENID)


def _page(conversation):
    return reverse("admin:inbox_conversation_change", args=[conversation.pk])


def _age(hours: float) -> None:
    """Make the follower's messages `hours` old."""
    Message.objects.filter(openid=OPENID, direction="in").update(
        created_at=timezone.now() - datetime.timedelta(hours=hours))


def test_a_reply_inside_the_window_reaches_the_simulator_once(staff_client, conversation, wechat_sim, boss,
                                                              django_capture_on_commit_callbacks):
    page = staff_client.get(_page(conversation)).content.decode()
    assert "剩余 47 小时 59 分" in page or "剩余 48 小时 0 分" in page  # the time left is shown
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(_page(conversation), {"do": "reply", "kind": "text", "text": "今天发货"})
    assert response.status_code == 302
    sends = wechat_sim.calls("cgi-bin/message/custom/send")
    assert len(sends) == 1
    assert sends[0]["body"] == {"touser": OPENID, "msgtype": "text", "text": {"content": "今天发货"}}
    out = Message.objects.get(direction="out")
    assert out.status == "sent"
    assert StaffReply.objects.get().staff == boss
    conversation.refresh_from_db()
    assert (conversation.state, conversation.unread_count) == ("pending", 0)
    assert FirstResponse.objects.get().responder == boss
    assert "boss" in staff_client.get(_page(conversation)).content.decode()  # who answered


def test_outside_the_window_the_reply_is_refused_and_nothing_is_called(staff_client, conversation, wechat_sim,
                                                                       django_capture_on_commit_callbacks):
    _age(48.5)
    page = staff_client.get(_page(conversation)).content.decode()
    assert "窗口已关闭" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(_page(conversation), {"do": "reply", "kind": "text", "text": "抱歉久等"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "未发送" in body and "48 小时" in body
    assert wechat_sim.calls("cgi-bin/message/custom/send") == []
    assert not Message.objects.filter(direction="out").exists()
    assert not FirstResponse.objects.exists()


def test_just_inside_the_window_is_still_allowed(staff_client, conversation, wechat_sim,
                                                 django_capture_on_commit_callbacks):
    _age(47.9)
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(_page(conversation), {"do": "reply", "kind": "text", "text": "在的"})
    assert len(wechat_sim.calls("cgi-bin/message/custom/send")) == 1


def test_a_follower_who_left_is_refused_without_a_call(staff_client, conversation, wechat_sim,
                                                       django_capture_on_commit_callbacks):
    Follower.objects.filter(openid=OPENID).update(is_subscribed=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(_page(conversation), {"do": "reply", "kind": "text", "text": "您好"})
    assert "已取消关注公众号" in response.content.decode()
    assert wechat_sim.calls("cgi-bin/message/custom/send") == []


def test_wechat_45015_is_recorded_and_the_failed_send_shown(staff_client, conversation, wechat_sim,
                                                           django_capture_on_commit_callbacks):
    """Our clock says the window is open, WeChat says it is not (45015): the send is
    recorded as failed with the code, and both the page and the list show it."""
    wechat_sim.set_user(OPENID, window_closed=True)
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(_page(conversation), {"do": "reply", "kind": "text", "text": "您好"})
    out = Message.objects.get(direction="out")
    assert out.status == "failed" and out.error.startswith("45015")
    page = staff_client.get(_page(conversation)).content.decode()
    assert "发送失败：45015" in page
    listing = staff_client.get(reverse("admin:inbox_conversation_changelist")).content.decode()
    assert 'alt="True"' in listing  # the "send failed" column


def test_a_product_card_goes_as_a_mini_program_page(staff_client, conversation, wechat_sim, settings,
                                                   django_capture_on_commit_callbacks):
    settings.WECHAT_MINIAPP_APPID = "wx_miniapp_0001"
    product = ProductFactory(title="保温杯", is_on_shelf=True)
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(_page(conversation), {"do": "reply", "kind": "product", "product_id": product.pk,
                                                "media_id": "THUMB1"})
    (send,) = wechat_sim.calls("cgi-bin/message/custom/send")
    assert send["body"]["miniprogrampage"] == {
        "title": "保温杯", "appid": "wx_miniapp_0001", "pagepath": f"pages/product/detail?id={product.pk}",
        "thumb_media_id": "THUMB1",
    }


def test_an_image_reply_sends_its_media_id(staff_client, conversation, wechat_sim,
                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(_page(conversation), {"do": "reply", "kind": "image", "media_id": "MEDIA9"})
    (send,) = wechat_sim.calls("cgi-bin/message/custom/send")
    assert send["body"]["image"] == {"media_id": "MEDIA9"}


def test_a_canned_reply_is_sent_when_the_text_is_empty(staff_client, conversation, wechat_sim,
                                                      django_capture_on_commit_callbacks):
    canned = CannedReply.objects.create(title="快递说明", text="我们会在48小时内发货")
    assert "快递说明" in staff_client.get(_page(conversation)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(_page(conversation), {"do": "reply", "kind": "text", "canned": canned.pk, "text": ""})
    (send,) = wechat_sim.calls("cgi-bin/message/custom/send")
    assert send["body"]["text"]["content"] == "我们会在48小时内发货"


@pytest.mark.parametrize("data", [
    {"kind": "text", "text": "   "},
    {"kind": "image", "media_id": ""},
    {"kind": "product", "media_id": "THUMB1"},
    {"kind": "product", "product_id": 999999, "media_id": "THUMB1"},
    {"kind": "video", "text": "x"},
])
def test_bad_replies_are_refused_without_a_call(staff_client, conversation, wechat_sim, data,
                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(_page(conversation), {"do": "reply", **data})
    assert response.status_code == 200
    assert wechat_sim.calls("cgi-bin/message/custom/send") == []
    assert not Message.objects.filter(direction="out").exists()


def test_staff_without_change_permission_cannot_reply(client, conversation, wechat_sim, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="pw-123456-long", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    client.force_login(viewer)
    assert client.get(_page(conversation)).status_code == 200
    assert client.post(_page(conversation), {"do": "reply", "kind": "text", "text": "hi"}).status_code == 403
    assert wechat_sim.calls("cgi-bin/message/custom/send") == []
