"""Login against the simulated WeChat, tokens, logout, and the secrets that never leave."""

import logging
import socket
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from miniprogram_api.models import ApiToken, Customer
from tests.factories import CustomerFactory, bearer_for
from wxbackend.api import LoginRateThrottle

pytestmark = pytest.mark.django_db

SESSION_KEY = "tiihtNczf5v6AKRyjwEUhQ=="


def _login(api, code):
    return api.post("/api/v1/auth/login", {"code": code}, format="json")


def test_login_creates_one_customer_per_openid_and_returns_a_working_token(api, wechat_sim):
    response = _login(api, wechat_sim.issue_login_code("o_alice", session_key=SESSION_KEY))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at", "customer"}
    assert body["customer"]["nickname"] == "" and body["customer"]["phone"] == ""
    assert Customer.objects.get(openid="o_alice").pk == body["customer"]["id"]

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert api.get("/api/v1/me").json()["id"] == body["customer"]["id"]

    again = _login(api, wechat_sim.issue_login_code("o_alice")).json()
    assert again["customer"]["id"] == body["customer"]["id"]
    assert again["token"] != body["token"]
    assert Customer.objects.filter(openid="o_alice").count() == 1
    (call,) = wechat_sim.calls("sns/jscode2session")[:1]
    assert call["query"]["grant_type"] == "authorization_code"
    assert "access_token" not in call["query"]


def test_session_key_is_renewed_encrypted_and_never_in_a_response_or_log(api, wechat_sim, caplog):
    caplog.set_level(logging.DEBUG)
    first = _login(api, wechat_sim.issue_login_code("o_bob", session_key=SESSION_KEY))
    assert first.status_code == 200
    customer = Customer.objects.get(openid="o_bob")
    assert customer.session_key == SESSION_KEY
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_key FROM miniprogram_api_customer WHERE id = %s", [customer.pk])
        stored = cursor.fetchone()[0]
    assert SESSION_KEY not in stored and stored.startswith("v1:")

    renewed = "bmV3LXNlc3Npb24ta2V5IQ=="
    second = _login(api, wechat_sim.issue_login_code("o_bob", session_key=renewed))
    customer.refresh_from_db()
    assert customer.session_key == renewed

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {second.json()['token']}")
    bodies = [first.content, second.content, api.get("/api/v1/me").content, api.get("/api/v1/me/export").content]
    for key in (SESSION_KEY, renewed):
        assert all(key.encode() not in body for body in bodies)
        assert key not in caplog.text
        assert all(key not in str(r.__dict__) for r in caplog.records)


def test_token_is_stored_hashed_with_an_expiry(api, wechat_sim):
    token = _login(api, wechat_sim.issue_login_code("o_carol")).json()["token"]
    row = ApiToken.objects.get(customer__openid="o_carol")
    assert row.key_hash != token and len(row.key_hash) == 64
    assert token not in row.key_hash
    assert row.expires_at > timezone.now() + timedelta(days=29)


def test_unionid_is_kept_and_links_to_the_follower(api, wechat_sim):
    from officialaccount.models import Follower

    Follower.objects.create(openid="o_mp_dave", unionid="u_dave", is_subscribed=True)
    body = _login(api, wechat_sim.issue_login_code("o_dave", unionid="u_dave")).json()
    assert Customer.objects.get(openid="o_dave").unionid == "u_dave"
    assert body["customer"]["follows_official_account"] is True
    # A later login without unionid keeps the one we have.
    _login(api, wechat_sim.issue_login_code("o_dave"))
    assert Customer.objects.get(openid="o_dave").unionid == "u_dave"


@pytest.mark.parametrize("code", ["never-issued", ""])
def test_invalid_code_is_400_invalid_code_or_field_error(api, wechat_sim, code):
    response = _login(api, code)
    assert response.status_code == 400
    assert response.json()["code"] == ("invalid_code" if code else "invalid")
    assert not Customer.objects.exists()


