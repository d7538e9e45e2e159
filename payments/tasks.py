"""Payments' slow work. Tasks take ids, call a service, and are safe to run twice."""

from celery import shared_task

from payments import refunds, services


@shared_task(acks_late=True)
def payments_settle_task() -> dict:
    return services.payments_settle()


@shared_task(acks_late=True)
def payment_attempts_close_task(order_id: int) -> bool:
    return services.payment_attempts_close(order_id=order_id)


@shared_task(acks_late=True)
def refund_submit_task(refund_id: int) -> str:
    return refunds.refund_submit(refund_id=refund_id).status
