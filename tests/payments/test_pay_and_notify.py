"""Paying an order (wx.requestPayment parameters) and WeChat Pay's payment notification:
verified before anything else, recorded before it is answered, applied exactly once."""

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.db import connection

from orders.models import Order, OrderEvent
from payments.models import PaymentAttempt, PaymentNotification
from tests.payments.conftest import NOTIFY, pay_at_wechat, post_notification
from wechat_simulator import pay_state
from wxbackend.wechat import paycrypto

pytestmark = pytest.mark.django_db


def _pay(buyer_api, order):
    return buyer_api.post(f"/api/v1/orders/{order.order_no}/pay")


def _verify_pay_sign(params, settings):
    key = paycrypto.private_key_from_path(settings.WECHAT_PAY_MCH_PRIVATE_KEY_PATH).public_key()
    message = f"{params['appId']}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n".encode()
    key.verify(base64.b64decode(params["paySign"]), message, padding.PKCS1v15(), hashes.SHA256())


def test_pay_answers_signed_request_payment_parameters_and_reuses_the_trade(shop, buyer, buyer_api, make_unpaid,
                                                                            settings):
    order = make_unpaid(price_fen=12900, quantity=2)
    first = _pay(buyer_api, order)
    assert first.status_code == 200, first.content
    params = first.json()
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["appId"] == settings.WECHAT_MINIAPP_APPID and params["signType"] == "RSA"
    assert params["package"].startswith("prepay_id=wx")
    _verify_pay_sign(params, settings)

    again = _pay(buyer_api, order)
    assert again.json() == params  # the same trade and prepay, not a second WeChat order
    [attempt] = PaymentAttempt.objects.all()
    assert (attempt.amount_fen, attempt.openid, attempt.status) == (25800, buyer.openid, "pending")
    trade = pay_state.order_get(attempt.out_trade_no)
    assert trade["total_fen"] == 25800 and trade["openid"] == buyer.openid
    assert len(shop.calls("v3/pay/transactions/jsapi")) == 1


def test_amounts_come_from_the_order_never_from_the_client(shop, buyer_api, make_unpaid):
    order = make_unpaid(price_fen=12900)
    response = buyer_api.post(f"/api/v1/orders/{order.order_no}/pay", {"total_fen": 1}, format="json")
    assert response.status_code == 200
    assert pay_state.order_get(PaymentAttempt.objects.get().out_trade_no)["total_fen"] == 12900


def test_a_paid_order_answers_409_already_paid_and_a_closed_one_not_payable(shop, buyer_api, make_unpaid,
                                                                             notify_receiver, client):
    order = make_unpaid()
    _pay(buyer_api, order)
    post_notification(client, *pay_at_wechat(PaymentAttempt.objects.get().out_trade_no, notify_receiver))
    response = _pay(buyer_api, order)
    assert (response.status_code, response.json()["code"]) == (409, "already_paid")

    other = make_unpaid()
    buyer_api.post(f"/api/v1/orders/{other.order_no}/cancel")
    response = _pay(buyer_api, other)
    assert (response.status_code, response.json()["code"]) == (409, "not_payable")


def test_someone_elses_order_is_404(shop, buyer_api, make_unpaid):
    from tests.factories import CustomerFactory

    order = make_unpaid(customer=CustomerFactory())
    assert _pay(buyer_api, order).status_code == 404
    assert PaymentAttempt.objects.count() == 0


def test_wechat_pay_down_is_503_and_the_next_tap_reuses_the_trade(shop, buyer_api, make_unpaid):
    order = make_unpaid()
    pay_state.fail_next("v3/pay/transactions/jsapi", status=500)
    response = _pay(buyer_api, order)
    assert (response.status_code, response.json()["code"]) == (503, "wechat_pay_unavailable")
    assert _pay(buyer_api, order).status_code == 200
    assert PaymentAttempt.objects.count() == 1  # the same out_trade_no was sent again


