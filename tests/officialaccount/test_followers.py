"""Followers from events, profile fetches, QR attribution, sync and the interaction sweep,
against the simulator over real HTTP."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from officialaccount import services
from officialaccount.models import Follower, Message, ReplyRule
from tests.officialaccount.conftest import event_xml, post_plain, text_xml

pytestmark = pytest.mark.django_db


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """`with committing():` runs after-commit callbacks (task queueing) as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_three_deliveries_of_one_subscribe_make_one_user_info_call(client, plain_mode, wechat_sim, committing):
    wechat_sim.set_user("o_new_0001", unionid="u_0001", tagid_list=[2], remark="VIP")
    ReplyRule.objects.create(name="欢迎", trigger=ReplyRule.Trigger.SUBSCRIBE, text="感谢关注")
    answers = []
    for _ in range(3):
        with committing():
            answers.append(post_plain(client, event_xml("subscribe", openid="o_new_0001")).content)
    assert len(set(answers)) == 1 and "感谢关注" in answers[0].decode()
    assert len(wechat_sim.calls("cgi-bin/user/info")) == 1
    follower = Follower.objects.get(openid="o_new_0001")
    assert follower.is_subscribed
    assert follower.unionid == "u_0001"
    assert follower.remark == "VIP"
    assert [t.tag_id for t in follower.tags.all()] == [2]
    assert follower.profile_fetched_at is not None
    assert Message.objects.filter(openid="o_new_0001").count() == 1


def test_qr_subscribe_and_scan_are_attributed_to_the_scene(client, plain_mode, wechat_sim):
    wechat_sim.set_user("o_qr_0001")
    post_plain(client, event_xml("subscribe", openid="o_qr_0001", event_key="qrscene_poster1",
                                 extra="<Ticket>t</Ticket>"))
    post_plain(client, event_xml("SCAN", openid="o_qr_0001", event_key="poster1", create_time=1764057700))
    follower = Follower.objects.get(openid="o_qr_0001")
    assert follower.qr_scene == "poster1"
    events = list(Message.objects.order_by("id").values_list("event", "qr_scene"))
    assert events == [("subscribe", "poster1"), ("scan", "poster1")]


def test_unsubscribe_marks_the_follower(client, plain_mode, wechat_sim):
    wechat_sim.set_user("o_gone_0001")
    post_plain(client, event_xml("subscribe", openid="o_gone_0001"))
    response = post_plain(client, event_xml("unsubscribe", openid="o_gone_0001", create_time=1764057900))
    assert response.content == b"success"
    follower = Follower.objects.get(openid="o_gone_0001")
    assert not follower.is_subscribed
    assert follower.unsubscribed_at is not None


def test_profile_fetch_retries_only_transient_failures(client, plain_mode, wechat_sim):
    """A busy WeChat (-1) leaves the profile unfetched for the task's retry; nothing is lost."""
    wechat_sim.set_user("o_busy_0001")
    wechat_sim.fail_next("cgi-bin/user/info", -1, times=5)
    from wxbackend.wechat import GatewayUnavailable

    Follower.objects.create(openid="o_busy_0001")
    with pytest.raises(GatewayUnavailable):
        services.follower_profile_fetch(openid="o_busy_0001")
    assert Follower.objects.get(openid="o_busy_0001").profile_fetched_at is None


def test_sync_followers_imports_every_page(wechat_sim):
    for n in range(7):
        wechat_sim.set_user(f"o_sync_{n:04d}", unionid=f"u_sync_{n}", tagid_list=[1, 3] if n % 2 else [])
    wechat_sim.set_user("o_sync_left", subscribe=0)
    wechat_sim.set_user_page_size(3)
    out, err = io.StringIO(), io.StringIO()
    call_command("sync_followers", stdout=out, stderr=err)
    assert "Imported 7 followers" in out.getvalue()
    assert Follower.objects.filter(is_subscribed=True).count() == 7
    assert Follower.objects.get(openid="o_sync_0001").unionid == "u_sync_1"
    assert sorted(t.tag_id for t in Follower.objects.get(openid="o_sync_0003").tags.all()) == [1, 3]
    # WeChat's last page names its last openid too: an empty fourth page ends the listing.
    assert len(wechat_sim.calls("cgi-bin/user/get")) == 4
    assert "7/7" in err.getvalue()  # the progress bar


