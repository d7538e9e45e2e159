"""Auto-replies: keyword kinds and priorities, regex guard, default and out-of-hours replies,
event rules, product news replies, and the mini-program card sent by customer service."""

import datetime
import socket
import time

import pytest
from defusedxml.ElementTree import fromstring
from django.core.cache import cache
from django.core.exceptions import ValidationError

from officialaccount import rules
from officialaccount.models import AutoReplySettings, Message, ReplyArticle, ReplyRule
from tests.officialaccount.conftest import event_xml, post_plain, text_xml

pytestmark = pytest.mark.django_db


def reply_to(client, content: str, msg_id: int):
    response = post_plain(client, text_xml(content, msg_id=msg_id))
    assert response.status_code == 200
    return fromstring(response.content) if response.content.startswith(b"<") else None


def test_exact_contains_and_regex_keywords(client, plain_mode):
    ReplyRule.objects.create(name="exact", keyword="你好", text="exact hit")
    ReplyRule.objects.create(name="contains", match="contains", keyword="退货", text="contains hit")
    ReplyRule.objects.create(name="regex", match="regex", keyword=r"^订单\s*\d{6}$", text="regex hit")
    assert reply_to(client, " 你好 ", 1).findtext("Content") == "exact hit"
    assert reply_to(client, "你好吗", 2) is None  # exact means exact
    assert reply_to(client, "我想退货可以吗", 3).findtext("Content") == "contains hit"
    assert reply_to(client, "订单 123456", 4).findtext("Content") == "regex hit"
    assert reply_to(client, "订单 12345x", 5) is None


def test_higher_priority_wins_and_inactive_rules_are_ignored(client, plain_mode):
    ReplyRule.objects.create(name="low", match="contains", keyword="优惠", text="low", priority=1)
    ReplyRule.objects.create(name="high", match="contains", keyword="优惠券", text="high", priority=5)
    ReplyRule.objects.create(name="off", match="contains", keyword="优惠", text="off", priority=99, is_active=False)
    assert reply_to(client, "有优惠券吗", 1).findtext("Content") == "high"
    assert reply_to(client, "有优惠吗", 2).findtext("Content") == "low"


def test_regex_rules_too_long_or_beyond_a_linear_time_engine_are_refused():
    """Back-references and look-arounds need backtracking, which one message can make take
    minutes: the rule is refused when saved, with the reason shown to the merchant."""
    for pattern, reason in [("a" * 201, "200"), (r"(a)\1", "\\1"), (r"价格(?=多少)", "(?="), ("(", "missing )")]:
        rule = ReplyRule(name="r", match="regex", keyword=pattern, text="t")
        with pytest.raises(ValidationError) as refused:
            rule.full_clean()
        assert reason in refused.value.message_dict["keyword"][0]
    for pattern in [r"^\d{6}$", "(a+)+$", "(a|a?)+b", "((a)+)+b"]:  # nested repeats are harmless now
        ReplyRule(name="ok", match="regex", keyword=pattern, text="t").full_clean()


@pytest.mark.parametrize("pattern", ["(a|a?)+b", "((a)+)+b", "(a+)+b", "(.*a){12}b"])
def test_a_catastrophic_regex_rule_answers_at_once(client, plain_mode, pattern):
    """Patterns that backtrack exponentially in Python's `re` (holding the GIL, so every
    thread of the worker stalls) match in linear time."""
    ReplyRule.objects.create(name="bad", match="regex", keyword=pattern, text="hit")
    AutoReplySettings.objects.create(default_reply_text="默认")
    started = time.perf_counter()
    assert reply_to(client, "a" * 24, 1).findtext("Content") == "默认"
    assert time.perf_counter() - started < 0.5
    assert reply_to(client, "A" * 20 + "b", 2).findtext("Content") == "hit"  # still case-insensitive


def test_regex_input_is_bounded(client, plain_mode):
    ReplyRule.objects.create(name="tail", match="regex", keyword="END$", text="hit")
    started = time.perf_counter()
    assert reply_to(client, "x" * 5000 + "END", 1) is None  # only the first 300 characters are matched
    assert time.perf_counter() - started < 0.5


