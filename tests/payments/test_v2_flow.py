"""The same purchase on WeChat Pay API v2 (WECHAT_PAY_API_VERSION=v2): MD5-signed payment
parameters, XML notifications answered in XML, refunds over the merchant certificate and
their AES-256-ECB `req_info` notifications."""

import pytest

from payments.models import PaymentAttempt, PaymentNotification
from payments.refunds import refund_start
from tests.payments.conftest import REFUND_NOTIFY, pay_at_wechat, post_notification
from wechat_simulator import pay_state
from wxbackend.wechat import paycrypto

pytestmark = pytest.mark.django_db


@pytest.fixture
def v2(shop, settings, merchant_cert):
    settings.WECHAT_PAY_API_VERSION = "v2"
    return settings


def test_a_v2_purchase_and_refund(v2, buyer_api, make_unpaid, notify_receiver, client, settings,
                                  django_capture_on_commit_callbacks):
    order = make_unpaid(price_fen=4990)
    response = buyer_api.post(f"/api/v1/orders/{order.order_no}/pay")
    assert response.status_code == 200, response.content
    params = response.json()
    assert params["signType"] == "MD5"
    unsigned = {k: v for k, v in params.items() if k != "paySign"}
    assert params["paySign"] == paycrypto.v2_sign(unsigned, settings.WECHAT_PAY_API_KEY, "MD5")
    attempt = PaymentAttempt.objects.get()
    assert attempt.api_version == "v2"

    headers, body = pay_at_wechat(attempt.out_trade_no, notify_receiver)
    answer = post_notification(client, {"Content-Type": "text/xml"}, body)
    assert answer.status_code == 200
    assert paycrypto.v2_xml_to_dict(answer.content)["return_code"] == "SUCCESS"
    order.refresh_from_db()
    assert order.status == "paid"

    forged = body.replace(b"4990", b"1")
    assert forged != body
    refused = post_notification(client, {"Content-Type": "text/xml"}, forged)
    assert refused.status_code == 401 and paycrypto.v2_xml_to_dict(refused.content)["return_code"] == "FAIL"

    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_start(order_id=order.pk, amount_fen=4990, reason="不想要了", requested_by="staff:1")
    refund.refresh_from_db()
    assert refund.status == "processing" and pay_state.refund_get(refund.out_refund_no)
    pay_state.refund_complete(refund.out_refund_no)
    before = len(notify_receiver.received)
    pay_state.send_refund_notification(refund.out_refund_no)
    notice = notify_receiver.received[before]
    answer = post_notification(client, {"Content-Type": "text/xml"}, notice.body, REFUND_NOTIFY)
    assert paycrypto.v2_xml_to_dict(answer.content)["return_code"] == "SUCCESS"
    order.refresh_from_db()
    refund.refresh_from_db()
    assert (order.status, refund.status) == ("refunded", "succeeded")
    assert list(PaymentNotification.objects.order_by("id").values_list("kind", "verdict")) == [
        ("payment", "applied"), ("payment", "rejected"), ("refund", "applied")]


@pytest.mark.parametrize("body", [b"<xml><return_code>SUCCESS", b"not xml", b'<!DOCTYPE x [<!ENTITY a "b">]><xml>&a;</xml>'])
def test_malformed_v2_notifications_are_4xx_in_xml_and_recorded(v2, client, body):
    answer = client.post("/payments/wechat/notify/", body, content_type="text/xml")
    assert 400 <= answer.status_code < 500
    assert paycrypto.v2_xml_to_dict(answer.content)["return_code"] == "FAIL"
    assert PaymentNotification.objects.get().verdict == "rejected"