def test_sweep_records_last_interaction_and_creates_unknown_followers(client, plain_mode, wechat_sim, committing):
    wechat_sim.set_user("o_chat_0001", unionid="u_chat")
    post_plain(client, text_xml("hi", msg_id=31, openid="o_chat_0001"))
    assert not Follower.objects.exists()  # the hot path stays one INSERT
    with committing():
        touched = services.follower_interactions_sweep()
    follower = Follower.objects.get(openid="o_chat_0001")
    assert touched == 1
    assert follower.last_interaction_at == Message.objects.get().created_at
    assert follower.unionid == "u_chat"  # unknown follower: profile fetched once
    assert services.follower_interactions_sweep() == 0  # nothing new since


def test_subscribe_msg_and_template_events_are_recorded(client, plain_mode):
    popup = event_xml(
        "subscribe_msg_popup_event",
        extra="<SubscribeMsgPopupEvent><List><TemplateId><![CDATA[tpl_a]]></TemplateId>"
        "<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>2</PopupScene></List>"
        "<List><TemplateId><![CDATA[tpl_b]]></TemplateId><SubscribeStatusString><![CDATA[reject]]>"
        "</SubscribeStatusString><PopupScene>2</PopupScene></List></SubscribeMsgPopupEvent>",
    )
    change = event_xml(
        "subscribe_msg_change_event", create_time=1764057601,
        extra="<SubscribeMsgPopupEvent><List><TemplateId>tpl_a</TemplateId>"
        "<SubscribeStatusString>reject</SubscribeStatusString></List></SubscribeMsgPopupEvent>",
    )
    sent = event_xml(
        "subscribe_msg_sent_event", create_time=1764057602,
        extra="<SubscribeMsgSentEvent><List><TemplateId>tpl_a</TemplateId><MsgID>1700</MsgID>"
        "<ErrorCode>0</ErrorCode><ErrorStatus>success</ErrorStatus></List></SubscribeMsgSentEvent>",
    )
    job = event_xml("TEMPLATESENDJOBFINISH", create_time=1764057603,
                    extra="<MsgID>200163836</MsgID><Status><![CDATA[failed:user block]]></Status>")
    for body in (popup, change, sent, job):
        response = post_plain(client, body)
        assert (response.status_code, response.content) == (200, b"success")
    rows = {m.event: m for m in Message.objects.all()}
    assert rows["subscribe_msg_popup_event"].fields["List"] == [
        {"TemplateId": "tpl_a", "SubscribeStatusString": "accept", "PopupScene": "2"},
        {"TemplateId": "tpl_b", "SubscribeStatusString": "reject", "PopupScene": "2"},
    ]
    assert rows["subscribe_msg_change_event"].fields["List"][0]["SubscribeStatusString"] == "reject"
    assert rows["subscribe_msg_sent_event"].fields["List"][0]["MsgID"] == "1700"
    assert rows["templatesendjobfinish"].fields["Status"] == "failed:user block"
    assert rows["templatesendjobfinish"].fields["MsgID"] == "200163836"


def test_subscribed_at_is_the_event_time_zone_aware(client, plain_mode, wechat_sim):
    wechat_sim.set_user("o_tz_0001")
    post_plain(client, event_xml("subscribe", openid="o_tz_0001"))
    follower = Follower.objects.get(openid="o_tz_0001")
    assert timezone.is_aware(follower.subscribed_at)
    assert follower.subscribed_at == datetime.datetime(2025, 11, 25, 8, 0, tzinfo=datetime.UTC)


def test_the_interaction_sweep_is_scheduled_every_minute(settings):
    from officialaccount.tasks import follower_interactions_sweep_task

    entry = settings.CELERY_BEAT_SCHEDULE["officialaccount-follower-interactions"]
    assert entry["task"] == follower_interactions_sweep_task.name
    assert entry["schedule"] <= 60
