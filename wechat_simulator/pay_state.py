"""What the simulated WeChat Pay knows (orders, refunds) and what it sends back (signed
payment and refund notifications).

For tests and the control endpoints: `pay_order`, `send_payment_notification`,
`refund_complete`, `send_refund_notification`, `fail_next`. Everything lives in `store`
(the shared cache), so a test, the server thread and every runserver process agree.
Updates are read-modify-write without a lock: good enough for a development tool whose
orders are driven by one client at a time.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from django.conf import settings

from wechat_simulator import store
from wxbackend.wechat import paycrypto
from wxbackend.wechat.pay import NOTIFY_PATH, REFUND_NOTIFY_PATH, notify_url

BEIJING = timezone(timedelta(hours=8))
NOTIFY_TIMEOUT = (3.05, 5.0)


class PayStateError(Exception):
    """A control action that makes no sense for the order's state (unknown, closed…)."""


def now_beijing() -> datetime:
    return datetime.now(BEIJING).replace(microsecond=0)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(BEIJING).isoformat(timespec="seconds")


def _sim_key():
    return paycrypto.private_key_from_path(settings.WECHAT_SIMULATOR_PAY_PRIVATE_KEY_PATH)


# --- orders ---------------------------------------------------------------------------------


def order_get(out_trade_no: str) -> dict | None:
    return store.get(f"pay:order:{out_trade_no}")


def order_put(order: dict) -> None:
    store.put(f"pay:order:{order['out_trade_no']}", order)
    if order.get("transaction_id"):
        store.put(f"pay:txn:{order['transaction_id']}", order["out_trade_no"])


def order_add(order: dict) -> tuple[dict, bool]:
    """Store a new order unless its number is taken (atomic); return (stored, created)."""
    if store.add(f"pay:order:{order['out_trade_no']}", order):
        store.put("pay:orders", [*order_numbers(), order["out_trade_no"]])
        return order, True
    return order_get(order["out_trade_no"]), False


def order_numbers() -> list[str]:
    """Every out_trade_no the merchant created, oldest first (the bills and the page list them)."""
    return store.get("pay:orders") or []


def order_by_transaction(transaction_id: str) -> dict | None:
    number = store.get(f"pay:txn:{transaction_id}")
    return order_get(number) if number else None


def new_prepay_id() -> str:
    return "wx" + now_beijing().strftime("%d%H%M%S") + secrets.token_hex(13)


def _new_transaction_id() -> str:
    return "4200000000" + now_beijing().strftime("%Y%m%d") + f"{store.incr('pay:seq:txn'):010d}"


def is_expired(order: dict) -> bool:
    return bool(order.get("expires_at")) and time.time() > order["expires_at"]


def pay_order(out_trade_no: str, *, openid: str | None = None) -> dict:
    """The customer pays: NOTPAY becomes SUCCESS with a transaction_id (repeats are no-ops)."""
    order = order_get(out_trade_no)
    if order is None:
        raise PayStateError(f"no order {out_trade_no}")
    if order["trade_state"] in ("SUCCESS", "REFUND"):
        return order
    if order["trade_state"] != "NOTPAY":
        raise PayStateError(f"order {out_trade_no} is {order['trade_state']}")
    if is_expired(order):
        raise PayStateError(f"order {out_trade_no} expired at {order.get('time_expire')}")
    order.update(
        trade_state="SUCCESS",
        transaction_id=_new_transaction_id(),
        success_time=rfc3339(now_beijing()),
        openid=openid or order.get("openid"),
    )
    order_put(order)
    return order


def close_order(out_trade_no: str) -> dict:
    order = order_get(out_trade_no)
    if order is None:
        raise PayStateError(f"no order {out_trade_no}")
    if order["trade_state"] == "NOTPAY":
        order["trade_state"] = "CLOSED"
        order_put(order)
    return order


TRADE_STATE_DESC = {
    "NOTPAY": "未支付",
    "SUCCESS": "支付成功",
    "CLOSED": "已关闭",
    "REFUND": "转入退款",
}


