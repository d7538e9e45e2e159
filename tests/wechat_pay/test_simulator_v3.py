"""The simulated WeChat Pay v3 checks what WeChat checks, signs what it answers, and keeps
orders and refunds the way the project will rely on (spec 6.2-6.8)."""

import json
import time

import pytest

from tests.wechat_pay.helpers import order_body, raw_v3
from wechat_simulator import pay_state, store
from wxbackend.wechat import paycrypto

JSAPI = "/v3/pay/transactions/jsapi"


def _verified(response) -> dict:
    """Our verifier accepts the simulator's signature; return the JSON answer."""
    paycrypto.v3_verify(response.headers, response.content)
    return response.json() if response.content else {}


def test_a_correctly_signed_order_gets_a_prepay_id_in_a_signed_answer(wechat_sim):
    response = raw_v3("POST", JSAPI, order_body())
    assert response.status_code == 200
    assert _verified(response)["prepay_id"].startswith("wx")
    assert response.headers["Wechatpay-Serial"] == "PUB_KEY_ID_0114232134912410000000000000"
    [call] = store.calls(path="v3/pay/transactions/jsapi")
    assert (call["api"], call["method"], call["status"], call["verdict"]) == ("pay", "POST", 200, "ok")
    assert call["body"]["out_trade_no"] == "WX20261125000001"


@pytest.mark.parametrize(
    "how",
    ["wrong_key", "tampered_body", "stale_timestamp", "future_timestamp", "wrong_mchid", "wrong_serial",
     "milliseconds", "no_header", "other_scheme"],
)
def test_a_wrongly_signed_request_is_refused_with_401_sign_error(wechat_sim, pay_key_files, how):
    payload = order_body()
    kwargs = {
        "wrong_key": {"key_path": pay_key_files.other_private},
        "tampered_body": {"sent_body": json.dumps(order_body(amount={"total": 1, "currency": "CNY"})).encode()},
        "stale_timestamp": {"timestamp": int(time.time()) - 301},
        "future_timestamp": {"timestamp": int(time.time()) + 301},
        "wrong_mchid": {"mchid": "1900000999"},
        "wrong_serial": {"serial": "0000000000000000000000000000000000000000"},
        "milliseconds": {"timestamp": int(time.time() * 1000)},
        "no_header": {"authorization": ""},
        "other_scheme": {"authorization": "Bearer abc"},
    }[how]
    response = raw_v3("POST", JSAPI, payload, **kwargs)
    assert response.status_code == 401
    assert _verified(response)["code"] == "SIGN_ERROR"  # error answers are signed too
    [call] = store.calls(path="v3/pay/transactions/jsapi")
    assert call["verdict"] == "sign_error"
    assert pay_state.order_get("WX20261125000001") is None


def test_a_sign_error_shows_what_the_simulator_signed(wechat_sim, pay_key_files):
    response = raw_v3("POST", JSAPI, order_body(), key_path=pay_key_files.other_private)
    info = response.json()["detail"]["sign_information"]
    assert info["truncated_sign_message"].startswith("POST\n/v3/pay/transactions/jsapi\n")


