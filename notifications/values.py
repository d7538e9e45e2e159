"""What goes into a notice's keywords: the order fields staff can map, and each value shaped
to its keyword type's limits (spec 5.2: `thing` ≤ 20 characters, `character_string` ≤ 32,
`phrase` ≤ 5 Chinese characters, amounts `¥12.30`, times `2026-11-25 14:00`). A value that
is too long is cut cleanly, never rejected by WeChat with 47003.
"""

import re
from collections.abc import Callable

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.money import yuan

# Template messages show each field to 20 characters (spec 5.1); longer values are cut there.
TEMPLATE_FIELD_CHARS = 20
ELLIPSIS = "…"
KEYWORD_NAME = re.compile(r"^([a-z_]+?)(\d+)$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NOT_CJK = re.compile(r"[^\u4e00-\u9fff]")
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x21-\x7e]")
_NOT_DIGITS = re.compile(r"[^0-9.]")
_NOT_LETTERS = re.compile(r"[^A-Za-z]")
_NOT_PHONE = re.compile(r"[^0-9+\-()]")
_SPACES = re.compile(r"\s+")

# What each event reads as in a `phrase` keyword (≤ 5 Chinese characters).
EVENT_PHRASES = {"paid": "已支付", "shipped": "已发货", "refunded": "已退款", "closed": "已关闭"}


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _goods(order) -> str:
    items = list(order.items.all())
    if not items:
        return ""
    count = sum(item.quantity for item in items)
    first = items[0].title
    return first if count == 1 else f"{first} 等{count}件"


def _event_at(order, event: str):
    return {"paid": order.paid_at, "shipped": order.shipped_at, "refunded": order.refunded_at,
            "closed": order.closed_at}.get(event)


# field name → (label for staff, value from (order, event)).
FIELDS: dict[str, tuple[str, Callable]] = {
    "order_no": (_("order number"), lambda order, event: order.order_no),
    "total": (_("order total"), lambda order, event: order.total_fen),
    "goods": (_("goods (first item and count)"), lambda order, event: _goods(order)),
    "status": (_("what happened (已支付, 已发货, …)"), lambda order, event: EVENT_PHRASES.get(event, "")),
    "event_time": (_("when it happened"), lambda order, event: _event_at(order, event)),
    "created_at": (_("ordered at"), lambda order, event: order.created_at),
    "paid_at": (_("paid at"), lambda order, event: order.paid_at),
    "shipped_at": (_("shipped at"), lambda order, event: order.shipped_at),
    "carrier": (_("carrier"), lambda order, event: order.carrier),
    "tracking_no": (_("tracking number"), lambda order, event: order.tracking_no),
    "recipient": (_("recipient"), lambda order, event: order.user_name),
    "address": (_("delivery address"), lambda order, event: order.address_text),
    "remark": (_("remark"), lambda order, event: order.remark),
}


def keyword_kind(name: str) -> str:
    """`thing1` → `thing`; ValueError for a name that is not a keyword."""
    match = KEYWORD_NAME.match(name)
    if not match:
        raise ValueError(f"{name!r} is not a template keyword (a type and a number, e.g. thing1)")
    return match.group(1)


def cut(text: str, limit: int, *, ellipsis: bool = True) -> str:
    """`text` in at most `limit` characters; a cut one ends with "…" where the type allows it."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS if ellipsis else text[:limit]


def shape(kind: str, value) -> str:
    """`value` (text, fen for amounts, a datetime for times) as keyword type `kind` takes it."""
    if value is None or value == "":
        return "-" if kind in ("thing", "name") else ""
    if kind == "amount":
        return yuan(int(value), grouping=False) if isinstance(value, int) else cut(str(value), 14, ellipsis=False)
    if kind in ("time", "date"):
        text = _local(value) if hasattr(value, "tzinfo") else str(value)
        return text[:10] if kind == "date" else text
    text = _SPACES.sub(" ", str(value)).strip()
    if kind == "thing":
        return cut(text, 20)
    if kind == "character_string":
        return cut(_NOT_PRINTABLE_ASCII.sub("", text), 32, ellipsis=False)
    if kind == "phrase":
        return cut(_NOT_CJK.sub("", text), 5, ellipsis=False)
    if kind == "number":
        return cut(_NOT_DIGITS.sub("", text), 32, ellipsis=False)
    if kind == "letter":
        return cut(_NOT_LETTERS.sub("", text), 32, ellipsis=False)
    if kind == "phone_number":
        return cut(_NOT_PHONE.sub("", text), 17, ellipsis=False)
    if kind == "name":
        return cut(text, 10 if _CJK.search(text) else 20)
    if kind == "symbol":
        return cut(text, 5, ellipsis=False)
    if kind == "car_number":
        return cut(text, 8, ellipsis=False)
    return cut(text, TEMPLATE_FIELD_CHARS)


def keyword_data(*, keywords: dict, order, event: str, template_message: bool = False) -> dict:
    """`{"thing1": {"value": "…"}, …}` for the order; unknown fields are left out. Template
    messages show 20 characters of a field, so their values are cut there too."""
    data = {}
    for name, field in keywords.items():
        if field not in FIELDS:
            continue
        value = shape(keyword_kind(name), FIELDS[field][1](order, event))
        if template_message:
            value = cut(value, TEMPLATE_FIELD_CHARS)
        data[name] = {"value": value}
    return data
