"""Simulated trade bills (wechat-spec.md 6.9 and 7): v3 `GET v3/bill/tradebill` with its
download, and v2 `pay/downloadbill`.

A bill lists one Beijing day of the merchant's trades from pay_state: a row per payment
made that day (state SUCCESS) and per refund applied for that day (state REFUND), as
backtick CSV with amounts in yuan, then a summary. Unlike WeChat, which publishes a day's
bill the next morning, the simulator serves today's bill as it stands, so that a test or
`make run` need not wait a day.

For tests and people reconciling: `bill_shift(out_trade_no, delta_fen)` makes the bill
show a trade's amount shifted (the trade itself is unchanged), `bill_add_trade(...)` adds
a paid trade the project never created.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from datetime import date, datetime

from django.conf import settings
from django.http import HttpResponse
from requests.utils import requote_uri

from wechat_simulator import pay_state, store
from wechat_simulator.pay import V3Error, V3Request, check_v3_authorization, signed_answer, v3_endpoint
from wxbackend.wechat import paycrypto

# The download URL names WeChat's host; clients fetch it through their configured base (6.9).
DOWNLOAD_URL = "https://api.mch.weixin.qq.com/v3/billdownload/file?token={token}"
DOWNLOAD_PATH = "v3/billdownload/file"
DOWNLOAD_SECONDS = 300
FEE_RATE_PER_MILLE = 6  # 0.60%

HEADER = [
    "交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号", "用户标识", "交易类型",
    "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额", "微信退款单号", "商户退款单号", "退款金额",
    "充值券退款金额", "退款类型", "退款状态", "商品名称", "商户数据包", "手续费", "费率", "订单金额", "申请退款金额",
    "费率备注",
]
SUMMARY = ["总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额", "订单总金额", "申请退款总金额"]
MONEY = frozenset({"应结订单金额", "代金券金额", "退款金额", "充值券退款金额", "手续费", "订单金额", "申请退款金额"})
BILL_TYPES = ("ALL", "SUCCESS", "REFUND")


# --- controls ---------------------------------------------------------------------------------


def bill_shift(out_trade_no: str, delta_fen: int) -> dict:
    """The bill shows the paid trade's amount shifted by `delta_fen` (queries do not)."""
    order = pay_state.order_get(out_trade_no)
    if order is None or not order.get("success_time"):
        raise pay_state.PayStateError(f"order {out_trade_no} is not paid")
    order["bill_total_fen"] = order["total_fen"] + delta_fen
    pay_state.order_put(order)
    return order


def bill_add_trade(out_trade_no: str, total_fen: int, *, paid_at: datetime | None = None,
                   openid: str = "o_foreign_payer") -> dict:
    """A trade paid at WeChat that the project never created (another system, a mistake)."""
    order = {
        "appid": settings.WECHAT_MINIAPP_APPID, "mchid": settings.WECHAT_PAY_MCH_ID,
        "out_trade_no": out_trade_no, "description": "外部交易", "attach": None, "notify_url": "",
        "total_fen": total_fen, "openid": openid, "time_expire": None, "expires_at": None,
        "prepay_id": pay_state.new_prepay_id(), "trade_state": "NOTPAY", "transaction_id": None,
        "success_time": None, "api": "v3", "sign_type": None, "params": {},
    }
    _, created = pay_state.order_add(order)
    if not created:
        raise pay_state.PayStateError(f"order {out_trade_no} exists")
    order = pay_state.pay_order(out_trade_no)
    if paid_at is not None:
        order["success_time"] = pay_state.rfc3339(paid_at)
        pay_state.order_put(order)
    return order


# --- the bill ---------------------------------------------------------------------------------


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _fee(fen: int) -> int:
    return (fen * FEE_RATE_PER_MILLE + 500) // 1000


def _moment(rfc3339: str) -> datetime:
    return datetime.fromisoformat(rfc3339).astimezone(pay_state.BEIJING)