def test_the_query_string_is_part_of_the_signed_url(wechat_sim):
    raw_v3("POST", JSAPI, order_body())
    path = "/v3/pay/transactions/out-trade-no/WX20261125000001?mchid=1900000109"
    good = raw_v3("GET", path)
    assert good.status_code == 200
    assert _verified(good)["trade_state"] == "NOTPAY"
    # Signed without the query, sent with it: refused.
    from django.conf import settings
    from requests import get

    auth = paycrypto.v3_authorization(
        method="GET", url=path.split("?")[0], body=b"", mchid="1900000109",
        serial_no=settings.WECHAT_PAY_MCH_CERT_SERIAL,
        private_key=paycrypto.private_key_from_path(settings.WECHAT_PAY_MCH_PRIVATE_KEY_PATH),
    )
    bad = get(settings.WECHAT_PAY_API_BASE + path, headers={"Authorization": auth}, timeout=10)
    assert (bad.status_code, bad.json()["code"]) == (401, "SIGN_ERROR")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"description": ""}, "PARAM_ERROR"),
        ({"description": "杯" * 128}, "PARAM_ERROR"),
        ({"out_trade_no": "WX1"}, "PARAM_ERROR"),
        ({"out_trade_no": "WX2026#1125"}, "PARAM_ERROR"),
        ({"amount": {"total": 1.5, "currency": "CNY"}}, "PARAM_ERROR"),
        ({"amount": {"total": 0, "currency": "CNY"}}, "PARAM_ERROR"),
        ({"amount": {"total": 100, "currency": "USD"}}, "PARAM_ERROR"),
        ({"payer": {}}, "PARAM_ERROR"),
        ({"notify_url": "https://shop.example.com/notify/?order=1"}, "PARAM_ERROR"),
        ({"notify_url": "http://shop.example.com/notify/"}, "PARAM_ERROR"),
        ({"time_expire": "2020-01-01T00:00:00+08:00"}, "PARAM_ERROR"),
        ({"time_expire": "20261125143000"}, "PARAM_ERROR"),
        ({"attach": "a" * 129}, "PARAM_ERROR"),
        ({"mchid": "1900000999"}, "PARAM_ERROR"),
        ({"appid": "wx0000000000000000"}, "APPID_MCHID_NOT_MATCH"),
    ],
)
def test_orders_that_break_the_field_rules_are_refused(wechat_sim, changes, code):
    response = raw_v3("POST", JSAPI, order_body(**changes))
    assert response.status_code == 400
    assert _verified(response)["code"] == code
    assert pay_state.order_get(changes.get("out_trade_no", "WX20261125000001")) is None


def test_reposting_an_order_returns_the_same_prepay_id_unless_its_parameters_differ(wechat_sim):
    first = raw_v3("POST", JSAPI, order_body()).json()["prepay_id"]
    again = raw_v3("POST", JSAPI, order_body())
    assert again.status_code == 200 and again.json()["prepay_id"] == first
    changed = raw_v3("POST", JSAPI, order_body(amount={"total": 200, "currency": "CNY"}))
    assert (changed.status_code, changed.json()["code"]) == (400, "INVALID_REQUEST")
    pay_state.pay_order("WX20261125000001")
    paid = raw_v3("POST", JSAPI, order_body())
    assert (paid.status_code, paid.json()["code"]) == (400, "ORDERPAID")


def _query(no="WX20261125000001"):
    return raw_v3("GET", f"/v3/pay/transactions/out-trade-no/{no}?mchid=1900000109")


