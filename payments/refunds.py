"""Refunds: recorded under the order's lock (the refunded total never exceeds what was
paid), sent to WeChat Pay by the outbox, finished by WeChat's refund notification (or a
query). A full refund moves the order refunding → refunded; a partial one keeps its status; a full
refund WeChat refuses, closes or cannot pay out puts the order back where it was."""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from orders.models import Order, OrderEvent, RefundRequest
from orders.services import REFUNDABLE, order_refund_abandon, order_transition, refund_request_mark_approved
from payments.exceptions import NothingToRefund, RefundExceedsPaid
from payments.gateway import BadNotification, RefundState, gateway, new_out_no
from payments.models import PaymentAttempt, PaymentNotification, Refund
from wxbackend.outbox import outbox_put
from wxbackend.wechat.pay import PayRejected, PayUnavailable

logger = logging.getLogger(__name__)

OPEN = (Refund.Status.PENDING, Refund.Status.PROCESSING, Refund.Status.SUCCEEDED, Refund.Status.ABNORMAL)
FINAL = (Refund.Status.SUCCEEDED, Refund.Status.CLOSED, Refund.Status.FAILED)
# A full refund in one of these did not (or not yet) give the money back: its order returns.
ABANDONED = (Refund.Status.FAILED, Refund.Status.CLOSED, Refund.Status.ABNORMAL)
# A refund accepted this long ago without a notification is queried (refunds_settle).
SETTLE_AFTER = datetime.timedelta(minutes=5)
ACTOR = "wechatpay"
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
                         reason=f"{_moved_by(refund)}: {reason}"[:200])
    from payments.tasks import refund_submit_task

    outbox_put(task=refund_submit_task, args=[refund.pk], key=f"refund:{refund.pk}")
    return refund


def _moved_by(refund: Refund) -> str:
    """How the audit row of the move to `refunding` names the refund that made it."""
    return f"refund {refund.out_refund_no}"


def _moved_order(refund: Refund) -> bool:
    """Whether this refund is the one that put its order in `refunding` most recently (an
    automatic refund of a second payment, or a partial one, moved nothing)."""
    if not refund.is_full:
        return False
    reason = (
        OrderEvent.objects.filter(order_id=refund.order_id, to_status=Order.Status.REFUNDING)
        .order_by("-created_at", "-id").values_list("reason", flat=True).first()
    )
    return bool(reason) and (reason == _moved_by(refund) or reason.startswith(f"{_moved_by(refund)}:"))


def _order_follow(refund: Refund, *, actor: str) -> None:
    """Move the order after its full refund reached an end (inside the caller's transaction,
    under the order's lock): refunded when it succeeded; back to where it was when WeChat Pay
    refused, closed or could not pay it out, so that staff see it and can act again."""
    if not _moved_order(refund):
        return
    order = Order.objects.select_for_update().get(pk=refund.order_id)
    if refund.status == Refund.Status.SUCCEEDED:
        if order.status in REFUNDABLE:  # came back after an abnormal refund that WeChat paid out later
            order_transition(order_id=order.pk, to=Order.Status.REFUNDING, actor=actor,
                             reason=f"{_moved_by(refund)}: paid out after all")
            order.status = Order.Status.REFUNDING
        if order.status == Order.Status.REFUNDING:
            order_transition(order_id=order.pk, to=Order.Status.REFUNDED, actor=actor,
                             reason=f"refund {refund.out_refund_no} succeeded")
    elif refund.status in ABANDONED:
        words = {Refund.Status.FAILED: "refused by WeChat Pay", Refund.Status.CLOSED: "closed by WeChat Pay",
                 Refund.Status.ABNORMAL: "abnormal: WeChat Pay could not pay it out"}[refund.status]
        detail = f" ({refund.error})" if refund.error else ""
        order_refund_abandon(order_id=order.pk, actor=actor,
                             reason=f"refund {refund.out_refund_no} {words}{detail}"[:200])


def refund_submit(*, refund_id: int) -> Refund:
    """Send a pending refund to WeChat Pay (the same out_refund_no refunds once, however often
    it is sent: spec 6.7). A refusal is recorded and a full refund's order goes back to where
    it was; PayUnavailable propagates (the outbox retries)."""
    refund = Refund.objects.select_related("attempt").get(pk=refund_id)
    if refund.status != Refund.Status.PENDING:
        return refund
    try:
        state = gateway().refund(
            out_trade_no=refund.attempt.out_trade_no, out_refund_no=refund.out_refund_no,
            refund_fen=refund.amount_fen, total_fen=refund.attempt.amount_fen, reason=refund.reason,
        )
    except PayRejected as exc:
        logger.error("refund refused", extra={"event": {"out_refund_no": refund.out_refund_no, "code": exc.code}})
        with transaction.atomic():
            Order.objects.select_for_update().filter(pk=refund.order_id).exists()
            refund = Refund.objects.select_for_update().get(pk=refund_id)
            if refund.status != Refund.Status.PENDING:
                return refund
            refund.status = Refund.Status.FAILED
            refund.error = (f"{exc.code}: {exc.message}" if exc.message else exc.code)[:255]
            refund.save(update_fields=["status", "error", "updated_at"])
            _order_follow(refund, actor=ACTOR)
        return refund
    return refund_state_apply(state=state)


