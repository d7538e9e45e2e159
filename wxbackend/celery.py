"""The Celery app: configuration from Django settings (namespace CELERY), JSON only."""

import os

from celery import Celery
from celery.signals import task_postrun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wxbackend.settings")

app = Celery("wxbackend")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_postrun.connect
def _close_old_connections(task=None, **kwargs) -> None:
    """After each task, what Django does after each request: close connections that broke
    or outlived CONN_MAX_AGE, keep the others (settings.CELERY_DB_REUSE_MAX keeps Celery's
    own fixup from closing every connection after every task). Not in eager mode: there the
    caller's (a test's) transaction holds the connection."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