def test_used_code_is_400_invalid_code(api, wechat_sim):
    code = wechat_sim.issue_login_code("o_erin")
    assert _login(api, code).status_code == 200
    response = _login(api, code)
    assert response.status_code == 400 and response.json()["code"] == "invalid_code"


def test_wechat_rate_limit_45011_is_429(api, wechat_sim):
    wechat_sim.fail_next("sns/jscode2session", 45011, "api minute-quota reach limit")
    response = _login(api, wechat_sim.issue_login_code("o_frank"))
    assert response.status_code == 429
    assert response.json()["code"] == "wechat_rate_limited"
    assert response["Retry-After"] == "60"


def test_high_risk_user_40226_is_403(api, wechat_sim):
    wechat_sim.fail_next("sns/jscode2session", 40226, "risky user")
    response = _login(api, wechat_sim.issue_login_code("o_gina"))
    assert response.status_code == 403 and response.json()["code"] == "login_blocked"


def test_busy_once_is_retried_then_succeeds(api, wechat_sim):
    wechat_sim.fail_next("sns/jscode2session", -1, "system busy")
    response = _login(api, wechat_sim.issue_login_code("o_hank"))
    assert response.status_code == 200
    assert len(wechat_sim.calls("sns/jscode2session")) == 2


def test_busy_twice_is_503_wechat_unavailable(api, wechat_sim):
    wechat_sim.fail_next("sns/jscode2session", -1, "system busy", times=2)
    response = _login(api, wechat_sim.issue_login_code("o_ivy"))
    assert response.status_code == 503 and response.json()["code"] == "wechat_unavailable"


def test_wechat_unreachable_is_503_wechat_unavailable(api, settings):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.WECHAT_API_BASE = f"http://127.0.0.1:{port}"
    response = _login(api, "any-code")
    assert response.status_code == 503
    assert response.json() == {"code": "wechat_unavailable", "detail": "WeChat is unavailable; try again shortly."}


def test_invalid_json_is_400_parse_error(api):
    response = api.post("/api/v1/auth/login", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


@pytest.mark.parametrize("body", [{"code": 123}, {"code": ["a"]}, {"code": "x" * 129}, {}, []])
def test_wrong_types_are_400_with_field_errors(api, body):
    response = api.post("/api/v1/auth/login", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_login_is_throttled(api, wechat_sim, monkeypatch):
    monkeypatch.setitem(LoginRateThrottle.THROTTLE_RATES, "login", "3/min")
    statuses = [_login(api, "never-issued").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert _login(api, "never-issued").json()["code"] == "throttled"


def test_missing_malformed_expired_or_revoked_tokens_are_401_not_authenticated(api):
    customer = CustomerFactory()
    expired = bearer_for(customer, expires_at=timezone.now() - timedelta(seconds=1))
    revoked = bearer_for(customer, revoked_at=timezone.now())
    for header in [None, "Bearer", "Bearer a b", "Bearer nope", f"Bearer {expired}", f"Bearer {revoked}",
                   "Basic dXNlcjpwYXNz", "Bearer " + "x" * 300]:
        if header:
            api.credentials(HTTP_AUTHORIZATION=header)
        else:
            api.credentials()
        for method, url in [("get", "/api/v1/me"), ("get", "/api/v1/cart/items/"), ("post", "/api/v1/addresses/"),
                            ("get", "/api/v1/me/export"), ("delete", "/api/v1/me"), ("post", "/api/v1/auth/logout")]:
            response = getattr(api, method)(url)
            assert response.status_code == 401, (header, url)
            assert response.json()["code"] == "not_authenticated"
            assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_logout_revokes_the_token_at_once(customer_api, customer):
    assert customer_api.get("/api/v1/me").status_code == 200
    other_token = bearer_for(customer)
    assert customer_api.post("/api/v1/auth/logout").status_code == 204
    assert customer_api.get("/api/v1/me").status_code == 401
    customer_api.credentials(HTTP_AUTHORIZATION=f"Bearer {other_token}")
    assert customer_api.get("/api/v1/me").status_code == 200  # other devices stay logged in
