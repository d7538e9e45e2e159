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
