"""Slow work of the official account, queued after commit. Tasks take ids, call a service,
and are safe to run twice (acks_late): each service finds finished work and returns."""

from celery import shared_task

from officialaccount import services
from wxbackend.wechat import GatewayUnavailable

RETRY = {
    "acks_late": True,
    "autoretry_for": (GatewayUnavailable,),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(**RETRY)
def follower_profile_fetch_task(openid: str) -> None:
    services.follower_profile_fetch(openid=openid)


@shared_task(**RETRY)
def customer_service_send_task(message_id: int) -> None:
    services.customer_service_send(message_id=message_id)


@shared_task(**RETRY)
def message_media_fetch_task(message_id: int) -> None:
    services.message_media_fetch(message_id=message_id)


@shared_task(**RETRY)
def tags_sync_task() -> None:
    services.tags_sync()


@shared_task(acks_late=True)
def follower_interactions_sweep_task() -> None:
    services.follower_interactions_sweep()


@shared_task(acks_late=True)
def message_retention_purge_task() -> None:
    services.message_retention_purge()


@shared_task(**RETRY)
def photo_question_answer_task(message_id: int) -> None:
    services.photo_question_answer(message_id=message_id)
