"""Catalog writes that bypass model signals (bulk updates, stock counters); each bumps the
catalog version so that the public API's cached responses never outlive the change."""

from collections.abc import Iterable, Mapping

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F

from catalog.cache import catalog_stock_bump, catalog_version_bump
from catalog.exceptions import OutOfStock, SkuUnavailable
from catalog.models import Product, Sku
from catalog.photos import MAX_PHOTO_BYTES


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
    """Take `quantity` units of one SKU; raises OutOfStock."""
    sku_stock_take_many(quantities={sku_id: quantity})


@transaction.atomic
def sku_stock_take_many(*, quantities: Mapping[int, int]) -> None:
    """Take units of several SKUs ({sku_id: quantity}), all or none: one conditional
    UPDATE per SKU (no read lock), in SKU id order so that concurrent takers lock rows in
    one order and never deadlock. Raises OutOfStock naming every SKU that is short."""
    if any(quantity <= 0 for quantity in quantities.values()):
        raise ValueError("quantity must be positive")
    short = [
        sku_id
        for sku_id in sorted(quantities)
        if not Sku.objects.filter(pk=sku_id, stock__gte=quantities[sku_id]).update(
            stock=F("stock") - quantities[sku_id]
        )
    ]
    if short:
        # Raising leaves the atomic block: the takes that succeeded roll back with it.
        names = ", ".join(str(sku_id) for sku_id in short)
        raise OutOfStock(f"Not enough stock for SKU {names}.", sku_ids=short)
    catalog_stock_bump(sku_ids=sorted(quantities))


@transaction.atomic
def sku_stock_release(*, sku_id: int, quantity: int) -> None:
    """Give `quantity` units back (a cancelled or closed order)."""
    sku_stock_release_many(quantities={sku_id: quantity})


@transaction.atomic
def sku_stock_release_many(*, quantities: Mapping[int, int]) -> None:
    """Give units back ({sku_id: quantity}), in SKU id order like the takes."""
    if any(quantity <= 0 for quantity in quantities.values()):
        raise ValueError("quantity must be positive")
    for sku_id in sorted(quantities):
        Sku.objects.filter(pk=sku_id).update(stock=F("stock") + quantities[sku_id])
    catalog_stock_bump(sku_ids=sorted(quantities))


def catalog_import_finished() -> None:
    """Called after a CSV import: imports may write in bulk, past the model signals."""
    catalog_version_bump()


def product_image_hashes_refresh(*, product_id: int) -> int:
    """Fingerprint the product's current pictures (cover and gallery) that have none yet and
    drop the fingerprints of pictures it no longer has; returns how many were computed.

    A picture that is missing from storage or unreadable gets no fingerprint (and is tried
    again on the next refresh). Bumps the catalog version when anything changed, so the
    photo index is rebuilt."""
    from catalog.models import ProductImage, ProductImageHash
    from catalog.photos import fingerprint_of

    cover = Product.objects.filter(pk=product_id).values_list("cover", flat=True).first()
    names = {name for name in [cover, *ProductImage.objects.filter(product_id=product_id)
                                .values_list("image", flat=True)] if name}
    stale = ProductImageHash.objects.filter(product_id=product_id).exclude(image_name__in=names)
    changed = stale.delete()[0]
    have = set(ProductImageHash.objects.filter(product_id=product_id).values_list("image_name", flat=True))
    computed = 0
    for name in sorted(names - have):
        try:
            with default_storage.open(name, "rb") as handle:
                fingerprint = fingerprint_of(handle.read(MAX_PHOTO_BYTES + 1))
        except OSError:
            fingerprint = None
        if fingerprint is None:
            continue
        ProductImageHash.objects.get_or_create(
            product_id=product_id, image_name=name,
            defaults={"phash": fingerprint.phash, "dhash": fingerprint.dhash},
        )
        computed += 1
    if changed or computed:
        catalog_version_bump()
    return computed
