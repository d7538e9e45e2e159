"""The mini-program's shipping-information upload (发货信息管理, `wxa/sec/order/upload_shipping_info`).

The trade is found in the simulated WeChat Pay (pay_state) by transaction_id, or by mchid
and out_trade_no, and must have been paid by `payer.openid`. A trade takes one upload and
one correction (重新发货); what was uploaded is kept for tests and the page (`uploads()`).
Errcodes as WeChat answers them: 47001 for a malformed body, 10060001 支付单不存在,
10060003 支付单已使用重新发货机会, 10060004 支付单处于不可发货的状态.
"""

import time
from datetime import datetime

from wechat_simulator import pay_state, store
from wechat_simulator.mp import MINIAPP, SimError, SimRequest, endpoint

LOGISTICS_TYPES = (1, 2, 3, 4)  # express, same-city, virtual goods, pick-up by the customer
DELIVERY_MODES = (1, 2)  # everything in one go, split into several parcels
MAX_UPLOADS = 2  # the first upload and one correction


def uploads(transaction_id: str | None = None) -> list[dict]:
    """What the project uploaded, oldest first: {"transaction_id", "out_trade_no", "body", "at"}."""
    found = store.get("ship:uploads") or []
    return [u for u in found if transaction_id is None or u["transaction_id"] == transaction_id]


def _format_error(hint: str) -> SimError:
    return SimError(47001, f"data format error hint: {hint}")


def _int_in(data: dict, name: str, allowed: tuple[int, ...]) -> int:
    value = data.get(name)
    if isinstance(value, bool) or value not in allowed:
        raise _format_error(f"{name} must be one of {list(allowed)}")
    return value


def _check_shipping_list(items, logistics_type: int, delivery_mode: int) -> None:
    if not isinstance(items, list) or not 1 <= len(items) <= 10:
        raise _format_error("shipping_list must hold 1 to 10 items")
    if delivery_mode == 1 and len(items) != 1:
        raise _format_error("delivery_mode 1 ships one parcel")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("item_desc"), str) or not item["item_desc"]:
            raise _format_error("shipping_list[].item_desc missing")
        if len(item["item_desc"]) > 120:
            raise _format_error("shipping_list[].item_desc longer than 120 characters")
        if logistics_type == 1:
            for name in ("tracking_no", "express_company"):
                if not isinstance(item.get(name), str) or not item[name]:
                    raise _format_error(f"shipping_list[].{name} missing for express delivery")
        contact = item.get("contact")
        if contact is not None and not isinstance(contact, dict):
            raise _format_error("shipping_list[].contact must be an object")


def _trade(order_key) -> dict:
    if not isinstance(order_key, dict):
        raise _format_error("order_key missing")
    kind = _int_in(order_key, "order_number_type", (1, 2))
    if kind == 2:
        if not order_key.get("transaction_id"):
            raise _format_error("order_key.transaction_id missing")
        trade = pay_state.order_by_transaction(str(order_key["transaction_id"]))
    else:
        if not order_key.get("mchid") or not order_key.get("out_trade_no"):
            raise _format_error("order_key.mchid and order_key.out_trade_no missing")
        trade = pay_state.order_get(str(order_key["out_trade_no"]))
        if trade is not None and trade["mchid"] != order_key["mchid"]:
            trade = None
    if trade is None:
        raise SimError(10060001, "支付单不存在")
    return trade


@endpoint("wxa/sec/order/upload_shipping_info", app=MINIAPP)
def upload_shipping_info(sim: SimRequest) -> dict:
    data = sim.json()
    logistics_type = _int_in(data, "logistics_type", LOGISTICS_TYPES)
    delivery_mode = _int_in(data, "delivery_mode", DELIVERY_MODES)
    if delivery_mode == 2 and not isinstance(data.get("is_all_delivered"), bool):
        raise _format_error("is_all_delivered is required when delivery_mode is 2")
    _check_shipping_list(data.get("shipping_list"), logistics_type, delivery_mode)
    try:
        datetime.fromisoformat(str(data.get("upload_time") or ""))
    except ValueError:
        raise _format_error("upload_time must be RFC 3339, e.g. 2026-11-25T14:30:00+08:00")
    if "T" not in str(data["upload_time"]):
        raise _format_error("upload_time must be RFC 3339, e.g. 2026-11-25T14:30:00+08:00")
    payer = data.get("payer")
    if not isinstance(payer, dict) or not payer.get("openid"):
        raise _format_error("payer.openid missing")
    trade = _trade(data.get("order_key"))
    if trade["appid"] != sim.appid or trade.get("openid") != payer["openid"]:
        raise SimError(10060001, "支付单不存在")  # another app's trade, or another payer's
    fully_refunded = pay_state.refunded_fen(trade["out_trade_no"]) >= trade["total_fen"]
    if trade["trade_state"] not in ("SUCCESS", "REFUND") or fully_refunded:
        raise SimError(10060004, "支付单处于不可发货的状态")
    if len(uploads(trade["transaction_id"])) >= MAX_UPLOADS:
        raise SimError(10060003, "支付单已使用重新发货机会")
    store.put("ship:uploads", [*uploads(), {
        "transaction_id": trade["transaction_id"], "out_trade_no": trade["out_trade_no"], "body": data,
        "at": time.time(),
    }])
    return {"errcode": 0, "errmsg": "ok"}
