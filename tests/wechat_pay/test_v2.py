"""WeChat Pay v2 (legacy): the simulator checks `sign` by sign_type and signs its answers;
the wechatpy-based client goes to WECHAT_PAY_API_BASE, verifies answers and maps errors,
and makes `secapi/` calls (refunds) only with the merchant certificate (mutual TLS)."""

import ssl
import threading

import pytest
import requests
import responses
from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer
from django.core.wsgi import get_wsgi_application

from tests.wechat_fixtures import _QuietHandler
from tests.wechat_pay.helpers import OPENID
from tests.wxbackend.test_settings import SECURE_ENV, _manage
from wechat_simulator import pay_state, store
from wxbackend.wechat import GatewayRejected, GatewayUnavailable, paycrypto
from wxbackend.wechat.pay import PayUnavailable, pay_v2_client


def _unifiedorder_fields(**changes) -> dict:
    fields = {
        "appid": settings.WECHAT_MINIAPP_APPID,
        "mch_id": settings.WECHAT_PAY_MCH_ID,
        "nonce_str": "5d2b6c2a8db53831f7eda20af46e531c",
        "body": "保温杯 500ml",
        "out_trade_no": "WX20261125000001",
        "total_fee": "100",
        "spbill_create_ip": "203.0.113.7",
        "notify_url": "https://shop.example.com/payments/wechat/notify/",
        "trade_type": "JSAPI",
        "openid": OPENID,
    }
    fields.update(changes)
    return fields