def test_rule_changes_reach_other_processes_through_the_shared_version(client, plain_mode):
    """Another process's in-memory rules reload when the shared version moves."""
    ReplyRule.objects.create(name="v1", keyword="ping", text="pong 1")
    assert reply_to(client, "ping", 1).findtext("Content") == "pong 1"
    ReplyRule.objects.filter(name="v1").update(text="pong 2")  # no signal: like another process's edit
    cache.set(rules.VERSION_KEY, "bumped-elsewhere", timeout=None)
    rules._state["checked_at"] = 0.0  # the 1-second recheck interval has passed
    assert reply_to(client, "ping", 2).findtext("Content") == "pong 2"


def test_default_reply_and_out_of_hours_reply(client, plain_mode, django_capture_on_commit_callbacks):
    AutoReplySettings.objects.create(default_reply_text="客服稍后回复")
    assert reply_to(client, "随便说说", 1).findtext("Content") == "客服稍后回复"
    settings_row = AutoReplySettings.objects.get()
    settings_row.out_of_hours_enabled = True
    settings_row.out_of_hours_text = "下班了"
    now_local = datetime.datetime.now(rules.SHANGHAI)
    # a service window starting in an hour: now is out of hours (also across midnight)
    settings_row.service_start = (now_local + datetime.timedelta(hours=1)).time()
    settings_row.service_end = (now_local + datetime.timedelta(hours=2)).time()
    with django_capture_on_commit_callbacks(execute=True):  # the commit bumps the rules version
        settings_row.save()
    assert reply_to(client, "随便说说", 2).findtext("Content") == "下班了"


def test_out_of_hours_window_wraps_midnight():
    ruleset = rules.RuleSet(version="x", out_of_hours_enabled=True,
                            service_start=datetime.time(22, 0), service_end=datetime.time(6, 0))
    at = datetime.datetime(2026, 11, 25, 23, 30, tzinfo=rules.SHANGHAI)
    assert not ruleset.is_out_of_hours(at)
    assert ruleset.is_out_of_hours(at.replace(hour=12))


def test_welcome_news_keeps_up_to_eight_articles_for_events(client, plain_mode):
    rule = ReplyRule.objects.create(name="welcome", trigger="subscribe", reply_kind="news")
    for n in range(10):
        ReplyArticle.objects.create(rule=rule, position=n, title=f"第{n}篇", url="https://example.com/a")
    root = fromstring(post_plain(client, event_xml("subscribe")).content)
    assert root.findtext("MsgType") == "news"
    assert root.findtext("ArticleCount") == "8"
    assert len(root.findall("Articles/item")) == 8


def test_news_reply_to_a_message_has_one_article(client, plain_mode):
    rule = ReplyRule.objects.create(name="news", keyword="新品", reply_kind="news")
    for n in range(3):
        ReplyArticle.objects.create(rule=rule, position=n, title=f"第{n}篇", url="https://example.com/a")
    root = reply_to(client, "新品", 1)
    assert root.findtext("ArticleCount") == "1"
    assert root.findtext("Articles/item/Title") == "第0篇"


def test_menu_click_and_image_replies(client, plain_mode):
    ReplyRule.objects.create(name="click", trigger="click", keyword="V1001_TODAY", reply_kind="image", media_id="MEDIA1")
    root = fromstring(post_plain(client, event_xml("CLICK", event_key="V1001_TODAY")).content)
    assert root.findtext("MsgType") == "image"
    assert root.findtext("Image/MediaId") == "MEDIA1"
    assert post_plain(client, event_xml("CLICK", event_key="OTHER", create_time=1764057601)).content == b"success"


