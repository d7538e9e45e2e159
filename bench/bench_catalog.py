"""Product list page (20 of 500 on-shelf products) against the /healthz baseline.

Target (issue 5): at least 0.5 of /healthz's requests per second, p99 reported. The list is
served from the catalog response cache (keyed by the catalog version), so this measures the
hit path: one version read from Redis, the body from the worker's memory or Redis."""

import json
import urllib.request

from bench.common import Context, Result

PRODUCTS = 500
TARGET_RATIO = 0.5


def _seed() -> None:
    """Exactly PRODUCTS on-shelf products with two SKUs each in a `bench` category."""
    from catalog.cache import catalog_version_bump
    from catalog.models import Category, Product, Sku
    from catalog.prices import product_lowest_price_refresh

    category, _ = Category.objects.get_or_create(name="bench", parent=None)
    have = Product.objects.filter(category=category).count()
    if have < PRODUCTS:
        created = Product.objects.bulk_create(
            Product(category=category, title=f"压测商品 {n:04d} 保温杯", subtitle="bench", is_on_shelf=True,
                    cover=f"products/covers/bench-{n:04d}.png", sales_count=n)
            for n in range(have, PRODUCTS)
        )
        Sku.objects.bulk_create(
            Sku(product=p, code=f"BENCH-{p.pk}-{i}", attributes={"颜色": c}, price_fen=1000 + p.pk + i, stock=100)
            for p in created for i, c in enumerate(("红", "黑"))
        )
    product_lowest_price_refresh(product_ids=Product.objects.filter(category=category).values_list("id", flat=True))
    Product.objects.filter(category=category).update(is_on_shelf=True)
    catalog_version_bump()


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (127.0.0.1 only)
        return json.loads(response.read())


def run(ctx: Context) -> list[Result]:
    ctx.django()
    _seed()
    rows = []
    for path, label in [
        ("/api/v1/products/", "GET /api/v1/products/ (20 of 500)"),
        ("/api/v1/products/?page=3&ordering=-sales", "GET products ?page=3&ordering=-sales"),
    ]:
        page = _get_json(ctx.url(path))  # warms the cache, checks the page is real
        assert page["count"] >= PRODUCTS and len(page["results"]) == 20, page
        measured = ctx.wrk(path)
        row = ctx.result(label, measured, notes=f"target ratio >= {TARGET_RATIO}")
        row.target = f"ratio >= {TARGET_RATIO}"
        row.ok = measured.non_2xx == 0 and measured.socket_errors == 0 and row.ratio >= TARGET_RATIO
        rows.append(row)
    return rows