def test_a_notification_pays_the_order_once(shop, buyer_api, make_unpaid, notify_receiver, client):
    order = make_unpaid()
    _pay(buyer_api, order)
    attempt = PaymentAttempt.objects.get()
    headers, body = pay_at_wechat(attempt.out_trade_no, notify_receiver)

    assert post_notification(client, headers, body).status_code == 204
    assert post_notification(client, headers, body).status_code == 204  # WeChat's retry: success again
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert order.status == "paid" and order.paid_at is not None
    assert attempt.status == "paid" and attempt.transaction_id.startswith("4200")
    assert OrderEvent.objects.filter(order=order, to_status="paid").count() == 1
    assert list(PaymentNotification.objects.order_by("id").values_list("verdict", flat=True)) == [
        "applied", "duplicate"]
    for record in PaymentNotification.objects.all():  # the duplicate is stored as fully as the first
        assert record.headers["wechatpay-signature"] and json.loads(record.body)["id"]
        assert record.attempt_id == attempt.pk and record.out_trade_no == attempt.out_trade_no
        assert record.received_at is not None
    duplicate = PaymentNotification.objects.get(verdict="duplicate")
    assert duplicate.detail == f"already applied ({attempt.transaction_id})"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_notifications_make_one_transition(shop, buyer_api, make_unpaid, notify_receiver):
    order = make_unpaid()
    _pay(buyer_api, order)
    attempt = PaymentAttempt.objects.get()
    headers, body = pay_at_wechat(attempt.out_trade_no, notify_receiver)
    wanted = {k: v for k, v in headers.items() if k.lower().startswith("wechatpay") or k.lower() == "content-type"}

    def deliver(_):
        try:
            return requests.post(f"{shop.url}{NOTIFY}", data=body, headers=wanted, timeout=10).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(deliver, range(12)))
    assert statuses == [204] * 12
    assert OrderEvent.objects.filter(order=order, to_status="paid").count() == 1
    verdicts = sorted(PaymentNotification.objects.values_list("verdict", flat=True))
    assert verdicts == ["applied"] + ["duplicate"] * 11
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_a_tampered_notification_is_refused_and_recorded(shop, buyer_api, make_unpaid, notify_receiver, client):
    order = make_unpaid()
    _pay(buyer_api, order)
    headers, body = pay_at_wechat(PaymentAttempt.objects.get().out_trade_no, notify_receiver)
    forged = body.replace(b'"TRANSACTION.SUCCESS"', b'"TRANSACTION.SUCCESs"')
    response = post_notification(client, headers, forged)
    assert response.status_code == 401 and response.json()["code"] == "FAIL"
    no_signature = {k: v for k, v in headers.items() if k.lower() != "wechatpay-signature"}
    assert post_notification(client, no_signature, body).status_code == 401
    order.refresh_from_db()
    assert order.status == "pending_payment"
    assert list(PaymentNotification.objects.values_list("verdict", flat=True)) == ["rejected", "rejected"]


def test_a_replayed_notification_past_five_minutes_is_refused(shop, buyer_api, make_unpaid, notify_receiver, client,
                                                              monkeypatch):
    order = make_unpaid()
    _pay(buyer_api, order)
    headers, body = pay_at_wechat(PaymentAttempt.objects.get().out_trade_no, notify_receiver)
    later = time.time() + 6 * 60
    monkeypatch.setattr(paycrypto.time, "time", lambda: later)
    assert post_notification(client, headers, body).status_code == 401
    order.refresh_from_db()
    assert order.status == "pending_payment"
    assert PaymentNotification.objects.get().verdict == "rejected"


def test_an_amount_that_does_not_match_is_recorded_and_not_paid(shop, buyer_api, make_unpaid, notify_receiver,
                                                                client):
    order = make_unpaid(price_fen=12900)
    _pay(buyer_api, order)
    out_trade_no = PaymentAttempt.objects.get().out_trade_no
    trade = pay_state.order_get(out_trade_no)
    pay_state.order_put({**trade, "total_fen": 1})  # WeChat says 0.01 was paid
    response = post_notification(client, *pay_at_wechat(out_trade_no, notify_receiver))
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == "pending_payment"
    record = PaymentNotification.objects.get()
    assert record.verdict == "mismatch" and "amount 1 ≠ 12900" in record.detail


def test_bad_json_and_oversized_bodies_are_4xx_and_recorded(shop, client):
    assert client.post(NOTIFY, b"{not json", content_type="application/json").status_code == 401
    huge = b"x" * (64 * 1024 + 1)
    assert client.post(NOTIFY, huge, content_type="application/json").status_code == 413
    assert PaymentNotification.objects.count() == 2
    assert set(PaymentNotification.objects.values_list("verdict", flat=True)) == {"rejected"}


def test_a_notification_for_an_unknown_trade_is_recorded_for_staff(shop, notify_receiver, client):
    from tests.wechat_pay.helpers import order_body, raw_v3

    raw_v3("POST", "/v3/pay/transactions/jsapi", order_body("FOREIGN0000001"))
    assert post_notification(client, *pay_at_wechat("FOREIGN0000001", notify_receiver)).status_code == 204
    assert PaymentNotification.objects.get().verdict == "unknown"


@pytest.mark.django_db(transaction=True)
def test_the_simulator_pays_through_the_projects_own_notify_endpoint(shop, buyer_api, make_unpaid, settings):
    """End to end over HTTP: the simulator posts the signed notification to our URL."""
    settings.WECHAT_PAY_NOTIFY_BASE_URL = shop.url
    order = make_unpaid()
    assert _pay(buyer_api, order).status_code == 200
    out_trade_no = PaymentAttempt.objects.get().out_trade_no
    response = requests.post(f"{shop.pay_base}/__control__/pay/{out_trade_no}", timeout=10)
    assert response.json()["notify_status"] == 204
    order.refresh_from_db()
    assert order.status == "paid"


@pytest.mark.parametrize("field, value", [("mchid", "1900000999"), ("appid", "wx0000000000000bad")])
def test_another_merchants_or_apps_payment_is_recorded_and_not_paid(shop, buyer_api, make_unpaid, notify_receiver,
                                                                    client, field, value):
    order = make_unpaid()
    _pay(buyer_api, order)
    out_trade_no = PaymentAttempt.objects.get().out_trade_no
    pay_state.order_put({**pay_state.order_get(out_trade_no), field: value})
    assert post_notification(client, *pay_at_wechat(out_trade_no, notify_receiver)).status_code == 400
    order.refresh_from_db()
    assert order.status == "pending_payment"
    record = PaymentNotification.objects.get()
    assert record.verdict == "mismatch" and f"{field} '{value}'" in record.detail
