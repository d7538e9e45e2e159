"""Side effects leave through one relay, so that no request waits on the broker.

A request (the callback, the notify, an admin action) records what must happen later with
`outbox_put(task, args, key=...)`, in its own transaction: the row commits with the change
that caused it, or not at all. After commit the relay is kicked; it hands due rows to Celery
as `outbox_run_task(item_id)`, which runs the task's code once and records the result.

- The request never publishes: with a broker, the kick wakes a relay thread of this process;
  beat also runs the relay every few seconds (rows of a process that died, a broker that
  came back). Without a broker (`make run`, the suite) the relay runs in the caller, as
  Celery's eager mode would.
- A publish that fails opens a breaker: this process stops trying for a few seconds, and
  the rows wait, pending, for the next pass.
- A run claims its row (one conditional UPDATE), so a row published twice runs once; a
  transient failure (GatewayUnavailable) puts it back with exponential backoff and jitter,
  anything else fails it with the reason. Rows whose worker died are published again once
  their deadline passes. Tasks are idempotent anyway (late acks): a second run finds the
  work done.
"""

import datetime
import importlib
import logging
import random
import threading
import time
from collections.abc import Sequence

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from wxbackend.models import OutboxItem

logger = logging.getLogger(__name__)

Status = OutboxItem.Status
UNFINISHED = (Status.PENDING, Status.DISPATCHED, Status.RUNNING)


def outbox_put(*, task, args: Sequence = (), key: str, available_at: datetime.datetime | None = None) -> None:
    """Record `task(*args)` to run once after the caller's transaction commits.

    `task` is a Celery task or its registered name (so that an app can ask for another
    app's task without importing it against the dependency direction). `key` makes it
    idempotent: a second put with the same key is ignored (one INSERT … ON CONFLICT DO
    NOTHING). `args` must be JSON values (ids, not instances). `available_at` delays the
    run (a task's own retry schedule): the relay publishes the row once it is due."""
    name = task if isinstance(task, str) else task.name
    OutboxItem.objects.bulk_create(
        [OutboxItem(key=key[:200], task=name, args=list(args), available_at=available_at or timezone.now())],
        ignore_conflicts=True,
    )
    transaction.on_commit(relay_kick)


# --- the breaker ----------------------------------------------------------------------------


class Breaker:
    """After a failed publish, this process leaves the broker alone for a while."""

    def __init__(self) -> None:
        self.open_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def trip(self) -> None:
        self.open_until = time.monotonic() + settings.OUTBOX_BREAKER_SECONDS

    def seconds_left(self) -> float:
        return max(0.0, self.open_until - time.monotonic())


breaker = Breaker()


# --- the relay ------------------------------------------------------------------------------


