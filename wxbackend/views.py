"""Liveness and readiness probes."""

import functools
import logging
import posixpath
import threading
import time

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.http import JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

# /readyz answers within a second whatever hangs: the probes run at once, each in its own
# thread, and one still running at the deadline counts as failed ("Timeout").
PROBE_SECONDS = 0.75
BROKER_TIMEOUT_SECONDS = 0.5


@require_GET
def healthz(request):
    """200 while the process serves; touches nothing else."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    # A connection of its own (closed after), so a probe left behind at the deadline never
    # holds the one a request uses.
    db = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with db.cursor() as cursor:
            if db.vendor == "postgresql":
                cursor.execute("SET statement_timeout = %s", [int(PROBE_SECONDS * 1000)])
            cursor.execute("SELECT 1")
    finally:
        db.close()


def _check_cache() -> None:
    backend = caches.create_connection(DEFAULT_CACHE_ALIAS)
    backend.set("readyz:probe", "1", timeout=10)
    if backend.get("readyz:probe") != "1":
        raise RuntimeError("cache did not return what was written")


def _check_broker() -> None:
    if not settings.CELERY_BROKER_URL:
        return  # tasks run in-process: there is no broker to wait for
    from wxbackend.celery import app

    with app.connection_for_write(url=settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
        _ = conn.default_channel  # opening a channel makes lazy transports (Redis) connect


def _backend_name(check: str) -> str:
    if check == "cache":
        return "redis" if settings.REDIS_URL else "local-memory"
    if check == "database":
        return connection.vendor
    return settings.CELERY_BROKER_URL.split(":", 1)[0] if settings.CELERY_BROKER_URL else "in-process"


CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


def _run_checks() -> dict[str, str | None]:
    """{check: None if it passed, else the error's type name}, within PROBE_SECONDS."""
    outcomes: dict[str, str | None] = {}

    def run(name, check):
        try:
            check()
        except Exception as exc:  # any failure means not ready; the type is enough to say
            outcomes[name] = type(exc).__name__
        else:
            outcomes[name] = None

    threads = [threading.Thread(target=run, args=item, name=f"readyz-{item[0]}", daemon=True)
               for item in CHECKS.items()]
    deadline = time.monotonic() + PROBE_SECONDS
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    done = dict(outcomes)
    return {name: done.get(name, "Timeout") for name in CHECKS}


@require_GET
def readyz(request):
    """200 when database, cache and broker answer within the deadline; 503 naming each that
    does not."""
    results, failing = {}, []
    for name, error in _run_checks().items():
        if error:
            failing.append(name)
            results[name] = {"ok": False, "backend": _backend_name(name), "error": error}
            logger.warning("readiness check failed", extra={"event": {"check": name, "error": error}})
        else:
            results[name] = {"ok": True, "backend": _backend_name(name)}
    status = 503 if failing else 200
    body = {"status": "unavailable" if failing else "ok", "checks": results}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=status)


def _wants_json(request) -> bool:
    return request.path.startswith(("/api/", "/payments/"))


def not_found(request, exception=None):
    """404 for unknown paths: JSON `{"code", "detail"}` under the API, Django's page elsewhere."""
    if _wants_json(request):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def server_error(request):
    """500: JSON under the API (no traceback ever leaves), Django's page elsewhere."""
    if _wants_json(request):
        return JsonResponse({"code": "server_error", "detail": "Internal error."}, status=500)
    from django.views.defaults import server_error as django_server_error

    return django_server_error(request)


# An uploaded file never runs as a page of ours, whatever it holds.
MEDIA_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


@require_GET
def media(request, path: str):
    """A public upload (catalog images) from MEDIA_ROOT, with debug on or off.

    One machine needs no other server for images: the product's cover in the admin and the
    API's absolute image URLs load from here. Only MEDIA_PUBLIC_PREFIXES are served: other
    uploads (a follower's photo) are read through the admin, which checks permissions. With
    MEDIA_STORAGE=s3 the bucket serves images and this answers 404."""
    from django.http import Http404
    from django.views.static import serve

    clean = posixpath.normpath(path).lstrip("/")
    if (
        settings.MEDIA_STORAGE != "local"
        or clean != path
        or not clean.startswith(tuple(settings.MEDIA_PUBLIC_PREFIXES))
    ):
        raise Http404("not a public file")
    response = serve(request, clean, document_root=settings.MEDIA_ROOT)
    # Stored names never change meaning: an upload under a taken name gets a new one.
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["Content-Security-Policy"] = MEDIA_POLICY
    return response


REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@functools.cache
def _redoc_bundle() -> bytes:
    from django.contrib.staticfiles import finders
    from django.contrib.staticfiles.storage import staticfiles_storage

    path = finders.find(REDOC_BUNDLE)
    if path:
        with open(path, "rb") as f:
            source = f.read()
    else:  # collected only (finders may be off in some deployments)
        with staticfiles_storage.open(REDOC_BUNDLE) as f:
            source = f.read()
    # The bundle's sidebar footer always loads Redocly's logo from their CDN: point it at
    # an empty data URL instead (the image's own error handler then hides it).
    return source.replace(REDOC_CDN_LOGO.encode(), b"data:,")


@require_GET
def redoc_script(request):
    """Redoc's standalone bundle from drf-spectacular-sidecar, without its one request to a
    CDN, so the API docs page reaches no other host."""
    from django.http import HttpResponse

    response = HttpResponse(_redoc_bundle(), content_type="application/javascript; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