def test_query_follows_the_order_from_notpay_to_success(wechat_sim):
    assert _query().status_code == 404 and _query().json()["code"] == "ORDER_NOT_EXIST"
    raw_v3("POST", JSAPI, order_body(attach="cart:7"))
    assert _query().json()["trade_state"] == "NOTPAY"
    order = pay_state.pay_order("WX20261125000001")
    answer = _verified(_query())
    assert answer["trade_state"] == "SUCCESS"
    assert answer["transaction_id"] == order["transaction_id"] and len(answer["transaction_id"]) == 28
    assert answer["amount"] == {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"}
    assert answer["payer"] == {"openid": "oUpF8uMEb4qRXf22hE3X68TekukE"}
    assert answer["attach"] == "cart:7"
    by_id = raw_v3("GET", f"/v3/pay/transactions/id/{order['transaction_id']}?mchid=1900000109")
    assert by_id.json()["out_trade_no"] == "WX20261125000001"
    wrong_mchid = raw_v3("GET", "/v3/pay/transactions/out-trade-no/WX20261125000001?mchid=1")
    assert wrong_mchid.status_code == 400


def test_only_unpaid_orders_close(wechat_sim):
    raw_v3("POST", JSAPI, order_body())
    raw_v3("POST", JSAPI, order_body("WX20261125000002"))
    close = raw_v3("POST", "/v3/pay/transactions/out-trade-no/WX20261125000001/close", {"mchid": "1900000109"})
    assert close.status_code == 204 and close.content == b""
    paycrypto.v3_verify(close.headers, close.content)  # the empty answer is signed too
    assert _query().json()["trade_state"] == "CLOSED"
    with pytest.raises(pay_state.PayStateError):
        pay_state.pay_order("WX20261125000001")
    pay_state.pay_order("WX20261125000002")
    paid = raw_v3("POST", "/v3/pay/transactions/out-trade-no/WX20261125000002/close", {"mchid": "1900000109"})
    assert (paid.status_code, paid.json()["code"]) == (400, "ORDERPAID")
    missing = raw_v3("POST", "/v3/pay/transactions/out-trade-no/WX20261125000009/close", {"mchid": "1900000109"})
    assert missing.status_code == 404


def _refund(out_refund_no="R20261125000001", refund=30, total=100, **extra):
    body = {"out_trade_no": "WX20261125000001", "out_refund_no": out_refund_no,
            "amount": {"refund": refund, "total": total, "currency": "CNY"}, **extra}
    return raw_v3("POST", "/v3/refund/domestic/refunds", body)


def test_refunds_are_checked_and_idempotent_by_out_refund_no(wechat_sim):
    raw_v3("POST", JSAPI, order_body())
    unpaid = _refund()
    assert (unpaid.status_code, unpaid.json()["code"]) == (400, "INVALID_REQUEST")
    pay_state.pay_order("WX20261125000001")

    first = _refund()
    assert first.status_code == 200
    accepted = _verified(first)
    assert accepted["status"] == "PROCESSING"
    assert accepted["amount"]["refund"] == 30 and accepted["amount"]["total"] == 100
    retry = _refund()
    assert retry.json()["refund_id"] == accepted["refund_id"]
    assert pay_state.refunded_fen("WX20261125000001") == 30  # the retry refunded nothing more

    assert _refund("R20261125000002", refund=71).json()["code"] == "INVALID_REQUEST"  # 30 + 71 > 100
    assert _refund("R20261125000003", refund=10, total=99).json()["code"] == "PARAM_ERROR"
    assert _refund("R20261125000004", reason="退" * 30).json()["code"] == "PARAM_ERROR"  # 90 bytes
    assert _refund("R20261125000005", refund=70).status_code == 200  # exactly the rest
    assert _query().json()["trade_state"] == "REFUND"

    queried = raw_v3("GET", "/v3/refund/domestic/refunds/R20261125000001")
    assert _verified(queried)["status"] == "PROCESSING"
    pay_state.refund_complete("R20261125000001")
    done = raw_v3("GET", "/v3/refund/domestic/refunds/R20261125000001").json()
    assert done["status"] == "SUCCESS" and done["success_time"]
    assert raw_v3("GET", "/v3/refund/domestic/refunds/R404").status_code == 404


def test_refund_of_an_unknown_order_is_404(wechat_sim):
    response = _refund()
    assert (response.status_code, response.json()["code"]) == (404, "RESOURCE_NOT_EXISTS")


def test_injected_failures_answer_like_wechat_would(wechat_sim):
    pay_state.fail_next("v3/pay/transactions/jsapi", status=500, code="SYSTEM_ERROR")
    failed = raw_v3("POST", JSAPI, order_body())
    assert (failed.status_code, failed.json()["code"]) == (500, "SYSTEM_ERROR")
    assert raw_v3("POST", JSAPI, order_body()).status_code == 200  # only the next one


def test_unknown_v3_paths_are_404(wechat_sim):
    response = raw_v3("GET", "/v3/does/not/exist")
    assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND")
