"""One HTTP exchange with WeChat: pooled session, timeouts, errcode mapping, one log line.

Nothing here knows about access tokens; `client.py` adds them. The log line carries the
app, method, path, HTTP status, errcode and duration, never the query string (tokens,
secrets, js_code), bodies or answers (session_key, phone numbers).
"""

import json
import logging
import time
from typing import Any

import requests
from django.conf import settings

from .errors import GatewayRejected, GatewayUnavailable, WeChatError, error_for

logger = logging.getLogger("wxbackend.wechat")

# One pool per process, shared by every thread: requests.Session is safe for concurrent
# plain requests once built, and keeps connections to WeChat alive.
SESSION = requests.Session()
SESSION.headers["User-Agent"] = "wxbackend"


def api_url(path: str) -> str:
    """The absolute URL of `path` under WECHAT_API_BASE, read at call time."""
    return f"{settings.WECHAT_API_BASE.rstrip('/')}/{path.lstrip('/')}"


def timeouts() -> tuple[float, float]:
    return (settings.WECHAT_CONNECT_TIMEOUT, settings.WECHAT_READ_TIMEOUT)


def encode_json(payload: Any) -> bytes:
    # WeChat shows \u escapes literally in some messages, so Chinese goes out as UTF-8.
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def send(app: str, method: str, path: str, *, params: dict | None = None,
         body: bytes | None = None, files: dict | None = None,
         timeout: tuple[float, float] | None = None) -> dict:
    """Send one request; return the answer as a dict or raise a WeChatError. `timeout`
    (connect, read) replaces the configured one for a caller with a deadline of its own.

    A JSON answer without errcode (or errcode 0) is returned as parsed; a non-JSON 2xx
    answer (images, media) as {"content": bytes, "content_type": str}.
    """
    started = time.perf_counter()
    status, errcode = None, None
    try:
        response = SESSION.request(
            method, api_url(path), params=params, data=body, files=files, timeout=timeout or timeouts(),
            headers={"Content-Type": "application/json"} if body is not None else None,
        )
        status = response.status_code
        result = _parse(response)
        errcode = result.get("errcode")
        return result
    except WeChatError as exc:
        errcode = exc.errcode
        raise
    except requests.Timeout:
        errcode = "timeout"
        raise GatewayUnavailable(None, f"WeChat did not answer {path} in time")
    except requests.RequestException as exc:
        errcode = "connection"
        raise GatewayUnavailable(None, f"could not reach WeChat for {path}: {type(exc).__name__}")
    finally:
        _log(app, method, path, status, errcode, started)


def _parse(response: requests.Response) -> dict:
    if response.status_code >= 500:
        raise GatewayUnavailable(None, f"WeChat answered HTTP {response.status_code}")
    try:
        result = response.json()
    except ValueError:
        if response.ok:
            return {"content": response.content,
                    "content_type": response.headers.get("Content-Type", "")}
        raise GatewayRejected(None, f"WeChat answered HTTP {response.status_code}")
    if not isinstance(result, dict):
        raise GatewayRejected(None, "WeChat answered JSON that is not an object")
    try:
        errcode = int(result.get("errcode") or 0)
    except (TypeError, ValueError):
        raise GatewayRejected(None, f"WeChat answered an errcode that is not a number: {result['errcode']!r}")
    if errcode:
        raise error_for(errcode, str(result.get("errmsg", "")))
    if not response.ok:
        raise GatewayRejected(None, f"WeChat answered HTTP {response.status_code}")
    return result


def _log(app: str, method: str, path: str, status: int | None, errcode, started: float) -> None:
    ms = round((time.perf_counter() - started) * 1000, 1)
    failed = status is None or status >= 500 or errcode not in (None, 0)
    logger.log(
        logging.WARNING if failed else logging.INFO,
        "wechat call",
        extra={"event": {"app": app, "method": method, "path": path, "status": status,
                         "errcode": errcode, "ms": ms}},
    )