def bill_rows(day: date, bill_type: str = "ALL") -> list[dict]:
    """The day's rows as {column: value} (amounts in fen), in time order."""
    rows = []
    for number in pay_state.order_numbers():
        order = pay_state.order_get(number)
        if not order or not order.get("success_time"):
            continue
        paid_at = _moment(order["success_time"])
        common = {"公众账号ID": order["appid"], "商户号": order["mchid"], "微信订单号": order["transaction_id"],
                  "商户订单号": number, "用户标识": order.get("openid") or "",
                  "商品名称": order.get("description") or "", "商户数据包": order.get("attach") or ""}
        if bill_type in ("ALL", "SUCCESS") and paid_at.date() == day:
            total = order.get("bill_total_fen", order["total_fen"])
            rows.append({**common, "at": paid_at, "交易状态": "SUCCESS", "应结订单金额": total, "订单金额": total,
                         "退款金额": 0, "申请退款金额": 0, "手续费": _fee(total)})
        if bill_type in ("ALL", "REFUND"):
            for refund in pay_state.refunds_of(number):
                asked_at = _moment(refund["create_time"])
                if asked_at.date() != day:
                    continue
                rows.append({**common, "at": asked_at, "交易状态": "REFUND", "应结订单金额": 0, "订单金额": 0,
                             "退款金额": refund["refund_fen"], "申请退款金额": refund["refund_fen"],
                             "手续费": -_fee(refund["refund_fen"]), "微信退款单号": refund["refund_id"],
                             "商户退款单号": refund["out_refund_no"], "退款类型": "ORIGINAL",
                             "退款状态": refund["status"]})
    return sorted(rows, key=lambda r: r["at"])


def bill_text(day: date, bill_type: str = "ALL") -> str | None:
    """The bill file as WeChat writes it, or None when the day has no trade (no bill)."""
    rows = bill_rows(day, bill_type)
    if not rows:
        return None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        cells = {
            "交易时间": row["at"].strftime("%Y-%m-%d %H:%M:%S"), "特约商户号": "0", "设备号": "",
            "交易类型": "JSAPI", "付款银行": "OTHERS", "货币种类": "CNY", "代金券金额": 0, "充值券退款金额": 0,
            "微信退款单号": "0", "商户退款单号": "0", "退款类型": "", "退款状态": "", "费率": "0.60%", "费率备注": "",
            **{k: v for k, v in row.items() if k != "at"},
        }
        writer.writerow(["`" + (_yuan(cells[name]) if name in MONEY else str(cells[name])) for name in HEADER])
    writer.writerow(SUMMARY)
    totals = [sum(r[k] for r in rows) for k in ("应结订单金额", "退款金额")]
    writer.writerow(["`" + v for v in (
        str(len(rows)), _yuan(totals[0]), _yuan(totals[1]), "0.00", _yuan(sum(r["手续费"] for r in rows)),
        _yuan(sum(r["订单金额"] for r in rows)), _yuan(sum(r["申请退款金额"] for r in rows)),
    )])
    return out.getvalue()


def _day(text: str | None, fmt: str) -> date | None:
    try:
        return datetime.strptime(text or "", fmt).date()
    except ValueError:
        return None


# --- v3 ---------------------------------------------------------------------------------------


@v3_endpoint("GET", r"v3/bill/tradebill")
def tradebill(req: V3Request) -> tuple[int, dict]:
    day = _day(req.query.get("bill_date"), "%Y-%m-%d")
    if day is None:
        raise V3Error(400, "PARAM_ERROR", "bill_date 应为 YYYY-MM-DD")
    bill_type = req.query.get("bill_type", "ALL")
    if bill_type not in BILL_TYPES:
        raise V3Error(400, "PARAM_ERROR", "bill_type 应为 ALL、SUCCESS 或 REFUND")
    if req.query.get("tar_type"):
        raise V3Error(400, "PARAM_ERROR", "模拟器只提供未压缩的账单（不传 tar_type）")
    if day > pay_state.now_beijing().date():
        raise V3Error(400, "INVALID_REQUEST", "账单日期不能晚于今天")
    text = bill_text(day, bill_type)
    if text is None:
        raise V3Error(400, "NO_STATEMENT_EXIST", "账单文件不存在")
    token = secrets.token_urlsafe(24)
    store.put(f"pay:bill-file:{token}", text, timeout=DOWNLOAD_SECONDS)
    return 200, {"hash_type": "SHA1", "hash_value": hashlib.sha1(text.encode()).hexdigest(),  # noqa: S324
                 "download_url": DOWNLOAD_URL.format(token=token)}


