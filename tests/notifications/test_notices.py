"""An order's change tells its customer, once, through the channel they allowed: a subscribe
message while a grant is left, else a template message when they follow the official
account, else nothing (with the reason kept). Tasks run in-process here; test_worker.py
runs the same paths through a real worker."""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from miniprogram_api.models import SubscriptionGrant
from notifications.models import Notice, NotificationTemplate
from notifications.services import notice_resend, notice_send, notices_requeue_stuck
from tests.notifications.conftest import S, follow, grant, move, new_order, subscribe_template_id
from wxbackend.models import OutboxItem

SUBSCRIBE = "cgi-bin/message/subscribe/send"
TEMPLATE = "cgi-bin/message/template/send"
pytestmark = pytest.mark.django_db


def test_paid_order_sends_one_subscribe_message_with_the_orders_values(
    wechat_sim, notice_templates, shopper, django_capture_on_commit_callbacks
):
    grant(shopper, "paid")
    order = new_order(shopper)
    with django_capture_on_commit_callbacks(execute=True):
        order = move(order, S.PAID)

    [message] = wechat_sim.notices(shopper.openid)
    assert message["kind"] == "subscribe"
    assert message["template_id"] == "TPL_SUB_PAID"
    assert message["page"] == f"pages/order/detail?no={order.order_no}"
    assert message["miniprogram_state"] == "trial"
    paid_at = timezone.localtime(order.paid_at).strftime("%Y-%m-%d %H:%M")
    assert message["data"] == {
        "character_string1": {"value": order.order_no},
        "thing2": {"value": "316不锈钢真空保温杯 500毫升 星…"},
        "amount3": {"value": "¥1234.50"},
        "time4": {"value": paid_at},
        "phrase5": {"value": "已支付"},
    }
    notice = Notice.objects.get(order=order)
    assert (notice.status, notice.channel, notice.attempts, notice.msgid) == ("sent", "subscribe", 1, message["msgid"])
    assert SubscriptionGrant.objects.get(customer=shopper, template_id="TPL_SUB_PAID").available == 0


def test_without_a_grant_a_follower_gets_a_template_message_that_opens_the_order(
    wechat_sim, notice_templates, shopper, django_capture_on_commit_callbacks, settings
):
    follow(wechat_sim, shopper)
    order = new_order(shopper)
    with django_capture_on_commit_callbacks(execute=True):
        move(order, S.PAID)

    [message] = wechat_sim.notices()
    assert (message["kind"], message["touser"], message["template_id"]) == ("template", "o_oa_shopper", "TPL_OA_PAID")
    assert message["client_msg_id"] == f"order-{order.order_no}-paid"
    assert message["miniprogram"] == {"appid": settings.WECHAT_MINIAPP_APPID,
                                      "pagepath": f"pages/order/detail?no={order.order_no}"}
    assert message["data"]["thing2"]["value"] == "316不锈钢真空保温杯 500毫升 星…"
    assert Notice.objects.get(order=order).status == "sent"


def test_a_grant_pays_for_one_notice_then_the_official_account_takes_over(
    wechat_sim, notice_templates, shopper, django_capture_on_commit_callbacks
):
    grant(shopper, "paid")
    follow(wechat_sim, shopper)
    first, second = new_order(shopper), new_order(shopper)
    with django_capture_on_commit_callbacks(execute=True):
        move(first, S.PAID)
    with django_capture_on_commit_callbacks(execute=True):
        move(second, S.PAID)

    assert [m["kind"] for m in wechat_sim.notices()] == ["subscribe", "template"]


def test_a_customer_nobody_can_reach_gets_a_skipped_notice_with_the_reason(
    wechat_sim, notice_templates, shopper, django_capture_on_commit_callbacks
):
    order = new_order(shopper)
    with django_capture_on_commit_callbacks(execute=True):
        move(order, S.CLOSED)

    notice = Notice.objects.get(order=order)
    assert (notice.event, notice.status) == ("closed", "skipped")
    assert notice.skip_reason == "no subscribe grant left; not following the official account"
    assert wechat_sim.calls(SUBSCRIBE) == wechat_sim.calls(TEMPLATE) == []


def test_a_disabled_event_sends_nothing(wechat_sim, notice_templates, shopper, django_capture_on_commit_callbacks):
    NotificationTemplate.objects.filter(event="shipped").update(is_enabled=False)
    grant(shopper, "shipped")
    order = move(new_order(shopper), S.PAID)
    with django_capture_on_commit_callbacks(execute=True):
        move(order, S.SHIPPED)

    notice = Notice.objects.get(order=order, event="shipped")
    assert (notice.status, notice.skip_reason) == ("skipped", "no enabled template for this event")
    assert SubscriptionGrant.objects.get(template_id=subscribe_template_id("shipped")).available == 1


def test_every_event_of_the_orders_life_is_noticed_once(
    wechat_sim, notice_templates, shopper, django_capture_on_commit_callbacks
):
    for event in ("paid", "shipped", "refunded"):
        grant(shopper, event)
    order = new_order(shopper)
    with django_capture_on_commit_callbacks(execute=True):
        move(order, S.PAID, S.SHIPPED, S.REFUNDING, S.REFUNDED)
        move(order, S.REFUNDED)  # a repeat changes nothing

    assert [m["template_id"] for m in wechat_sim.notices()] == ["TPL_SUB_PAID", "TPL_SUB_SHIPPED", "TPL_SUB_REFUNDED"]
    assert sorted(Notice.objects.filter(order=order).values_list("event", flat=True)) == [
        "paid", "refunded", "shipped"]


