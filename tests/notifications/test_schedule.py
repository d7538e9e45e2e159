"""Beat runs every periodic job of the order's life from the code (settings), not only
from the admin: closing unpaid orders, completing delivered ones, re-queueing stuck
notices, reconciling the bill; each task is registered under the name beat sends."""

import importlib

from django.conf import settings

from wxbackend.celery import app

JOBS = {
    "orders-close-unpaid": "payments.tasks.payments_settle_task",
    "orders-complete-delivered": "orders.tasks.order_complete_delivered_task",
    "notifications-requeue-stuck": "notifications.tasks.notices_requeue_stuck_task",
    "payments-reconcile": "payments.tasks.reconcile_yesterday_task",
    "outbox-relay": "wxbackend.tasks.outbox_relay_task",
}


def test_every_periodic_job_is_scheduled_and_its_task_importable():
    schedule = settings.CELERY_BEAT_SCHEDULE
    for name, task in JOBS.items():
        assert schedule[name]["task"] == task
        module, func = task.rsplit(".", 1)
        assert getattr(importlib.import_module(module), func).name == task
        assert task in app.tasks
    assert schedule["notifications-requeue-stuck"]["schedule"] <= 60
