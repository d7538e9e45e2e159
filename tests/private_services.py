"""A PostgreSQL cluster and a Redis server of the test's own, on free ports in a temporary
directory, for drills that stop and restart them. The shared servers (5432, 6379) are never
touched: other tests and other people use them.

    with private_postgres() as pg:             # pg.url, pg.restart(down_seconds=2)
    with private_redis(tmp_path) as redis:     # redis.url, redis.restart(down_seconds=2)

PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user."""

import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.prodrun import free_port


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if not found:
        versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
        found = str(versions[-1]) if versions else None
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the PostgreSQL drill: {name} not found")
        pytest.skip(f"the PostgreSQL drill needs {name} (the postgresql package)")
    return found


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class PrivatePostgres:
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/drill"

    def _ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), *args]), check=True,
                       capture_output=True, timeout=60)

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.data} "
                   "-c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=50")
        self._ctl("-o", options, "-l", str(self.data / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")  # what a restart for maintenance does

    def restart(self, *, down_seconds: float) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()


@contextmanager
def private_postgres():
    # Not under pytest's tmp_path: its parents are private to root, and the server may run
    # as the postgres user.
    root = Path(tempfile.mkdtemp(prefix="wxbackend-pg-"))
    root.chmod(0o755)
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    subprocess.run(_as_postgres([_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                 "-E", "UTF8", "--no-sync"]), check=True, capture_output=True, timeout=120)
    pg = PrivatePostgres(data=data, port=free_port())
    pg.start()
    try:
        subprocess.run(_as_postgres([_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(pg.port), "-U",
                                     "postgres", "drill"]), check=True, capture_output=True, timeout=30)
        yield pg
    finally:
        try:
            pg.stop()
        except subprocess.SubprocessError:
            pass
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class PrivateRedis:
    workdir: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # No persistence: a restart comes back empty, the worst case for the tokens it held.
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                              text=True, check=False).stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def restart(self, *, down_seconds: float) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def keys(self, pattern: str) -> list[str]:
        out = subprocess.run(["redis-cli", "-p", str(self.port), "--scan", "--pattern", pattern],
                             capture_output=True, text=True, check=True).stdout
        return out.split()


@contextmanager
def private_redis(tmp_path: Path):
    if not shutil.which("redis-server"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the Redis drill: redis-server not found")
        pytest.skip("the Redis drill needs redis-server")
    workdir = tmp_path / "redis"
    workdir.mkdir()
    redis = PrivateRedis(workdir=workdir, port=free_port())
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()
