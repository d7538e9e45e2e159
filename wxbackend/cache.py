"""A Redis cache that a frozen or unreachable Redis cannot stall.

The cache only makes requests cheaper (access tokens, catalog bodies, throttles, versions),
so when Redis does not answer within REDIS_SOCKET_TIMEOUT a call fails open: a read answers
the default, a write answers as if nothing was stored, and one warning is logged. After a
failure this process skips Redis for SKIP_SECONDS, so a frozen Redis costs one timeout per
process every few seconds instead of one per call. redis-py's own retries are off.
"""

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

logger = logging.getLogger(__name__)

SKIP_SECONDS = 3.0
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)

# Per process, shared by every thread's backend: servers -> monotonic time to try again.
_skip_until: dict[str, float] = {}
_skip_lock = threading.Lock()


class _Client(RedisCacheClient):
    """Django's client, keeping one redis.Redis per pool instead of building one per call
    (which costs about as much as the round trip itself)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class FailOpenRedisCache(RedisCache):
    """Django's RedisCache whose calls fail open when Redis is unreachable or too slow."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _Client
        self._options = {"retry": Retry(NoBackoff(), 0), **self._options}
        self._name = ",".join(self._servers)

    def is_skipping(self) -> bool:
        """True while this process answers without Redis after a failure."""
        return time.monotonic() < _skip_until.get(self._name, 0.0)

    def _try(self, fallback, call, *args):
        if self.is_skipping():
            return fallback
        try:
            return call(*args)
        except UNAVAILABLE as exc:
            with _skip_lock:
                first = not self.is_skipping()
                _skip_until[self._name] = time.monotonic() + SKIP_SECONDS
            if first:
                logger.warning(
                    "cache unavailable: answering without it",
                    extra={"event": {"error": type(exc).__name__, "skip_seconds": SKIP_SECONDS}},
                )
            return fallback

    def get(self, key, default=None, version=None):
        return self._try(default, super().get, key, default, version)

    def get_many(self, keys, version=None):
        return self._try({}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._try(False, super().has_key, key, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try(False, super().add, key, value, timeout, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._try(None, super().set, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try(list(data), super().set_many, data, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try(False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._try(False, super().delete, key, version)

    def delete_many(self, keys, version=None):
        self._try(None, super().delete_many, keys, version)

    def incr(self, key, delta=1, version=None):
        missing = object()
        result = self._try(missing, super().incr, key, delta, version)
        if result is missing:  # as for a key that is not there
            raise ValueError(f"Key '{key}' not found (the cache is unavailable).")
        return result

    def clear(self):
        return self._try(False, super().clear)


def cache_is_skipping(backend) -> bool:
    """True when `backend` is answering without its server (any other backend: False)."""
    return isinstance(backend, FailOpenRedisCache) and backend.is_skipping()
