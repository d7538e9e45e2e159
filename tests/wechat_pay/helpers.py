"""Building blocks for pay tests: a valid JSAPI order body and a raw v3 request signed
however a test wants (right or wrong)."""

import json
import time

import requests
from django.conf import settings

from wxbackend.wechat import paycrypto

OPENID = "oUpF8uMEb4qRXf22hE3X68TekukE"


def order_body(out_trade_no: str = "WX20261125000001", **changes) -> dict:
    body = {
        "appid": settings.WECHAT_MINIAPP_APPID,
        "mchid": settings.WECHAT_PAY_MCH_ID,
        "description": "保温杯 500ml",
        "out_trade_no": out_trade_no,
        "notify_url": "https://shop.example.com/payments/wechat/notify/",
        "amount": {"total": 100, "currency": "CNY"},
        "payer": {"openid": OPENID},
    }
    body.update(changes)
    return body


def raw_v3(
    method: str,
    path: str,
    payload: dict | None = None,
    *,
    key_path: str | None = None,
    mchid: str | None = None,
    serial: str | None = None,
    timestamp: int | None = None,
    sent_body: bytes | None = None,
    authorization: str | None = None,
) -> requests.Response:
    """Send a v3 request to the simulator, signed with `key_path` (default: the merchant's)
    over `payload`; `sent_body` replaces the bytes actually sent (to tamper after signing)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode() if payload is not None else b""
    if authorization is None:
        authorization = paycrypto.v3_authorization(
            method=method,
            url=path,
            body=body,
            mchid=mchid or settings.WECHAT_PAY_MCH_ID,
            serial_no=serial or settings.WECHAT_PAY_MCH_CERT_SERIAL,
            private_key=paycrypto.private_key_from_path(key_path or settings.WECHAT_PAY_MCH_PRIVATE_KEY_PATH),
            timestamp=int(time.time()) if timestamp is None else timestamp,
        )
    headers = {"Authorization": authorization, "Accept": "application/json"}
    if payload is not None:
        headers["Content-Type"] = "application/json"
    data = sent_body if sent_body is not None else body
    return requests.request(
        method, settings.WECHAT_PAY_API_BASE + path, data=data or None, headers=headers, timeout=10
    )