def test_the_notice_is_written_with_the_change_or_not_at_all(wechat_sim, notice_templates, shopper):
    grant(shopper, "paid")
    order = new_order(shopper)
    with pytest.raises(RuntimeError), transaction.atomic():
        move(order, S.PAID)
        raise RuntimeError("the payment's transaction fails later")

    assert not Notice.objects.exists()
    assert not OutboxItem.objects.filter(key__startswith="notice:").exists()
    assert SubscriptionGrant.objects.get(customer=shopper).available == 1  # the grant is not lost


# --- WeChat's errors ---------------------------------------------------------------------------


def _paid_notice(wechat_sim, shopper, capture) -> Notice:
    grant(shopper, "paid")
    with capture(execute=True):
        order = move(new_order(shopper), S.PAID)
    return Notice.objects.get(order=order)


def test_a_refusal_fails_the_notice_after_one_attempt(
    wechat_sim, notice_templates, shopper, django_capture_on_commit_callbacks
):
    wechat_sim.fail_next(SUBSCRIBE, 43101, "user refuse to accept the msg")
    notice = _paid_notice(wechat_sim, shopper, django_capture_on_commit_callbacks)

    notice.refresh_from_db()
    assert (notice.status, notice.attempts, notice.last_errcode) == ("failed", 1, 43101)
    assert "user refuse" in notice.last_error
    assert list(notice.attempt_log.values_list("outcome", "errcode")) == [("failed", 43101)]
    assert len(wechat_sim.calls(SUBSCRIBE)) == 1 and wechat_sim.notices() == []
    assert not OutboxItem.objects.filter(key=f"notice:{notice.pk}:try:2").exists()


def test_a_busy_wechat_is_retried_later_with_backoff(
    wechat_sim, notice_templates, shopper, django_capture_on_commit_callbacks, settings
):
    settings.NOTICE_RETRY_BASE_SECONDS = 120
    wechat_sim.fail_next(SUBSCRIBE, -1, "system error")
    before = timezone.now()
    notice = _paid_notice(wechat_sim, shopper, django_capture_on_commit_callbacks)

    notice.refresh_from_db()
    assert (notice.status, notice.attempts, notice.last_errcode) == ("queued", 1, -1)
    retry = OutboxItem.objects.get(key=f"notice:{notice.pk}:try:2")
    assert retry.status == "pending"
    # 120 s ± 25 %: not now, not much later.
    assert before + datetime.timedelta(seconds=89) < retry.available_at < timezone.now() + datetime.timedelta(
        seconds=151)
    assert notice_send(notice_id=notice.pk) == "skipped"  # not due yet: a stray run sends nothing

    Notice.objects.filter(pk=notice.pk).update(next_attempt_at=timezone.now())
    assert notice_send(notice_id=notice.pk) == "sent"
    assert len(wechat_sim.notices()) == 1


def test_five_busy_answers_fail_the_notice(wechat_sim, notice_templates, shopper, django_capture_on_commit_callbacks):
    wechat_sim.fail_next(SUBSCRIBE, 45009, "reach max api daily quota limit", times=5)
    notice = _paid_notice(wechat_sim, shopper, django_capture_on_commit_callbacks)
    for _ in range(4):
        Notice.objects.filter(pk=notice.pk).update(next_attempt_at=timezone.now())
        notice_send(notice_id=notice.pk)

    notice.refresh_from_db()
    assert (notice.status, notice.attempts, notice.last_errcode) == ("failed", 5, 45009)
    assert notice.last_error.startswith("gave up after 5 tries")
    assert len(wechat_sim.calls(SUBSCRIBE)) == 5


def test_an_expired_token_is_refreshed_and_the_notice_sent_once(
    wechat_sim, notice_templates, shopper, django_capture_on_commit_callbacks
):
    wechat_sim.fail_next(SUBSCRIBE, 40001, "invalid credential")
    notice = _paid_notice(wechat_sim, shopper, django_capture_on_commit_callbacks)

    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == ("sent", 1)
    paths = [c["path"] for c in wechat_sim.calls()]
    assert paths[-3:] == [SUBSCRIBE, "cgi-bin/stable_token", SUBSCRIBE]
    assert len(wechat_sim.notices()) == 1


def test_a_repeated_template_message_reaches_the_customer_once(
    wechat_sim, notice_templates, shopper, django_capture_on_commit_callbacks
):
    """What happens when a worker dies after WeChat took the message: the requeued send
    carries the same client_msg_id, and WeChat drops it."""
    follow(wechat_sim, shopper)
    with django_capture_on_commit_callbacks(execute=True):
        order = move(new_order(shopper), S.PAID)
    notice = Notice.objects.get(order=order)
    # The worker "died" before recording the answer: the row is still sending, long ago.
    Notice.objects.filter(pk=notice.pk).update(status="sending", last_attempt_at=timezone.now() - datetime.timedelta(
        hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert notices_requeue_stuck() == 1

    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == ("sent", 2)
    assert len(wechat_sim.calls(TEMPLATE)) == 2
    assert len(wechat_sim.notices()) == 1


def test_staff_resend_a_failed_notice(wechat_sim, notice_templates, shopper, django_capture_on_commit_callbacks):
    wechat_sim.fail_next(SUBSCRIBE, 43101)
    notice = _paid_notice(wechat_sim, shopper, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert notice_resend(notice_id=notice.pk) is True

    notice.refresh_from_db()
    assert notice.status == "sent"
    assert list(notice.attempt_log.values_list("outcome", flat=True)) == ["failed", "sent"]
    assert notice_resend(notice_id=notice.pk) is False  # a sent notice is never sent again
