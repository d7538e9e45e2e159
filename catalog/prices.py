"""Each product keeps its lowest SKU price (`Product.lowest_price_fen`, NULL without SKUs),
so that the shelf can filter on "has a SKU" and sort by price off an index instead of
grouping every product's SKUs for every page.

SKU saves and deletes refresh it through the signals in `signals.py`; writes that bypass
them (imports, bulk creates) call `product_lowest_price_refresh` themselves."""

from collections.abc import Iterable

from django.db.models import OuterRef, Subquery

from catalog.models import Product, Sku


def product_lowest_price_refresh(*, product_ids: Iterable[int] | None = None) -> int:
    """Recompute the lowest SKU price of these products (all when None) in one UPDATE."""
    lowest = Subquery(Sku.objects.filter(product=OuterRef("pk")).order_by("price_fen").values("price_fen")[:1])
    products = Product.objects.all() if product_ids is None else Product.objects.filter(pk__in=list(product_ids))
    return products.update(lowest_price_fen=lowest)
