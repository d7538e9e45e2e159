"""The benchmark harness: a PostgreSQL bench database, gunicorn serving the project with
debug off, and `wrk` against it, all on 127.0.0.1. See bench/README.md.

Benchmarks are `bench/bench_*.py` modules with `run(ctx: Context) -> list[Result]`;
`bench/run.py` finds them, hands them one Context and prints the table.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/wxbackend_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
# Nothing listens on the discard port: a benchmark that reached WeChat would fail fast
# instead of leaving the machine.
NOWHERE = "http://127.0.0.1:9"
LOCAL_HOSTS = ("127.0.0.1",)


# --- results ----------------------------------------------------------------------------------


@dataclass
class WrkResult:
    """What one wrk run measured."""

    url: str
    method: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    duration: str
    connections: int


@dataclass
class Result:
    """One row of the table. `ratio` = rps / the baseline's rps measured in the same run."""

    name: str
    rps: float
    p99_ms: float
    ratio: float
    baseline: str
    errors: int = 0
    target: str = ""
    ok: bool | None = None  # None: no target; else whether the target was met
    notes: str = ""
    measured: dict = field(default_factory=dict)


# --- parsing wrk ------------------------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip())
    if not match:
        raise ValueError(f"unexpected wrk latency {value!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> dict:
    """Requests/sec, p50/p99 latency (ms), request count and errors from `wrk --latency`."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    p50 = re.search(r"^\s+50(?:\.000)?%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99(?:\.000)?%\s+(\S+)", output, re.M)
    if not (rps and total and p50 and p99):
        raise ValueError("could not read wrk's output:\n" + output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "rps": float(rps.group(1)),
        "requests": int(total.group(1)),
        "p50_ms": round(_ms(p50.group(1)), 3),
        "p99_ms": round(_ms(p99.group(1)), 3),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(int(g) for g in sock.groups()) if sock else 0,
    }


def _lua_body_script(method: str, body_path: Path | None, headers: dict[str, str]) -> str:
    lines = [f'wrk.method = "{method}"']
    if body_path is not None:
        lines.append(f'local f = assert(io.open("{body_path}", "rb")); wrk.body = f:read("*a"); f:close()')
    for name, value in headers.items():
        if '"' in name or '"' in value or "\\" in value or "\n" in value:
            raise ValueError(f"header {name} cannot be put in a Lua script as is")
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    return "\n".join(lines) + "\n"


def run_wrk(
    url: str,
    *,
    method: str = "GET",
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    lua: str | None = None,
    duration: str = "10s",
    threads: int = 2,
    connections: int = 16,
    timeout: str = "5s",
) -> WrkResult:
    """Run `wrk -t<threads> -c<connections> -d<duration> --latency` against a 127.0.0.1 URL.

    POST bodies and headers go through a generated Lua script; `lua` replaces it with your
    own script text (e.g. one that varies each request)."""
    host = urlsplit(url).hostname
    if host not in LOCAL_HOSTS:
        raise ValueError(f"benchmarks only run against {LOCAL_HOSTS}, not {host}")
    with tempfile.TemporaryDirectory(prefix="wxb-bench-") as tmp:
        script = None
        if lua is not None or body is not None or headers or method != "GET":
            body_path = None
            if body is not None:
                body_path = Path(tmp) / "body"
                body_path.write_bytes(body.encode("utf-8") if isinstance(body, str) else body)
            script = Path(tmp) / "script.lua"
            script.write_text(lua if lua is not None else _lua_body_script(method, body_path, headers or {}))
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}", f"--timeout={timeout}", "--latency"]
        if script is not None:
            command += ["-s", str(script)]
        command.append(url)
        finished = subprocess.run(command, capture_output=True, text=True, timeout=_seconds(duration) + 60, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"wrk failed ({finished.returncode}): {finished.stderr or finished.stdout}")
    parsed = parse_wrk(finished.stdout)
    return WrkResult(url=url, method=method, duration=duration, connections=connections, **parsed)


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)([smh]?)", duration)
    if not match:
        raise ValueError(f"duration like 10s, 1m: not {duration!r}")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


# --- database and environment ---------------------------------------------------------------


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` if it does not exist."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError("benchmarks need PostgreSQL: set DATABASE_URL=postgres://…")
    name = parts.path.lstrip("/")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _bench_keys(folder: Path) -> dict[str, str]:
    """Throw-away RSA keys so the settings' v3 key paths point at real files."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    folder.mkdir(parents=True, exist_ok=True)
    paths = {"merchant": folder / "merchant_private.pem", "wechat": folder / "wechatpay_private.pem",
             "public": folder / "wechatpay_public.pem"}
    if not all(p.exists() for p in paths.values()):
        keys = {}
        for name in ("merchant", "wechat"):
            keys[name] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            paths[name].write_bytes(keys[name].private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        paths["public"].write_bytes(keys["wechat"].public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return {k: str(v) for k, v in paths.items()}


def bench_env(*, database: str, redis: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment gunicorn and manage.py run with: debug off, every secret a bench value,
    WeChat bases pointing nowhere. `extra` overrides or adds (e.g. an AES key)."""
    keys = _bench_keys(RESULTS_DIR / "keys")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WECHAT_", "PYTEST"))}
    env.update({
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-" + "k7Qz" * 15,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database,
        "REDIS_URL": redis,
        "CACHE_KEY_PREFIX": "wxbench",
        "LOG_LEVEL": "WARNING",
        "WECHAT_API_BASE": NOWHERE,
        "WECHAT_PAY_API_BASE": NOWHERE,
        "WECHAT_MP_APPID": "wxbench0000000mp",
        "WECHAT_MP_SECRET": "bench_mp_secret",
        "WECHAT_MP_TOKEN": "bench_mp_token",
        "WECHAT_MINIAPP_APPID": "wxbench000miniapp",
        "WECHAT_MINIAPP_SECRET": "bench_miniapp_secret",
        "WECHAT_PAY_MCH_ID": "1900000109",
        "WECHAT_PAY_API_VERSION": "v3",
        "WECHAT_PAY_APIV3_KEY": "0123456789abcdef0123456789abcdef",
        "WECHAT_PAY_MCH_CERT_SERIAL": "BENCHMCHCERTSERIAL01",
        "WECHAT_PAY_MCH_PRIVATE_KEY_PATH": keys["merchant"],
        "WECHAT_PAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0000000000000000000000000BENCH",
        "WECHAT_PAY_PUBLIC_KEY_PATH": keys["public"],
        "WECHAT_SIMULATOR_PAY_PRIVATE_KEY_PATH": keys["wechat"],
        "WECHAT_PAY_API_KEY": "192006250b4c09247ec02edce69f6a2d",
        "WECHAT_PAY_NOTIFY_BASE_URL": "https://bench.invalid",
        "FIELD_ENCRYPTION_KEY": "bench-field-key-" + "x" * 32,
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        # One client on 127.0.0.1 makes every request: the per-client throttles would answer
        # 429 long before the server is loaded, so they are set out of reach here.
        "THROTTLE_ANON": "10000000/min",
        "THROTTLE_CATALOG": "10000000/min",
        "THROTTLE_CUSTOMER": "10000000/min",
    })
    env.pop("CELERY_BROKER_URL", None)  # tasks run in-process unless a benchmark says otherwise
    env.update(extra or {})
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    """Run `manage.py <args>` with `env`; return its output, raise on failure."""
    finished = subprocess.run([str(VENV_BIN / "python"), "manage.py", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{finished.stdout}\n{finished.stderr}")
    return finished.stdout


# --- gunicorn ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn serving the project on 127.0.0.1 with `env`; a context manager."""

    def __init__(self, env: dict[str, str], *, workers: int = 2, port: int | None = None, name: str = "main"):
        self.env, self.workers, self.port, self.name = env, workers, port or free_port(), name
        self.process: subprocess.Popen | None = None
        self.log_path = RESULTS_DIR / f"gunicorn-{name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_seconds: float = 30) -> Server:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "wxbackend.wsgi", "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
             "--error-logfile", "-", "--log-level", "warning"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}); see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz within {wait_seconds}s; see {self.log_path}")

    def stop(self) -> None:
        """Stop the gunicorn this object started (its own process group, by id)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- the context every benchmark receives ------------------------------------------------------


@dataclass
class Options:
    duration: str = "10s"
    threads: int = 2
    connections: int = 16
    migrate: bool = True


class Context:
    """What a benchmark gets: the migrated bench database, one gunicorn serving the project
    (`url()`), the environment it runs with (`env`: read secrets from it to sign
    callbacks), `wrk()`, `result()` (ratio to the /healthz baseline measured in this
    run), `manage()` for data commands, `django()` for ORM set-up in this process and
    `server(extra_env)` for a second gunicorn with other settings."""

    def __init__(self, options: Options):
        self.options = options
        self.database = database_url()
        self.redis = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
        self.env = bench_env(database=self.database, redis=self.redis)
        self.baseline: WrkResult | None = None
        self._servers: list[Server] = []
        self._django_ready = False

    def prepare(self) -> None:
        ensure_database(self.database)
        if self.options.migrate:
            manage(self.env, "migrate", "--noinput")
        self._main = Server(self.env).start()
        self._servers.append(self._main)
        self.wrk("/healthz")  # warm-up: connections, imports, the first queries
        self.baseline = self.wrk("/healthz")

    def close(self) -> None:
        for server in reversed(self._servers):
            server.stop()

    def url(self, path: str = "/") -> str:
        return self._main.url + "/" + path.lstrip("/")

    def manage(self, *args: str) -> str:
        return manage(self.env, *args)

    def django(self) -> None:
        """Set this process up to use the bench database through the ORM (data set-up)."""
        if self._django_ready:
            return
        os.environ.update(self.env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wxbackend.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        self._django_ready = True

    @contextmanager
    def server(self, extra_env: dict[str, str], *, name: str = "extra") -> Iterator[Server]:
        """A second gunicorn with `extra_env` on top of `env`, stopped afterwards."""
        with Server({**self.env, **extra_env}, name=name) as server:
            yield server

    def wrk(self, path_or_url: str, **kwargs) -> WrkResult:
        url = path_or_url if path_or_url.startswith("http") else self.url(path_or_url)
        kwargs.setdefault("duration", self.options.duration)
        kwargs.setdefault("threads", self.options.threads)
        kwargs.setdefault("connections", self.options.connections)
        return run_wrk(url, **kwargs)

    def result(self, name: str, measured: WrkResult, *, min_rps: float | None = None,
               max_p99_ms: float | None = None, notes: str = "") -> Result:
        """A table row for `measured`, with its ratio to this run's /healthz baseline and,
        when a target is given, whether it was met (errors always fail it)."""
        base = self.baseline.rps if self.baseline and self.baseline.rps else 0.0
        errors = measured.non_2xx + measured.socket_errors
        targets, ok = [], None
        if min_rps is not None or max_p99_ms is not None:
            ok = errors == 0
            if min_rps is not None:
                targets.append(f">= {min_rps:g} rps")
                ok = ok and measured.rps >= min_rps
            if max_p99_ms is not None:
                targets.append(f"p99 <= {max_p99_ms:g} ms")
                ok = ok and measured.p99_ms <= max_p99_ms
        return Result(
            name=name, rps=measured.rps, p99_ms=measured.p99_ms,
            ratio=round(measured.rps / base, 3) if base else 0.0, baseline="GET /healthz",
            errors=errors, target=", ".join(targets), ok=ok, notes=notes, measured=asdict(measured),
        )
