"""A real Celery worker process for tests whose behaviour depends on one.

The worker is started against the broker in CELERY_BROKER_URL and the test database, with
the test's WeChat base URLs, so it sees what the test committed (use
`django_db(transaction=True)`). Outside CI, no broker means a skip with the reason.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from wxbackend.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def celery_worker_process(request):
    if not settings.CELERY_BROKER_URL or connection.vendor != "postgresql":
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run real-worker tests: set CELERY_BROKER_URL and DATABASE_URL")
        pytest.skip("needs CELERY_BROKER_URL and PostgreSQL for a real worker")
    celery_app.control.purge()
    worker = start_worker()
    yield worker
    stop_worker(worker)


def start_worker() -> subprocess.Popen:
    """Start a solo worker on the test database and broker; return once it answers a ping."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "WECHAT_API_BASE": settings.WECHAT_API_BASE,
        "WECHAT_PAY_API_BASE": settings.WECHAT_PAY_API_BASE,
        "DATABASE_CONN_MAX_AGE": "0",
    }
    name = f"test-{os.getpid()}@%h"
    # Output to a file, not a pipe: nobody reads a pipe while the worker runs, and once its
    # 64 KB fill (a few dozen logged tracebacks) the worker blocks in its next log call.
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - open as long as the worker runs
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "wxbackend", "worker", "--pool=solo",
         "--concurrency=1", "--without-gossip", "--without-mingle", "--loglevel=WARNING",
         "-n", name],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if celery_app.control.ping(timeout=0.5):
            break
        if worker.poll() is not None:
            log.seek(0)
            pytest.fail("the Celery worker exited:\n" + log.read())
    else:
        worker.kill()
        pytest.fail("the Celery worker did not answer a ping within 30 s")
    return worker


def stop_worker(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=10)
    except subprocess.TimeoutExpired:
        worker.kill()


def wait_for(predicate, *, timeout: float = 15.0, interval: float = 0.1):
    """Poll `predicate` until it returns something truthy; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")