def outbox_relay(*, limit: int = 200) -> int:
    """Hand due rows to Celery; returns how many were published.

    Claims the rows first (skipping rows another relay holds), so the lock is not held
    while publishing; a row claimed and never published is found again at its deadline."""
    if breaker.is_open():
        return 0
    from wxbackend.tasks import outbox_run_task

    now = timezone.now()
    with transaction.atomic():
        ids = list(
            OutboxItem.objects.select_for_update(skip_locked=True)
            .filter(status__in=UNFINISHED, available_at__lte=now)
            .order_by("available_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        OutboxItem.objects.filter(pk__in=ids).update(
            status=Status.DISPATCHED, dispatched_at=now,
            available_at=now + datetime.timedelta(seconds=settings.OUTBOX_DISPATCH_DEADLINE_SECONDS),
        )
    for n, item_id in enumerate(ids):
        try:
            outbox_run_task.apply_async((item_id,))
        except Exception as exc:  # any transport error: the broker is not taking work
            breaker.trip()
            OutboxItem.objects.filter(pk__in=ids[n:], status=Status.DISPATCHED).update(
                status=Status.PENDING, available_at=timezone.now(),
                last_error=f"broker: {type(exc).__name__}"[:500],
            )
            logger.warning(
                "broker refused the side effects; will retry",
                extra={"event": {"waiting": len(ids) - n, "retry_in_s": settings.OUTBOX_BREAKER_SECONDS}},
            )
            return n
    return len(ids)


def outbox_has_due() -> bool:
    return OutboxItem.objects.filter(status__in=UNFINISHED, available_at__lte=timezone.now()).exists()


class _RelayThread(threading.Thread):
    """One per process: runs the relay when kicked, and again once the breaker closes for
    as long as due rows are left. Requests only set an event."""

    def __init__(self) -> None:
        super().__init__(name="outbox-relay", daemon=True)
        self.wake = threading.Event()

    def run(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            try:
                while True:
                    published = outbox_relay()
                    if breaker.is_open():
                        time.sleep(breaker.seconds_left())
                    elif published == 0 or not outbox_has_due():
                        break
            except Exception:
                logger.exception("outbox relay pass failed")
                time.sleep(1)
                self.wake.set()  # try again: the rows are still due
            finally:
                close_old_connections()


_thread: _RelayThread | None = None
_thread_lock = threading.Lock()


def relay_kick() -> None:
    """Run the relay soon, never in the caller's time when a broker is configured."""
    from wxbackend.celery import app

    if app.conf.task_always_eager:
        outbox_relay()
        return
    global _thread
    with _thread_lock:
        if _thread is None or not _thread.is_alive():
            _thread = _RelayThread()
            _thread.start()
    _thread.wake.set()


# --- running one side effect --------------------------------------------------------------


def _task(app, name: str):
    """The registered task `name`; its module is imported first where no autodiscovery ran
    (a web process with in-process tasks, or a task named by another app)."""
    if name not in app.tasks:
        importlib.import_module(name.rsplit(".", 1)[0])
    return app.tasks[name]


def _backoff_seconds(attempts: int) -> float:
    """5 s, 10 s, 20 s … capped at OUTBOX_BACKOFF_MAX_SECONDS, with full jitter on top half."""
    base = min(settings.OUTBOX_BACKOFF_MAX_SECONDS, 5 * 2 ** max(0, attempts - 1))
    return base / 2 + random.uniform(0, base / 2)


def outbox_item_run(*, item_id: int) -> str:
    """Run the row's task once: claim it, run it, record the outcome. Returns the status."""
    from wxbackend.celery import app
    from wxbackend.wechat import GatewayUnavailable

    now = timezone.now()
    claimed = OutboxItem.objects.filter(
        Q(status__in=(Status.PENDING, Status.DISPATCHED)) | Q(status=Status.RUNNING, available_at__lte=now),
        pk=item_id,
    ).update(
        status=Status.RUNNING, attempts=F("attempts") + 1,
        available_at=now + datetime.timedelta(seconds=settings.OUTBOX_RUN_DEADLINE_SECONDS),
    )
    if not claimed:
        return "skipped"  # done, failed, or running elsewhere
    item = OutboxItem.objects.get(pk=item_id)
    mine = OutboxItem.objects.filter(pk=item_id, status=Status.RUNNING)
    try:
        _task(app, item.task).run(*item.args)
    except GatewayUnavailable as exc:
        if item.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            mine.update(status=Status.FAILED, last_error=f"gave up after {item.attempts} tries: {exc}"[:500])
            logger.error("side effect failed for good", extra={"event": {"key": item.key, "task": item.task}})
            return Status.FAILED
        delay = _backoff_seconds(item.attempts)
        mine.update(status=Status.PENDING, last_error=str(exc)[:500],
                    available_at=timezone.now() + datetime.timedelta(seconds=delay))
        return Status.PENDING
    except Exception as exc:
        mine.update(status=Status.FAILED, last_error=f"{type(exc).__name__}: {exc}"[:500])
        logger.exception("side effect failed", extra={"event": {"key": item.key, "task": item.task}})
        return Status.FAILED
    mine.update(status=Status.DONE, done_at=timezone.now(), last_error="")
    return Status.DONE


def outbox_purge(*, older_than_days: int = 7) -> int:
    """Delete rows done more than `older_than_days` ago (failed rows stay for staff)."""
    cutoff = timezone.now() - datetime.timedelta(days=older_than_days)
    deleted, _ = OutboxItem.objects.filter(status=Status.DONE, done_at__lt=cutoff).delete()
    return deleted
