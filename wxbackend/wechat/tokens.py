"""The access token, shared by every process through the cache (spec 3).

One entry per appid holds the token and its expiry. When fewer than 5 minutes remain, the
process that wins a cache lock (SET NX) asks `cgi-bin/stable_token` in normal mode (which
hands concurrent callers the same token) and stores the answer; the others keep using the
still-valid token or, if there is none, wait briefly for the winner's. With the cache down
(wxbackend.cache fails open) every caller asks stable_token itself rather than wait.
"""

import time
import uuid

from django.core.cache import cache, caches

from wxbackend.cache import cache_is_skipping

from . import transport
from .apps import credentials
from .errors import CREDENTIAL_ERRCODES, GatewayMisconfigured, GatewayRejected, GatewayUnavailable

REFRESH_BEFORE_SECONDS = 300
LOCK_SECONDS = 10  # longer than one token call can take (connect + read timeouts)
WAIT_SECONDS = 5.0
POLL_SECONDS = 0.05


def _key(appid: str) -> str:
    return f"wechat:access_token:{appid}"


def get_access_token(app: str) -> str:
    """A valid access token for `app` ("mp" or "miniapp"), fetched at most once at a time."""
    appid = credentials(app).appid
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        token, remaining = _cached(appid)
        if remaining >= REFRESH_BEFORE_SECONDS:
            return token
        lock_key, lock_value = _key(appid) + ":lock", uuid.uuid4().hex
        if cache.add(lock_key, lock_value, timeout=LOCK_SECONDS):
            try:
                token, remaining = _cached(appid)  # a winner may have just finished
                return token if remaining >= REFRESH_BEFORE_SECONDS else _refresh(app)
            finally:
                if cache.get(lock_key) == lock_value:
                    cache.delete(lock_key)
        if remaining > 30:
            return token  # someone is refreshing; the old one still works meanwhile
        if cache_is_skipping(caches["default"]):
            # The cache is down: no lock can be taken and no token is shared. Ask WeChat
            # directly (stable_token in normal mode hands concurrent callers one token).
            return _refresh(app)
        if time.monotonic() > deadline:
            raise GatewayUnavailable(None, f"timed out waiting for another process's {app} access token")
        time.sleep(POLL_SECONDS)


def _cached(appid: str) -> tuple[str, float]:
    """The cached token and its remaining seconds ("" and 0 when there is none)."""
    entry = cache.get(_key(appid))
    if not entry:
        return "", 0.0
    return entry["token"], entry["expires_at"] - time.time()


def invalidate_access_token(app: str, token: str) -> None:
    """Drop the cached token if it is still `token` (the one WeChat refused), so that a
    token another process has just refreshed survives."""
    key = _key(credentials(app).appid)
    entry = cache.get(key)
    if entry and entry["token"] == token:
        cache.delete(key)


def _refresh(app: str) -> str:
    creds = credentials(app)
    payload = {"grant_type": "client_credential", "appid": creds.appid,
               "secret": creds.secret, "force_refresh": False}
    try:
        result = transport.send(app, "POST", "cgi-bin/stable_token",
                                body=transport.encode_json(payload))
    except GatewayRejected as exc:
        if exc.errcode in CREDENTIAL_ERRCODES:
            raise GatewayMisconfigured(
                exc.errcode,
                f"WeChat refused the {app} credentials ({exc.errmsg}): check "
                f"WECHAT_{app.upper()}_APPID / WECHAT_{app.upper()}_SECRET and the IP whitelist",
            )
        raise
    token, expires_in = result.get("access_token"), int(result.get("expires_in") or 0)
    if not token or expires_in <= 0:
        raise GatewayUnavailable(None, "stable_token answered without a token")
    cache.set(_key(creds.appid), {"token": token, "expires_at": time.time() + expires_in},
              timeout=expires_in)
    return token
