"""The simulated api.mch.weixin.qq.com (mounted at /__sim__/pay/): one view that checks,
answers and records every call.

- v3 (`v3/...`): the `Authorization` header is verified like WeChat does (scheme, mchid,
  merchant serial, 5-minute window, RSA-SHA256 over the five lines with the merchant's
  public key, spec 6.2); failures answer 401 SIGN_ERROR. Every answer, errors included,
  is signed with the simulator's key (Wechatpay-* headers, serial = WECHAT_PAY_PUBLIC_KEY_ID).
- v2 (`pay/...`, `secapi/...`): flat XML whose `sign` is checked by its sign_type;
  answers are signed XML (pay_v2.py).
- bills (`v3/bill/tradebill`, its `v3/billdownload/file`, v2 `pay/downloadbill`): pay_bill.py.
- `__control__/pay/<out_trade_no>` and `__control__/refund/<out_refund_no>` (POST): pay an
  order or finish a refund and send the notification, for a person using `make run`.

Handlers live in pay_v3.py / pay_v2.py; state and notifications in pay_state.py.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from requests.utils import requote_uri

from wechat_simulator import pay_state, pay_v2, store
from wxbackend.wechat import paycrypto


class V3Error(Exception):
    """WeChat Pay v3's error answer: HTTP `status`, `{"code", "message"[, "detail"]}` (6.8)."""

    def __init__(self, status: int, code: str, message: str, detail: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.detail = status, code, message, detail


@dataclass
class V3Request:
    method: str
    path: str  # as routed, no leading slash: "v3/pay/transactions/jsapi"
    query: dict
    raw_body: bytes
    args: dict = field(default_factory=dict)  # named groups of the route

    def json(self) -> dict:
        try:
            data = json.loads(self.raw_body or b"null")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise V3Error(400, "PARAM_ERROR", "请求体不是 JSON 对象")
        return data


V3_ROUTES: list[tuple[str, re.Pattern, Callable[[V3Request], tuple[int, dict | None]]]] = []


def v3_endpoint(method: str, pattern: str):
    """Register a v3 handler for `method` and a path regex (no leading slash)."""

    def register(handler):
        V3_ROUTES.append((method, re.compile(f"^{pattern}$"), handler))
        return handler

    return register


def _merchant_public_key():
    return paycrypto.private_key_from_path(settings.WECHAT_PAY_MCH_PRIVATE_KEY_PATH).public_key()


def sim_private_key():
    return paycrypto.private_key_from_path(settings.WECHAT_SIMULATOR_PAY_PRIVATE_KEY_PATH)


def check_v3_authorization(request, canonical_url: str) -> None:
    """Raise V3Error(401, SIGN_ERROR) unless the request is signed like WeChat demands."""
    try:
        auth = paycrypto.v3_parse_authorization(request.headers.get("Authorization", ""))
    except paycrypto.BadSignature as exc:
        raise V3Error(401, "SIGN_ERROR", f"Authorization 头无效: {exc}")
    if auth["mchid"] != settings.WECHAT_PAY_MCH_ID:
        raise V3Error(401, "SIGN_ERROR", "商户号与签名不匹配 (mchid)")
    if auth["serial_no"] != settings.WECHAT_PAY_MCH_CERT_SERIAL:
        raise V3Error(401, "SIGN_ERROR", "商户证书序列号有误 (serial_no)")
    timestamp = auth["timestamp"]
    if not (timestamp.isascii() and timestamp.isdigit()) or abs(time.time() - int(timestamp)) >= paycrypto.V3_MAX_SKEW_SECONDS:
        raise V3Error(401, "SIGN_ERROR", "签名时间戳与当前时间相差超过 5 分钟 (timestamp)")
    message = paycrypto.v3_request_message(request.method, canonical_url, timestamp, auth["nonce_str"], request.body)
    if not paycrypto.rsa_verify(_merchant_public_key(), message, auth["signature"]):
        raise V3Error(
            401,
            "SIGN_ERROR",
            "签名错误",
            {"detail": {"sign_information": {
                "method": request.method,
                "url": canonical_url,
                "truncated_sign_message": message.decode("utf-8", "replace")[:200],
                "sign_message_length": len(message),
            }}},
        )


def signed_answer(status: int, payload: dict | None) -> HttpResponse:
    body = b"" if payload is None else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    response = HttpResponse(body, status=status, content_type="application/json; charset=utf-8")
    if payload is None:
        del response["Content-Type"]
    headers = paycrypto.v3_signed_headers(body, private_key=sim_private_key(), serial=settings.WECHAT_PAY_PUBLIC_KEY_ID)
    for name, value in headers.items():
        response[name] = value
    response["Request-ID"] = paycrypto.nonce_str(24)
    return response


def _v3(request, route: str) -> HttpResponse:
    query_string = request.META.get("QUERY_STRING", "")
    canonical = requote_uri("/" + route) + (f"?{query_string}" if query_string else "")
    sim = V3Request(request.method, route, dict(request.GET.items()), request.body)
    verdict = "ok"
    try:
        handler = None
        for method, pattern, candidate in V3_ROUTES:
            match = pattern.match(route)
            if match and method == request.method:
                handler, sim.args = candidate, match.groupdict()
                break
        if handler is None:
            raise V3Error(404, "NOT_FOUND", f"{request.method} /{route} 不存在")
        check_v3_authorization(request, canonical)
        failure = pay_state.take_failure(route)
        if failure:
            raise V3Error(failure["status"], failure["code"], failure["message"])
        status, answer = handler(sim)
    except V3Error as exc:
        verdict = exc.code.lower()
        status, answer = exc.status, {"code": exc.code, "message": exc.message, **(exc.detail or {})}
    try:
        body = json.loads(request.body) if request.body else None
    except ValueError:
        body = request.body.decode("utf-8", "replace")
    store.record_call(api="pay", method=request.method, path=route, query=sim.query, body=body,
                      status=status, verdict=verdict, response=answer)
    return signed_answer(status, answer)


@csrf_exempt
def pay_view(request, route: str):
    if not settings.WECHAT_SIMULATOR_ENABLED:
        raise Http404("the WeChat simulator is off")
    if route == pay_bill.DOWNLOAD_PATH:
        return pay_bill.download(request)
    if route == "pay/downloadbill":
        return pay_bill.v2_downloadbill(request)
    if route.startswith("v3/"):
        return _v3(request, route)
    if route.startswith("__control__/"):
        return _control(request, route)
    return pay_v2.answer(request, route)


# --- control endpoints (not WeChat's: for people and tests) ----------------------------------


def _control(request, route: str) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"detail": "POST to pay or to finish a refund"}, status=405)
    _, kind, number = (route.split("/", 2) + ["", ""])[:3]
    try:
        if kind == "pay":
            return JsonResponse(pay_and_notify(number, openid=request.POST.get("openid") or None))
        elif kind == "refund":
            status = request.POST.get("status", "SUCCESS")
            if status not in pay_state.REFUND_EVENTS:
                return JsonResponse({"detail": "status is SUCCESS, ABNORMAL or CLOSED"}, status=400)
            refund = pay_state.refund_complete(number, status)
            result = {"out_refund_no": number, "status": refund["status"]}

            def send(n):
                return pay_state.send_refund_notification(n, status)
        else:
            return JsonResponse({"detail": "unknown control action"}, status=404)
    except pay_state.PayStateError as exc:
        return JsonResponse({"detail": str(exc)}, status=409)
    try:
        result["notify_status"] = send(number)
    except requests.RequestException as exc:
        result["notify_status"] = None
        result["notify_error"] = type(exc).__name__
    return JsonResponse(result)


def pay_and_notify(out_trade_no: str, *, openid: str | None = None) -> dict:
    """The customer pays the trade; its signed notification goes to the project. Raises
    PayStateError for a trade that cannot be paid (unknown, closed, expired)."""
    order = pay_state.pay_order(out_trade_no, openid=openid)
    result = {"out_trade_no": out_trade_no, "transaction_id": order["transaction_id"],
              "trade_state": order["trade_state"]}
    try:
        result["notify_status"] = pay_state.send_payment_notification(out_trade_no)
    except requests.RequestException as exc:
        result["notify_status"] = None
        result["notify_error"] = type(exc).__name__
    return result


# The v3 handlers register themselves with @v3_endpoint.
from wechat_simulator import pay_bill, pay_v3  # noqa: E402, F401
