"""Throttles key anonymous clients by their real address: a client cannot escape them by
sending its own X-Forwarded-For, and customers behind the TLS proxy get a bucket each.
The public catalog is throttled too, where it costs: pages not yet cached."""

import uuid

import pytest

from miniprogram_api.api.common import CatalogCachedApi
from wxbackend.api import CatalogRateThrottle, LoginRateThrottle

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"  # the TLS proxy's address, as the app sees it


@pytest.fixture
def login_rate(monkeypatch):
    monkeypatch.setitem(LoginRateThrottle.THROTTLE_RATES, "login", "3/min")


@pytest.fixture
def behind_one_proxy(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}


def _login(api, **headers):
    return api.post("/api/v1/auth/login", {"code": "never-issued"}, format="json", **headers).status_code


def _spoofed() -> str:
    return f"198.51.100.{uuid.uuid4().int % 250}, {uuid.uuid4().hex[:8]}"


def test_own_forwarded_for_headers_do_not_escape_the_login_throttle(api, wechat_sim, login_rate):
    """Served directly (the debug default trusts no proxy), X-Forwarded-For is ignored."""
    statuses = [_login(api, HTTP_X_FORWARDED_FOR=_spoofed()) for _ in range(5)]
    assert statuses == [400, 400, 400, 429, 429]
    assert len(wechat_sim.calls("sns/jscode2session")) == 3


def test_behind_one_proxy_the_address_it_appends_is_the_client(api, wechat_sim, login_rate, behind_one_proxy):
    # The proxy appends the address it saw to whatever the client sent.
    statuses = [_login(api, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{_spoofed()}, 203.0.113.7")
                for _ in range(5)]
    assert statuses == [400, 400, 400, 429, 429]
    # Another customer behind the same proxy has a bucket of their own.
    assert _login(api, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.8") == 400


def test_num_proxies_default_is_zero_in_debug(settings):
    # The suite runs with DJANGO_DEBUG=1 (see the Makefile); production's default is covered
    # in tests/wxbackend/test_settings.py.
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0


@pytest.fixture
def catalog_rate(monkeypatch):
    monkeypatch.setitem(CatalogRateThrottle.THROTTLE_RATES, "catalog", "3/min")


def test_catalog_pages_not_yet_cached_are_throttled_per_client(api, catalog_rate):
    assert CatalogRateThrottle in CatalogCachedApi.throttle_classes
    statuses = [api.get("/api/v1/products/", {"q": f"杯{n}"}).status_code for n in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    response = api.get("/api/v1/categories/")
    assert response.status_code == 429 and response.json()["code"] == "throttled"
    assert api.get("/api/v1/products/999999/").status_code == 429
    # Pages already cached are still served: they cost no query and store nothing.
    assert api.get("/api/v1/products/", {"q": "杯0"}).status_code == 200
    # Another client is not affected.
    assert api.get("/api/v1/products/", {"q": "杯9"}, REMOTE_ADDR="203.0.113.9").status_code == 200
