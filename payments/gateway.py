"""WeChat Pay for the shop: one small interface, a v3 and a v2 implementation.

`gateway()` picks the implementation by WECHAT_PAY_API_VERSION. Both speak the dataclasses
below in integer fen and aware datetimes, so `payments.services` never sees a wire format.
The transport, signatures and keys live in `wxbackend/wechat/pay.py` and `paycrypto.py`;
this module maps the shop's questions onto them (spec 6 and 7 of wechat-spec.md).

Errors: PayUnavailable (transient: retry with the same parameters), PayRejected (WeChat
said no), BadNotification (a notification that is not WeChat's: refuse, change nothing),
AlreadyPaid (closing a trade that was paid meanwhile).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol
from urllib.parse import urlsplit

from django.conf import settings

from wxbackend.wechat import paycrypto
from wxbackend.wechat.pay import (
    REFUND_NOTIFY_PATH,
    SESSION,
    PayRejected,
    PayUnavailable,
    notify_url,
    pay_url,
    pay_v2_client,
    timeouts,
    v3_request,
)

BEIJING = datetime.timezone(datetime.timedelta(hours=8), "Asia/Shanghai")


class BadNotification(Exception):
    """Not a genuine, readable WeChat Pay notification: refused, nothing changed."""


class AlreadyPaid(Exception):
    """Closing a trade that WeChat says is paid: query it and pay the order instead."""


@dataclass(frozen=True)
class PrepayRequest:
    out_trade_no: str
    description: str
    total_fen: int
    openid: str
    expires_at: datetime.datetime
    client_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class TradeState:
    """A trade as WeChat knows it (query answer or payment notification)."""

    out_trade_no: str
    state: str  # SUCCESS, NOTPAY, CLOSED, REFUND, REVOKED, USERPAYING, PAYERROR
    transaction_id: str = ""
    total_fen: int = 0
    appid: str = ""
    mchid: str = ""
    openid: str = ""
    paid_at: datetime.datetime | None = None

    @property
    def is_paid(self) -> bool:
        return self.state in ("SUCCESS", "REFUND")


@dataclass(frozen=True)
class RefundState:
    out_refund_no: str
    status: str  # SUCCESS, PROCESSING, CLOSED, ABNORMAL
    refund_id: str = ""
    out_trade_no: str = ""
    refund_fen: int = 0
    total_fen: int = 0
    mchid: str = ""
    appid: str = ""
    succeeded_at: datetime.datetime | None = None


@dataclass(frozen=True)
class Notification:
    """A verified notification. `notice_id` is unique per event (v3 `id`; v2: the trade's
    transaction_id or the refund's refund_id and status)."""

    kind: str  # "payment" or "refund"
    notice_id: str
    trade: TradeState | None = None
    refund: RefundState | None = None
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BillRow:
    transaction_id: str
    out_trade_no: str
    state: str  # SUCCESS, REFUND, ... as the bill says
    total_fen: int
    refund_fen: int
    paid_at: datetime.datetime | None


class PayGateway(Protocol):
    version: str

    def prepay(self, request: PrepayRequest) -> dict: ...
    def query(self, out_trade_no: str) -> TradeState: ...
    def close(self, out_trade_no: str) -> None: ...
    def refund(self, *, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int,
               reason: str) -> RefundState: ...
    def refund_query(self, out_refund_no: str) -> RefundState: ...
    def parse_payment_notification(self, headers: Mapping[str, str], body: bytes) -> Notification: ...
    def parse_refund_notification(self, headers: Mapping[str, str], body: bytes) -> Notification: ...
    def trade_bill(self, day: datetime.date) -> list[BillRow]: ...


def gateway() -> PayGateway:
    return V2Gateway() if settings.WECHAT_PAY_API_VERSION == "v2" else V3Gateway()


def _fen(value: Any) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


def _yuan_to_fen(text: str) -> int:
    """Bills carry yuan ("129.00"): exact, no float."""
    try:
        return int((Decimal(text.strip().lstrip("`") or "0") * 100).to_integral_value())
    except InvalidOperation:
        return 0


def _rfc3339(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value)
    except ValueError:
        return None


def _beijing(value: str, fmt: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(value, fmt).replace(tzinfo=BEIJING)
    except (TypeError, ValueError):
        return None


def _parse_bill(text: str) -> list[BillRow]:
    """The backtick CSV of a trade bill (6.9, 7): header, rows, then a summary block."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    index = {name: n for n, name in enumerate(header)}
    needed = ("交易时间", "微信订单号", "商户订单号", "交易状态", "应结订单金额")
    if any(name not in index for name in needed):
        return []
    out = []
    for row in rows[1:]:
        if not row or not row[0].startswith("`"):
            break  # the summary block
        cell = {name: row[n].strip().lstrip("`") for name, n in index.items() if n < len(row)}
        out.append(BillRow(
            transaction_id=cell.get("微信订单号", ""),
            out_trade_no=cell.get("商户订单号", ""),
            state=cell.get("交易状态", ""),
            total_fen=_yuan_to_fen(cell.get("应结订单金额", "0")),
            refund_fen=_yuan_to_fen(cell.get("退款金额", "0")),
            paid_at=_beijing(cell.get("交易时间", ""), "%Y-%m-%d %H:%M:%S"),
        ))
    return out


# --- API v3 -------------------------------------------------------------------------------------


class V3Gateway:
    version = "v3"

    def prepay(self, request: PrepayRequest) -> dict:
        """Create (or, with identical parameters, get back) the JSAPI trade; return the
        `wx.requestPayment` parameters signed with the merchant key (6.5)."""
        appid = settings.WECHAT_MINIAPP_APPID
        _, answer = v3_request("POST", "/v3/pay/transactions/jsapi", json={
            "appid": appid,
            "mchid": settings.WECHAT_PAY_MCH_ID,
            "description": request.description[:127],
            "out_trade_no": request.out_trade_no,
            "time_expire": request.expires_at.astimezone(BEIJING).isoformat(timespec="seconds"),
            "notify_url": notify_url(),
            "amount": {"total": request.total_fen, "currency": "CNY"},
            "payer": {"openid": request.openid},
        })
        prepay_id = str(answer.get("prepay_id") or "")
        if not prepay_id:
            raise PayUnavailable("NO_PREPAY_ID", "jsapi answered without a prepay_id")
        timestamp, nonce, package = str(int(time.time())), paycrypto.nonce_str(32), f"prepay_id={prepay_id}"
        from wxbackend.wechat.pay import merchant_private_key

        return {
            "appId": appid, "timeStamp": timestamp, "nonceStr": nonce, "package": package, "signType": "RSA",
            "paySign": paycrypto.v3_pay_sign(merchant_private_key(), app_id=appid, timestamp=timestamp,
                                             nonce=nonce, package=package),
        }

    def query(self, out_trade_no: str) -> TradeState:
        try:
            _, answer = v3_request("GET", f"/v3/pay/transactions/out-trade-no/{out_trade_no}",
                                   params={"mchid": settings.WECHAT_PAY_MCH_ID})
        except PayRejected as exc:
            if exc.code == "ORDER_NOT_EXIST":
                return TradeState(out_trade_no=out_trade_no, state="NOTPAY")
            raise
        return self._trade(answer)

    @staticmethod
    def _trade(data: Mapping[str, Any]) -> TradeState:
        amount = data.get("amount") if isinstance(data.get("amount"), dict) else {}
        payer = data.get("payer") if isinstance(data.get("payer"), dict) else {}
        return TradeState(
            out_trade_no=str(data.get("out_trade_no") or ""), state=str(data.get("trade_state") or ""),
            transaction_id=str(data.get("transaction_id") or ""), total_fen=_fen(amount.get("total")),
            appid=str(data.get("appid") or ""), mchid=str(data.get("mchid") or ""),
            openid=str(payer.get("openid") or ""), paid_at=_rfc3339(data.get("success_time")),
        )

    def close(self, out_trade_no: str) -> None:
        try:
            v3_request("POST", f"/v3/pay/transactions/out-trade-no/{out_trade_no}/close",
                       json={"mchid": settings.WECHAT_PAY_MCH_ID})
        except PayRejected as exc:
            if exc.code in ("ORDERPAID", "ORDER_PAID"):
                raise AlreadyPaid(out_trade_no)
            if exc.code != "ORDER_NOT_EXIST":  # never created at WeChat: nothing to close
                raise

    def refund(self, *, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int,
               reason: str) -> RefundState:
        _, answer = v3_request("POST", "/v3/refund/domestic/refunds", json={
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "reason": reason.encode("utf-8")[:80].decode("utf-8", "ignore"),
            "notify_url": notify_url(REFUND_NOTIFY_PATH),
            "amount": {"refund": refund_fen, "total": total_fen, "currency": "CNY"},
        })
        return self._refund(answer)

    def refund_query(self, out_refund_no: str) -> RefundState:
        """Where a refund stands (6.7): PayRejected RESOURCE_NOT_EXISTS if WeChat never got it."""
        _, answer = v3_request("GET", f"/v3/refund/domestic/refunds/{out_refund_no}")
        return self._refund(answer)

    @staticmethod
    def _refund(data: Mapping[str, Any]) -> RefundState:
        amount = data.get("amount") if isinstance(data.get("amount"), dict) else {}
        return RefundState(
            out_refund_no=str(data.get("out_refund_no") or ""),
            status=str(data.get("status") or data.get("refund_status") or ""),
            refund_id=str(data.get("refund_id") or ""), out_trade_no=str(data.get("out_trade_no") or ""),
            refund_fen=_fen(amount.get("refund")), total_fen=_fen(amount.get("total")),
            mchid=str(data.get("mchid") or ""), succeeded_at=_rfc3339(data.get("success_time")),
        )

    def _open(self, headers: Mapping[str, str], body: bytes, original_type: str) -> tuple[dict, dict]:
        """Verify the signature and timestamp first (6.3), then parse and decrypt (6.4)."""
        import json

        try:
            paycrypto.v3_verify(headers, body)
        except paycrypto.PayCryptoError as exc:
            raise BadNotification(f"signature: {exc}")
        try:
            envelope = json.loads(body)
            resource = envelope["resource"]
            if not isinstance(resource, dict) or resource.get("original_type") != original_type:
                raise ValueError("not a resource of the expected type")
            plain = paycrypto.v3_decrypt_resource(settings.WECHAT_PAY_APIV3_KEY, resource)
        except (ValueError, KeyError, TypeError, paycrypto.PayCryptoError) as exc:
            raise BadNotification(f"resource: {exc}")
        if not str(envelope.get("id") or ""):
            raise BadNotification("notification without an id")
        return envelope, plain

    def parse_payment_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        envelope, plain = self._open(headers, body, "transaction")
        return Notification(kind="payment", notice_id=str(envelope["id"]), trade=self._trade(plain),
                            payload={"event_type": envelope.get("event_type"), "resource": plain})

    def parse_refund_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        envelope, plain = self._open(headers, body, "refund")
        return Notification(kind="refund", notice_id=str(envelope["id"]), refund=self._refund(plain),
                            payload={"event_type": envelope.get("event_type"), "resource": plain})

    def trade_bill(self, day: datetime.date) -> list[BillRow]:
        try:
            _, answer = v3_request("GET", "/v3/bill/tradebill",
                                   params={"bill_date": day.isoformat(), "bill_type": "ALL"})
        except PayRejected as exc:
            if exc.code == "NO_STATEMENT_EXIST":  # no trade that day: an empty bill (6.9)
                return []
            raise
        download = str(answer.get("download_url") or "")
        if not download:
            raise PayUnavailable("NO_DOWNLOAD_URL", "tradebill answered without a download_url")
        # Signed like any v3 call (its path and query), answered unsigned (6.9): fetch it
        # through the configured base, whatever host WeChat names.
        parts = urlsplit(download)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        text = _v3_download(path)
        expected = str(answer.get("hash_value") or "").lower()
        if expected and hashlib.sha1(text.encode("utf-8")).hexdigest() != expected:  # noqa: S324 - WeChat's choice
            raise PayUnavailable("BILL_HASH_MISMATCH", "the bill's SHA-1 does not match hash_value")
        return _parse_bill(text)


def _v3_download(path_and_query: str) -> str:
    from wxbackend.wechat.pay import _transport_errors, merchant_private_key

    headers = {
        "Authorization": paycrypto.v3_authorization(
            method="GET", url=path_and_query, body=b"", mchid=settings.WECHAT_PAY_MCH_ID,
            serial_no=settings.WECHAT_PAY_MCH_CERT_SERIAL, private_key=merchant_private_key(),
        ),
    }
    with _transport_errors(path_and_query.split("?", 1)[0]):
        response = SESSION.get(pay_url(path_and_query), headers=headers, timeout=timeouts())
    if response.status_code >= 500:
        raise PayUnavailable(f"HTTP_{response.status_code}", http_status=response.status_code)
    if response.status_code >= 400:
        raise PayRejected(f"HTTP_{response.status_code}", http_status=response.status_code)
    return response.content.decode("utf-8")


# --- API v2 -------------------------------------------------------------------------------------


V2_TRADE_STATES = {"SUCCESS", "REFUND", "NOTPAY", "CLOSED", "REVOKED", "USERPAYING", "PAYERROR"}
# v2's refund statuses (refundquery, the refund notification) in v3's words.
V2_REFUND_STATUS = {"SUCCESS": "SUCCESS", "PROCESSING": "PROCESSING", "CHANGE": "ABNORMAL", "REFUNDCLOSE": "CLOSED"}


class V2Gateway:
    version = "v2"
    sign_type = "MD5"

    def prepay(self, request: PrepayRequest) -> dict:
        client = pay_v2_client()
        answer = client.order.create(
            trade_type="JSAPI", body=request.description.encode("utf-8")[:127].decode("utf-8", "ignore"),
            total_fee=request.total_fen, notify_url=notify_url(), client_ip=request.client_ip,
            user_id=request.openid, out_trade_no=request.out_trade_no,
            time_expire=request.expires_at.astimezone(BEIJING).replace(tzinfo=None),
        )
        prepay_id = str(answer.get("prepay_id") or "")
        if not prepay_id:
            raise PayUnavailable("NO_PREPAY_ID", "unifiedorder answered without a prepay_id")
        params = {
            "appId": settings.WECHAT_MINIAPP_APPID, "timeStamp": str(int(time.time())),
            "nonceStr": paycrypto.nonce_str(32), "package": f"prepay_id={prepay_id}", "signType": self.sign_type,
        }
        # Signed with the key and sign type of the unifiedorder call (spec 7, V11/V12).
        params["paySign"] = paycrypto.v2_sign(params, settings.WECHAT_PAY_API_KEY, self.sign_type)
        return params

    def query(self, out_trade_no: str) -> TradeState:
        try:
            data = pay_v2_client().order.query(out_trade_no=out_trade_no)
        except PayRejected as exc:
            if exc.code == "ORDERNOTEXIST":
                return TradeState(out_trade_no=out_trade_no, state="NOTPAY")
            raise
        return self._trade(data)

    @staticmethod
    def _trade(data: Mapping[str, Any]) -> TradeState:
        state = str(data.get("trade_state") or ("SUCCESS" if data.get("result_code") == "SUCCESS" else ""))
        return TradeState(
            out_trade_no=str(data.get("out_trade_no") or ""), state=state,
            transaction_id=str(data.get("transaction_id") or ""), total_fen=_fen(data.get("total_fee")),
            appid=str(data.get("appid") or ""), mchid=str(data.get("mch_id") or ""),
            openid=str(data.get("openid") or ""), paid_at=_beijing(str(data.get("time_end") or ""), "%Y%m%d%H%M%S"),
        )

    def close(self, out_trade_no: str) -> None:
        try:
            pay_v2_client().order.close(out_trade_no=out_trade_no)
        except PayRejected as exc:
            if exc.code == "ORDERPAID":
                raise AlreadyPaid(out_trade_no)
            if exc.code not in ("ORDERNOTEXIST", "ORDERCLOSED"):
                raise

    def refund(self, *, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int,
               reason: str) -> RefundState:
        data = pay_v2_client().refund.apply(
            total_fee=total_fen, refund_fee=refund_fen, out_refund_no=out_refund_no, out_trade_no=out_trade_no,
            notify_url=notify_url(REFUND_NOTIFY_PATH),
            refund_desc=reason.encode("utf-8")[:80].decode("utf-8", "ignore") or None,
        )
        return RefundState(
            out_refund_no=str(data.get("out_refund_no") or out_refund_no), status="PROCESSING",
            refund_id=str(data.get("refund_id") or ""), out_trade_no=str(data.get("out_trade_no") or out_trade_no),
            refund_fen=_fen(data.get("refund_fee")), total_fen=_fen(data.get("total_fee")),
            mchid=str(data.get("mch_id") or ""), appid=str(data.get("appid") or ""),
        )

    def refund_query(self, out_refund_no: str) -> RefundState:
        """Where a refund stands (`pay/refundquery`, spec 7): the answer lists the trade's
        refunds with a suffix `_n`; ours is the one with our out_refund_no. PayRejected
        REFUNDNOTEXIST if WeChat never got it."""
        data = pay_v2_client().refund.query(out_refund_no=out_refund_no)
        count = _fen(data.get("refund_count"))
        for n in range(max(count, 1)):
            if data.get(f"out_refund_no_{n}") == out_refund_no:
                break
        else:
            raise PayRejected("REFUNDNOTEXIST", f"{out_refund_no} not in the answer")
        return RefundState(
            out_refund_no=out_refund_no, status=V2_REFUND_STATUS.get(data.get(f"refund_status_{n}", ""), "PROCESSING"),
            refund_id=str(data.get(f"refund_id_{n}") or ""), out_trade_no=str(data.get("out_trade_no") or ""),
            refund_fen=_fen(data.get(f"refund_fee_{n}")), total_fen=_fen(data.get("total_fee")),
            mchid=str(data.get("mch_id") or ""), appid=str(data.get("appid") or ""),
            succeeded_at=_beijing(str(data.get(f"refund_success_time_{n}") or ""), "%Y-%m-%d %H:%M:%S"),
        )

    @staticmethod
    def _fields(body: bytes) -> dict[str, str]:
        try:
            return paycrypto.v2_xml_to_dict(body)
        except paycrypto.PayCryptoError as exc:
            raise BadNotification(f"xml: {exc}")

    def parse_payment_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        data = self._fields(body)
        if data.get("return_code") != "SUCCESS":  # unsigned by nature, and refused whatever it says
            raise BadNotification(_return_fail(data))
        try:  # by the notification's own sign_type (pitfall 9: wechatpy assumes MD5)
            paycrypto.v2_verify(data, settings.WECHAT_PAY_API_KEY)
        except paycrypto.PayCryptoError as exc:
            raise BadNotification(f"signature: {exc}")
        if data.get("result_code") != "SUCCESS":
            raise BadNotification(f"result_fail: {data.get('err_code') or '-'} {data.get('err_code_des', '')}".strip())
        trade = self._trade({**data, "trade_state": "SUCCESS"})
        if not trade.transaction_id:
            raise BadNotification("no transaction_id")
        return Notification(kind="payment", notice_id=f"v2:{trade.transaction_id}", trade=trade, payload=data)

    def parse_refund_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        data = self._fields(body)
        if data.get("return_code") != "SUCCESS":
            raise BadNotification(_return_fail(data))
        if not data.get("req_info"):
            raise BadNotification("no req_info")
        if data.get("mch_id") != settings.WECHAT_PAY_MCH_ID:
            raise BadNotification("another merchant's notification")
        try:  # no sign: only a holder of the API key can seal req_info (spec 7, V14)
            inner = paycrypto.v2_refund_decrypt(data["req_info"], settings.WECHAT_PAY_API_KEY)
        except paycrypto.PayCryptoError as exc:
            raise BadNotification(f"req_info: {exc}")
        status = V2_REFUND_STATUS.get(inner.get("refund_status", ""), "PROCESSING")
        refund = RefundState(
            out_refund_no=inner.get("out_refund_no", ""), status=status, refund_id=inner.get("refund_id", ""),
            out_trade_no=inner.get("out_trade_no", ""), refund_fen=_fen(inner.get("refund_fee")),
            total_fen=_fen(inner.get("total_fee")), mchid=data.get("mch_id", ""), appid=data.get("appid", ""),
            succeeded_at=_beijing(inner.get("success_time", ""), "%Y-%m-%d %H:%M:%S"),
        )
        return Notification(kind="refund", notice_id=f"v2:{refund.refund_id}:{status}", refund=refund,
                            payload={**{k: v for k, v in data.items() if k != "req_info"}, "req_info": inner})

    def trade_bill(self, day: datetime.date) -> list[BillRow]:
        params = {
            "appid": settings.WECHAT_MINIAPP_APPID, "mch_id": settings.WECHAT_PAY_MCH_ID,
            "nonce_str": paycrypto.nonce_str(32), "bill_date": day.strftime("%Y%m%d"), "bill_type": "ALL",
        }
        params["sign"] = paycrypto.v2_sign(params, settings.WECHAT_PAY_API_KEY)
        from wxbackend.wechat.pay import _transport_errors

        with _transport_errors("pay/downloadbill"):
            response = SESSION.post(pay_url("pay/downloadbill"), data=paycrypto.v2_dict_to_xml(params).encode(),
                                    headers={"Content-Type": "text/xml"}, timeout=timeouts())
        text = response.content.decode("utf-8")
        if text.lstrip().startswith("<xml"):
            fields = self._fields(response.content)
            if "No Bill Exist" in fields.get("return_msg", "") or fields.get("error_code") == "20002":
                return []
            raise PayRejected("BILL_FAIL", fields.get("return_msg", ""))
        return _parse_bill(text)


def _return_fail(data: Mapping[str, str]) -> str:
    """A v2 return_code FAIL, recorded as our stable code, then WeChat's free text."""
    from wxbackend.wechat.pay import RETURN_FAIL

    return f"{RETURN_FAIL}: {data.get('return_msg', '')}".strip()


def new_out_no(prefix: str) -> str:
    """A fresh out_trade_no / out_refund_no: prefix, Beijing time to the second, 8 random
    characters (≤ 32, [0-9A-Za-z])."""
    return f"{prefix}{datetime.datetime.now(BEIJING):%Y%m%d%H%M%S}{secrets.token_hex(4).upper()}"[:32]
