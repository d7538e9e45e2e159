"""The v3 client layer: every call goes to WECHAT_PAY_API_BASE (the simulator here), answers
are verified, and failures become GatewayUnavailable / GatewayRejected."""

import logging
import time

import pytest
import requests
import responses

from tests.sockets import hung_server
from tests.wechat_pay.helpers import order_body
from wechat_simulator import pay_state, store
from wxbackend.wechat import GatewayRejected, GatewayUnavailable, paycrypto
from wxbackend.wechat.pay import PayRejected, PayUnavailable, pay_v3_client, v3_request


@pytest.fixture
def only_the_simulator(wechat_sim):
    """Any HTTP request that is not to the simulator fails (responses refuses it)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(wechat_sim.url)
        yield mock


def test_v3_request_orders_queries_and_closes_through_the_configured_base(only_the_simulator):
    status, answer = v3_request("POST", "/v3/pay/transactions/jsapi", json=order_body())
    assert status == 200 and answer["prepay_id"].startswith("wx")
    status, answer = v3_request(
        "GET", "/v3/pay/transactions/out-trade-no/WX20261125000001", params={"mchid": "1900000109"}
    )
    assert (status, answer["trade_state"]) == (200, "NOTPAY")
    status, answer = v3_request(
        "POST", "/v3/pay/transactions/out-trade-no/WX20261125000001/close", json={"mchid": "1900000109"}
    )
    assert (status, answer) == (204, {})
    assert [(c["method"], c["path"], c["verdict"]) for c in store.calls(api="pay")] == [
        ("POST", "v3/pay/transactions/jsapi", "ok"),
        ("GET", "v3/pay/transactions/out-trade-no/WX20261125000001", "ok"),
        ("POST", "v3/pay/transactions/out-trade-no/WX20261125000001/close", "ok"),
    ]


def test_chinese_text_is_sent_and_signed_as_utf8(only_the_simulator):
    v3_request("POST", "/v3/pay/transactions/jsapi", json=order_body(description="保温杯 500ml"))
    [call] = store.calls(path="v3/pay/transactions/jsapi")
    assert call["body"]["description"] == "保温杯 500ml"


def test_wechatpayv3_client_reaches_the_configured_base_never_wechat(only_the_simulator):
    client = pay_v3_client()
    assert client._core._gate_way.endswith("/__sim__/pay")
    status, text = client.pay(
        description="保温杯 500ml",
        out_trade_no="WX20261125000001",
        amount={"total": 100, "currency": "CNY"},
        payer={"openid": "oUpF8uMEb4qRXf22hE3X68TekukE"},
        notify_url="https://shop.example.com/payments/wechat/notify/",
    )
    assert status == 200 and '"prepay_id"' in text
    pay_state.pay_order("WX20261125000001")
    status, text = client.query(out_trade_no="WX20261125000001")
    assert status == 200 and '"SUCCESS"' in text
    assert {c["verdict"] for c in store.calls(api="pay")} == {"ok"}
    assert len(store.calls(api="pay")) == 2


def test_the_base_url_is_read_at_call_time(only_the_simulator, settings):
    first = pay_v3_client()
    settings.WECHAT_PAY_API_BASE = "http://127.0.0.1:9/elsewhere"
    assert pay_v3_client() is first  # cached, but re-aimed
    assert first._core._gate_way == "http://127.0.0.1:9/elsewhere"


def test_business_errors_are_rejected_with_wechats_code(only_the_simulator):
    with pytest.raises(GatewayRejected) as caught:
        v3_request("GET", "/v3/pay/transactions/out-trade-no/WX404404", params={"mchid": "1900000109"})
    assert isinstance(caught.value, PayRejected)
    assert (caught.value.code, caught.value.http_status) == ("ORDER_NOT_EXIST", 404)


@pytest.mark.parametrize(("status", "code"), [(500, "SYSTEM_ERROR"), (502, "SYSTEM_ERROR"), (429, "FREQUENCY_LIMITED")])
def test_server_errors_and_rate_limits_are_unavailable(only_the_simulator, status, code):
    pay_state.fail_next("v3/pay/transactions/jsapi", status=status, code=code)
    with pytest.raises(GatewayUnavailable) as caught:
        v3_request("POST", "/v3/pay/transactions/jsapi", json=order_body())
    assert caught.value.code == code


def test_a_tampered_answer_fails_verification(wechat_sim, settings):
    """The simulator's real answer, with its body changed on the way: refused."""
    real = requests.get(f"{wechat_sim.url}/__sim__/pay/v3/does/not/exist", timeout=5)  # genuine, signed
    paycrypto.v3_verify(real.headers, real.content)
    with pytest.raises(paycrypto.BadSignature):
        paycrypto.v3_verify(real.headers, real.content.replace(b"NOT_FOUND", b"NOT_FOUNd"))
    signed = {k: v for k, v in real.headers.items() if k.lower().startswith("wechatpay-")}
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, settings.WECHAT_PAY_API_BASE + "/v3/pay/transactions/jsapi",
                 body=b'{"prepay_id":"wx_forged"}', status=200, headers=signed,
                 content_type="application/json")
        with pytest.raises(GatewayUnavailable) as caught:
            v3_request("POST", "/v3/pay/transactions/jsapi", json=order_body())
    assert caught.value.code == "ANSWER_SIGNATURE_INVALID"


