"""A staff member answers a customer from the inbox in a real browser: the canned reply is
inserted into the text, the reply reaches the simulator's customer-service endpoint once,
and neither the page nor the metrics chart loads anything from another host."""

import time
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

from inbox.models import CannedReply, Conversation
from officialaccount.models import Follower, Message

pytestmark = pytest.mark.browser


def test_staff_answer_with_a_canned_reply(browser_page, live_server, wechat_sim, settings):
    settings.WECHAT_MP_TOKEN = "wxbackend_token"
    wechat_sim.set_user("o_browser")
    Follower.objects.create(openid="o_browser", is_subscribed=True, remark="浏览器客户")
    Message.objects.create(direction="in", openid="o_browser", dedupe_key="m:b1", msg_type="text", content="发票怎么开")
    conversation = Conversation.objects.create(contact="o_browser", unread_count=1)
    CannedReply.objects.create(title="发票", text="请把抬头和税号发给我们")
    get_user_model().objects.create_superuser("cs", "cs@example.com", "correct-horse-42")

    page = browser_page
    hosts = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.goto(f"{live_server.url}/admin/login/?next=/admin/inbox/conversation/{conversation.pk}/change/")
    page.fill("#id_username", "cs")
    page.fill("#id_password", "correct-horse-42")
    page.click("input[type=submit]")
    assert "剩余 47 小时" in page.inner_text(".reply-window")
    page.select_option(".reply-form select[name=canned]", label="发票")
    page.fill(".reply-form textarea[name=text]", page.input_value(".reply-form textarea[name=text]") + "，谢谢")
    page.click(".reply-form input[type=submit]")
    page.locator(".messagelist .success").wait_for(timeout=10_000)  # the reply page after the POST

    deadline = time.monotonic() + 10
    while not wechat_sim.calls("cgi-bin/message/custom/send") and time.monotonic() < deadline:
        time.sleep(0.1)
    sends = wechat_sim.calls("cgi-bin/message/custom/send")
    assert [s["body"]["text"]["content"] for s in sends] == ["请把抬头和税号发给我们，谢谢"]

    page.goto(f"{live_server.url}/admin/inbox/conversation/metrics/")
    assert page.locator("img.metrics-chart").evaluate("img => img.complete && img.naturalWidth > 0")
    assert hosts == {urlsplit(live_server.url).netloc}
