"""`manage.py replay_notification`: a payment or refund whose notification was lost or
failed is applied from WeChat Pay's current state, once, however often it is replayed."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orders.models import Order
from payments.models import PaymentAttempt, PaymentNotification, Refund
from payments.refunds import refund_start
from wechat_simulator import pay_state

pytestmark = pytest.mark.django_db


def _replay(*args) -> str:
    out = StringIO()
    call_command("replay_notification", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_a_failed_payment_notification_is_applied_once_on_replay(shop, buyer_api, make_unpaid):
    order = make_unpaid(price_fen=8800)
    assert buyer_api.post(f"/api/v1/orders/{order.order_no}/pay").status_code == 200
    trade = PaymentAttempt.objects.get(order=order).out_trade_no
    pay_state.pay_order(trade)  # paid at WeChat; our handling of the notification failed
    failed = PaymentNotification.objects.create(kind="payment", api_version="v3", out_trade_no=trade, body="{}",
                                                verdict="failed", detail="OperationalError")

    assert "SUCCESS" in _replay(str(failed.pk))
    order.refresh_from_db()
    assert order.status == "paid"
    _replay("--trade", trade)  # again: nothing moves twice
    assert f"trade {trade}" in _replay("--failed")
    assert order.events.filter(to_status="paid").count() == 1


def test_a_lost_refund_notification_is_applied_on_replay(paid_order, django_capture_on_commit_callbacks):
    order = paid_order(10000)
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_start(order_id=order.pk, amount_fen=10000, reason="退货", requested_by="staff:1")
    pay_state.refund_complete(Refund.objects.get(pk=refund.pk).out_refund_no, "SUCCESS")  # notification lost

    out = _replay("--refund", refund.out_refund_no)
    assert "succeeded" in out
    assert Order.objects.get(pk=order.pk).status == "refunded"
    assert Refund.objects.get(pk=refund.pk).status == "succeeded"


def test_bad_arguments_say_what_is_wrong(db):
    with pytest.raises(CommandError, match="no such notification: 999"):
        _replay("999")
    with pytest.raises(CommandError, match="nothing to replay"):
        _replay()
    rejected = PaymentNotification.objects.create(kind="payment", api_version="v3", body="x", verdict="rejected")
    with pytest.raises(CommandError, match="nothing to replay"):
        _replay(str(rejected.pk))
