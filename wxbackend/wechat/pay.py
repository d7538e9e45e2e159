"""The WeChat Pay client layer: every pay call goes to WECHAT_PAY_API_BASE, read at call
time, with timeouts, one log line, answers verified and failures mapped to
GatewayUnavailable (retry with the same parameters) or GatewayRejected (do not).

- `v3_request()`: our own v3 call (signed with paycrypto, answer verified, 5-min window).
  Prefer it: wechatpayv3 checks no answer timestamp (spec 8, wechatpayv3 pitfall 3).
- `pay_v3_client()`: a wechatpayv3 `WeChatPay` in public-key mode aimed at the base URL,
  its calls logged and its transport or signature failures mapped (4xx/5xx stay (status, text)).
- `pay_v2_client()`: a wechatpy `WeChatPay` whose API_BASE_URL follows the setting, whose
  answers are parsed with defusedxml and sign-checked, and whose `order.create` refuses to
  guess our IP (spec 8, wechatpy pitfall 10).

The payment business logic lives in `payments/`; this module knows nothing of orders.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from requests.utils import requote_uri
from wechatpayv3 import WeChatPay as WeChatPayV3
from wechatpayv3 import WeChatPayType
from wechatpayv3.type import RequestType
from wechatpy.exceptions import WeChatPayException
from wechatpy.pay import WeChatPay as WeChatPayV2
from wechatpy.pay.api import WeChatOrder

from . import paycrypto
from .errors import GatewayRejected, GatewayUnavailable

logger = logging.getLogger("wxbackend.wechat")

NOTIFY_PATH = "/payments/wechat/notify/"
REFUND_NOTIFY_PATH = "/payments/wechat/refund-notify/"
USER_AGENT = "wxbackend"
# v3 answers that say "try again later with the same parameters" (6.8).
V3_TRANSIENT_STATUSES = frozenset({429})
# v2 codes with the same meaning (7: SYSTEMERROR "retry same params").
V2_TRANSIENT_CODES = frozenset({"SYSTEMERROR", "SYSTEM_ERROR", "BANKERROR", "FREQUENCY_LIMITED"})
# Our code for a v2 answer with return_code FAIL (no err_code; return_msg is free text).
RETURN_FAIL = "return_fail"

SESSION = requests.Session()
SESSION.headers["User-Agent"] = USER_AGENT


class PayUnavailable(GatewayUnavailable):
    """Transient WeChat Pay failure; `code` is WeChat's (e.g. SYSTEM_ERROR) or ours (TIMEOUT)."""

    def __init__(self, code: str, message: str = "", *, http_status: int | None = None):
        self.code = code
        self.message = message
        self.http_status = http_status
        super().__init__(None, f"{code}: {message}" if message else code)


class PayRejected(GatewayRejected):
    """WeChat Pay refused the call; `code` is WeChat's (ORDER_NOT_EXIST, ORDERPAID, …)."""

    def __init__(self, code: str, message: str = "", *, http_status: int | None = None):
        self.code = code
        self.message = message
        self.http_status = http_status
        super().__init__(None, f"{code}: {message}" if message else code)


def pay_url(path: str) -> str:
    """The absolute URL of `path` under WECHAT_PAY_API_BASE, read at call time."""
    return f"{settings.WECHAT_PAY_API_BASE.rstrip('/')}/{path.lstrip('/')}"


def notify_url(path: str = NOTIFY_PATH) -> str:
    """Where WeChat Pay should post a notification: WECHAT_PAY_NOTIFY_BASE_URL + path."""
    return f"{settings.WECHAT_PAY_NOTIFY_BASE_URL.rstrip('/')}/{path.lstrip('/')}"


def timeouts() -> tuple[float, float]:
    return (settings.WECHAT_CONNECT_TIMEOUT, settings.WECHAT_READ_TIMEOUT)