def test_an_answer_signed_by_another_key_fails_verification(settings, pay_key_files):
    body = b'{"prepay_id":"wx_forged"}'
    headers = paycrypto.v3_signed_headers(
        body, private_key=paycrypto.private_key_from_path(pay_key_files.other_private),
        serial=settings.WECHAT_PAY_PUBLIC_KEY_ID,
    )
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, settings.WECHAT_PAY_API_BASE + "/v3/pay/transactions/jsapi", body=body,
                 headers=headers, content_type="application/json")
        with pytest.raises(PayUnavailable, match="ANSWER_SIGNATURE_INVALID"):
            v3_request("POST", "/v3/pay/transactions/jsapi", json=order_body())


def test_timeouts_and_refused_connections_are_unavailable(settings):
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, settings.WECHAT_PAY_API_BASE + "/v3/refund/domestic/refunds/R1",
                 body=requests.ConnectTimeout())
        with pytest.raises(GatewayUnavailable) as caught:
            v3_request("GET", "/v3/refund/domestic/refunds/R1")
    assert caught.value.code == "TIMEOUT"
    settings.WECHAT_PAY_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(GatewayUnavailable) as caught:
        v3_request("GET", "/v3/refund/domestic/refunds/R1")
    assert caught.value.code == "CONNECTION"


def test_an_endpoint_slower_than_the_read_timeout_is_unavailable(settings):
    """WeChat Pay answering (a 500) only after 1.5 s: with a 0.2 s read timeout the call gives
    up in time and is transient, never left waiting for whatever comes late."""
    late = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    settings.WECHAT_READ_TIMEOUT = 0.2
    with hung_server(answer_after=1.5, answer=late) as port:
        settings.WECHAT_PAY_API_BASE = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        with pytest.raises(GatewayUnavailable) as caught:
            v3_request("POST", "/v3/pay/transactions/out-trade-no/WX1/close", json={"mchid": "1900000109"})
        elapsed = time.monotonic() - started
    assert caught.value.code == "TIMEOUT"
    assert elapsed < 1.0


CLOSE_PATH = "/v3/pay/transactions/out-trade-no/WX20261125000001/close"


def _close_answer_headers(settings, pay_key_files, how):
    """Headers of a 204 close answer: unsigned, signed by an untrusted key, signed over a body
    that was not sent, or with the signature of another answer."""
    if how == "missing":
        return {}
    key_path = pay_key_files.other_private if how == "other key" else pay_key_files.wechat_private
    signed_body = b'{"code":"SUCCESS"}' if how == "other body" else b""
    headers = paycrypto.v3_signed_headers(signed_body, private_key=paycrypto.private_key_from_path(key_path),
                                          serial=settings.WECHAT_PAY_PUBLIC_KEY_ID)
    if how == "stale":
        headers = paycrypto.v3_signed_headers(b"", private_key=paycrypto.private_key_from_path(key_path),
                                              serial=settings.WECHAT_PAY_PUBLIC_KEY_ID,
                                              timestamp=int(time.time()) - 600)
    return headers


@pytest.mark.parametrize("how", ["missing", "other key", "other body", "stale"])
def test_a_204_close_answer_without_a_valid_signature_is_refused(settings, pay_key_files, how):
    """A close order answered 204 with no body must still carry WeChat Pay's signature over
    the empty body: anyone on the path could fake "closed" otherwise (spec 6.3)."""
    headers = _close_answer_headers(settings, pay_key_files, how)
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, settings.WECHAT_PAY_API_BASE + CLOSE_PATH, status=204, headers=headers)
        with pytest.raises(GatewayUnavailable) as caught:
            v3_request("POST", CLOSE_PATH, json={"mchid": "1900000109"})
    assert caught.value.code == "ANSWER_SIGNATURE_INVALID"


