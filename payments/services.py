"""Writes of payments: preparing a payment, applying what WeChat Pay says about a trade
(notification or query), and settling unpaid orders before they close.

Lock order everywhere: the order, then its attempt (then SKUs, inside order_transition).
No lock is held across a call to WeChat Pay: an attempt is created (and committed) first,
and WeChat answers a repeat of the same out_trade_no with identical parameters with the
same prepay (spec 6.5), so two taps on "pay" make one trade.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Mapping

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from catalog.exceptions import OutOfStock
from miniprogram_api.models import Customer
from orders.models import Order
from orders.services import order_transition
from payments.exceptions import OrderAlreadyPaid, OrderNotPayable, PayRefusedError, PayUnavailableError
from payments.gateway import AlreadyPaid, BadNotification, PrepayRequest, TradeState, gateway
from payments.models import PaymentAttempt, PaymentNotification
from wxbackend.wechat.pay import PayRejected, PayUnavailable

logger = logging.getLogger(__name__)

Status = Order.Status
Verdict = PaymentNotification.Verdict
PAID_STATUSES = frozenset({Status.PAID, Status.SHIPPED, Status.COMPLETED, Status.REFUNDING, Status.REFUNDED})
# A prepay this close to its expiry is not handed out again: the customer needs time to pay.
PREPAY_MIN_LEFT = datetime.timedelta(minutes=1)
# An unpaid attempt this old is queried: a lost notification costs minutes, not an order.
QUERY_AFTER = datetime.timedelta(minutes=2)
ACTOR = "wechatpay"


def payment_deadline(order: Order) -> datetime.datetime:
    return order.created_at + datetime.timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES)


def _description(order: Order) -> str:
    items = list(order.items.all()[:2])
    first = items[0].title if items else order.order_no
    more = order.items.count() - 1
    return (f"{first} 等{more + 1}件" if more > 0 else first)[:120]


# --- paying ---------------------------------------------------------------------------------


def payment_prepare(*, order_id: int, customer_id: int, client_ip: str) -> dict:
    """The `wx.requestPayment` parameters for the customer's unpaid order.

    A pending attempt is reused: its stored parameters while the prepay has time left, or
    the same out_trade_no sent again (WeChat answers the same prepay). The trade expires with
    the order's payment deadline, so nobody pays an order after it closes. Raises
    OrderAlreadyPaid, OrderNotPayable, PayUnavailableError, PayRefusedError."""
    pay = gateway()
    now = timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id, customer_id=customer_id)
        if order.status in PAID_STATUSES:
            raise OrderAlreadyPaid()
        deadline = payment_deadline(order)
        if order.status != Status.PENDING_PAYMENT or deadline - now < PREPAY_MIN_LEFT:
            raise OrderNotPayable()
        attempt = (
            PaymentAttempt.objects.filter(order=order, status=PaymentAttempt.Status.PENDING, api_version=pay.version)
            .order_by("-id").first()
        )
        if attempt is not None and attempt.pay_params:
            return attempt.pay_params
        if attempt is None:
            openid = Customer.objects.filter(pk=customer_id).values_list("openid", flat=True).first() or ""
            number = PaymentAttempt.objects.filter(order=order).count() + 1
            attempt = PaymentAttempt.objects.create(
                order=order, out_trade_no=f"{order.order_no}{number:02d}", api_version=pay.version,
                appid=settings.WECHAT_MINIAPP_APPID, mchid=settings.WECHAT_PAY_MCH_ID, openid=openid,
                amount_fen=order.total_fen, expires_at=deadline,
            )
        description = _description(order)
    try:
        params = pay.prepay(PrepayRequest(
            out_trade_no=attempt.out_trade_no, description=description, total_fen=attempt.amount_fen,
            openid=attempt.openid, expires_at=attempt.expires_at, client_ip=client_ip or "127.0.0.1",
        ))
    except PayUnavailable as exc:
        raise PayUnavailableError(f"WeChat Pay did not answer ({exc.code}); try again.")
    except PayRejected as exc:
        if exc.code in ("ORDERPAID", "ORDER_PAID"):
            payment_trade_refresh(out_trade_no=attempt.out_trade_no)
            raise OrderAlreadyPaid()
        raise PayRefusedError(f"WeChat Pay refused the payment ({exc.code}).")
    PaymentAttempt.objects.filter(pk=attempt.pk, status=PaymentAttempt.Status.PENDING).update(
        prepay_id=params["package"].removeprefix("prepay_id="), pay_params=params, updated_at=timezone.now(),
    )
    return params


# --- what WeChat Pay says about a trade ------------------------------------------------------------


def payment_trade_apply(*, trade: TradeState, source: str,
                        record: PaymentNotification | None = None) -> tuple[str, str]:
    """Apply a paid trade (from a notification or a query) to its attempt and order, once.

    Checks mchid, appid and amount against the attempt (a mismatch changes nothing).
    Pays the order; an order closed meanwhile is paid if its stock can be taken again,
    else the money goes back automatically; a second paid attempt of a paid order is
    refunded. `record` (the notification) is stored with the verdict, in the transaction
    that applies it. Returns (verdict, detail).

    A duplicate (WeChat's retries, concurrent deliveries) costs one statement and no lock:
    an attempt's `paid` is final and its amount, appid and mchid never change."""
    from payments.refunds import refund_start

    if record is not None and trade.is_paid:
        stored = _store_if_duplicate(record, trade)
        if stored is not None:
            return stored
    attempt = PaymentAttempt.objects.filter(out_trade_no=trade.out_trade_no).first()
    if attempt is None:
        return _store(record, Verdict.UNKNOWN, f"no attempt {trade.out_trade_no}")
    problems = [
        f"{name} {theirs!r} ≠ {ours!r}"
        for name, theirs, ours in (
            ("mchid", trade.mchid, attempt.mchid),
            ("appid", trade.appid, attempt.appid),
            ("amount", trade.total_fen, attempt.amount_fen),
        )
        if theirs != ours
    ]
    if problems:
        logger.error("payment does not match its attempt", extra={"event": {
            "out_trade_no": attempt.out_trade_no, "problems": problems}})
        return _store(record, Verdict.MISMATCH, "; ".join(problems), attempt)
    if not trade.is_paid:
        return _store(record, Verdict.FAILED, f"trade is {trade.state}", attempt)
    if attempt.status == PaymentAttempt.Status.PAID:
        return _store(record, Verdict.DUPLICATE, f"already applied ({attempt.transaction_id})", attempt)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=attempt.order_id)
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
        if attempt.status == PaymentAttempt.Status.PAID:  # a concurrent delivery won
            return _store(record, Verdict.DUPLICATE, f"already applied ({attempt.transaction_id})", attempt)
        attempt.status = PaymentAttempt.Status.PAID
        attempt.transaction_id = trade.transaction_id
        attempt.paid_at = trade.paid_at or timezone.now()
        attempt.save(update_fields=["status", "transaction_id", "paid_at", "updated_at"])
        reason = f"paid, transaction {trade.transaction_id} ({source})"
        if order.status == Status.PENDING_PAYMENT:
            order_transition(order_id=order.pk, to=Status.PAID, actor=ACTOR, reason=reason)
            return _store(record, Verdict.APPLIED, "order paid", attempt)
        if order.status == Status.CLOSED:
            try:
                with transaction.atomic():  # a savepoint: short stock undoes only this
                    order_transition(order_id=order.pk, to=Status.PAID, actor=ACTOR,
                                     reason=f"{reason}; paid after closing, stock taken again")
                return _store(record, Verdict.LATE, "paid after the order closed: stock taken again, order paid",
                              attempt)
            except OutOfStock:
                refund_start(order_id=order.pk, attempt_id=attempt.pk, amount_fen=attempt.amount_fen,
                             reason="订单已关闭且库存不足，自动退款", requested_by="system:late_payment",
                             moves_order=False)
                return _store(record, Verdict.LATE,
                              "paid after the order closed, stock gone: refunded automatically", attempt)
        refund_start(order_id=order.pk, attempt_id=attempt.pk, amount_fen=attempt.amount_fen,
                     reason="重复支付，自动退款", requested_by="system:double_payment", moves_order=False)
        return _store(record, Verdict.LATE,
                      f"order was {order.status} already: this payment is refunded automatically", attempt)


