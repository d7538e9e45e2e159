"""Refunds: never more than was paid, even at once; submitted to WeChat Pay through the
outbox; finished by WeChat's refund notification, once."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from orders.models import Order
from payments.exceptions import NothingToRefund, RefundExceedsPaid
from payments.models import PaymentNotification, Refund
from payments.refunds import refund_start
from tests.payments.conftest import REFUND_NOTIFY, post_notification
from wechat_simulator import pay_state

pytestmark = pytest.mark.django_db


def _refund_notice(refund, receiver, status="SUCCESS"):
    pay_state.refund_complete(refund.out_refund_no, status)
    before = len(receiver.received)
    pay_state.send_refund_notification(refund.out_refund_no, status)
    notice = receiver.received[before]
    return notice.headers, notice.body


def test_a_full_refund_goes_refunding_then_refunded(paid_order, notify_receiver, client,
                                                    django_capture_on_commit_callbacks):
    order = paid_order(10000)
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_start(order_id=order.pk, amount_fen=10000, reason="尺码不合适", requested_by="staff:1")
    order.refresh_from_db()
    refund.refresh_from_db()
    assert order.status == "refunding" and refund.is_full and refund.status == "processing"
    at_wechat = pay_state.refund_get(refund.out_refund_no)
    assert (at_wechat["refund_fen"], at_wechat["total_fen"], at_wechat["reason"]) == (10000, 10000, "尺码不合适")

    headers, body = _refund_notice(refund, notify_receiver)
    assert post_notification(client, headers, body, REFUND_NOTIFY).status_code == 204
    assert post_notification(client, headers, body, REFUND_NOTIFY).status_code == 204
    order.refresh_from_db()
    refund.refresh_from_db()
    assert (order.status, refund.status) == ("refunded", "succeeded") and refund.succeeded_at
    assert order.events.filter(to_status="refunded").count() == 1
    assert list(PaymentNotification.objects.filter(kind="refund").order_by("id")
                .values_list("verdict", flat=True)) == ["applied", "duplicate"]


def test_a_partial_refund_keeps_the_status_and_the_rest_can_follow(paid_order, django_capture_on_commit_callbacks):
    order = paid_order(10000)
    with django_capture_on_commit_callbacks(execute=True):
        first = refund_start(order_id=order.pk, amount_fen=3000, reason="少发一件", requested_by="staff:1")
    order.refresh_from_db()
    assert order.status == "paid" and not first.is_full
    with pytest.raises(RefundExceedsPaid):
        refund_start(order_id=order.pk, amount_fen=7001, reason="", requested_by="staff:1")
    with django_capture_on_commit_callbacks(execute=True):
        rest = refund_start(order_id=order.pk, amount_fen=7000, reason="退货", requested_by="staff:1")
    order.refresh_from_db()
    assert rest.is_full and order.status == "refunding"
    assert sum(Refund.objects.values_list("amount_fen", flat=True)) == 10000


def test_an_unpaid_order_has_nothing_to_refund(shop, make_unpaid):
    order = make_unpaid()
    with pytest.raises(NothingToRefund):
        refund_start(order_id=order.pk, amount_fen=100, reason="", requested_by="staff:1")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_never_exceed_what_was_paid(paid_order):
    order = paid_order(10000)

    def attempt_refund(_):
        try:
            refund_start(order_id=order.pk, amount_fen=3000, reason="", requested_by="staff:1")
            return "ok"
        except RefundExceedsPaid:
            return "refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        results = sorted(pool.map(attempt_refund, range(8)))
    assert results == ["ok"] * 3 + ["refused"] * 5
    assert sum(Refund.objects.values_list("amount_fen", flat=True)) == 9000


def test_a_refused_refund_is_recorded(paid_order, django_capture_on_commit_callbacks):
    order = paid_order(10000)
    pay_state.fail_next("v3/refund/domestic/refunds", status=400, code="NOT_ENOUGH", message="余额不足")
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_start(order_id=order.pk, amount_fen=100, reason="", requested_by="staff:1")
    refund.refresh_from_db()
    assert refund.status == "failed" and "NOT_ENOUGH" in refund.error


def test_a_forged_refund_notification_changes_nothing(paid_order, notify_receiver, client,
                                                      django_capture_on_commit_callbacks):
    order = paid_order(10000)
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_start(order_id=order.pk, amount_fen=10000, reason="", requested_by="staff:1")
    headers, body = _refund_notice(refund, notify_receiver)
    forged = body.replace(b"REFUND.SUCCESS", b"REFUND.SUCCESs")
    assert post_notification(client, headers, forged, REFUND_NOTIFY).status_code == 401
    assert Order.objects.get(pk=order.pk).status == "refunding"
    assert PaymentNotification.objects.filter(kind="refund").get().verdict == "rejected"
