"""Prove that a Celery worker takes and runs work: one side effect through the outbox, the
broker and a worker, end to end. Exits non-zero if it is not done in time (a deploy check)."""

import time
import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from wxbackend.models import OutboxItem
from wxbackend.outbox import outbox_put
from wxbackend.tasks import worker_check_task


class Command(BaseCommand):
    help = "Send one task through the outbox and the broker, and wait until a worker has run it."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default 30)")

    def handle(self, *args, timeout: float, **options):
        key = f"worker-check:{uuid.uuid4().hex}"
        with transaction.atomic():
            outbox_put(task=worker_check_task, args=[key], key=key)
        deadline = time.monotonic() + timeout
        status = ""
        while time.monotonic() < deadline:
            status = OutboxItem.objects.filter(key=key).values_list("status", flat=True).first()
            if status == OutboxItem.Status.DONE:
                OutboxItem.objects.filter(key=key).delete()
                self.stdout.write(self.style.SUCCESS("a worker ran the check task"))
                return
            time.sleep(0.2)
        raise CommandError(f"no worker ran the check task within {timeout:g} s (its row is {status or 'gone'})")
