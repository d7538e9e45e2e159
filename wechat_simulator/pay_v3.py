"""Simulated WeChat Pay v3 endpoints: JSAPI order, query, close, refund, refund query
(wechat-spec.md 6.5-6.7). Each receives a checked, signed request and returns
(HTTP status, answer or None) or raises V3Error."""

from __future__ import annotations

import re
import time
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings

from wechat_simulator import pay_state
from wechat_simulator.pay import V3Error, V3Request, v3_endpoint

OUT_TRADE_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")
OUT_REFUND_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")
DEFAULT_EXPIRY_SECONDS = 7 * 24 * 3600
MAX_REFUNDS_PER_ORDER = 50


def _param_error(message: str) -> V3Error:
    return V3Error(400, "PARAM_ERROR", message)


def _text(data: dict, name: str, max_chars: int, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise _param_error(f"输入源“/body/{name}”映射到字段“{name}”必填性规则校验失败，此字段为必填项")
        return None
    if not isinstance(value, str):
        raise _param_error(f"{name} 应为字符串")
    if len(value) > max_chars:
        raise _param_error(f"{name} 长度超过 {max_chars}")
    return value


def _positive_int(data: dict, name: str, where: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _param_error(f"{where}.{name} 应为正整数（单位：分）")
    return value


def _check_mchid(value) -> None:
    if value != settings.WECHAT_PAY_MCH_ID:
        raise _param_error("mchid 与签名商户号不一致")


def notify_url_ok(url: str) -> bool:
    """https, no query string (6.5). Development notify bases (http) are accepted too."""
    parts = urlsplit(url)
    if parts.query or "?" in url or not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and url.startswith(settings.WECHAT_PAY_NOTIFY_BASE_URL.rstrip("/") + "/")


def _time_expire(value: str | None) -> float:
    if value is None:
        return time.time() + DEFAULT_EXPIRY_SECONDS
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or "T" not in value:
        raise _param_error("time_expire 应为 RFC 3339 时间，如 2026-11-25T14:30:00+08:00")
    if moment.timestamp() < time.time() + 60:
        raise _param_error("time_expire 应晚于当前时间 1 分钟以上")
    return moment.timestamp()


@v3_endpoint("POST", r"v3/pay/transactions/jsapi")
def jsapi_order(req: V3Request) -> tuple[int, dict]:
    data = req.json()
    appid = _text(data, "appid", 32)
    _check_mchid(_text(data, "mchid", 32))
    if appid not in (settings.WECHAT_MINIAPP_APPID, settings.WECHAT_MP_APPID):
        raise V3Error(400, "APPID_MCHID_NOT_MATCH", "appid 和 mch_id 不匹配")
    description = _text(data, "description", 127)
    out_trade_no = _text(data, "out_trade_no", 32)
    if not OUT_TRADE_NO.match(out_trade_no):
        raise _param_error("out_trade_no 应为 6-32 位数字、大小写字母或 _-|*")
    time_expire = _text(data, "time_expire", 64, required=False)
    attach = _text(data, "attach", 128, required=False)
    notify = _text(data, "notify_url", 255)
    if not notify_url_ok(notify):
        raise _param_error("notify_url 应为 https 地址且不能携带参数")
    amount = data.get("amount")
    if not isinstance(amount, dict):
        raise _param_error("amount 为必填对象")
    total = _positive_int(amount, "total", "amount")
    if amount.get("currency", "CNY") != "CNY":
        raise _param_error("amount.currency 仅支持 CNY")
    payer = data.get("payer")
    if not isinstance(payer, dict):
        raise _param_error("payer 为必填对象")
    openid = _text(payer, "openid", 128)

    params = {"appid": appid, "description": description, "attach": attach, "notify_url": notify,
              "total_fen": total, "openid": openid}
    existing = pay_state.order_get(out_trade_no)
    if existing is None:
        order = {
            **params,
            "mchid": settings.WECHAT_PAY_MCH_ID,
            "out_trade_no": out_trade_no,
            "time_expire": time_expire,
            "expires_at": _time_expire(time_expire),
            "prepay_id": pay_state.new_prepay_id(),
            "trade_state": "NOTPAY",
            "transaction_id": None,
            "success_time": None,
            "api": "v3",
            "sign_type": None,
            "params": params,
        }
        existing, created = pay_state.order_add(order)
        if created:
            return 200, {"prepay_id": order["prepay_id"]}
    # Same number again: identical parameters get the current prepay_id (6.5).
    if existing["trade_state"] in ("SUCCESS", "REFUND"):
        raise V3Error(400, "ORDERPAID", "该订单已支付")
    if existing["trade_state"] == "CLOSED" or pay_state.is_expired(existing):
        raise V3Error(400, "ORDER_CLOSED", "订单已关闭")
    if existing.get("params") != params:
        raise V3Error(400, "INVALID_REQUEST", "201 商户订单号重复（参数与首次下单不一致）")
    return 200, {"prepay_id": existing["prepay_id"]}


def _query_mchid(req: V3Request) -> None:
    if req.query.get("mchid") != settings.WECHAT_PAY_MCH_ID:
        raise _param_error("查询参数 mchid 缺失或与签名商户号不一致")


@v3_endpoint("GET", r"v3/pay/transactions/out-trade-no/(?P<out_trade_no>[^/]+)")
def query_by_out_trade_no(req: V3Request) -> tuple[int, dict]:
    _query_mchid(req)
    order = pay_state.order_get(req.args["out_trade_no"])
    if order is None:
        raise V3Error(404, "ORDER_NOT_EXIST", "订单不存在")
    return 200, pay_state.transaction_view(order)


@v3_endpoint("GET", r"v3/pay/transactions/id/(?P<transaction_id>[^/]+)")
def query_by_transaction_id(req: V3Request) -> tuple[int, dict]:
    _query_mchid(req)
    order = pay_state.order_by_transaction(req.args["transaction_id"])
    if order is None:
        raise V3Error(404, "ORDER_NOT_EXIST", "订单不存在")
    return 200, pay_state.transaction_view(order)


@v3_endpoint("POST", r"v3/pay/transactions/out-trade-no/(?P<out_trade_no>[^/]+)/close")
def close(req: V3Request) -> tuple[int, None]:
    _check_mchid(req.json().get("mchid"))
    order = pay_state.order_get(req.args["out_trade_no"])
    if order is None:
        raise V3Error(404, "ORDER_NOT_EXIST", "订单不存在")
    if order["trade_state"] in ("SUCCESS", "REFUND"):
        raise V3Error(400, "ORDERPAID", "订单已支付，不能关闭")
    pay_state.close_order(order["out_trade_no"])
    return 204, None


@v3_endpoint("POST", r"v3/refund/domestic/refunds")
def refund(req: V3Request) -> tuple[int, dict]:
    data = req.json()
    out_refund_no = _text(data, "out_refund_no", 64)
    if not OUT_REFUND_NO.match(out_refund_no):
        raise _param_error("out_refund_no 应为 1-64 位数字、大小写字母或 _-|*@")
    reason = _text(data, "reason", 1000, required=False)
    if reason and len(reason.encode("utf-8")) > 80:
        raise _param_error("reason 超过 80 字节")
    notify = _text(data, "notify_url", 255, required=False)
    if notify and not notify_url_ok(notify):
        raise _param_error("notify_url 应为 https 地址且不能携带参数")
    amount = data.get("amount")
    if not isinstance(amount, dict):
        raise _param_error("amount 为必填对象")
    refund_fen = _positive_int(amount, "refund", "amount")
    total_fen = _positive_int(amount, "total", "amount")
    if amount.get("currency") != "CNY":
        raise _param_error("amount.currency 必填且仅支持 CNY")
    if data.get("transaction_id"):
        order = pay_state.order_by_transaction(str(data["transaction_id"]))
    elif data.get("out_trade_no"):
        order = pay_state.order_get(str(data["out_trade_no"]))
    else:
        raise _param_error("transaction_id 与 out_trade_no 必填其一")
    if order is None:
        raise V3Error(404, "RESOURCE_NOT_EXISTS", "订单不存在")

    existing = pay_state.refund_get(out_refund_no)
    if existing is None:
        # Retrying with the same out_refund_no refunds once (6.7); new numbers are checked.
        if order["trade_state"] not in ("SUCCESS", "REFUND"):
            raise V3Error(400, "INVALID_REQUEST", "订单未支付，不能退款")
        if total_fen != order["total_fen"]:
            raise _param_error("amount.total 与订单金额不一致")
        if pay_state.refunded_fen(order["out_trade_no"]) + refund_fen > order["total_fen"]:
            raise V3Error(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        if len(pay_state.refunds_of(order["out_trade_no"])) >= MAX_REFUNDS_PER_ORDER:
            raise V3Error(400, "INVALID_REQUEST", "部分退款次数超过 50 次")
        existing, created = pay_state.refund_add(
            order=order, out_refund_no=out_refund_no, refund_fen=refund_fen, total_fen=total_fen,
            reason=reason, notify_url=notify,
        )
        if created:
            return 200, pay_state.refund_view(existing)
    if existing["out_trade_no"] != order["out_trade_no"] or existing["refund_fen"] != refund_fen:
        raise V3Error(400, "INVALID_REQUEST", "退款单号已用于另一笔退款（参数不一致）")
    return 200, pay_state.refund_view(existing)


@v3_endpoint("GET", r"v3/refund/domestic/refunds/(?P<out_refund_no>[^/]+)")
def refund_query(req: V3Request) -> tuple[int, dict]:
    found = pay_state.refund_get(req.args["out_refund_no"])
    if found is None:
        raise V3Error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
    return 200, pay_state.refund_view(found)
