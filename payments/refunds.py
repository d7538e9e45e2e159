"""Refunds: recorded under the order's lock (the refunded total never exceeds what was
paid), sent to WeChat Pay by the outbox, finished by WeChat's refund notification (or a
query). A full refund moves the order refunding → refunded; a partial one keeps its status."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from orders.models import Order
from orders.services import order_transition
from payments.exceptions import NothingToRefund, RefundExceedsPaid
from payments.gateway import BadNotification, RefundState, gateway, new_out_no
from payments.models import PaymentAttempt, PaymentNotification, Refund
from wxbackend.outbox import outbox_put
from wxbackend.wechat.pay import PayRejected

logger = logging.getLogger(__name__)

OPEN = (Refund.Status.PENDING, Refund.Status.PROCESSING, Refund.Status.SUCCEEDED, Refund.Status.ABNORMAL)
REFUND_STATUS = {
    "SUCCESS": Refund.Status.SUCCEEDED, "PROCESSING": Refund.Status.PROCESSING,
    "CLOSED": Refund.Status.CLOSED, "ABNORMAL": Refund.Status.ABNORMAL,
}


def refunded_fen(*, attempt_id: int) -> int:
    """What is refunded or on its way back for one payment (closed and refused refunds not)."""
    total = Refund.objects.filter(attempt_id=attempt_id, status__in=OPEN).aggregate(total=Sum("amount_fen"))["total"]
    return total or 0


@transaction.atomic
def refund_start(*, order_id: int, amount_fen: int, reason: str, requested_by: str,
                 attempt_id: int | None = None, moves_order: bool = True) -> Refund:
    """Record a refund of `amount_fen` of the order's payment and send it after commit.

    Locks the order, then the payment; raises NothingToRefund without a paid payment,
    RefundExceedsPaid when the refunds would pass what was paid. With `moves_order`, a
    refund of everything left moves the order to `refunding` (automatic refunds of a payment
    the order did not keep pass False)."""
    order = Order.objects.select_for_update().get(pk=order_id)
    attempts = PaymentAttempt.objects.select_for_update().filter(order_id=order_id, status=PaymentAttempt.Status.PAID)
    attempt = attempts.filter(pk=attempt_id).first() if attempt_id else attempts.order_by("paid_at", "id").first()
    if attempt is None:
        raise NothingToRefund()
    already = refunded_fen(attempt_id=attempt.pk)
    if amount_fen <= 0 or already + amount_fen > attempt.amount_fen:
        raise RefundExceedsPaid(
            f"Paid ¥{attempt.amount_fen / 100:.2f}, refunded ¥{already / 100:.2f}: at most "
            f"¥{(attempt.amount_fen - already) / 100:.2f} can still go back."
        )
    is_full = already + amount_fen == attempt.amount_fen
    refund = Refund.objects.create(
        order=order, attempt=attempt, out_refund_no=new_out_no("R"), amount_fen=amount_fen,
        reason=reason.encode("utf-8")[:80].decode("utf-8", "ignore"), is_full=is_full,
        requested_by=requested_by[:64],
    )
    if moves_order and is_full:
        order_transition(order_id=order.pk, to=Order.Status.REFUNDING, actor=requested_by,
                         reason=f"refund {refund.out_refund_no}: {reason}"[:255])
    from payments.tasks import refund_submit_task

    outbox_put(task=refund_submit_task, args=[refund.pk], key=f"refund:{refund.pk}")
    return refund


def refund_submit(*, refund_id: int) -> Refund:
    """Send a pending refund to WeChat Pay (the same out_refund_no refunds once, however often
    it is sent: spec 6.7). A refusal is recorded; PayUnavailable propagates (the outbox retries)."""
    refund = Refund.objects.select_related("attempt").get(pk=refund_id)
    if refund.status != Refund.Status.PENDING:
        return refund
    try:
        state = gateway().refund(
            out_trade_no=refund.attempt.out_trade_no, out_refund_no=refund.out_refund_no,
            refund_fen=refund.amount_fen, total_fen=refund.attempt.amount_fen, reason=refund.reason,
        )
    except PayRejected as exc:
        Refund.objects.filter(pk=refund_id, status=Refund.Status.PENDING).update(
            status=Refund.Status.FAILED, error=f"{exc.code}: {exc}"[:255], updated_at=timezone.now())
        logger.error("refund refused", extra={"event": {"out_refund_no": refund.out_refund_no, "code": exc.code}})
        return Refund.objects.get(pk=refund_id)
    return refund_state_apply(state=state)


def refund_state_apply(*, state: RefundState) -> Refund:
    """Record what WeChat Pay says of a refund (answer, notification or query), once; a full
    refund that succeeded moves its order to `refunded`."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(out_refund_no=state.out_refund_no)
        new = REFUND_STATUS.get(state.status, Refund.Status.PROCESSING)
        final = (Refund.Status.SUCCEEDED, Refund.Status.CLOSED, Refund.Status.FAILED)
        if refund.status in final or refund.status == new:
            return refund
        refund.status = new
        refund.refund_id = state.refund_id or refund.refund_id
        if new == Refund.Status.SUCCEEDED:
            refund.succeeded_at = state.succeeded_at or timezone.now()
        refund.save(update_fields=["status", "refund_id", "succeeded_at", "updated_at"])
        if new == Refund.Status.SUCCEEDED and refund.is_full:
            order = Order.objects.select_for_update().get(pk=refund.order_id)
            if order.status == Order.Status.REFUNDING:
                order_transition(order_id=order.pk, to=Order.Status.REFUNDED, actor="wechatpay",
                                 reason=f"refund {refund.out_refund_no} succeeded")
    return refund


def refund_notification_receive(*, headers, body: bytes) -> PaymentNotification:
    """Record, verify and apply a refund notification; return the record with its verdict."""
    from payments.services import _verdict, _wechat_headers

    pay = gateway()
    record = PaymentNotification(
        kind=PaymentNotification.Kind.REFUND, api_version=pay.version, headers=_wechat_headers(headers),
        body=body.decode("utf-8", "replace"),
    )
    Verdict = PaymentNotification.Verdict
    try:
        notice = pay.parse_refund_notification(headers, body)
    except BadNotification as exc:
        return _verdict(record, Verdict.REJECTED, str(exc))
    state = notice.refund
    record.notice_id, record.out_trade_no = notice.notice_id[:128], state.out_trade_no[:32]
    record.out_refund_no = state.out_refund_no[:64]
    refund = Refund.objects.filter(out_refund_no=state.out_refund_no).select_related("attempt").first()
    if refund is None:
        return _verdict(record, Verdict.UNKNOWN, f"no refund {state.out_refund_no}")
    record.attempt_id = refund.attempt_id
    if state.refund_fen != refund.amount_fen or (state.mchid and state.mchid != refund.attempt.mchid):
        return _verdict(record, Verdict.MISMATCH, f"refund {state.refund_fen} ≠ {refund.amount_fen} or mchid")
    before = refund.status
    after = refund_state_apply(state=state).status
    return _verdict(record, Verdict.DUPLICATE if after == before else Verdict.APPLIED, f"refund {after}")
