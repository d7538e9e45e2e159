"""A full refund that does not give the money back (refused, closed, abnormal) puts the order
back where it was, visibly and without re-firing that status's side effects; a refund whose
notification never came is asked for by the periodic sweep and settled like a notification."""

import datetime

import pytest
import responses
from django.conf import settings
from django.utils import timezone

from orders.models import Order, ShippingUpload
from orders.services import order_ship
from payments.models import PaymentNotification, Refund
from payments.refunds import refund_start, refund_submit
from payments.tasks import refunds_settle_task
from tests.payments.conftest import REFUND_NOTIFY, post_notification, refund_notice
from wechat_simulator import pay_state
from wxbackend.models import OutboxItem
from wxbackend.wechat import paycrypto

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped_order(paid_order, django_capture_on_commit_callbacks):
    def make(price_fen=10000) -> Order:
        order = paid_order(price_fen)
        with django_capture_on_commit_callbacks(execute=True):
            order_ship(order_id=order.pk, carrier="顺丰", tracking_no="SF100", actor="staff:1")
        assert ShippingUpload.objects.get(order=order).status == ShippingUpload.Status.UPLOADED
        order.refresh_from_db()
        return order

    return make


def _start(order, amount_fen, capture, **kwargs) -> Refund:
    with capture(execute=True):
        refund = refund_start(order_id=order.pk, amount_fen=amount_fen, reason="退货", requested_by="staff:1",
                              **kwargs)
    refund.refresh_from_db()
    return refund


def _age(refund, minutes=6):
    Refund.objects.filter(pk=refund.pk).update(updated_at=timezone.now() - datetime.timedelta(minutes=minutes))


def test_an_abnormal_refund_puts_a_shipped_order_back_without_shipping_it_again(
        shipped_order, notify_receiver, client, wechat_sim, django_capture_on_commit_callbacks):
    order = shipped_order(10000)
    shipped_at, uploads = order.shipped_at, len(wechat_sim.shipping_uploads())
    outbox_rows = OutboxItem.objects.count()
    refund = _start(order, 10000, django_capture_on_commit_callbacks)
    assert Order.objects.get(pk=order.pk).status == "refunding"

    with django_capture_on_commit_callbacks(execute=True):
        answer = post_notification(client, *refund_notice(refund, notify_receiver, "ABNORMAL"), REFUND_NOTIFY)
    assert answer.status_code == 204
    order.refresh_from_db()
    refund.refresh_from_db()
    assert (order.status, refund.status) == ("shipped", "abnormal")
    assert order.shipped_at == shipped_at  # the parcel left once
    back = order.events.last()
    assert (back.from_status, back.to_status, back.actor) == ("refunding", "shipped", "wechatpay")
    assert refund.out_refund_no in back.reason and "abnormal" in back.reason
    # Nothing of `shipped` fired again: no second upload, no new outbox row.
    assert len(wechat_sim.shipping_uploads()) == uploads
    assert ShippingUpload.objects.get(order=order).status == ShippingUpload.Status.UPLOADED
    assert OutboxItem.objects.count() == outbox_rows + 1  # the refund's own submission


def test_an_abnormal_refund_paid_out_later_still_refunds_the_order(
        shipped_order, notify_receiver, client, django_capture_on_commit_callbacks):
    order = shipped_order(10000)
    refund = _start(order, 10000, django_capture_on_commit_callbacks)
    post_notification(client, *refund_notice(refund, notify_receiver, "ABNORMAL"), REFUND_NOTIFY)
    assert Order.objects.get(pk=order.pk).status == "shipped"
    # Staff had it paid out from the merchant platform; WeChat then reports success.
    record = pay_state.refund_get(refund.out_refund_no)
    pay_state.refund_put({**record, "status": "PROCESSING"})
    post_notification(client, *refund_notice(refund, notify_receiver, "SUCCESS"), REFUND_NOTIFY)
    order.refresh_from_db()
    assert order.status == "refunded"
    assert [e.to_status for e in order.events.order_by("id")][-4:] == ["refunding", "shipped", "refunding", "refunded"]