# WeChat's retries of a payment already applied, stored in one statement: the paid attempt
# that matches the trade (number, merchant, app, amount) is found and the notification
# inserted as its duplicate in one round trip. No row: not a plain duplicate, and the full
# path decides (the notification is not stored here then).
_DUPLICATE_SQL = """
WITH paid AS (
    SELECT id, transaction_id FROM payments_paymentattempt
    WHERE out_trade_no = %(out_trade_no)s AND status = %(paid)s
      AND mchid = %(mchid)s AND appid = %(appid)s AND amount_fen = %(amount_fen)s
)
INSERT INTO payments_paymentnotification
    (kind, api_version, notice_id, out_trade_no, out_refund_no, attempt_id, headers, body, verdict,
     detail, received_at)
SELECT %(kind)s, %(api_version)s, %(notice_id)s, %(out_trade_no)s, %(out_refund_no)s, paid.id,
       %(headers)s::jsonb, %(body)s, %(verdict)s, left('already applied (' || paid.transaction_id || ')', 500),
       now()
FROM paid
RETURNING id, attempt_id, detail, received_at
"""


def _store_if_duplicate(record: PaymentNotification, trade: TradeState) -> tuple[str, str] | None:
    with connection.cursor() as cursor:
        cursor.execute(_DUPLICATE_SQL, {
            "out_trade_no": trade.out_trade_no, "paid": PaymentAttempt.Status.PAID.value, "mchid": trade.mchid,
            "appid": trade.appid, "amount_fen": trade.total_fen, "kind": record.kind,
            "api_version": record.api_version, "notice_id": record.notice_id,
            "out_refund_no": record.out_refund_no, "headers": json.dumps(record.headers), "body": record.body,
            "verdict": Verdict.DUPLICATE.value,
        })
        row = cursor.fetchone()
    if row is None:
        return None
    record.pk, record.attempt_id, record.detail, record.received_at = row
    record.verdict = Verdict.DUPLICATE
    record._state.adding = False
    return record.verdict, record.detail


