"""The Celery app: configuration from Django settings (namespace CELERY), JSON only."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wxbackend.settings")

app = Celery("wxbackend")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
