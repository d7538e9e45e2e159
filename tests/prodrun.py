"""The production command (`bin/prod`, what `make prod` runs) as a test fixture: debug off,
gunicorn + a Celery worker + beat against the test database, this run's Redis and broker,
and a trial env file written by bin/prod itself.

    def test_x(production_run):
        url = production_run.url
"""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.celery_worker import _database_url

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 2):
    """gunicorn serving the project with `env` over the test's environment; yields
    (url, master pid)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wxbackend.wsgi", "-c", "gunicorn.conf.py", "-w", str(workers),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, "DJANGO_DEBUG": "1", "LOG_LEVEL": "CRITICAL", **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            process.kill()
            pytest.fail("gunicorn did not start:\n" + process.stderr.read())
        yield url, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class ProductionRun:
    url: str
    process: subprocess.Popen
    log: Path
    media_root: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def gunicorn_master(self) -> int:
        """The pid of gunicorn's master (the child of bin/prod running gunicorn)."""
        out = subprocess.run(["pgrep", "-P", str(self.process.pid), "-f", "gunicorn"],
                             capture_output=True, text=True, check=False).stdout.split()
        assert out, "no gunicorn master under bin/prod"
        return int(out[0])


@pytest.fixture(scope="module")
def production_run(tmp_path_factory, django_db_setup):
    """One production run per test module (it takes ~20 s to start): the module's tests
    share it, each with its own data (transactional tests empty the tables after each)."""
    tmp_path = tmp_path_factory.mktemp("prod")
    if not settings.CELERY_BROKER_URL or not settings.REDIS_URL or "postgres" not in _database_url():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the production run: set DATABASE_URL, REDIS_URL and CELERY_BROKER_URL")
        pytest.skip("the production run needs PostgreSQL, REDIS_URL and CELERY_BROKER_URL")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WECHAT_", "PYTEST"))},
        "PYTHON": sys.executable,
        "PROD_ENV_FILE": str(tmp_path / "prod.env"),
        "DATABASE_URL": _database_url(),
        "DATABASE_CONN_MAX_AGE": "60",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PORT": str(port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "WORKER_LOG_LEVEL": "WARNING",
        "GUNICORN_LOG_LEVEL": "warning",
        "LOG_LEVEL": "WARNING",
        "BEAT_SCHEDULE_FILE": str(tmp_path / "beat-schedule"),
    }
    log = tmp_path / "prod.log"
    with log.open("w") as out:
        process = subprocess.Popen(["bash", "bin/prod"], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    run = ProductionRun(url=f"http://127.0.0.1:{port}", process=process, log=log, media_root=tmp_path / "media")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("bin/prod exited:\n" + run.output()[-4000:])
        try:
            if requests.get(f"{run.url}/healthz", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.3)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("bin/prod did not serve within 90 s:\n" + run.output()[-4000:])
    yield run
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
