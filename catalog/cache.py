"""The catalog version: one counter in the shared cache that every catalog write bumps.

The public catalog endpoints key their cached responses by it, so a cached body is never
served after a write: readers read the version *before* they query, and writers bump it both
at once and again after commit (a reader that ran inside the writer's transaction window
stored its body under the intermediate version, which the second bump retires).
"""

import time

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction

VERSION_KEY = "catalog:version"


def _raw_redis():
    """A redis client kept on the cache backend, or None for other backends.

    Django's RedisCache builds a new redis.Redis object on every call, which costs as much
    as the round trip itself; the catalog's hot path reads the version on every request."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    client = backend.__dict__.get("_catalog_raw_client")
    if client is None:
        client = backend._cache.get_client(write=False)  # bound to the backend's own pool
        backend.__dict__["_catalog_raw_client"] = client
    return client


def _fresh_start() -> int:
    # A version that no earlier counter reached, should the key ever be evicted.
    return time.time_ns() // 1000


def catalog_version() -> int:
    """The current catalog version (one cache round trip when set)."""
    client = _raw_redis()
    if client is not None:
        # RedisCache stores ints as plain Redis integers (what INCR needs), so the raw
        # value is the number itself.
        raw = client.get(cache.make_and_validate_key(VERSION_KEY))
        version = int(raw) if raw is not None else None
    else:
        version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, _fresh_start(), timeout=None)
        version = cache.get(VERSION_KEY)
    return int(version)


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # missing (evicted or never set): start past anything used before
        cache.add(VERSION_KEY, _fresh_start(), timeout=None)


def catalog_version_bump() -> None:
    """Retire every cached catalog response, now and once more when the transaction commits."""
    _bump()
    transaction.on_commit(_bump)
