"""The catalog version: one counter in the shared cache that every content write bumps,
and a stock version per product that stock changes bump instead.

The public catalog endpoints key their cached responses by them, so a cached body is never
served after a write: readers read the versions *before* they query, and writers bump both
at once and again after commit (a reader that ran inside the writer's transaction window
stored its body under the intermediate version, which the second bump retires).

Stock shows only on a product's detail page, so a sale retires that page alone: the list
pages, the category tree and the official account's match index keep their content version.
"""

import time
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

VERSION_KEY = "catalog:version"
STOCK_KEY = "catalog:stock:{product_id}"


def _fresh_start() -> int:
    # A version that no earlier counter reached, should the key ever be evicted.
    return time.time_ns() // 1000


def _read(*keys: str) -> list[int]:
    """The counters under `keys`, in one cache round trip when all are set; a missing one
    starts past anything used before. With the cache down (it fails open) each is a fresh
    value no body was stored under, so nothing cached, here or in this process, is served."""
    found = cache.get_many(keys)
    values = []
    for key in keys:
        value = found.get(key)
        if value is None:
            cache.add(key, _fresh_start(), timeout=None)
            value = cache.get(key)
        values.append(int(value) if value is not None else _fresh_start())
    return values


def catalog_version() -> int:
    """The current catalog content version (one cache round trip when set)."""
    return _read(VERSION_KEY)[0]


def catalog_versions(*, product_id: int) -> tuple[int, int]:
    """The content version and the product's stock version, in one cache round trip."""
    content, stock = _read(VERSION_KEY, STOCK_KEY.format(product_id=product_id))
    return content, stock


def _incr(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:  # missing (evicted or never set): start past anything used before
        cache.add(key, _fresh_start(), timeout=None)


def _bump() -> None:
    _incr(VERSION_KEY)


def catalog_version_bump() -> None:
    """Retire every cached catalog response, now and once more when the transaction commits."""
    _bump()
    transaction.on_commit(_bump)


def catalog_stock_bump(*, sku_ids: Iterable[int]) -> None:
    """Retire the cached detail pages of the products of these SKUs (their stock changed),
    now and once more when the transaction commits; nothing else is retired."""
    from catalog.models import Sku

    product_ids = sorted(set(Sku.objects.filter(pk__in=list(sku_ids)).values_list("product_id", flat=True)))

    def bump() -> None:
        for product_id in product_ids:
            _incr(STOCK_KEY.format(product_id=product_id))

    bump()
    transaction.on_commit(bump)