def test_a_refund_wechat_refuses_puts_the_order_back_and_says_why(paid_order, django_capture_on_commit_callbacks):
    order = paid_order(10000)
    paid_at = order.paid_at
    pay_state.fail_next("v3/refund/domestic/refunds", status=403, code="NOT_ENOUGH", message="基本账户余额不足")
    refund = _start(order, 10000, django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert (refund.status, refund.error) == ("failed", "NOT_ENOUGH: 基本账户余额不足")
    assert order.status == "paid" and order.paid_at == paid_at
    assert "NOT_ENOUGH" in order.events.last().reason
    # The money is still there: staff can refund again.
    again = _start(order, 10000, django_capture_on_commit_callbacks)
    assert again.status == "processing" and Order.objects.get(pk=order.pk).status == "refunding"


def test_a_failed_partial_or_automatic_refund_leaves_the_order_alone(paid_order, django_capture_on_commit_callbacks):
    order = paid_order(10000)
    pay_state.fail_next("v3/refund/domestic/refunds", status=403, code="NOT_ENOUGH", message="余额不足")
    partial = _start(order, 3000, django_capture_on_commit_callbacks)
    assert partial.status == "failed" and Order.objects.get(pk=order.pk).status == "paid"
    events = order.events.count()
    full = _start(order, 10000, django_capture_on_commit_callbacks)
    assert Order.objects.get(pk=order.pk).status == "refunding"
    pay_state.refund_complete(full.out_refund_no, "CLOSED")
    _age(full)
    refunds_settle_task.apply()
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert order.events.count() == events + 2


def test_a_refund_stuck_processing_is_settled_by_the_periodic_task(paid_order, django_capture_on_commit_callbacks):
    order = paid_order(10000)
    refund = _start(order, 10000, django_capture_on_commit_callbacks)
    assert settings.CELERY_BEAT_SCHEDULE["payments-refunds-settle"]["task"] == refunds_settle_task.name
    pay_state.refund_complete(refund.out_refund_no, "SUCCESS")  # and the notification is lost

    assert refunds_settle_task.apply().get() == {"queried": 0, "settled": 0, "failed": 0}  # too recent
    _age(refund)
    assert refunds_settle_task.apply().get() == {"queried": 1, "settled": 1, "failed": 0}
    order.refresh_from_db()
    refund.refresh_from_db()
    assert (order.status, refund.status) == ("refunded", "succeeded") and refund.succeeded_at
    assert order.events.filter(to_status="refunded").count() == 1
    # The notification that arrives at last changes nothing.
    assert refunds_settle_task.apply().get()["queried"] == 0


def test_a_refund_query_that_fails_waits_for_the_next_run(paid_order, django_capture_on_commit_callbacks):
    order = paid_order(10000)
    refund = _start(order, 10000, django_capture_on_commit_callbacks)
    _age(refund)
    pay_state.fail_next(f"v3/refund/domestic/refunds/{refund.out_refund_no}", status=500)
    assert refunds_settle_task.apply().get() == {"queried": 0, "settled": 0, "failed": 1}
    assert Refund.objects.get(pk=refund.pk).status == "processing"
    assert refunds_settle_task.apply().get() == {"queried": 1, "settled": 0, "failed": 0}  # still processing


@pytest.fixture
def v2(shop, settings, merchant_cert):
    settings.WECHAT_PAY_API_VERSION = "v2"
    return settings


def test_v2_a_stuck_refund_is_queried_and_a_closed_one_puts_the_order_back(
        v2, paid_order, django_capture_on_commit_callbacks):
    order = paid_order(4990)
    refund = _start(order, 4990, django_capture_on_commit_callbacks)
    assert refund.status == "processing"
    pay_state.refund_complete(refund.out_refund_no, "CLOSED")
    _age(refund)
    assert refunds_settle_task.apply().get()["settled"] == 1
    order.refresh_from_db()
    assert (Refund.objects.get(pk=refund.pk).status, order.status) == ("closed", "paid")
    assert "closed" in order.events.last().reason


def test_v2_a_return_code_fail_is_recorded_with_a_stable_code(v2, client):
    body = paycrypto.v2_dict_to_xml({"return_code": "FAIL", "return_msg": "签名失败"}).encode()
    answer = post_notification(client, {"Content-Type": "text/xml"}, body)
    assert answer.status_code == 401 and paycrypto.v2_xml_to_dict(answer.content)["return_code"] == "FAIL"
    record = PaymentNotification.objects.get()
    assert (record.verdict, record.detail) == ("rejected", "return_fail: 签名失败")


def test_v2_a_refused_refund_stores_a_stable_code_and_wechats_words(v2, paid_order):
    order = paid_order(4990)
    refund = refund_start(order_id=order.pk, amount_fen=4990, reason="退货", requested_by="staff:1")
    with responses.RequestsMock() as wechat:  # WeChat's transport-level refusal: no err_code, no sign
        wechat.post(f"{settings.WECHAT_PAY_API_BASE}/secapi/pay/refund",
                    body=paycrypto.v2_dict_to_xml({"return_code": "FAIL", "return_msg": "证书已过期"}))
        refund = refund_submit(refund_id=refund.pk)
    assert (refund.status, refund.error) == ("failed", "return_fail: 证书已过期")
    assert Order.objects.get(pk=order.pk).status == "paid"
