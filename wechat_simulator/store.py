"""The simulator's memory, kept in the shared cache so that every process (runserver,
gunicorn workers, a test's server thread) sees the same calls, codes and tokens.

Calls are numbered with an atomic counter (`cache.incr`) and stored one key each, so
concurrent writers never overwrite each other.
"""

import hashlib
import re
import time
from typing import Any

from django.core.cache import cache

PREFIX = "sim:"
KEEP_SECONDS = 24 * 3600
MAX_LISTED = 500


def record_call(*, api: str, method: str, path: str, query: dict, body: Any, status: int,
                verdict: str = "ok", response: Any = None) -> int:
    """Remember one call the project made to the simulator; return its number."""
    try:
        number = cache.incr(PREFIX + "seq")
    except ValueError:  # first call, or the cache was flushed: start the count again
        cache.add(PREFIX + "seq", 0, timeout=None)
        number = cache.incr(PREFIX + "seq")
    cache.set(
        f"{PREFIX}call:{number}",
        {
            "n": number,
            "at": time.time(),
            "api": api,  # "api" (api.weixin.qq.com) or "pay" (api.mch.weixin.qq.com)
            "method": method,
            "path": path,
            "query": query,
            "body": body,
            "status": status,
            "verdict": verdict,
            "response": response,
        },
        timeout=KEEP_SECONDS,
    )
    return number


def calls(*, path: str | None = None, api: str | None = None, limit: int = MAX_LISTED) -> list[dict]:
    """The calls remembered, oldest first; optionally only those to `path` (exact, no
    leading slash) or to one `api`."""
    last = cache.get(PREFIX + "seq") or 0
    keys = [f"{PREFIX}call:{n}" for n in range(max(1, last - limit + 1), last + 1)]
    found = cache.get_many(keys)
    result = [found[k] for k in keys if k in found]
    if path is not None:
        result = [c for c in result if c["path"] == path.lstrip("/")]
    if api is not None:
        result = [c for c in result if c["api"] == api]
    return result


_PLAIN_KEY = re.compile(r"[\w:.\-]{1,200}", re.ASCII)


def _key(key: str) -> str:
    """Keys hold client-sent values (codes, media ids): hash any that are not plain ASCII."""
    if _PLAIN_KEY.fullmatch(key):
        return PREFIX + key
    return PREFIX + "h:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def put(key: str, value: Any, timeout: int | None = KEEP_SECONDS) -> None:
    cache.set(_key(key), value, timeout=timeout)


def add(key: str, value: Any, timeout: int | None = KEEP_SECONDS) -> bool:
    """Set only if absent (atomic): True if this call set it."""
    return cache.add(_key(key), value, timeout=timeout)


def get(key: str, default: Any = None) -> Any:
    return cache.get(_key(key), default)


def get_many(keys: list[str]) -> list[Any]:
    """The values of `keys` that exist, in the order of `keys` (one round trip)."""
    found = cache.get_many([_key(k) for k in keys])
    return [found[_key(k)] for k in keys if _key(k) in found]


def pop(key: str) -> Any:
    """Get and delete (single-use codes). Not atomic across processes; good enough for a
    development tool whose codes are used by one client."""
    value = cache.get(_key(key))
    if value is not None:
        cache.delete(_key(key))
    return value


def incr(key: str, timeout: int | None = KEEP_SECONDS) -> int:
    """Add one to a counter (atomic, created at 0); return the new value."""
    cache.add(_key(key), 0, timeout=timeout)
    return cache.incr(_key(key))
