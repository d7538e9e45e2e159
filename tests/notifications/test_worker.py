"""The notices' paths through a real Celery worker on Redis, the simulator over HTTP: what a
customer receives, how each WeChat error is handled, and a worker killed mid-send."""

import os
import signal
import time

import pytest
from django.utils import timezone

from notifications.models import Notice
from notifications.services import notices_requeue_stuck
from tests.celery_worker import start_worker, stop_worker, wait_for
from tests.notifications.conftest import S, follow, grant, move, new_order
from wxbackend.outbox import outbox_relay

SUBSCRIBE = "cgi-bin/message/subscribe/send"
TEMPLATE = "cgi-bin/message/template/send"
pytestmark = [pytest.mark.real_worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(monkeypatch, request):
    """A real worker whose retry backoff is fractions of a second instead of minutes."""
    monkeypatch.setenv("NOTICE_RETRY_BASE_SECONDS", "0.2")
    return request.getfixturevalue("celery_worker_process")


def _finished(order, *, relay: bool = False) -> Notice | None:
    """The order's paid notice once it left queued/sending. `relay` plays beat's outbox
    relay, which publishes retries once they are due."""
    if relay:
        outbox_relay()
    return Notice.objects.filter(order=order, event="paid", status__in=["sent", "failed"]).first()


def test_a_paid_order_reaches_the_customer_once_with_its_template_page_and_values(
    wechat_sim, notice_templates, shopper, worker
):
    grant(shopper, "paid")
    order = move(new_order(shopper, price_fen=1230, title="保温杯"), S.PAID)

    notice = wait_for(lambda: _finished(order))
    [message] = wechat_sim.notices()
    assert (message["touser"], message["template_id"], message["page"]) == (
        shopper.openid, "TPL_SUB_PAID", f"pages/order/detail?no={order.order_no}")
    assert {k: v["value"] for k, v in message["data"].items()} == {
        "character_string1": order.order_no, "thing2": "保温杯", "amount3": "¥12.30",
        "time4": timezone.localtime(order.paid_at).strftime("%Y-%m-%d %H:%M"), "phrase5": "已支付"}
    assert (notice.status, notice.attempts, notice.msgid) == ("sent", 1, message["msgid"])


def test_busy_twice_then_delivered_on_the_third_try(wechat_sim, notice_templates, shopper, worker):
    grant(shopper, "paid")
    wechat_sim.fail_next(SUBSCRIBE, -1, "system error", times=2)
    order = move(new_order(shopper), S.PAID)

    notice = wait_for(lambda: _finished(order, relay=True), timeout=20)
    assert (notice.status, notice.attempts) == ("sent", 3)
    assert list(notice.attempt_log.values_list("outcome", "errcode")) == [("retry", -1), ("retry", -1)]
    assert len(wechat_sim.calls(SUBSCRIBE)) == 3 and len(wechat_sim.notices()) == 1


def test_a_refused_subscribe_message_fails_after_one_attempt_and_staff_see_it(
    wechat_sim, notice_templates, shopper, worker, admin_client
):
    grant(shopper, "paid")
    wechat_sim.fail_next(SUBSCRIBE, 43101, "user refuse to accept the msg")
    order = move(new_order(shopper), S.PAID)

    notice = wait_for(lambda: _finished(order, relay=True))
    assert (notice.status, notice.attempts, notice.last_errcode) == ("failed", 1, 43101)
    assert len(wechat_sim.calls(SUBSCRIBE)) == 1 and wechat_sim.notices() == []
    page = admin_client.get("/admin/notifications/notice/", {"status__exact": "failed"}).content.decode()
    assert order.order_no in page and "43101" in page and "失败" in page


def test_an_invalid_token_is_refreshed_and_the_notice_resent(wechat_sim, notice_templates, shopper, worker):
    grant(shopper, "paid")
    wechat_sim.fail_next(SUBSCRIBE, 40001, "invalid credential, access_token is invalid or not latest")
    order = move(new_order(shopper), S.PAID)

    notice = wait_for(lambda: _finished(order))
    assert (notice.status, notice.attempts) == ("sent", 1)
    paths = [c["path"] for c in wechat_sim.calls()]
    assert paths[-3:] == [SUBSCRIBE, "cgi-bin/stable_token", SUBSCRIBE]
    assert len(wechat_sim.notices()) == 1


def test_a_worker_killed_mid_send_leads_to_one_delivery(wechat_sim, notice_templates, shopper, worker, settings):
    """WeChat takes the message while the worker dies waiting for the answer: the requeued
    send carries the same client_msg_id, and WeChat drops the repeat."""
    settings.NOTICE_SENDING_TIMEOUT_SECONDS = 1
    follow(wechat_sim, shopper)
    wechat_sim.fail_next(TEMPLATE, 0, delay=2)  # the answer comes late; the message arrives
    order = move(new_order(shopper), S.PAID)
    wait_for(lambda: Notice.objects.filter(order=order, status="sending").exists())
    time.sleep(0.5)  # the post is at WeChat, its answer 1.5 s away

    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    wait_for(lambda: wechat_sim.notices())  # WeChat delivered it anyway
    replacement = start_worker()
    try:
        assert notices_requeue_stuck() == 1  # beat's sweep finds the row left in sending
        notice = wait_for(lambda: _finished(order))
    finally:
        stop_worker(replacement)
    assert (notice.status, notice.attempts) == ("sent", 2)
    assert len(wechat_sim.calls(TEMPLATE)) == 2
    [message] = wechat_sim.notices()
    assert message["client_msg_id"] == f"order-{order.order_no}-paid"
    assert notice.msgid == message["msgid"]
