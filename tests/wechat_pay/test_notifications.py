"""The simulator's payment and refund notifications are what WeChat would post: they verify
and decrypt with paycrypto, go to WECHAT_PAY_NOTIFY_BASE_URL, and report the answer."""

import pytest
import requests
from django.conf import settings

from tests.wechat_pay.helpers import OPENID, order_body, raw_v3
from wechat_simulator import pay_state, store
from wxbackend.wechat import paycrypto
from wxbackend.wechat.pay import pay_v2_client


def _paid_v3_order(no="WX20261125000001", total=100):
    assert raw_v3("POST", "/v3/pay/transactions/jsapi", order_body(no, attach="cart:7",
                  amount={"total": total, "currency": "CNY"})).status_code == 200
    return pay_state.pay_order(no)


def test_v3_payment_notification_verifies_and_decrypts(wechat_sim, notify_receiver):
    order = _paid_v3_order()
    notify_receiver.answer_status = 204
    assert pay_state.send_payment_notification("WX20261125000001") == 204

    [notice] = notify_receiver.received
    assert notice.path == "/payments/wechat/notify/"
    paycrypto.v3_verify(notice.headers, notice.body)  # settings' public key and PUB_KEY_ID
    assert notice.headers["Wechatpay-Serial"] == settings.WECHAT_PAY_PUBLIC_KEY_ID
    envelope = notify_receiver.json()
    assert (envelope["event_type"], envelope["resource_type"]) == ("TRANSACTION.SUCCESS", "encrypt-resource")
    assert envelope["resource"]["associated_data"] == "transaction"
    resource = paycrypto.v3_decrypt_resource(settings.WECHAT_PAY_APIV3_KEY, envelope["resource"])
    assert resource["out_trade_no"] == "WX20261125000001"
    assert resource["transaction_id"] == order["transaction_id"]
    assert (resource["mchid"], resource["appid"]) == (settings.WECHAT_PAY_MCH_ID, settings.WECHAT_MINIAPP_APPID)
    assert resource["amount"]["total"] == 100 and resource["trade_state"] == "SUCCESS"
    assert resource["payer"] == {"openid": OPENID} and resource["attach"] == "cart:7"
    [sent] = store.calls(path="__notify__/payment")
    assert (sent["status"], sent["body"]["out_trade_no"]) == (204, "WX20261125000001")


