"""Log lines are structured and never carry a secret, a token or a long body."""

import json
import logging

import pytest

from wxbackend.logging import JsonFormatter


def _format(event: dict) -> dict:
    record = logging.LogRecord("wxbackend.wechat", logging.INFO, __file__, 1, "call", None, None)
    record.event = event
    return json.loads(JsonFormatter().format(record))


def test_sensitive_fields_are_masked_at_any_depth():
    line = _format(
        {"path": "sns/jscode2session", "query": {"js_code": "081xyz", "secret": "s3cr3t"},
         "result": {"session_key": "tiihtNczf5v6AKRyjwEUhQ==", "openid": "o1"}}
    )
    text = json.dumps(line)
    for secret in ("081xyz", "s3cr3t", "tiihtNczf5v6AKRyjwEUhQ=="):
        assert secret not in text
    assert line["result"]["openid"] == "o1"


def test_long_values_are_cut():
    line = _format({"body": "x" * 100_000})
    assert len(line["body"]) < 3000


@pytest.mark.django_db
def test_each_request_logs_one_line_without_the_query_string(client, caplog):
    caplog.set_level(logging.INFO, logger="wxbackend.request")
    client.get("/healthz?signature=abc123&echostr=zzz")
    lines = [r for r in caplog.records if r.name == "wxbackend.request"]
    assert len(lines) == 1
    assert lines[0].event == {"method": "GET", "path": "/healthz", "status": 200, "ms": lines[0].event["ms"]}


@pytest.mark.django_db
def test_unknown_api_path_is_json_404(client, settings):
    settings.DEBUG = False
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_request_lines_from_other_loggers_lose_their_credentials():
    from wxbackend.logging import RedactQueryFilter

    record = logging.LogRecord(
        "django.server", logging.WARNING, __file__, 1, '"%s" %s %s',
        ("GET /__sim__/api/cgi-bin/user/info?access_token=ACCESS123&openid=o1 HTTP/1.1", 400, 12), None,
    )
    RedactQueryFilter().filter(record)
    assert "ACCESS123" not in record.getMessage()
    assert "openid=o1" in record.getMessage()