def test_text_naming_a_product_gets_a_news_reply(client, plain_mode, settings, tmp_path, wechat_sim):
    from tests.factories import ProductFactory, SkuFactory

    settings.MEDIA_ROOT = tmp_path
    settings.PUBLIC_BASE_URL = "https://shop.example.com"
    cup = ProductFactory(title="316不锈钢保温杯 500ml")
    SkuFactory(product=cup, price_fen=8900)
    SkuFactory(product=cup, price_fen=12900)
    AutoReplySettings.objects.create(default_reply_text="默认")
    root = reply_to(client, "有没有保温杯？", 1)
    assert root.findtext("MsgType") == "news"
    assert root.findtext("ArticleCount") == "1"
    assert root.findtext("Articles/item/Title") == "316不锈钢保温杯 500ml ¥89.00"
    assert root.findtext("Articles/item/PicUrl").startswith("http")
    url = root.findtext("Articles/item/Url")
    assert url == f"https://shop.example.com/wechat/mp/product/{cup.id}/"
    # WeChat gives no URL link (busy): the redirect falls back to the weixin:// scheme.
    wechat_sim.fail_next("wxa/generate_urllink", -1, "system busy")
    redirect = client.get(url.replace("https://shop.example.com", ""))
    assert redirect.status_code == 302
    assert redirect["Location"].startswith("weixin://dl/business/?appid=")
    assert f"id%3D{cup.id}" in redirect["Location"]
    assert reply_to(client, "保温杯", 2).findtext("Articles/item/Title").startswith("316不锈钢保温杯")
    assert reply_to(client, "有没有雨伞", 3).findtext("Content") == "默认"  # falls back


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_text_is_stored_and_answered_without_products_while_the_cache_is_down(client, plain_mode, settings):
    """With Redis unreachable the catalog cannot be matched, but the message is stored and
    gets the default reply, not a 500 that WeChat's retries would meet again."""
    from tests.factories import ProductFactory, SkuFactory

    SkuFactory(product=ProductFactory(title="316不锈钢保温杯 500ml"), price_fen=8900)
    AutoReplySettings.objects.create(default_reply_text="默认")
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }}
    response = post_plain(client, text_xml("有没有保温杯？", msg_id=7))
    assert response.status_code == 200
    assert fromstring(response.content).findtext("Content") == "默认"
    assert Message.objects.get().content == "有没有保温杯？"


def test_mini_program_card_is_sent_by_customer_service(client, plain_mode, wechat_sim, settings,
                                                       django_capture_on_commit_callbacks):
    settings.WECHAT_MINIAPP_APPID = "wx_miniapp_0001"
    wechat_sim.set_user("o_follower_0001")
    ReplyRule.objects.create(name="card", keyword="小程序", reply_kind="miniprogram", mp_title="去商城",
                             mp_pagepath="pages/index/index", mp_thumb_media_id="THUMB1")
    for _ in range(3):  # a retried message sends the card once
        with django_capture_on_commit_callbacks(execute=True):
            response = post_plain(client, text_xml("小程序", msg_id=4242))
        assert response.content == b"success"
    sends = wechat_sim.calls("cgi-bin/message/custom/send")
    assert len(sends) == 1
    assert sends[0]["body"]["msgtype"] == "miniprogrampage"
    assert sends[0]["body"]["miniprogrampage"]["appid"] == "wx_miniapp_0001"
    outbound = Message.objects.get(direction="out")
    assert (outbound.status, outbound.in_reply_to.content) == ("sent", "小程序")


def test_customer_service_refusal_is_recorded_not_retried(client, plain_mode, wechat_sim,
                                                          django_capture_on_commit_callbacks):
    wechat_sim.set_user("o_follower_0001", window_closed=True)
    ReplyRule.objects.create(name="card", keyword="卡片", reply_kind="miniprogram", mp_title="t",
                             mp_pagepath="pages/index/index", mp_thumb_media_id="THUMB1")
    with django_capture_on_commit_callbacks(execute=True):
        post_plain(client, text_xml("卡片", msg_id=4243))
    outbound = Message.objects.get(direction="out")
    assert outbound.status == "failed"
    assert outbound.error.startswith("45015")
    assert len(wechat_sim.calls("cgi-bin/message/custom/send")) == 1
