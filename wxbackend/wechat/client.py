"""`call()`: the one way the project talks to the official-account and mini-program APIs.

It adds the shared access token, and when WeChat says the token is invalid or expired
(40001/40014/42001) it drops that token, fetches the current one and resends once; WeChat
Pay has its own client (`pay.py`).
"""

from typing import Any

from . import transport
from .apps import credentials
from .errors import TOKEN_ERRCODES, GatewayRejected
from .tokens import get_access_token, invalidate_access_token


def call(app: str, method: str, path: str, *, params: dict | None = None, json: Any = None,
         token: bool = True, timeout: tuple[float, float] | None = None) -> dict:
    """Call `path` (relative to WECHAT_API_BASE) for `app` ("mp" or "miniapp").

    Returns the answer as a dict when its errcode is absent or 0; raises GatewayUnavailable
    (transient) or GatewayRejected (permanent).
    """
    body = transport.encode_json(json) if json is not None else None
    return request(app, method, path, params=params, body=body, token=token, timeout=timeout)


def request(app: str, method: str, path: str, *, params: dict | None = None,
            body: bytes | None = None, files: dict | None = None, token: bool = True,
            timeout: tuple[float, float] | None = None) -> dict:
    """`call()` for an already encoded body or a file upload (the wechatpy bridge uses it)."""
    method = method.upper()
    if not token:
        return transport.send(app, method, path, params=params, body=body, files=files, timeout=timeout)
    access_token = get_access_token(app)
    try:
        return _send_with_token(app, method, path, params, body, files, access_token, timeout)
    except GatewayRejected as exc:
        if exc.errcode not in TOKEN_ERRCODES:
            raise
        invalidate_access_token(app, access_token)
    access_token = get_access_token(app)
    try:
        return _send_with_token(app, method, path, params, body, files, access_token, timeout)
    except GatewayRejected as exc:
        if exc.errcode not in TOKEN_ERRCODES:
            raise
        raise GatewayRejected(
            exc.errcode,
            f"WeChat rejected the {app} access token again after one refresh ({exc.errmsg})",
        )


def _send_with_token(app, method, path, params, body, files, access_token, timeout=None) -> dict:
    if files:
        files = {name: _rewind(f) for name, f in files.items()}
    return transport.send(app, method, path, params={**(params or {}), "access_token": access_token},
                          body=body, files=files, timeout=timeout)


def _rewind(file):
    """A file object is read by the first attempt; rewind it for the resend."""
    if hasattr(file, "seek"):
        file.seek(0)
    return file


def code_to_session(js_code: str) -> dict:
    """Exchange a mini-program `wx.login` code (spec 4): {"openid", "session_key", "unionid"?}.

    The answer holds the session_key: keep it on the server, never log or return it.
    """
    creds = credentials("miniapp")
    return call("miniapp", "GET", "sns/jscode2session", token=False, params={
        "appid": creds.appid, "secret": creds.secret, "js_code": js_code,
        "grant_type": "authorization_code",
    })
