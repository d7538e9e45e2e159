"""The relay's tasks: run one side effect, relay due ones (beat), purge old ones, and a
round trip that proves a worker takes and runs work (`manage.py worker_check`)."""

from celery import shared_task

from wxbackend import outbox


@shared_task(acks_late=True)
def outbox_run_task(item_id: int) -> str:
    return outbox.outbox_item_run(item_id=item_id)


@shared_task(acks_late=True, ignore_result=True)
def outbox_relay_task() -> int:
    return outbox.outbox_relay(limit=1000)


@shared_task(acks_late=True)
def outbox_purge_task() -> int:
    return outbox.outbox_purge()


@shared_task
def worker_check_task(token: str) -> str:
    """Does nothing but run: its outbox row turning `done` is the proof."""
    return token