@pytest.fixture
def mtls_sim(wechat_sim, tls_files, settings, monkeypatch):
    """The project (so the simulator's pay API) served over HTTPS that demands a client
    certificate issued by the CA, as WeChat Pay's secapi/ does."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files / "server_cert.pem", tls_files / "server_key.pem")
    context.load_verify_locations(tls_files / "ca_cert.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    server = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = f"https://127.0.0.1:{server.server_address[1]}/__sim__/pay"
    settings.WECHAT_PAY_API_BASE = base
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files / "ca_cert.pem"))  # we trust the CA
    yield base
    server.shutdown()
    server.server_close()


def _post_xml(path: str, fields: dict) -> dict:
    response = requests.post(f"{settings.WECHAT_PAY_API_BASE}/{path}", data=paycrypto.v2_dict_to_xml(fields).encode(),
                             headers={"Content-Type": "text/xml"}, timeout=10)
    assert response.status_code == 200
    return paycrypto.v2_xml_to_dict(response.content)


@pytest.mark.parametrize("sign_type", ["MD5", "HMAC-SHA256"])
def test_a_correctly_signed_unifiedorder_gets_a_signed_prepay_id(wechat_sim, sign_type):
    fields = _unifiedorder_fields(sign_type=sign_type)
    fields["sign"] = paycrypto.v2_sign(fields, settings.WECHAT_PAY_API_KEY, sign_type)
    answer = _post_xml("pay/unifiedorder", fields)
    assert (answer["return_code"], answer["result_code"]) == ("SUCCESS", "SUCCESS")
    assert answer["prepay_id"].startswith("wx")
    paycrypto.v2_verify(answer, settings.WECHAT_PAY_API_KEY, sign_type=sign_type)  # answered in kind


@pytest.mark.parametrize(
    "how", ["wrong_key", "tampered", "md5_sign_claiming_hmac", "no_sign", "unknown_sign_type"]
)
def test_a_badly_signed_v2_request_is_a_signerror(wechat_sim, how):
    fields = _unifiedorder_fields()
    key = settings.WECHAT_PAY_API_KEY
    if how == "wrong_key":
        fields["sign"] = paycrypto.v2_sign(fields, "0" * 32)
    elif how == "tampered":
        fields["sign"] = paycrypto.v2_sign(fields, key)
        fields["total_fee"] = "1"
    elif how == "md5_sign_claiming_hmac":
        fields["sign_type"] = "HMAC-SHA256"
        fields["sign"] = paycrypto.v2_sign(fields, key, "MD5")
    elif how == "unknown_sign_type":
        fields["sign_type"] = "SHA1"
        fields["sign"] = paycrypto.v2_sign(fields, key)
    answer = _post_xml("pay/unifiedorder", fields)
    # WeChat's shape: return_code FAIL with only a return_msg (no err_code, no sign).
    assert answer == {"return_code": "FAIL", "return_msg": "签名错误"}
    [call] = store.calls(path="pay/unifiedorder")
    assert call["verdict"] == "signerror"
    assert pay_state.order_get("WX20261125000001") is None


def test_a_signature_error_reaches_the_client_as_production_would_see_it(wechat_sim, settings):
    settings.WECHAT_PAY_API_KEY = "0" * 32  # the merchant's key is not the one WeChat knows
    client = pay_v2_client()
    settings.WECHAT_PAY_API_KEY = "192006250b4c09247ec02edce69f6a2d"
    with pytest.raises(GatewayRejected) as caught:
        client.order.query(out_trade_no="WX20261125000001")
    # A stable code to act on; WeChat's words kept as the message.
    assert (caught.value.code, caught.value.message, caught.value.http_status) == ("return_fail", "签名错误", 200)


def test_malformed_xml_is_refused(wechat_sim):
    response = requests.post(f"{settings.WECHAT_PAY_API_BASE}/pay/unifiedorder", data=b"<xml><a>", timeout=10)
    assert paycrypto.v2_xml_to_dict(response.content)["return_code"] == "FAIL"


def test_v2_client_orders_queries_closes_and_refunds_through_the_configured_base(wechat_sim, merchant_cert):
    client = pay_v2_client()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(wechat_sim.url)
        created = client.order.create(
            trade_type="JSAPI", body="保温杯 500ml", total_fee=100,
            notify_url="https://shop.example.com/payments/wechat/notify/", client_ip="203.0.113.7",
            user_id=OPENID, out_trade_no="WX20261125000001", sign_type="HMAC-SHA256",
        )
        assert created["prepay_id"].startswith("wx")
        assert client.order.query(out_trade_no="WX20261125000001")["trade_state"] == "NOTPAY"
        pay_state.pay_order("WX20261125000001")
        paid = client.order.query(out_trade_no="WX20261125000001")
        assert (paid["trade_state"], paid["total_fee"]) == ("SUCCESS", "100")
        with pytest.raises(GatewayRejected) as caught:
            client.order.close("WX20261125000001")
        assert caught.value.code == "ORDERPAID"
        refund = client.refund.apply(total_fee=100, refund_fee=40, out_refund_no="R20261125000001",
                                     out_trade_no="WX20261125000001")
        assert refund["refund_fee"] == "40"
        again = client.refund.apply(total_fee=100, refund_fee=40, out_refund_no="R20261125000001",
                                    out_trade_no="WX20261125000001")
        assert again["refund_id"] == refund["refund_id"]
        listed = client.refund.query(out_trade_no="WX20261125000001")
        assert (listed["refund_count"], listed["refund_status_0"]) == ("1", "PROCESSING")
        with pytest.raises(GatewayRejected) as caught:
            client.refund.apply(total_fee=100, refund_fee=61, out_refund_no="R20261125000002",
                                out_trade_no="WX20261125000001")
        assert caught.value.code == "INVALID_REQUEST"
    paths = [c["path"] for c in store.calls(api="pay")]
    assert paths == ["pay/unifiedorder", "pay/orderquery", "pay/orderquery", "pay/closeorder",
                     "secapi/pay/refund", "secapi/pay/refund", "pay/refundquery", "secapi/pay/refund"]
    assert store.calls(path="pay/unifiedorder")[0]["body"]["sign_type"] == "HMAC-SHA256"


@pytest.mark.parametrize("missing", ["both", "key", "file"])
def test_a_secapi_call_without_the_merchant_certificate_is_refused_before_any_request(
        wechat_sim, merchant_cert, tls_files, missing):
    if missing == "both":
        merchant_cert.WECHAT_PAY_CERT_PATH = merchant_cert.WECHAT_PAY_KEY_PATH = ""
    elif missing == "key":
        merchant_cert.WECHAT_PAY_KEY_PATH = ""
    else:
        merchant_cert.WECHAT_PAY_KEY_PATH = str(tls_files / "no_such_key.pem")
    with pytest.raises(GatewayRejected) as caught:
        pay_v2_client().refund.apply(total_fee=100, refund_fee=40, out_refund_no="R20261125000001",
                                     out_trade_no="WX20261125000001")
    assert caught.value.code == "MCH_CERT_MISSING"
    assert "WECHAT_PAY_CERT_PATH" in str(caught.value)
    assert store.calls(api="pay") == []


def test_refunds_go_over_mutual_tls_with_the_merchant_certificate(mtls_sim, merchant_cert, tls_files):
    client = pay_v2_client()
    client.order.create(trade_type="JSAPI", body="保温杯", total_fee=100, notify_url="https://shop.example.com/n/",
                        client_ip="203.0.113.7", user_id=OPENID, out_trade_no="WX20261125000001")
    pay_state.pay_order("WX20261125000001")
    refund = client.refund.apply(total_fee=100, refund_fee=40, out_refund_no="R20261125000001",
                                 out_trade_no="WX20261125000001")
    assert (refund["out_refund_no"], refund["refund_fee"]) == ("R20261125000001", "40")

    # Without a certificate, or with one the CA did not issue, the handshake fails.
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(f"{mtls_sim}/secapi/pay/refund", data=b"<xml></xml>", timeout=5)
    merchant_cert.WECHAT_PAY_CERT_PATH = str(tls_files / "stranger_cert.pem")
    merchant_cert.WECHAT_PAY_KEY_PATH = str(tls_files / "stranger_key.pem")
    with pytest.raises(GatewayUnavailable):
        pay_v2_client().refund.apply(total_fee=100, refund_fee=10, out_refund_no="R20261125000002",
                                     out_trade_no="WX20261125000001")
    assert [c["path"] for c in store.calls(api="pay")] == ["pay/unifiedorder", "secapi/pay/refund"]


def test_v2_start_up_with_debug_off_names_the_missing_merchant_certificate():
    v3_only = ("WECHAT_PAY_APIV3_KEY", "WECHAT_PAY_MCH_CERT_SERIAL", "WECHAT_PAY_MCH_PRIVATE_KEY_PATH",
               "WECHAT_PAY_PUBLIC_KEY_ID", "WECHAT_PAY_PUBLIC_KEY_PATH")
    env = {k: v for k, v in SECURE_ENV.items() if k not in v3_only}
    env.update(WECHAT_PAY_API_VERSION="v2", WECHAT_PAY_API_KEY="k" * 32)
    result = _manage("check", env=env)
    assert result.returncode != 0
    [line] = [line for line in result.stderr.splitlines() if "missing" in line]
    assert "WECHAT_PAY_CERT_PATH" in line and "WECHAT_PAY_KEY_PATH" in line

    complete = {**env, "WECHAT_PAY_CERT_PATH": "/etc/wxbackend/apiclient_cert.pem",
                "WECHAT_PAY_KEY_PATH": "/etc/wxbackend/apiclient_key.pem"}
    result = _manage("check", env=complete)
    assert result.returncode == 0, result.stderr


def test_unifiedorder_without_client_ip_is_refused_before_any_call(wechat_sim):
    with pytest.raises(ValueError, match="client_ip"):
        pay_v2_client().order.create(trade_type="JSAPI", body="x", total_fee=1,
                                     notify_url="https://shop.example.com/n/", user_id=OPENID)
    assert store.calls(api="pay") == []


def test_same_out_trade_no_with_other_parameters_is_out_trade_no_used(wechat_sim):
    client = pay_v2_client()
    kwargs = {"trade_type": "JSAPI", "body": "保温杯", "notify_url": "https://shop.example.com/n/",
              "client_ip": "203.0.113.7", "user_id": OPENID, "out_trade_no": "WX20261125000001"}
    first = client.order.create(total_fee=100, **kwargs)["prepay_id"]
    assert client.order.create(total_fee=100, **kwargs)["prepay_id"] == first
    with pytest.raises(GatewayRejected) as caught:
        client.order.create(total_fee=200, **kwargs)
    assert caught.value.code == "OUT_TRADE_NO_USED"


def test_systemerror_is_unavailable_and_unknown_orders_are_rejected(wechat_sim):
    pay_state.fail_next("pay/orderquery", code="SYSTEMERROR", message="系统超时")
    with pytest.raises(GatewayUnavailable) as caught:
        pay_v2_client().order.query(out_trade_no="WX20261125000001")
    assert caught.value.code == "SYSTEMERROR"
    with pytest.raises(GatewayRejected) as caught:
        pay_v2_client().order.query(out_trade_no="WX20261125000001")
    assert caught.value.code == "ORDERNOTEXIST"


def test_a_tampered_v2_answer_fails_verification(settings):
    answer = {"return_code": "SUCCESS", "return_msg": "OK", "appid": settings.WECHAT_MINIAPP_APPID,
              "mch_id": settings.WECHAT_PAY_MCH_ID, "nonce_str": "n" * 32, "result_code": "SUCCESS",
              "trade_state": "NOTPAY", "out_trade_no": "WX20261125000001"}
    answer["sign"] = paycrypto.v2_sign(answer, settings.WECHAT_PAY_API_KEY)
    answer["trade_state"] = "SUCCESS"
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, settings.WECHAT_PAY_API_BASE + "/pay/orderquery",
                 body=paycrypto.v2_dict_to_xml(answer), content_type="text/xml")
        with pytest.raises(PayUnavailable) as caught:
            pay_v2_client().order.query(out_trade_no="WX20261125000001")
    assert caught.value.code == "ANSWER_SIGNATURE_INVALID"


def test_http_errors_and_timeouts_are_mapped(settings):
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, settings.WECHAT_PAY_API_BASE + "/pay/orderquery", status=503)
        mock.add(responses.POST, settings.WECHAT_PAY_API_BASE + "/pay/closeorder", body=requests.ReadTimeout())
        with pytest.raises(GatewayUnavailable):
            pay_v2_client().order.query(out_trade_no="WX20261125000001")
        with pytest.raises(GatewayUnavailable) as caught:
            pay_v2_client().order.close("WX20261125000001")
    assert caught.value.code == "TIMEOUT"