@pytest.mark.parametrize("how", ["missing", "other key", "other body"])
def test_a_204_close_answer_without_a_valid_signature_is_refused_by_the_sdk_client(settings, pay_key_files, how):
    headers = _close_answer_headers(settings, pay_key_files, how)
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, settings.WECHAT_PAY_API_BASE + CLOSE_PATH, status=204, headers=headers)
        with pytest.raises(GatewayUnavailable) as caught:
            pay_v3_client().close(out_trade_no="WX20261125000001")
    assert caught.value.code == "ANSWER_SIGNATURE_INVALID"


def test_a_204_close_answer_signed_by_wechat_pay_is_accepted(settings, pay_key_files):
    headers = paycrypto.v3_signed_headers(b"", serial=settings.WECHAT_PAY_PUBLIC_KEY_ID,
                                          private_key=paycrypto.private_key_from_path(pay_key_files.wechat_private))
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, settings.WECHAT_PAY_API_BASE + CLOSE_PATH, status=204, headers=headers)
        assert v3_request("POST", CLOSE_PATH, json={"mchid": "1900000109"}) == (204, {})


def test_each_call_logs_one_line_without_secrets(only_the_simulator, caplog):
    with caplog.at_level(logging.INFO, logger="wxbackend.wechat"):
        _, answer = v3_request("POST", "/v3/pay/transactions/jsapi", json=order_body())
    [record] = [r for r in caplog.records if r.name == "wxbackend.wechat"]
    assert record.event == {"app": "pay", "api": "v3", "method": "POST", "path": "/v3/pay/transactions/jsapi",
                            "status": 200, "error": None, "ms": record.event["ms"]}
    assert answer["prepay_id"] not in repr(record.__dict__)
    [call] = store.calls(path="v3/pay/transactions/jsapi")
    assert call["body"]["payer"]["openid"] not in repr(record.__dict__)


def test_order_numbers_with_pipe_and_star_are_signed_as_sent(only_the_simulator):
    v3_request("POST", "/v3/pay/transactions/jsapi", json=order_body("WX|2026*1125"))
    status, answer = v3_request("GET", "/v3/pay/transactions/out-trade-no/WX|2026*1125", params={"mchid": "1900000109"})
    assert (status, answer["out_trade_no"]) == (200, "WX|2026*1125")


def test_a_pkcs1_merchant_key_still_builds_the_wechatpayv3_client(only_the_simulator, settings, tmp_path):
    from cryptography.hazmat.primitives import serialization

    key = paycrypto.private_key_from_path(settings.WECHAT_PAY_MCH_PRIVATE_KEY_PATH)
    pkcs1 = tmp_path / "apiclient_key.pem"
    pkcs1.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                        serialization.NoEncryption()))
    assert pkcs1.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    settings.WECHAT_PAY_MCH_PRIVATE_KEY_PATH = str(pkcs1)
    status, _ = pay_v3_client().query(out_trade_no="WX404404")
    assert status == 404  # signed acceptably (not 401), and wechatpayv3 hands 4xx back as is


def test_wechatpayv3_calls_log_one_line_and_map_failures(only_the_simulator, settings, caplog):
    with caplog.at_level(logging.INFO, logger="wxbackend.wechat"):
        status, _ = pay_v3_client().query(out_trade_no="WX404404")
    assert status == 404
    [record] = [r for r in caplog.records if r.name == "wxbackend.wechat"]
    assert (record.event["api"], record.event["path"], record.event["status"], record.event["error"]) == (
        "v3-sdk", "/v3/pay/transactions/out-trade-no/WX404404", 404, "HTTP_404")

    forged = paycrypto.v3_signed_headers(b'{"trade_state":"SUCCESS"}', serial=settings.WECHAT_PAY_PUBLIC_KEY_ID,
                                         private_key=paycrypto.private_key_from_path(settings.WECHAT_PAY_MCH_PRIVATE_KEY_PATH))
    only_the_simulator.add(responses.GET, settings.WECHAT_PAY_API_BASE + "/v3/pay/transactions/out-trade-no/WX1",
                           body=b'{"trade_state":"SUCCESS"}', headers=forged, content_type="application/json")
    with pytest.raises(GatewayUnavailable) as caught:
        pay_v3_client().query(out_trade_no="WX1")
    assert caught.value.code == "ANSWER_SIGNATURE_INVALID"
    only_the_simulator.add(responses.GET, settings.WECHAT_PAY_API_BASE + "/v3/pay/transactions/out-trade-no/WX2",
                           body=requests.ReadTimeout())
    with pytest.raises(GatewayUnavailable) as caught:
        pay_v3_client().query(out_trade_no="WX2")
    assert caught.value.code == "TIMEOUT"