def transaction_view(order: dict) -> dict:
    """The order as v3 query answers and notifications show it (spec 6.4)."""
    paid = order["trade_state"] in ("SUCCESS", "REFUND")
    view: dict[str, Any] = {
        "appid": order["appid"],
        "mchid": order["mchid"],
        "out_trade_no": order["out_trade_no"],
        "trade_type": "JSAPI",
        "trade_state": order["trade_state"],
        "trade_state_desc": TRADE_STATE_DESC.get(order["trade_state"], order["trade_state"]),
        "attach": order.get("attach") or "",
        "amount": {"total": order["total_fen"], "currency": "CNY", "payer_currency": "CNY"},
    }
    if paid:
        view.update(transaction_id=order["transaction_id"], bank_type="OTHERS", success_time=order["success_time"])
        view["payer"] = {"openid": order["openid"]}
        view["amount"]["payer_total"] = order["total_fen"]
    elif order.get("openid"):
        view["payer"] = {"openid": order["openid"]}
    return view


# --- refunds --------------------------------------------------------------------------------


def refund_get(out_refund_no: str) -> dict | None:
    return store.get(f"pay:refund:{out_refund_no}")


def refund_put(refund: dict) -> None:
    store.put(f"pay:refund:{refund['out_refund_no']}", refund)


def refunds_of(out_trade_no: str) -> list[dict]:
    numbers = store.get(f"pay:order-refunds:{out_trade_no}") or []
    return [r for r in (refund_get(n) for n in numbers) if r]


def refund_add(*, order: dict, out_refund_no: str, refund_fen: int, total_fen: int,
               reason: str | None, notify_url: str | None) -> tuple[dict, bool]:
    """Store a new PROCESSING refund of `order` unless `out_refund_no` is taken (atomic);
    return (the refund under that number, whether it is new). The order turns REFUND."""
    refund = {
        "out_refund_no": out_refund_no,
        "refund_id": new_refund_id(),
        "out_trade_no": order["out_trade_no"],
        "transaction_id": order["transaction_id"],
        "appid": order["appid"],
        "mchid": order["mchid"],
        "refund_fen": refund_fen,
        "total_fen": total_fen,
        "reason": reason,
        "notify_url": notify_url,
        "status": "PROCESSING",
        "create_time": rfc3339(now_beijing()),
        "success_time": None,
    }
    if not store.add(f"pay:refund:{refund['out_refund_no']}", refund):
        return refund_get(refund["out_refund_no"]), False
    key = f"pay:order-refunds:{refund['out_trade_no']}"
    store.put(key, [*(store.get(key) or []), refund["out_refund_no"]])
    order = order_get(refund["out_trade_no"])
    if order and order["trade_state"] == "SUCCESS":
        order["trade_state"] = "REFUND"
        order_put(order)
    return refund, True


def new_refund_id() -> str:
    return "50300" + now_beijing().strftime("%Y%m%d") + f"{store.incr('pay:seq:refund'):019d}"


def refunded_fen(out_trade_no: str) -> int:
    """What is refunded or being refunded (everything but CLOSED refunds)."""
    return sum(r["refund_fen"] for r in refunds_of(out_trade_no) if r["status"] != "CLOSED")


def refund_complete(out_refund_no: str, status: str = "SUCCESS") -> dict:
    """A refund reaches its end state (SUCCESS, CLOSED or ABNORMAL); repeats are no-ops."""
    refund = refund_get(out_refund_no)
    if refund is None:
        raise PayStateError(f"no refund {out_refund_no}")
    if refund["status"] == "PROCESSING":
        refund["status"] = status
        if status == "SUCCESS":
            refund["success_time"] = rfc3339(now_beijing())
        refund_put(refund)
    return refund


