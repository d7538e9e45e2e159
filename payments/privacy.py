"""Payments in the personal-data export; erasure keeps every payment and refund (the books
and WeChat Pay's bills refer to them) but drops the payer's openid from them."""

from django.db.models import Value
from django.db.models.functions import Replace

from payments.models import PaymentAttempt, PaymentNotification, Refund
from wxbackend.privacy import DataSubject, section_register


def _payments(subject: DataSubject) -> list[dict]:
    attempts = PaymentAttempt.objects.filter(order__customer_id=subject.customer_id).select_related("order")
    return [
        {"order_no": a.order.order_no, "out_trade_no": a.out_trade_no, "amount_fen": a.amount_fen,
         "status": a.status, "transaction_id": a.transaction_id,
         "paid_at": a.paid_at.isoformat() if a.paid_at else None}
        for a in attempts.order_by("created_at", "id")
    ]


def _erase(subject: DataSubject) -> None:
    attempts = PaymentAttempt.objects.filter(order__customer_id=subject.customer_id)
    openids = {o for o in attempts.values_list("openid", flat=True) if o} | ({subject.openid} - {""})
    trade_nos = list(attempts.values_list("out_trade_no", flat=True))
    notifications = PaymentNotification.objects.filter(out_trade_no__in=trade_nos)
    for openid in openids:
        # A v2 notification's XML holds the payer's openid in plain text.
        notifications.update(body=Replace("body", Value(openid), Value("")))
    attempts.update(openid="")
    Refund.objects.filter(order__customer_id=subject.customer_id).update(reason="")


section_register("payments", export=_payments, erase=_erase, order=80)
