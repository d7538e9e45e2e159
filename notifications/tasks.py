"""Notice tasks: they take ids, call a service and are queued through the outbox."""

from celery import shared_task

from notifications import services


@shared_task(acks_late=True)
def notice_send_task(notice_id: int) -> str:
    return services.notice_send(notice_id=notice_id)


@shared_task(acks_late=True)
def notices_requeue_stuck_task() -> int:
    return services.notices_requeue_stuck()
