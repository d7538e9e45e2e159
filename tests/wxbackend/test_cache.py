"""A frozen or refused Redis costs the request path a short timeout, not seconds per call:
the cache fails open (wxbackend/cache.py)."""

import logging
import time
from contextlib import contextmanager

import pytest
import responses
from django.core.cache import cache
from django.test import override_settings

from officialaccount.models import Message
from tests.factories import ProductFactory, SkuFactory
from tests.officialaccount.conftest import TOKEN, post_plain, text_xml
from tests.sockets import hung_server, refused_port
from wxbackend import cache as fail_open
from wxbackend.wechat import get_access_token

pytestmark = pytest.mark.django_db


def _caches(port: int) -> dict:
    return {
        "default": {
            "BACKEND": "wxbackend.cache.FailOpenRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }


@contextmanager
def _redis(kind: str):
    """The default cache pointed at a Redis that accepts and never answers, or at a closed
    port; the per-process skip window starts closed and is left closed."""
    fail_open._skip_until.clear()
    if kind == "frozen":
        with hung_server() as port, override_settings(CACHES=_caches(port)):
            yield
    else:
        with override_settings(CACHES=_caches(refused_port())):
            yield
    fail_open._skip_until.clear()


@pytest.fixture(params=["frozen", "refused"])
def redis_down(request):
    with _redis(request.param):
        yield request.param


def _timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_the_catalog_answers_within_a_second(api, redis_down):
    SkuFactory(product=ProductFactory(title="保温杯"), price_fen=1000)
    for _ in range(3):  # each request reads the version, the body, then stores it
        response, elapsed = _timed(lambda: api.get("/api/v1/products/"))
        assert response.status_code == 200
        assert [p["title"] for p in response.json()["results"]] == ["保温杯"]
        assert elapsed < 1.0


def test_a_catalog_write_while_redis_is_down_is_seen_at_once(api, redis_down):
    product = ProductFactory(title="保温杯")
    SkuFactory(product=product, price_fen=1000)
    assert api.get("/api/v1/products/").json()["results"][0]["title"] == "保温杯"
    product.title = "保温杯 新款"
    product.save()
    assert api.get("/api/v1/products/").json()["results"][0]["title"] == "保温杯 新款"


def test_a_plaintext_callback_answers_within_a_second(client, settings, redis_down):
    settings.WECHAT_MP_TOKEN = TOKEN
    settings.WECHAT_MP_ENCODING_AES_KEY = ""
    response, elapsed = _timed(lambda: post_plain(client, text_xml("你好")))
    assert response.status_code == 200
    assert elapsed < 1.0
    assert Message.objects.filter(direction="in", content="你好").exists()


def test_a_frozen_redis_costs_one_timeout_then_is_skipped(caplog):
    with _redis("frozen"), caplog.at_level(logging.WARNING, logger="wxbackend.cache"):
        assert _timed(lambda: cache.get("k", "default"))[1] >= 0.2  # one real timeout
        for call, expected in [
            (lambda: cache.get("k", "default"), "default"),
            (lambda: cache.set("k", 1), None),
            (lambda: cache.add("k", 1), False),
            (lambda: cache.delete("k"), False),
            (lambda: cache.get_many(["k"]), {}),
        ]:
            result, elapsed = _timed(call)
            assert (result, elapsed < 0.05) == (expected, True)
        with pytest.raises(ValueError):
            cache.incr("k")  # as for a missing key, which callers already handle
    assert [r.getMessage() for r in caplog.records] == ["cache unavailable: answering without it"]


def test_redis_is_tried_again_after_the_skip_window(monkeypatch):
    monkeypatch.setattr(fail_open, "SKIP_SECONDS", 0.3)
    with _redis("frozen"):
        cache.get("k")
        assert _timed(lambda: cache.get("k"))[1] < 0.05
        time.sleep(0.35)
        assert _timed(lambda: cache.get("k"))[1] >= 0.2


@responses.activate
def test_the_access_token_is_fetched_without_waiting_for_a_lock_nobody_can_take(settings, redis_down):
    settings.WECHAT_API_BASE = "http://127.0.0.1:9/wechat"
    responses.add(responses.POST, "http://127.0.0.1:9/wechat/cgi-bin/stable_token",
                  json={"access_token": "TOKEN_WHILE_REDIS_IS_DOWN", "expires_in": 7200})
    token, elapsed = _timed(lambda: get_access_token("mp"))
    assert token == "TOKEN_WHILE_REDIS_IS_DOWN"
    assert elapsed < 1.0
    assert len(responses.calls) == 1