def download(request) -> HttpResponse:
    """GET the file behind a download_url: signed like any v3 call, answered unsigned (6.9)."""
    query_string = request.META.get("QUERY_STRING", "")
    canonical = requote_uri("/" + DOWNLOAD_PATH) + (f"?{query_string}" if query_string else "")
    text = None
    try:
        if request.method != "GET":
            raise V3Error(404, "NOT_FOUND", f"{request.method} /{DOWNLOAD_PATH} 不存在")
        check_v3_authorization(request, canonical)
        text = store.get(f"pay:bill-file:{request.GET.get('token', '')}")
        if text is None:
            raise V3Error(400, "INVALID_REQUEST", "下载链接无效或已过期")
    except V3Error as exc:
        store.record_call(api="pay", method=request.method, path=DOWNLOAD_PATH, query=dict(request.GET.items()),
                          body=None, status=exc.status, verdict=exc.code.lower(),
                          response={"code": exc.code, "message": exc.message})
        return signed_answer(exc.status, {"code": exc.code, "message": exc.message})
    store.record_call(api="pay", method="GET", path=DOWNLOAD_PATH, query=dict(request.GET.items()), body=None,
                      status=200, verdict="ok", response={"bytes": len(text.encode())})
    return HttpResponse(text.encode(), content_type="text/plain; charset=utf-8")


# --- v2 ---------------------------------------------------------------------------------------


def v2_downloadbill(request) -> HttpResponse:
    """`pay/downloadbill`: the bill text itself, or XML return_code FAIL (spec 7)."""
    failure, data = None, {}
    try:
        data = paycrypto.v2_xml_to_dict(request.body)
        paycrypto.v2_verify(data, settings.WECHAT_PAY_API_KEY)
    except paycrypto.BadXml:
        failure = {"return_code": "FAIL", "return_msg": "XML格式错误"}
    except paycrypto.BadSignature:
        failure = {"return_code": "FAIL", "return_msg": "签名错误"}
    text = None
    if failure is None:
        day = _day(data.get("bill_date"), "%Y%m%d")
        bill_type = data.get("bill_type") or "ALL"
        if request.method != "POST":
            failure = {"return_code": "FAIL", "return_msg": "请使用 POST"}
        elif data.get("mch_id") != settings.WECHAT_PAY_MCH_ID:
            failure = {"return_code": "FAIL", "return_msg": "mch_id参数格式错误"}
        elif day is None or bill_type not in BILL_TYPES or data.get("tar_type"):
            failure = {"return_code": "FAIL", "return_msg": "invalid bill_date, bill_type or tar_type",
                       "error_code": "20001"}
        else:
            text = bill_text(day, bill_type)
            if text is None:
                failure = {"return_code": "FAIL", "return_msg": "No Bill Exist", "error_code": "20002"}
    store.record_call(api="pay", method=request.method, path="pay/downloadbill", query={},
                      body=data or request.body.decode("utf-8", "replace"), status=200,
                      verdict="ok" if failure is None else failure["return_msg"],
                      response=failure or {"bytes": len(text.encode())})
    if failure is not None:
        return HttpResponse(paycrypto.v2_dict_to_xml(failure), content_type="text/xml; charset=utf-8")
    return HttpResponse(text.encode(), content_type="text/plain; charset=utf-8")