def refund_state_apply(*, state: RefundState) -> Refund:
    """Record what WeChat Pay says of a refund (answer, notification or query), once, and
    move a full refund's order: `refunded` when it succeeded, back to where it was when it
    was closed or abnormal. Locks the order, then the refund."""
    with transaction.atomic():
        order_id = Refund.objects.values_list("order_id", flat=True).get(out_refund_no=state.out_refund_no)
        Order.objects.select_for_update().filter(pk=order_id).exists()
        refund = Refund.objects.select_for_update().get(out_refund_no=state.out_refund_no)
        new = REFUND_STATUS.get(state.status, Refund.Status.PROCESSING)
        if refund.status in FINAL or refund.status == new:
            return refund
        refund.status = new
        refund.refund_id = state.refund_id or refund.refund_id
        if new == Refund.Status.SUCCEEDED:
            refund.succeeded_at = state.succeeded_at or timezone.now()
        refund.save(update_fields=["status", "refund_id", "succeeded_at", "updated_at"])
        _order_follow(refund, actor=ACTOR)
    return refund


def refunds_settle(*, now: datetime.datetime | None = None, batch_size: int = 100) -> dict:
    """The periodic sweep (beat `payments-refunds-settle`): refunds WeChat accepted more than
    SETTLE_AFTER ago whose notification never came are queried, and the answer applied as a
    notification would be (idempotent). A refund WeChat does not know, or a query that
    fails, waits for the next run. Restart-safe: the database and WeChat are the only state.
    Returns counts."""
    now = now or timezone.now()
    due = list(
        Refund.objects.filter(status=Refund.Status.PROCESSING, updated_at__lt=now - SETTLE_AFTER)
        .order_by("updated_at", "id").values_list("out_refund_no", "amount_fen")[:batch_size]
    )
    pay = gateway()
    counts = {"queried": 0, "settled": 0, "failed": 0}
    for out_refund_no, amount_fen in due:
        try:
            state = pay.refund_query(out_refund_no)
        except (PayUnavailable, PayRejected) as exc:
            counts["failed"] += 1
            logger.warning("refund query failed", extra={"event": {"out_refund_no": out_refund_no, "code": exc.code}})
            continue
        counts["queried"] += 1
        if state.out_refund_no != out_refund_no or (state.refund_fen and state.refund_fen != amount_fen):
            logger.error("refund query answered another refund", extra={"event": {
                "out_refund_no": out_refund_no, "answered": state.out_refund_no, "refund_fen": state.refund_fen}})
            continue
        if refund_state_apply(state=state).status != Refund.Status.PROCESSING:
            counts["settled"] += 1
    return counts


def refundable_fen(*, order_id: int) -> tuple[int, int]:
    """(paid, refunded or on its way back) for the order's first paid payment, the one
    refund_start refunds: what staff may still refund is the difference."""
    attempt = (
        PaymentAttempt.objects.filter(order_id=order_id, status=PaymentAttempt.Status.PAID)
        .order_by("paid_at", "id").first()
    )
    if attempt is None:
        return 0, 0
    return attempt.amount_fen, refunded_fen(attempt_id=attempt.pk)


@transaction.atomic
def refund_request_approve(*, request_id: int, actor: str) -> Refund:
    """Approve a customer's refund request: refund everything still refundable of the order's
    payment (the order goes `refunding`) and mark the request approved, by whom and when, in
    one transaction under the order's lock. Two members of staff approving at once make one
    refund: the second gets RefundRequestDecided. Raises NothingToRefund, RefundExceedsPaid
    (nothing left), InvalidTransition (the order cannot be refunded in its status)."""
    request = refund_request_mark_approved(request_id=request_id, refund_no="", actor=actor)
    paid, refunded = refundable_fen(order_id=request.order_id)
    if not paid:
        raise NothingToRefund()
    refund = refund_start(order_id=request.order_id, amount_fen=paid - refunded,
                          reason=f"客户申请退款：{request.reason}", requested_by=actor)
    RefundRequest.objects.filter(pk=request.pk).update(refund_no=refund.out_refund_no)
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