def test_a_tampered_notification_no_longer_verifies_or_decrypts(wechat_sim, notify_receiver):
    _paid_v3_order()
    pay_state.send_payment_notification("WX20261125000001")
    [notice] = notify_receiver.received
    with pytest.raises(paycrypto.BadSignature):
        paycrypto.v3_verify(notice.headers, notice.body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCESs"))
    with pytest.raises(paycrypto.BadCiphertext):
        paycrypto.v3_decrypt_resource("fedcba9876543210fedcba9876543210", notify_receiver.json()["resource"])


def test_the_projects_failure_answer_is_reported(wechat_sim, notify_receiver):
    _paid_v3_order()
    notify_receiver.answer_status = 500
    assert pay_state.send_payment_notification("WX20261125000001") == 500


def test_unpaid_orders_are_not_notified(wechat_sim, notify_receiver):
    raw_v3("POST", "/v3/pay/transactions/jsapi", order_body())
    with pytest.raises(pay_state.PayStateError):
        pay_state.send_payment_notification("WX20261125000001")
    assert notify_receiver.received == []


def test_v3_refund_notification_verifies_and_decrypts(wechat_sim, notify_receiver):
    order = _paid_v3_order()
    raw_v3("POST", "/v3/refund/domestic/refunds", {"out_trade_no": "WX20261125000001",
           "out_refund_no": "R20261125000001", "amount": {"refund": 40, "total": 100, "currency": "CNY"}})
    assert pay_state.send_refund_notification("R20261125000001") == 200
    [notice] = notify_receiver.received
    assert notice.path == "/payments/wechat/refund-notify/"
    paycrypto.v3_verify(notice.headers, notice.body)
    envelope = notify_receiver.json()
    assert envelope["event_type"] == "REFUND.SUCCESS"
    resource = paycrypto.v3_decrypt_resource(settings.WECHAT_PAY_APIV3_KEY, envelope["resource"])
    assert resource["out_refund_no"] == "R20261125000001"
    assert resource["transaction_id"] == order["transaction_id"]
    assert resource["refund_status"] == "SUCCESS" and resource["success_time"]
    assert resource["amount"] == {"total": 100, "refund": 40, "payer_total": 100, "payer_refund": 40}
    queried = raw_v3("GET", "/v3/refund/domestic/refunds/R20261125000001").json()
    assert queried["status"] == "SUCCESS"


def test_v2_payment_notification_is_signed_by_the_orders_sign_type(wechat_sim, notify_receiver, settings):
    settings.WECHAT_PAY_API_VERSION = "v2"
    pay_v2_client().order.create(
        trade_type="JSAPI", body="保温杯 500ml", total_fee=100, notify_url="https://shop.example.com/n/",
        client_ip="203.0.113.7", user_id=OPENID, out_trade_no="WX20261125000001", sign_type="HMAC-SHA256",
    )
    order = pay_state.pay_order("WX20261125000001")
    assert pay_state.send_payment_notification("WX20261125000001") == 200
    [notice] = notify_receiver.received
    assert notice.path == "/payments/wechat/notify/"
    fields = paycrypto.v2_xml_to_dict(notice.body)
    assert fields["sign_type"] == "HMAC-SHA256"
    paycrypto.v2_verify(fields, settings.WECHAT_PAY_API_KEY)
    with pytest.raises(paycrypto.BadSignature):
        paycrypto.v2_verify(fields, settings.WECHAT_PAY_API_KEY, sign_type="MD5")  # what wechatpy would do
    assert (fields["total_fee"], fields["transaction_id"], fields["openid"]) == ("100", order["transaction_id"], OPENID)
    assert len(fields["time_end"]) == 14


def test_v2_refund_notification_carries_req_info_and_no_sign(wechat_sim, notify_receiver, merchant_cert, settings):
    settings.WECHAT_PAY_API_VERSION = "v2"
    client = pay_v2_client()
    client.order.create(trade_type="JSAPI", body="保温杯", total_fee=100, notify_url="https://shop.example.com/n/",
                        client_ip="203.0.113.7", user_id=OPENID, out_trade_no="WX20261125000001")
    pay_state.pay_order("WX20261125000001")
    client.refund.apply(total_fee=100, refund_fee=100, out_refund_no="R20261125000001",
                        out_trade_no="WX20261125000001")
    assert pay_state.send_refund_notification("R20261125000001") == 200
    [notice] = notify_receiver.received
    assert notice.path == "/payments/wechat/refund-notify/"
    fields = paycrypto.v2_xml_to_dict(notice.body)
    assert "sign" not in fields
    assert (fields["appid"], fields["mch_id"]) == (settings.WECHAT_MINIAPP_APPID, settings.WECHAT_PAY_MCH_ID)
    inner = paycrypto.v2_refund_decrypt(fields["req_info"], settings.WECHAT_PAY_API_KEY)
    assert (inner["out_refund_no"], inner["refund_status"], inner["refund_fee"]) == ("R20261125000001", "SUCCESS", "100")
    assert len(inner["success_time"]) == len("2026-11-25 14:30:00")


def test_control_endpoints_pay_and_refund_for_a_person(wechat_sim, notify_receiver):
    raw_v3("POST", "/v3/pay/transactions/jsapi", order_body())
    control = f"{wechat_sim.url}/__sim__/pay/__control__"
    paid = requests.post(f"{control}/pay/WX20261125000001", timeout=10)
    assert paid.status_code == 200
    assert paid.json()["trade_state"] == "SUCCESS" and paid.json()["notify_status"] == 200
    assert len(notify_receiver.received) == 1
    raw_v3("POST", "/v3/refund/domestic/refunds", {"out_trade_no": "WX20261125000001",
           "out_refund_no": "R20261125000001", "amount": {"refund": 100, "total": 100, "currency": "CNY"}})
    refunded = requests.post(f"{control}/refund/R20261125000001", data={"status": "CLOSED"}, timeout=10)
    assert refunded.json() == {"out_refund_no": "R20261125000001", "status": "CLOSED", "notify_status": 200}
    assert notify_receiver.json()["event_type"] == "REFUND.CLOSED"
    assert requests.post(f"{control}/pay/WX404404", timeout=10).status_code == 409
    assert requests.get(f"{control}/pay/WX20261125000001", timeout=10).status_code == 405


def test_control_endpoint_reports_an_unreachable_project(wechat_sim, settings):
    raw_v3("POST", "/v3/pay/transactions/jsapi", order_body())
    settings.WECHAT_PAY_NOTIFY_BASE_URL = "http://127.0.0.1:9"
    answer = requests.post(f"{wechat_sim.url}/__sim__/pay/__control__/pay/WX20261125000001", timeout=10).json()
    assert answer["notify_status"] is None and answer["notify_error"] == "ConnectionError"
    assert answer["trade_state"] == "SUCCESS"
