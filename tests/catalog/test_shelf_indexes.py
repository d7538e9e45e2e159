"""The shelf's queries are shaped for its indexes: a page of the default ordering, and a
search, are read through an index instead of a scan of the catalog (PostgreSQL plans)."""

import pytest
from django.db import connection

from catalog.models import Category, Product, Sku
from catalog.prices import product_lowest_price_refresh
from catalog.selectors import ORDERINGS, product_list

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def shelf():
    category = Category.objects.create(name="杯壶")
    products = Product.objects.bulk_create(
        Product(category=category, title=f"商品{n:04d} {'保温杯' if n % 50 == 1 else '帆布包'}",
                is_on_shelf=n % 10 != 0, sales_count=n % 97, sort_order=n % 7)
        for n in range(3000)
    )
    Sku.objects.bulk_create(Sku(product=p, code=f"S{p.pk}", price_fen=1000 + p.pk) for p in products)
    product_lowest_price_refresh()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_product")
        cursor.execute("ANALYZE catalog_sku")


def _plan(qs) -> str:
    return qs.explain()


def test_a_default_page_is_read_off_the_shelf_index(shelf):
    plan = _plan(product_list()[20:40])
    assert "product_shelf_default" in plan, plan
    assert "Sort" not in plan.split("SubPlan")[0], plan


@pytest.mark.parametrize("ordering, index", [("-sales", "product_shelf_sales"), ("sales", "product_shelf_sales"),
                                             ("-created", "catalog_product_created_at"),
                                             ("price_fen", "product_shelf_price"), ("-price_fen", "product_shelf_price")])
def test_every_ordering_is_read_off_an_index(shelf, ordering, index):
    assert ordering in ORDERINGS
    plan = _plan(product_list(ordering=ordering)[:20])
    assert index in plan, plan


@pytest.mark.parametrize("q, found", [("保温杯", 60), ("温杯", 60), ("商品0", 900), ("品0", 900)])
def test_a_search_goes_through_the_character_pair_index(shelf, q, found):
    """Two characters, the length of most Chinese words, too: pg_trgm cannot index those."""
    qs = product_list(q=q)
    plan = _plan(qs)
    assert "product_shelf_q" in plan, plan
    assert "Seq Scan on catalog_product" not in plan, plan
    # Every match, and only matches (the index only narrows; LIKE decides).
    assert qs.count() == found
    assert all(q in p.title for p in qs)


def test_a_search_finds_subtitles_and_keywords_and_ignores_case(shelf):
    product = Product.objects.create(category=Category.objects.first(), title="Thermos", subtitle="真空Flask",
                                     keywords="水杯 礼品", is_on_shelf=True)
    Sku.objects.create(product=product, code="T-1", price_fen=100)
    for q in ("thermos", "空fl", "礼品", "杯 礼"):
        assert [p.id for p in product_list(q=q)] == [product.id], q
    assert not product_list(q="温杯 礼").exists()  # spans two fields


def test_the_price_ordering_follows_sku_edits_and_deletes():
    category = Category.objects.create(name="杯壶")
    cup, bag = (Product.objects.create(category=category, title=t, is_on_shelf=True) for t in ("杯", "包"))
    cheap = Sku.objects.create(product=cup, code="C-1", price_fen=500)
    Sku.objects.create(product=cup, code="C-2", price_fen=3000)
    Sku.objects.create(product=bag, code="B-1", price_fen=2000)
    listed = lambda: [(p.title, p.price_fen) for p in product_list(ordering="price_fen")]  # noqa: E731
    assert listed() == [("杯", 500), ("包", 2000)]
    cheap.price_fen = 2500
    cheap.save()
    assert listed() == [("包", 2000), ("杯", 2500)]
    cheap.delete()
    assert listed() == [("包", 2000), ("杯", 3000)]
    bag.skus.all().delete()  # a queryset delete still sends post_delete per SKU
    assert listed() == [("杯", 3000)]


@pytest.mark.django_db
def test_saving_a_product_loaded_before_its_sku_keeps_its_price_and_its_place_on_the_shelf(api):
    """The lowest price is kept from the SKUs: a stale copy of the product (an admin form,
    a script) saved afterwards must not erase it, or the product drops off every list."""
    from tests.factories import ProductFactory, SkuFactory

    product = ProductFactory(title="保温杯")
    SkuFactory(product=product, price_fen=1000)
    product.title = "保温杯 新款"
    product.save()
    [listed] = api.get("/api/v1/products/").json()["results"]
    assert (listed["title"], listed["price_fen"]) == ("保温杯 新款", 1000)
