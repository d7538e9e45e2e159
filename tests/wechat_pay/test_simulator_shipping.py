"""The simulator's shipping-information upload (发货信息管理) and its page: what the project
uploads is checked against the simulated trades and kept; unpaid trades can be paid from
the page, which sends the signed payment notification."""

import pytest
import requests
from django.conf import settings

from tests.wechat_pay.helpers import OPENID, order_body, raw_v3
from wechat_simulator import pay_state
from wxbackend.wechat import GatewayRejected, call

PATH = "wxa/sec/order/upload_shipping_info"


def _paid(out_trade_no: str = "WX_SHIP_0001") -> dict:
    assert raw_v3("POST", "/v3/pay/transactions/jsapi", order_body(out_trade_no)).status_code == 200
    return pay_state.pay_order(out_trade_no)


def _body(order_key: dict, **changes) -> dict:
    body = {
        "order_key": order_key,
        "logistics_type": 1,
        "delivery_mode": 1,
        "shipping_list": [{"tracking_no": "SF1234567890", "express_company": "SF", "item_desc": "保温杯 × 1",
                           "contact": {"receiver_contact": "138****8000"}}],
        "upload_time": "2026-11-25T14:30:00+08:00",
        "payer": {"openid": OPENID},
    }
    body.update(changes)
    return body


def _refused(body: dict) -> int:
    with pytest.raises(GatewayRejected) as caught:
        call("miniapp", "POST", PATH, json=body)
    return caught.value.errcode


def test_an_upload_for_a_paid_trade_is_accepted_kept_and_shown(wechat_sim):
    trade = _paid()
    key = {"order_number_type": 2, "transaction_id": trade["transaction_id"]}
    assert call("miniapp", "POST", PATH, json=_body(key))["errcode"] == 0

    [upload] = wechat_sim.shipping_uploads(trade["transaction_id"])
    assert upload["out_trade_no"] == "WX_SHIP_0001"
    assert upload["body"]["shipping_list"][0]["tracking_no"] == "SF1234567890"
    page = requests.get(f"{wechat_sim.url}/__sim__/", timeout=5).text
    assert "SF1234567890" in page and trade["transaction_id"] in page


def test_a_trade_is_found_by_merchant_and_trade_number_too(wechat_sim):
    _paid("WX_SHIP_0002")
    key = {"order_number_type": 1, "mchid": settings.WECHAT_PAY_MCH_ID, "out_trade_no": "WX_SHIP_0002"}
    assert call("miniapp", "POST", PATH, json=_body(key))["errcode"] == 0
    assert _refused(_body({**key, "mchid": "1230000109"})) == 10060001


def test_malformed_uploads_answer_47001(wechat_sim):
    key = {"order_number_type": 2, "transaction_id": _paid()["transaction_id"]}
    assert _refused(_body(key, shipping_list=[])) == 47001
    assert _refused(_body(key, shipping_list=[{"item_desc": "保温杯"}])) == 47001  # express needs tracking
    assert _refused(_body(key, upload_time="2026-11-25 14:30:00")) == 47001
    assert _refused(_body(key, payer={})) == 47001
    assert _refused(_body({"order_number_type": 2})) == 47001
    assert _refused(_body(key, delivery_mode=2)) == 47001  # split delivery says is_all_delivered
    assert wechat_sim.shipping_uploads() == []


def test_unknown_unpaid_and_other_payers_trades_are_refused(wechat_sim):
    assert _refused(_body({"order_number_type": 2, "transaction_id": "4200000000000000000000000000"})) == 10060001
    raw_v3("POST", "/v3/pay/transactions/jsapi", order_body("WX_SHIP_UNPAID"))
    unpaid = {"order_number_type": 1, "mchid": settings.WECHAT_PAY_MCH_ID, "out_trade_no": "WX_SHIP_UNPAID"}
    assert _refused(_body(unpaid)) == 10060004
    key = {"order_number_type": 2, "transaction_id": _paid()["transaction_id"]}
    assert _refused(_body(key, payer={"openid": "o_someone_else"})) == 10060001


def test_one_correction_then_10060003(wechat_sim):
    key = {"order_number_type": 2, "transaction_id": _paid()["transaction_id"]}
    call("miniapp", "POST", PATH, json=_body(key))
    call("miniapp", "POST", PATH, json=_body(key))  # 重新发货: one correction is allowed
    assert _refused(_body(key)) == 10060003
    assert len(wechat_sim.shipping_uploads()) == 2


def test_the_official_accounts_token_may_not_upload(wechat_sim):
    key = {"order_number_type": 2, "transaction_id": _paid()["transaction_id"]}
    with pytest.raises(GatewayRejected) as caught:
        call("mp", "POST", PATH, json=_body(key))
    assert caught.value.errcode == 48001


def test_the_page_lists_unpaid_trades_and_pays_one(wechat_sim, notify_receiver):
    raw_v3("POST", "/v3/pay/transactions/jsapi", order_body("WX_PAGE_0001", description="保温杯 500ml"))
    _paid("WX_PAGE_PAID")
    page = requests.get(f"{wechat_sim.url}/__sim__/", timeout=5).text
    unpaid = page.split("<h2>Unpaid trades</h2>")[1].split("<h2>")[0]
    assert "WX_PAGE_0001" in unpaid and "¥1.00" in unpaid and 'action="control/pay"' in unpaid
    assert "WX_PAGE_PAID" not in unpaid

    paid = requests.post(f"{wechat_sim.url}/__sim__/control/pay", data={"out_trade_no": "WX_PAGE_0001"}, timeout=5)

    assert paid.status_code == 200 and "notify_status&quot;: 200" in paid.text
    assert pay_state.order_get("WX_PAGE_0001")["trade_state"] == "SUCCESS"
    [notice] = notify_receiver.received
    assert notice.path == "/payments/wechat/notify/"
    assert "No unpaid trade." in paid.text


def test_paying_a_closed_trade_from_the_page_says_why(wechat_sim):
    raw_v3("POST", "/v3/pay/transactions/jsapi", order_body("WX_PAGE_0002"))
    pay_state.close_order("WX_PAGE_0002")
    refused = requests.post(f"{wechat_sim.url}/__sim__/control/pay", json={"out_trade_no": "WX_PAGE_0002"},
                            timeout=5)
    assert refused.status_code == 409 and "CLOSED" in refused.json()["detail"]
