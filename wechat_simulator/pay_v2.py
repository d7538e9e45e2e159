"""Simulated WeChat Pay v2 (legacy) endpoints: unifiedorder, orderquery, closeorder,
refund, refundquery (wechat-spec.md 7). Flat XML in and out: the request's `sign` is
checked by its sign_type, answers are signed the same way. A request refused before
the business check (bad XML, bad sign, unknown mch_id) gets what WeChat sends: return_code
FAIL and a return_msg, no err_code and no sign.

Over plain HTTP the simulator cannot see a client certificate, so `secapi/` calls are not
refused here without one; the client layer refuses them (wxbackend/wechat/pay.py) and
tests/wechat_pay/test_v2.py serves them over mutual TLS."""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse

from wechat_simulator import pay_state, store
from wxbackend.wechat import paycrypto

OUT_TRADE_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")
OUT_REFUND_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")
V2_REFUND_STATUS = {"PROCESSING": "PROCESSING", "SUCCESS": "SUCCESS", "ABNORMAL": "CHANGE", "CLOSED": "REFUNDCLOSE"}


class V2Error(Exception):
    """A business failure: return_code SUCCESS, result_code FAIL, `err_code`."""

    def __init__(self, err_code: str, err_code_des: str):
        super().__init__(err_code_des)
        self.err_code, self.err_code_des = err_code, err_code_des


ROUTES: dict[str, Callable[[dict], dict]] = {}


def v2_endpoint(path: str):
    def register(handler):
        ROUTES[path] = handler
        return handler

    return register