def merchant_private_key():
    """The merchant's API key (signs v3 requests and paySign)."""
    return paycrypto.private_key_from_path(settings.WECHAT_PAY_MCH_PRIVATE_KEY_PATH)


def encode_json(payload: Any) -> bytes:
    """Serialise a v3 body once; these exact bytes are signed and sent (6.2)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _log(api: str, method: str, path: str, status: int | None, code: str | None, started: float) -> None:
    ms = round((time.perf_counter() - started) * 1000, 1)
    failed = status is None or status >= 400 or code is not None
    logger.log(
        logging.WARNING if failed else logging.INFO,
        "wechat pay call",
        extra={"event": {"app": "pay", "api": api, "method": method, "path": path, "status": status,
                         "error": code, "ms": ms}},
    )


@contextmanager
def _transport_errors(path: str):
    """A timeout or a connection failure becomes PayUnavailable: retry with the same
    parameters (spec 6.8)."""
    try:
        yield
    except requests.Timeout:
        raise PayUnavailable("TIMEOUT", f"WeChat Pay did not answer {path} in time")
    except requests.RequestException as exc:
        raise PayUnavailable("CONNECTION", f"could not reach WeChat Pay for {path}: {type(exc).__name__}")


# --- API v3 ---------------------------------------------------------------------------------------


def v3_request(method: str, path: str, *, json: Any = None, params: dict | None = None) -> tuple[int, dict]:
    """Send one signed v3 request; return (HTTP status, answer) for a verified 2xx answer.

    `path` is WeChat's ("/v3/pay/transactions/jsapi"), `params` its query string. Raises
    PayRejected (4xx, a GatewayRejected) or PayUnavailable (5xx, 429, timeouts, connection
    errors, or a 2xx whose signature does not verify: the call may have taken effect, so
    the caller retries or queries with the same parameters)."""
    method = method.upper()
    path = "/" + path.lstrip("/")
    url = requote_uri(path + ("?" + urlencode(params) if params else ""))
    body = encode_json(json) if json is not None else b""
    headers = {
        "Authorization": paycrypto.v3_authorization(
            method=method, url=url, body=body, mchid=settings.WECHAT_PAY_MCH_ID,
            serial_no=settings.WECHAT_PAY_MCH_CERT_SERIAL, private_key=merchant_private_key(),
        ),
        "Accept": "application/json",
        # Asks for answers signed with the WeChat Pay public key (6.1).
        "Wechatpay-Serial": settings.WECHAT_PAY_PUBLIC_KEY_ID,
    }
    if json is not None:
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    status, code = None, None
    try:
        with _transport_errors(path):
            response = SESSION.request(method, pay_url(url), data=body or None, headers=headers, timeout=timeouts())
        status = response.status_code
        return status, _v3_answer(response, path)
    except (PayUnavailable, PayRejected) as exc:
        code = exc.code
        raise
    finally:
        _log("v3", method, path, status, code, started)


def _v3_answer(response: requests.Response, path: str) -> dict:
    status = response.status_code
    if not 200 <= status < 300:
        try:
            error = response.json()
        except ValueError:
            error = {}
        if not isinstance(error, dict):
            error = {}
        code = str(error.get("code") or f"HTTP_{status}")
        message = str(error.get("message") or "")
        if status >= 500 or status in V3_TRANSIENT_STATUSES:
            raise PayUnavailable(code, message, http_status=status)
        raise PayRejected(code, message, http_status=status)
    try:
        paycrypto.v3_verify(response.headers, response.content)
    except paycrypto.BadSignature as exc:
        raise PayUnavailable("ANSWER_SIGNATURE_INVALID", f"{path}: {exc}", http_status=status)
    if not response.content:
        return {}
    try:
        answer = response.json()
    except ValueError:
        raise PayUnavailable("ANSWER_NOT_JSON", path, http_status=status)
    return answer if isinstance(answer, dict) else {"data": answer}


def _pkcs8_pem_text(path: str) -> str:
    # wechatpayv3 loads only PKCS#8 PEM text (spec 8, wechatpayv3 pitfall 6).
    key = paycrypto.private_key_from_path(path)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


@lru_cache(maxsize=4)
def _v3_client(mchid, serial, key_path, key_mtime, apiv3_key, appid, public_path, public_mtime, public_id,
               notify, connect, read) -> WeChatPayV3:
    client = WeChatPayV3(
        wechatpay_type=WeChatPayType.MINIPROG,
        mchid=mchid,
        private_key=_pkcs8_pem_text(key_path),
        cert_serial_no=serial,
        appid=appid,
        apiv3_key=apiv3_key,
        notify_url=notify,
        timeout=(connect, read),
        # Public-key mode: certificate mode fetches /v3/certificates in __init__ (pitfall 2).
        public_key=Path(public_path).read_text(),
        public_key_id=public_id,
    )
    core = client._core
    core.request = _logged_sdk_request(core.request)
    return client


def _logged_sdk_request(send):
    """Wrap wechatpayv3's `Core.request`: one log line per call, and transport failures or
    an answer that fails verification (a bare Exception there) become PayUnavailable.
    Non-2xx answers still come back as (status, text), as wechatpayv3 returns them."""

    def request(path, method=RequestType.GET, **kwargs):
        started = time.perf_counter()
        status, code = None, None
        try:
            with _transport_errors(path.split("?")[0]):
                status, text = send(path, method=method, **kwargs)
            if not 200 <= status < 300:
                code = f"HTTP_{status}"
            return status, text
        except PayUnavailable as exc:
            code = exc.code
            raise
        except Exception as exc:
            if type(exc) is not Exception:  # a bare Exception is wechatpayv3's "bad signature"
                raise
            code = "ANSWER_SIGNATURE_INVALID"
            raise PayUnavailable(code, str(exc))
        finally:
            _log("v3-sdk", method.value, path.split("?")[0], status, code, started)

    return request


def pay_v3_client() -> WeChatPayV3:
    """A wechatpayv3 client for the mini-program, pointed at WECHAT_PAY_API_BASE.

    Built from settings (cached until a setting or key file changes); the gateway is set on
    every call because wechatpayv3 hard-codes api.mch.weixin.qq.com (pitfall 1). It returns
    (status, text) without raising on 4xx/5xx (pitfall 7) and checks no answer timestamp:
    prefer `v3_request` where that matters."""
    s = settings
    client = _v3_client(
        s.WECHAT_PAY_MCH_ID, s.WECHAT_PAY_MCH_CERT_SERIAL, s.WECHAT_PAY_MCH_PRIVATE_KEY_PATH,
        Path(s.WECHAT_PAY_MCH_PRIVATE_KEY_PATH).stat().st_mtime_ns, s.WECHAT_PAY_APIV3_KEY,
        s.WECHAT_MINIAPP_APPID, s.WECHAT_PAY_PUBLIC_KEY_PATH,
        Path(s.WECHAT_PAY_PUBLIC_KEY_PATH).stat().st_mtime_ns, s.WECHAT_PAY_PUBLIC_KEY_ID,
        notify_url(NOTIFY_PATH), s.WECHAT_CONNECT_TIMEOUT, s.WECHAT_READ_TIMEOUT,
    )
    client._core._gate_way = settings.WECHAT_PAY_API_BASE.rstrip("/")
    return client


# --- API v2 ---------------------------------------------------------------------------------------


class _Order(WeChatOrder):
    def create(self, trade_type, body, total_fee, notify_url, client_ip=None, **kwargs):
        """wechatpy's unifiedorder, but `client_ip` is required: without it wechatpy resolves
        api.mch.weixin.qq.com and opens a socket to guess our address (pitfall 10)."""
        if not client_ip:
            raise ValueError("pass client_ip (the payer's IP) to order.create")
        return super().create(trade_type, body, total_fee, notify_url, client_ip=client_ip, **kwargs)


class ProjectWeChatPayV2(WeChatPayV2):
    """wechatpy's v2 client, built from settings, aimed at WECHAT_PAY_API_BASE.

    Answers are parsed with defusedxml and their `sign` checked (wechatpy checks none),
    with the request's sign_type; failures raise PayUnavailable / PayRejected. `secapi/`
    calls (refunds) need the merchant certificate pair for mutual TLS (spec 7): without
    it they raise PayRejected("MCH_CERT_MISSING") and send nothing."""

    order = _Order()

    @property
    def API_BASE_URL(self) -> str:  # noqa: N802 - wechatpy's name
        return settings.WECHAT_PAY_API_BASE.rstrip("/") + "/"

    def __init__(self):
        cert, key = settings.WECHAT_PAY_CERT_PATH, settings.WECHAT_PAY_KEY_PATH
        has_cert = bool(cert and key) and Path(cert).is_file() and Path(key).is_file()
        super().__init__(
            appid=settings.WECHAT_MINIAPP_APPID,
            api_key=settings.WECHAT_PAY_API_KEY,
            mch_id=settings.WECHAT_PAY_MCH_ID,
            mch_cert=cert if has_cert else None,
            mch_key=key if has_cert else None,
            timeout=timeouts(),
        )
        self._http = SESSION

    def _request(self, method, url_or_endpoint, **kwargs):
        path = url_or_endpoint.split("?", 1)[0]
        started = time.perf_counter()
        status, code = None, None
        try:
            if path.startswith("secapi/") and not self.mch_cert:
                raise PayRejected("MCH_CERT_MISSING", f"{path} needs the merchant certificate: set "
                                  "WECHAT_PAY_CERT_PATH and WECHAT_PAY_KEY_PATH to readable files")
            with _transport_errors(path):
                return super()._request(method, url_or_endpoint, **kwargs)
        except WeChatPayException as exc:  # raise_for_status inside wechatpy
            status = getattr(exc.response, "status_code", None)
            code = f"HTTP_{status}"
            if status is not None and status >= 500:
                raise PayUnavailable(code, http_status=status)
            raise PayRejected(code, http_status=status)
        except (PayUnavailable, PayRejected) as exc:
            code = exc.code
            status = exc.http_status
            raise
        finally:
            _log("v2", method.upper(), path, status, code, started)

    def _handle_result(self, res):
        try:
            data = paycrypto.v2_xml_to_dict(res.content)
        except paycrypto.BadXml as exc:
            raise PayUnavailable("ANSWER_NOT_XML", str(exc), http_status=res.status_code)
        if data.get("return_code") != "SUCCESS":
            # Transport-level failures are not signed; return_msg says why, in words that
            # WeChat may change (签名错误, …): the code stays stable, the words go in the message.
            code = data.get("err_code") or RETURN_FAIL
            error = PayUnavailable if code in V2_TRANSIENT_CODES else PayRejected
            raise error(code, data.get("return_msg", ""), http_status=res.status_code)
        try:
            sent = paycrypto.v2_xml_to_dict(res.request.body or b"")
        except paycrypto.BadXml:
            sent = {}
        try:
            paycrypto.v2_verify(data, self.api_key, sign_type=sent.get("sign_type") or "MD5")
        except paycrypto.BadSignature as exc:
            raise PayUnavailable("ANSWER_SIGNATURE_INVALID", str(exc), http_status=res.status_code)
        if data.get("result_code") != "SUCCESS":
            code = data.get("err_code") or "FAIL"
            error = PayUnavailable if code in V2_TRANSIENT_CODES else PayRejected
            raise error(code, data.get("err_code_des", ""), http_status=res.status_code)
        return data


def pay_v2_client() -> ProjectWeChatPayV2:
    """A wechatpy v2 client from the current settings (cheap: no keys to parse)."""
    return ProjectWeChatPayV2()
