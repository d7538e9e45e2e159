"""The liveness and readiness probes."""

import time

import pytest
from django.core.cache import caches
from django.db import connections
from django.test import override_settings

from tests.sockets import hung_server, refused_port
from wxbackend import cache as fail_open


def test_healthz_answers_ok_without_touching_anything(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_database_cache_and_broker_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}


@pytest.mark.django_db
def test_readyz_names_redis_when_the_cache_port_is_closed(client):
    closed = "redis://127.0.0.1:1/0"
    caches_closed = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": closed,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    with override_settings(REDIS_URL=closed, CACHES=caches_closed):
        try:
            response = client.get("/readyz")
        finally:
            caches["default"].close()
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["cache"]
    assert body["checks"]["cache"]["backend"] == "redis"
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_readyz_names_the_broker_when_it_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


def _timed_readyz(client):
    started = time.monotonic()
    response = client.get("/readyz")
    return response, time.monotonic() - started


@pytest.mark.django_db
@pytest.mark.parametrize("scheme", ["redis", "amqp"])
def test_readyz_names_a_hung_broker_within_a_second(client, settings, scheme):
    with hung_server() as port:
        settings.CELERY_BROKER_URL = f"{scheme}://127.0.0.1:{port}/0" if scheme == "redis" else f"amqp://guest:guest@127.0.0.1:{port}//"
        response, elapsed = _timed_readyz(client)
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert elapsed < 1.0


@pytest.mark.django_db
def test_readyz_names_a_refused_broker_within_a_second(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{refused_port()}/0"
    response, elapsed = _timed_readyz(client)
    assert (response.status_code, response.json()["failing"]) == (503, ["broker"])
    assert elapsed < 1.0


@pytest.mark.django_db
@pytest.mark.parametrize("backend", ["wxbackend.cache.FailOpenRedisCache", "django.core.cache.backends.redis.RedisCache"])
def test_readyz_names_a_frozen_redis_within_a_second(client, backend):
    """Even a cache whose own timeouts are long: the probe's deadline bounds the answer."""
    with hung_server() as port:
        url = f"redis://127.0.0.1:{port}/0"
        frozen = {"default": {"BACKEND": backend, "LOCATION": url,
                              "OPTIONS": {"socket_connect_timeout": 5, "socket_timeout": 5}}}
        with override_settings(REDIS_URL=url, CACHES=frozen):
            response, elapsed = _timed_readyz(client)
    fail_open._skip_until.clear()
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["cache"]
    assert body["checks"]["cache"]["backend"] == "redis"
    assert elapsed < 1.0


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["hung", "refused"])
def test_readyz_names_an_unreachable_database_within_a_second(client, monkeypatch, kind):
    """New connections go to a server that never answers (or to a closed port); the
    request's own connection is left alone."""
    db = connections.settings["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("needs a networked database")
    with hung_server() as port:
        monkeypatch.setitem(db, "HOST", "127.0.0.1")
        monkeypatch.setitem(db, "PORT", port if kind == "hung" else refused_port())
        response, elapsed = _timed_readyz(client)
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["database"]
    assert body["checks"]["database"]["error"] in {"Timeout", "OperationalError"}
    assert elapsed < 1.0