def _store(record: PaymentNotification | None, verdict: str, detail: str,
           attempt: PaymentAttempt | None = None) -> tuple[str, str]:
    """Save the notification with its verdict (one INSERT), if there is one."""
    if record is not None:
        record.verdict, record.detail, record.attempt = verdict, detail[:500], attempt
        record.save()
    return verdict, detail


def payment_notification_receive(*, headers: Mapping[str, str], body: bytes) -> PaymentNotification:
    """Verify a payment notification, apply it and store it with its verdict (in the
    transaction that applies it); return the stored record.

    Whatever the verdict, the notification is stored before it is answered; if it could not
    be stored the caller answers a failure and WeChat sends it again."""
    pay = gateway()
    record = PaymentNotification(
        kind=PaymentNotification.Kind.PAYMENT, api_version=pay.version, headers=_wechat_headers(headers),
        body=body.decode("utf-8", "replace"),
    )
    try:
        notice = pay.parse_payment_notification(headers, body)
    except BadNotification as exc:
        _store(record, Verdict.REJECTED, str(exc))
        return record
    record.notice_id, record.out_trade_no = notice.notice_id[:128], notice.trade.out_trade_no[:32]
    try:
        payment_trade_apply(trade=notice.trade, source=f"notification {notice.notice_id}", record=record)
    except Exception as exc:
        logger.exception("payment notification could not be applied", extra={"event": {"notice": notice.notice_id}})
        record.pk = None
        _store(record, Verdict.FAILED, type(exc).__name__)
    return record


