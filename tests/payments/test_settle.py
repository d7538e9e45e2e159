"""Compensation, not hope: the minute's sweep pays orders whose notification was lost,
closes expired trades at WeChat Pay before closing the orders, and a payment that beats a
close pays the order after all, or is refunded when its stock is gone."""

import datetime

import pytest
from django.utils import timezone

from catalog.models import Sku
from orders.models import Order
from payments.models import PaymentAttempt, Refund
from payments.services import payments_settle
from wechat_simulator import pay_state

pytestmark = pytest.mark.django_db


def _age(order, attempt=None, **delta):
    then = timezone.now() - datetime.timedelta(**delta)
    Order.objects.filter(pk=order.pk).update(created_at=then)
    PaymentAttempt.objects.filter(order=order).update(created_at=then)


def _started(buyer_api, order) -> PaymentAttempt:
    assert buyer_api.post(f"/api/v1/orders/{order.order_no}/pay").status_code == 200
    return PaymentAttempt.objects.get(order=order)


def test_a_lost_notification_costs_minutes_not_the_order(shop, buyer_api, make_unpaid):
    order = make_unpaid()
    attempt = _started(buyer_api, order)
    pay_state.pay_order(attempt.out_trade_no)  # paid at WeChat; the notification never came
    assert payments_settle()["queried"] == 0  # too recent to ask
    _age(order, minutes=3)
    assert payments_settle()["queried"] == 1
    order.refresh_from_db()
    assert order.status == "paid"
    assert order.events.last().actor == "wechatpay"


def test_an_expired_order_has_its_trade_closed_at_wechat_then_closes(shop, buyer_api, make_unpaid, settings):
    settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 30
    order = make_unpaid(stock=5, quantity=2)
    sku = order.items.get().sku
    attempt = _started(buyer_api, order)
    _age(order, minutes=31)
    result = payments_settle()
    assert (result["settled"], result["closed"]) == (1, 1)
    assert pay_state.order_get(attempt.out_trade_no)["trade_state"] == "CLOSED"
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert (order.status, attempt.status) == ("closed", "closed")
    assert Sku.objects.get(pk=sku.pk).stock == 5


def test_an_expired_order_paid_at_the_last_second_is_paid_not_closed(shop, buyer_api, make_unpaid, settings):
    settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 30
    order = make_unpaid()
    attempt = _started(buyer_api, order)
    pay_state.pay_order(attempt.out_trade_no)
    _age(order, minutes=31)
    payments_settle()
    order.refresh_from_db()
    assert order.status == "paid"


def test_an_order_stays_open_while_wechat_pay_cannot_be_asked(shop, buyer_api, make_unpaid, settings):
    settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 30
    order = make_unpaid()
    attempt = _started(buyer_api, order)
    _age(order, minutes=31)
    pay_state.fail_next(f"v3/pay/transactions/out-trade-no/{attempt.out_trade_no}", status=500)
    assert payments_settle()["closed"] == 0
    order.refresh_from_db()
    assert order.status == "pending_payment"  # closing it now could drop a payment
    assert payments_settle()["closed"] == 1  # WeChat answers again: closed


def test_orders_never_paid_at_wechat_close_as_before(shop, make_unpaid, settings):
    settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 30
    order = make_unpaid()
    _age(order, minutes=31)
    assert payments_settle()["closed"] == 1


def test_a_payment_that_beats_the_cancel_pays_the_order(shop, buyer_api, make_unpaid, django_capture_on_commit_callbacks):
    order = make_unpaid(stock=3)
    attempt = _started(buyer_api, order)
    pay_state.pay_order(attempt.out_trade_no)  # paid on the phone at the moment of cancelling
    with django_capture_on_commit_callbacks(execute=True):
        buyer_api.post(f"/api/v1/orders/{order.order_no}/cancel")  # closes, then closes the trade
    order.refresh_from_db()
    assert order.status == "paid"
    assert [e.to_status for e in order.events.order_by("id")] == ["pending_payment", "closed", "paid"]
    assert Sku.objects.get(pk=order.items.get().sku_id).stock == 2  # taken again
    assert Refund.objects.count() == 0


def test_a_payment_after_close_with_the_stock_gone_is_refunded(shop, buyer_api, make_unpaid,
                                                                django_capture_on_commit_callbacks):
    order = make_unpaid(stock=1)
    sku = order.items.get().sku
    attempt = _started(buyer_api, order)
    with django_capture_on_commit_callbacks(execute=True):
        buyer_api.post(f"/api/v1/orders/{order.order_no}/cancel")
    assert pay_state.order_get(attempt.out_trade_no)["trade_state"] == "CLOSED"  # the cancel closed it
    # A trade WeChat had already paid when the close arrived: simulate it by reopening.
    trade = pay_state.order_get(attempt.out_trade_no)
    pay_state.order_put({**trade, "trade_state": "NOTPAY"})
    pay_state.pay_order(attempt.out_trade_no)
    Sku.objects.filter(pk=sku.pk).update(stock=0)  # someone else bought the last one
    PaymentAttempt.objects.filter(pk=attempt.pk).update(status="pending")
    from payments.services import payment_trade_refresh

    with django_capture_on_commit_callbacks(execute=True):
        payment_trade_refresh(out_trade_no=attempt.out_trade_no)
    order.refresh_from_db()
    assert order.status == "closed"
    refund = Refund.objects.get()
    assert (refund.amount_fen, refund.requested_by, refund.status) == (order.total_fen, "system:late_payment",
                                                                       "processing")
    assert pay_state.refund_get(refund.out_refund_no)["refund_fen"] == order.total_fen
    assert Sku.objects.get(pk=sku.pk).stock == 0
