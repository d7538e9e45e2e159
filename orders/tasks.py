"""Periodic order sweeps (Celery beat). Each calls a service that finds its work in the
database, so a run that dies or runs twice does no harm."""

from celery import shared_task

from orders import services


@shared_task(acks_late=True)
def order_close_unpaid_task() -> int:
    return services.order_close_unpaid()


@shared_task(acks_late=True)
def order_complete_delivered_task() -> int:
    return services.order_complete_delivered()


@shared_task(acks_late=True)
def order_shipping_upload_task(order_id: int) -> None:
    """Run from the outbox, which retries GatewayUnavailable with backoff."""
    from orders.shipping import order_shipping_upload

    order_shipping_upload(order_id=order_id)