def refund_view(refund: dict) -> dict:
    """The refund as v3 answers show it (spec 6.7)."""
    view = {
        "refund_id": refund["refund_id"],
        "out_refund_no": refund["out_refund_no"],
        "transaction_id": refund["transaction_id"],
        "out_trade_no": refund["out_trade_no"],
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": refund["create_time"],
        "status": refund["status"],
        "funds_account": "AVAILABLE",
        "amount": {
            "total": refund["total_fen"],
            "refund": refund["refund_fen"],
            "payer_total": refund["total_fen"],
            "payer_refund": refund["refund_fen"],
            "settlement_total": refund["total_fen"],
            "settlement_refund": refund["refund_fen"],
            "discount_refund": 0,
            "currency": "CNY",
        },
    }
    if refund.get("success_time"):
        view["success_time"] = refund["success_time"]
    return view


# --- injected failures ----------------------------------------------------------------------


def fail_next(path: str, *, status: int = 500, code: str = "SYSTEM_ERROR", message: str = "系统错误",
              times: int = 1) -> None:
    """The next `times` calls to `path` (e.g. "v3/pay/transactions/jsapi", "pay/unifiedorder")
    fail: v3 with HTTP `status` and `code`, v2 with return_code SUCCESS / err_code `code`."""
    store.put(f"pay:fail:{path.lstrip('/')}", {"status": status, "code": code, "message": message, "left": times})


def take_failure(path: str) -> dict | None:
    key = f"pay:fail:{path}"
    failure = store.get(key)
    if not failure or failure["left"] <= 0:
        return None
    failure["left"] -= 1
    store.put(key, failure)
    return failure


# --- notifications --------------------------------------------------------------------------


def _record_notice(kind: str, url: str, payload: dict, status: int) -> None:
    store.record_call(api="pay", method="POST", path=f"__notify__/{kind}", query={"url": url},
                      body=payload, status=status, verdict="sent")


def _post(url: str, body: bytes, headers: dict) -> int:
    return requests.post(url, data=body, headers=headers, timeout=NOTIFY_TIMEOUT).status_code


