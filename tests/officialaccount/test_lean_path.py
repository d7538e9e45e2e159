"""The callback skips the session/auth/messages/locale/CSRF middleware (it is served lean by
RequestLogMiddleware) but keeps everything that protects a response: the Host check, the SSL
redirect, the security headers, Content-Length and one log line."""

import logging

import pytest

from officialaccount.models import Message, ReplyRule
from tests.officialaccount.conftest import URL, post_plain, signed_query, text_xml

pytestmark = pytest.mark.django_db


@pytest.fixture
def hello_rule():
    return ReplyRule.objects.create(name="问候", keyword="你好", text="您好，欢迎光临")


def test_the_answer_carries_the_security_headers_and_its_length(client, plain_mode, hello_rule):
    response = post_plain(client, text_xml("你好"))
    assert response.status_code == 200
    assert "您好，欢迎光临" in response.content.decode()
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Content-Length"] == str(len(response.content))
    assert not response.cookies  # no session or CSRF cookie for WeChat's servers


def test_refusals_carry_the_security_headers_too(client, plain_mode):
    response = post_plain(client, text_xml("你好"), signature="0" * 40)
    assert response.status_code == 403
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_a_host_outside_allowed_hosts_is_refused_before_anything_is_stored(client, plain_mode, hello_rule, settings):
    settings.ALLOWED_HOSTS = ["wx.example.com"]
    query = "&".join(f"{k}={v}" for k, v in signed_query().items())
    response = client.generic("POST", f"{URL}?{query}", text_xml("你好").encode(), content_type="text/xml",
                              HTTP_HOST="evil.example.net")
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_plain_http_is_redirected_when_ssl_redirect_is_on(client, plain_mode, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = post_plain(client, text_xml("你好"))
    assert response.status_code == 301
    assert response["Location"].startswith("https://")
    assert not Message.objects.exists()


def test_hsts_is_sent_over_https(client, plain_mode, hello_rule, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    query = "&".join(f"{k}={v}" for k, v in signed_query().items())
    response = client.generic("POST", f"{URL}?{query}", text_xml("你好").encode(), content_type="text/xml",
                              secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=3600")


def test_the_url_without_slash_is_served_the_same_way(client, plain_mode, hello_rule):
    query = "&".join(f"{k}={v}" for k, v in signed_query().items())
    response = client.generic("POST", f"{URL.rstrip('/')}?{query}", text_xml("你好").encode(),
                              content_type="text/xml")
    assert response.status_code == 200
    assert "您好，欢迎光临" in response.content.decode()
    assert response["X-Content-Type-Options"] == "nosniff"


def test_each_callback_logs_one_line_without_the_query_string(client, plain_mode, hello_rule, caplog):
    caplog.set_level(logging.INFO, logger="wxbackend.request")
    post_plain(client, text_xml("你好"))
    lines = [r for r in caplog.records if r.name == "wxbackend.request"]
    assert len(lines) == 1
    assert lines[0].event["path"] == URL
    assert lines[0].event["status"] == 200
    assert "signature" not in lines[0].getMessage()