def _verdict(record: PaymentNotification, verdict: str, detail: str) -> PaymentNotification:
    record.verdict, record.detail = verdict, detail[:500]
    record.save()
    return record


WECHAT_HEADERS = ("wechatpay-timestamp", "wechatpay-nonce", "wechatpay-serial", "wechatpay-signature",
                  "wechatpay-signature-type", "content-type", "request-id")


def _wechat_headers(headers: Mapping[str, str]) -> dict:
    """The headers a replay needs (and no cookies or proxies' additions)."""
    found = {}
    for key, value in headers.items():
        name = str(key).lower()
        if name.startswith("http_"):
            name = name[5:].replace("_", "-")
        if name in WECHAT_HEADERS:
            found[name] = str(value)[:1024]
    return found


# --- settling unpaid orders -------------------------------------------------------------------


def payment_trade_refresh(*, out_trade_no: str) -> str:
    """Ask WeChat Pay about one trade and apply a payment it reports; returns its state."""
    trade = gateway().query(out_trade_no)
    if trade.is_paid:
        payment_trade_apply(trade=trade, source="query")
    return trade.state


def payment_attempts_close(*, order_id: int) -> bool:
    """Close the order's pending WeChat trades (an order closing, or expired).

    Each trade is queried first: a payment found is applied (the order may then be paid
    after all). Returns True when every trade is closed and none was paid."""
    pay = gateway()
    clean = True
    for attempt in PaymentAttempt.objects.filter(order_id=order_id, status=PaymentAttempt.Status.PENDING):
        if payment_trade_refresh(out_trade_no=attempt.out_trade_no) in ("SUCCESS", "REFUND"):
            clean = False
            continue
        try:
            pay.close(attempt.out_trade_no)
        except AlreadyPaid:  # paid between the query and the close
            payment_trade_refresh(out_trade_no=attempt.out_trade_no)
            clean = False
            continue
        PaymentAttempt.objects.filter(pk=attempt.pk, status=PaymentAttempt.Status.PENDING).update(
            status=PaymentAttempt.Status.CLOSED, updated_at=timezone.now())
    return clean


def payments_settle(*, now: datetime.datetime | None = None, batch_size: int = 100) -> dict:
    """The minute's sweep (beat): unpaid orders past their deadline have their trades
    queried and closed, then close (orders.order_close_unpaid); pending attempts older
    than two minutes are queried, so that a lost notification pays its order anyway.
    Restart-safe: the database and WeChat Pay are the only state. Returns counts."""
    from orders.services import order_close_unpaid

    now = now or timezone.now()
    cutoff = now - datetime.timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES)
    expired = list(
        PaymentAttempt.objects.filter(status=PaymentAttempt.Status.PENDING, order__status=Status.PENDING_PAYMENT,
                                      order__created_at__lt=cutoff)
        .values_list("order_id", flat=True).distinct()[:batch_size]
    )
    settled = 0
    for order_id in expired:
        try:
            payment_attempts_close(order_id=order_id)
            settled += 1
        except (PayUnavailable, PayRejected) as exc:  # left open: the order waits for the next run
            logger.warning("could not settle an expired order's trades", extra={"event": {
                "order": order_id, "code": exc.code}})
    queried = 0
    for out_trade_no in (
        PaymentAttempt.objects.filter(status=PaymentAttempt.Status.PENDING, order__status=Status.PENDING_PAYMENT,
                                      created_at__lt=now - QUERY_AFTER, order__created_at__gte=cutoff)
        .values_list("out_trade_no", flat=True)[:batch_size]
    ):
        try:
            payment_trade_refresh(out_trade_no=out_trade_no)
            queried += 1
        except (PayUnavailable, PayRejected):
            pass
    # Orders whose trades could not be settled keep a pending attempt and stay open.
    blocked = PaymentAttempt.objects.filter(status=PaymentAttempt.Status.PENDING).values("order_id")
    closed = order_close_unpaid(batch_size=batch_size, exclude_order_ids=blocked)
    return {"settled": settled, "queried": queried, "closed": closed}