def _post_v3(kind: str, url: str, event_type: str, summary: str, resource_type: str, plain: dict) -> int:
    resource = paycrypto.v3_encrypt_resource(
        settings.WECHAT_PAY_APIV3_KEY, plain, associated_data=resource_type, original_type=resource_type
    )
    body = json.dumps(
        {
            "id": str(uuid.uuid4()),
            "create_time": rfc3339(now_beijing()),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": resource,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")
    headers = paycrypto.v3_signed_headers(body, private_key=_sim_key(), serial=settings.WECHAT_PAY_PUBLIC_KEY_ID)
    headers["Content-Type"] = "application/json"
    status = _post(url, body, headers)
    _record_notice(kind, url, plain, status)
    return status


def send_payment_notification(out_trade_no: str) -> int:
    """POST the paid order's notification to the project's notify URL; return its HTTP status.

    v3: TRANSACTION.SUCCESS, resource sealed with the APIv3 key, headers signed with the
    simulator's key (serial = WECHAT_PAY_PUBLIC_KEY_ID). v2: XML signed with the API key by
    the order's sign_type. Which one follows WECHAT_PAY_API_VERSION."""
    order = order_get(out_trade_no)
    if order is None or order["trade_state"] not in ("SUCCESS", "REFUND"):
        raise PayStateError(f"order {out_trade_no} is not paid: call pay_order first")
    url = notify_url(NOTIFY_PATH)
    if settings.WECHAT_PAY_API_VERSION == "v3":
        plain = transaction_view({**order, "trade_state": "SUCCESS"})
        return _post_v3("payment", url, "TRANSACTION.SUCCESS", "支付成功", "transaction", plain)
    paid_at = datetime.fromisoformat(order["success_time"]).astimezone(BEIJING)
    fields = {
        "appid": order["appid"],
        "mch_id": order["mchid"],
        "nonce_str": paycrypto.nonce_str(32),
        "result_code": "SUCCESS",
        "return_code": "SUCCESS",
        "openid": order.get("openid") or "",
        "is_subscribe": "N",
        "trade_type": "JSAPI",
        "bank_type": "OTHERS",
        "total_fee": str(order["total_fen"]),
        "cash_fee": str(order["total_fen"]),
        "fee_type": "CNY",
        "transaction_id": order["transaction_id"],
        "out_trade_no": order["out_trade_no"],
        "attach": order.get("attach") or "",
        "time_end": paid_at.strftime("%Y%m%d%H%M%S"),
    }
    sign_type = order.get("sign_type") or "MD5"
    if sign_type != "MD5":
        fields["sign_type"] = sign_type
    fields["sign"] = paycrypto.v2_sign(fields, settings.WECHAT_PAY_API_KEY, sign_type)
    status = _post(url, paycrypto.v2_dict_to_xml(fields).encode("utf-8"), {"Content-Type": "text/xml"})
    _record_notice("payment", url, fields, status)
    return status


REFUND_EVENTS = {
    "SUCCESS": ("REFUND.SUCCESS", "退款成功"),
    "ABNORMAL": ("REFUND.ABNORMAL", "退款异常"),
    "CLOSED": ("REFUND.CLOSED", "退款关闭"),
}
V2_REFUND_STATUS = {"SUCCESS": "SUCCESS", "ABNORMAL": "CHANGE", "CLOSED": "REFUNDCLOSE"}


def send_refund_notification(out_refund_no: str, status: str = "SUCCESS") -> int:
    """Finish the refund (PROCESSING → `status`) and POST its notification to the project's
    refund-notify URL; return the HTTP status. v3: REFUND.* event with a sealed resource;
    v2: `req_info` (AES-256-ECB, PKCS#7/16) and no sign, as WeChat sends it."""
    refund = refund_complete(out_refund_no, status)
    if refund["status"] == "PROCESSING":
        raise PayStateError(f"refund {out_refund_no} is still processing")
    url = notify_url(REFUND_NOTIFY_PATH)
    if settings.WECHAT_PAY_API_VERSION == "v3":
        event_type, summary = REFUND_EVENTS[refund["status"]]
        plain = {
            "mchid": refund["mchid"],
            "out_trade_no": refund["out_trade_no"],
            "transaction_id": refund["transaction_id"],
            "out_refund_no": refund["out_refund_no"],
            "refund_id": refund["refund_id"],
            "refund_status": refund["status"],
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": refund["total_fen"],
                "refund": refund["refund_fen"],
                "payer_total": refund["total_fen"],
                "payer_refund": refund["refund_fen"],
            },
        }
        if refund.get("success_time"):
            plain["success_time"] = refund["success_time"]
        return _post_v3("refund", url, event_type, summary, "refund", plain)
    inner = {
        "out_refund_no": refund["out_refund_no"],
        "out_trade_no": refund["out_trade_no"],
        "refund_account": "REFUND_SOURCE_RECHARGE_FUNDS",
        "refund_fee": str(refund["refund_fen"]),
        "refund_id": refund["refund_id"],
        "refund_recv_accout": "支付用户零钱",  # sic: WeChat's spelling (spec 7)
        "refund_request_source": "API",
        "refund_status": V2_REFUND_STATUS[refund["status"]],
        "settlement_refund_fee": str(refund["refund_fen"]),
        "settlement_total_fee": str(refund["total_fen"]),
        "success_time": (
            datetime.fromisoformat(refund["success_time"]).strftime("%Y-%m-%d %H:%M:%S")
            if refund.get("success_time") else ""
        ),
        "total_fee": str(refund["total_fen"]),
        "transaction_id": refund["transaction_id"],
    }
    fields = {
        "return_code": "SUCCESS",
        "appid": refund["appid"],
        "mch_id": refund["mchid"],
        "nonce_str": paycrypto.nonce_str(32),
        "req_info": paycrypto.v2_refund_encrypt(inner, settings.WECHAT_PAY_API_KEY),
    }
    status = _post(url, paycrypto.v2_dict_to_xml(fields).encode("utf-8"), {"Content-Type": "text/xml"})
    _record_notice("refund", url, inner, status)
    return status
