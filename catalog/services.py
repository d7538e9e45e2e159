"""Catalog writes that bypass model signals (bulk updates, stock counters); each bumps the
catalog version so that the public API's cached responses never outlive the change."""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F

from catalog.cache import catalog_stock_bump, catalog_version_bump
from catalog.exceptions import OutOfStock, SkuUnavailable
from catalog.models import Product, Sku


@transaction.atomic
def product_set_on_shelf(*, product_ids: Iterable[int], is_on_shelf: bool) -> int:
    """Put products on or off the shelf in one UPDATE; return how many rows changed."""
    changed = Product.objects.filter(pk__in=list(product_ids)).update(is_on_shelf=is_on_shelf)
    catalog_version_bump()
    return changed


@transaction.atomic
def sku_stock_set(*, sku_id: int, stock: int) -> Sku:
    """Set a SKU's stock to an absolute count (merchant edits); raises ValueError below 0."""
    if stock < 0:
        raise ValueError("stock cannot be negative")
    if not Sku.objects.filter(pk=sku_id).update(stock=stock):
        raise SkuUnavailable()
    catalog_version_bump()
    return Sku.objects.get(pk=sku_id)


@transaction.atomic
def sku_stock_take(*, sku_id: int, quantity: int) -> None:
    """Take `quantity` units with one conditional UPDATE (no lock); raises OutOfStock."""
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    taken = Sku.objects.filter(pk=sku_id, stock__gte=quantity).update(stock=F("stock") - quantity)
    if not taken:
        raise OutOfStock(f"SKU {sku_id} has fewer than {quantity} left.", sku_id=sku_id)
    catalog_stock_bump(sku_ids=[sku_id])


@transaction.atomic
def sku_stock_release(*, sku_id: int, quantity: int) -> None:
    """Give `quantity` units back (a cancelled or closed order)."""
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    Sku.objects.filter(pk=sku_id).update(stock=F("stock") + quantity)
    catalog_stock_bump(sku_ids=[sku_id])


def catalog_import_finished() -> None:
    """Called after a CSV import: imports may write in bulk, past the model signals."""
    catalog_version_bump()
