"""Payments' slow and periodic work. Tasks take ids, call a service, and are safe to run twice."""

from celery import shared_task

from payments import reconciliation, refunds, services
from wxbackend.wechat import GatewayUnavailable


@shared_task(acks_late=True)
def payments_settle_task() -> dict:
    return services.payments_settle()


@shared_task(acks_late=True)
def payment_attempts_close_task(order_id: int) -> bool:
    return services.payment_attempts_close(order_id=order_id)


@shared_task(acks_late=True)
def refund_submit_task(refund_id: int) -> str:
    return refunds.refund_submit(refund_id=refund_id).status


@shared_task(acks_late=True)
def refunds_settle_task() -> dict:
    """Query refunds whose notification never came (beat `payments-refunds-settle`)."""
    return refunds.refunds_settle()


@shared_task(acks_late=True, autoretry_for=(GatewayUnavailable,), retry_backoff=60, retry_backoff_max=3600,
             retry_jitter=True, max_retries=8)
def reconcile_yesterday_task() -> int:
    """Reconcile yesterday's bill (Beijing); returns how many differences it found."""
    return reconciliation.reconcile_day(day=reconciliation.beijing_yesterday()).difference_count
