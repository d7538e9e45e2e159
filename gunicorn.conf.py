"""gunicorn's configuration for the web tier (`gunicorn wxbackend.wsgi -c gunicorn.conf.py`,
as in the Procfile and bin/prod). Every value can be overridden from the environment.

Graceful restart (new code, same socket): `kill -HUP <master pid>` starts new workers and
lets the old ones finish their requests within `graceful_timeout`; `kill -TERM` does the
same and exits. The master keeps the socket open throughout, so nothing is refused.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")

# Sync workers: a request holds one process. (2 × cores) + 1 keeps the CPUs busy while some
# workers wait on PostgreSQL, Redis or WeChat. Each costs memory (about 200 MB with 100,000
# products: the product-matching index), so WEB_CONCURRENCY caps it on small machines.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))

# WeChat gives the callback 5 s and the payment notify a few more; a request past 30 s is
# stuck (every outbound call has its own timeout), so its worker is killed and replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Behind a proxy that keeps connections open to us (nginx `keepalive`, a load balancer).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))

# Workers are replaced now and then (staggered), so no slow leak grows without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "500"))

# Not preloaded: a HUP loads new code into new workers, and no database connection or
# thread is shared across a fork.
preload_app = False

# The heartbeat file lives in memory: a slow disk never makes a healthy worker look dead.
if os.path.isdir("/dev/shm"):  # noqa: S108 - a directory of our own files, not a shared temp name
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# The app logs one JSON line per request itself (wxbackend.middleware); gunicorn's own
# errors go to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# X-Forwarded-Proto is trusted from these addresses only (the TLS proxy in front).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