def _xml(fields: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(paycrypto.v2_dict_to_xml(fields), status=status, content_type="text/xml; charset=utf-8")


def _fail(return_msg: str) -> dict:
    return {"return_code": "FAIL", "return_msg": return_msg}


def answer(request, route: str) -> HttpResponse:
    """Check, answer and record one v2 call."""
    handler = ROUTES.get(route)
    data: dict = {}
    if handler is None or request.method != "POST":
        fields, verdict, status = _fail(f"{request.method} /{route} 不存在"), "not_found", 404
    else:
        (fields, verdict), status = _answer(request.body, route, handler, data), 200
    store.record_call(api="pay", method=request.method, path=route, query=dict(request.GET.items()),
                      body=data or request.body.decode("utf-8", "replace"), status=status,
                      verdict=verdict, response=fields)
    return _xml(fields, status)


def _answer(body: bytes, route: str, handler, parsed: dict) -> tuple[dict, str]:
    """The answer's fields and the verdict the call log shows."""
    try:
        data = paycrypto.v2_xml_to_dict(body)
    except paycrypto.BadXml:
        return _fail("XML格式错误"), "xml_format_error"
    parsed.update(data)
    sign_type = data.get("sign_type") or "MD5"
    try:
        paycrypto.v2_verify(data, settings.WECHAT_PAY_API_KEY)
    except paycrypto.BadSignature:
        return _fail("签名错误"), "signerror"
    if data.get("mch_id") != settings.WECHAT_PAY_MCH_ID:
        return _fail("mch_id参数格式错误"), "mchid_not_exist"
    fields = {"return_code": "SUCCESS", "return_msg": "OK", "appid": data.get("appid", ""),
              "mch_id": settings.WECHAT_PAY_MCH_ID, "nonce_str": paycrypto.nonce_str(32)}
    failure = pay_state.take_failure(route)
    try:
        if failure:
            raise V2Error(failure["code"], failure["message"])
        fields.update(handler(data))
        fields["result_code"] = "SUCCESS"
    except V2Error as exc:
        fields.update(result_code="FAIL", err_code=exc.err_code, err_code_des=exc.err_code_des)
    fields["sign"] = paycrypto.v2_sign(fields, settings.WECHAT_PAY_API_KEY, sign_type)
    return fields, fields.get("err_code", "ok").lower()


def _need(data: dict, *names: str) -> None:
    missing = [n for n in names if not data.get(n)]
    if missing:
        raise V2Error("LACK_PARAMS", "缺少参数 " + ", ".join(missing))


def _fen(data: dict, name: str) -> int:
    value = data.get(name, "")
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise V2Error("INVALID_REQUEST", f"{name} 应为正整数（分）")
    return int(value)


def _order_for(data: dict) -> dict:
    if data.get("transaction_id"):
        order = pay_state.order_by_transaction(data["transaction_id"])
    elif data.get("out_trade_no"):
        order = pay_state.order_get(data["out_trade_no"])
    else:
        raise V2Error("LACK_PARAMS", "transaction_id 与 out_trade_no 必填其一")
    if order is None:
        raise V2Error("ORDERNOTEXIST", "此交易订单号不存在")
    return order


@v2_endpoint("pay/unifiedorder")
def unifiedorder(data: dict) -> dict:
    _need(data, "appid", "nonce_str", "body", "out_trade_no", "total_fee", "spbill_create_ip", "notify_url",
          "trade_type")
    if data["appid"] not in (settings.WECHAT_MINIAPP_APPID, settings.WECHAT_MP_APPID):
        raise V2Error("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
    if data["trade_type"] != "JSAPI":
        raise V2Error("INVALID_REQUEST", "模拟器只支持 trade_type=JSAPI")
    _need(data, "openid")
    if len(data["nonce_str"]) > 32:
        raise V2Error("INVALID_REQUEST", "nonce_str 超过 32 位")
    if len(data["body"].encode("utf-8")) > 127:
        raise V2Error("INVALID_REQUEST", "body 超过 127 字节")
    if not OUT_TRADE_NO.match(data["out_trade_no"]):
        raise V2Error("INVALID_REQUEST", "out_trade_no 应为 6-32 位数字、大小写字母或 _-|*")
    total = _fen(data, "total_fee")
    try:
        ipaddress.ip_address(data["spbill_create_ip"])
    except ValueError:
        raise V2Error("INVALID_REQUEST", "spbill_create_ip 不是 IP 地址")
    notify = data["notify_url"]
    if len(notify) > 256 or urlsplit(notify).query or urlsplit(notify).scheme not in ("http", "https"):
        raise V2Error("INVALID_REQUEST", "notify_url 格式错误（不能携带参数）")
    if len(data.get("attach", "").encode("utf-8")) > 127:
        raise V2Error("INVALID_REQUEST", "attach 超过 127 字节")
    expires_at = time.time() + 2 * 3600
    if data.get("time_expire"):
        try:
            moment = datetime.strptime(data["time_expire"], "%Y%m%d%H%M%S").replace(tzinfo=pay_state.BEIJING)
        except ValueError:
            raise V2Error("INVALID_REQUEST", "time_expire 应为 yyyyMMddHHmmss（北京时间）")
        expires_at = moment.timestamp()

    params = {"appid": data["appid"], "description": data["body"], "attach": data.get("attach") or None,
              "notify_url": notify, "total_fen": total, "openid": data["openid"]}
    order = {
        **params,
        "mchid": settings.WECHAT_PAY_MCH_ID,
        "out_trade_no": data["out_trade_no"],
        "time_expire": data.get("time_expire"),
        "expires_at": expires_at,
        "prepay_id": pay_state.new_prepay_id(),
        "trade_state": "NOTPAY",
        "transaction_id": None,
        "success_time": None,
        "api": "v2",
        "sign_type": data.get("sign_type") or "MD5",
        "params": params,
    }
    stored, created = pay_state.order_add(order)
    if not created:
        if stored["trade_state"] in ("SUCCESS", "REFUND"):
            raise V2Error("ORDERPAID", "该订单已支付")
        if stored["trade_state"] == "CLOSED":
            raise V2Error("ORDERCLOSED", "该订单已关闭")
        if stored.get("params") != params:
            raise V2Error("OUT_TRADE_NO_USED", "商户订单号重复")
    return {"trade_type": "JSAPI", "prepay_id": stored["prepay_id"]}


@v2_endpoint("pay/orderquery")
def orderquery(data: dict) -> dict:
    order = _order_for(data)
    fields = {
        "out_trade_no": order["out_trade_no"],
        "trade_state": order["trade_state"],
        "trade_state_desc": pay_state.TRADE_STATE_DESC.get(order["trade_state"], ""),
        "total_fee": str(order["total_fen"]),
        "fee_type": "CNY",
        "attach": order.get("attach") or "",
    }
    if order["trade_state"] in ("SUCCESS", "REFUND"):
        paid_at = datetime.fromisoformat(order["success_time"]).astimezone(pay_state.BEIJING)
        fields.update(transaction_id=order["transaction_id"], openid=order.get("openid") or "", is_subscribe="N",
                      trade_type="JSAPI", bank_type="OTHERS", cash_fee=str(order["total_fen"]),
                      time_end=paid_at.strftime("%Y%m%d%H%M%S"))
    return fields


@v2_endpoint("pay/closeorder")
def closeorder(data: dict) -> dict:
    _need(data, "out_trade_no")
    order = _order_for(data)
    if order["trade_state"] in ("SUCCESS", "REFUND"):
        raise V2Error("ORDERPAID", "订单已支付，不能发起关单")
    pay_state.close_order(order["out_trade_no"])
    return {}


@v2_endpoint("secapi/pay/refund")
def refund(data: dict) -> dict:
    _need(data, "out_refund_no", "total_fee", "refund_fee")
    if not OUT_REFUND_NO.match(data["out_refund_no"]):
        raise V2Error("INVALID_REQUEST", "out_refund_no 应为 1-64 位数字、大小写字母或 _-|*@")
    if len(data.get("refund_desc", "").encode("utf-8")) > 80:
        raise V2Error("INVALID_REQUEST", "refund_desc 超过 80 字节")
    total, refund_fen = _fen(data, "total_fee"), _fen(data, "refund_fee")
    order = _order_for(data)
    existing = pay_state.refund_get(data["out_refund_no"])
    if existing is None:
        if order["trade_state"] not in ("SUCCESS", "REFUND"):
            raise V2Error("INVALID_REQUEST", "订单未支付，不能退款")
        if total != order["total_fen"]:
            raise V2Error("INVALID_REQUEST", "total_fee 与订单金额不一致")
        if pay_state.refunded_fen(order["out_trade_no"]) + refund_fen > order["total_fen"]:
            raise V2Error("INVALID_REQUEST", "退款金额超过订单可退金额")
        existing, _ = pay_state.refund_add(
            order=order, out_refund_no=data["out_refund_no"], refund_fen=refund_fen, total_fen=total,
            reason=data.get("refund_desc"), notify_url=data.get("notify_url"),
        )
    if existing["out_trade_no"] != order["out_trade_no"] or existing["refund_fen"] != refund_fen:
        raise V2Error("INVALID_REQUEST", "退款单号已用于另一笔退款（参数不一致）")
    return {
        "transaction_id": existing["transaction_id"],
        "out_trade_no": existing["out_trade_no"],
        "out_refund_no": existing["out_refund_no"],
        "refund_id": existing["refund_id"],
        "refund_fee": str(existing["refund_fen"]),
        "total_fee": str(existing["total_fen"]),
        "cash_fee": str(existing["total_fen"]),
    }


@v2_endpoint("pay/refundquery")
def refundquery(data: dict) -> dict:
    if data.get("out_refund_no"):
        found = pay_state.refund_get(data["out_refund_no"])
        refunds = [found] if found else []
    else:
        refunds = pay_state.refunds_of(_order_for(data)["out_trade_no"])
        if data.get("refund_id"):
            refunds = [r for r in refunds if r["refund_id"] == data["refund_id"]]
    if not refunds:
        raise V2Error("REFUNDNOTEXIST", "退款订单查询失败")
    first = refunds[0]
    fields = {
        "transaction_id": first["transaction_id"],
        "out_trade_no": first["out_trade_no"],
        "total_fee": str(first["total_fen"]),
        "cash_fee": str(first["total_fen"]),
        "refund_count": str(len(refunds)),
    }
    for n, r in enumerate(refunds):
        fields.update({
            f"out_refund_no_{n}": r["out_refund_no"],
            f"refund_id_{n}": r["refund_id"],
            f"refund_fee_{n}": str(r["refund_fen"]),
            f"refund_status_{n}": V2_REFUND_STATUS[r["status"]],
            f"refund_recv_accout_{n}": "支付用户零钱",
        })
        if r.get("success_time"):
            moment = datetime.fromisoformat(r["success_time"])
            fields[f"refund_success_time_{n}"] = moment.strftime("%Y-%m-%d %H:%M:%S")
    return fields
