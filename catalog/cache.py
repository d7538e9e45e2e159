"""The catalog version: one counter in the shared cache that every catalog write bumps.

The public catalog endpoints key their cached responses by it, so a cached body is never
served after a write: readers read the version *before* they query, and writers bump it both
at once and again after commit (a reader that ran inside the writer's transaction window
stored its body under the intermediate version, which the second bump retires).
"""

import time

from django.core.cache import cache
from django.db import transaction

VERSION_KEY = "catalog:version"


def _fresh_start() -> int:
    # A version that no earlier counter reached, should the key ever be evicted.
    return time.time_ns() // 1000


def catalog_version() -> int:
    """The current catalog version (one cache round trip when set)."""
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, _fresh_start(), timeout=None)
        version = cache.get(VERSION_KEY)
    if version is None:
        # The cache is down (it fails open): a version no body was stored under, so
        # nothing cached, here or in this process, is served for it.
        return _fresh_start()
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
