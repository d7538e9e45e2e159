"""`product_matches`: what the official account answers when a customer names a product."""

import pytest

from catalog.selectors import ProductMatch, product_matches
from tests.factories import ProductFactory, SkuFactory

pytestmark = pytest.mark.django_db


def _product(title, subtitle="", keywords="", price_fen=9900, sales=0, **kwargs):
    product = ProductFactory(title=title, subtitle=subtitle, keywords=keywords, sales_count=sales, **kwargs)
    SkuFactory(product=product, price_fen=price_fen)
    SkuFactory(product=product, price_fen=price_fen + 1000)
    return product


def test_a_product_named_inside_the_text_is_found(settings):
    settings.PUBLIC_BASE_URL = "https://shop.example.com"
    cup = _product("316不锈钢保温杯 500ml", price_fen=12900)
    _product("帆布托特包")
    (match,) = product_matches(text="有没有保温杯？")
    assert match == ProductMatch(
        id=cup.id, title="316不锈钢保温杯 500ml", price_fen=12900,
        cover_url=match.cover_url, page_path=f"pages/product/detail?id={cup.id}",
    )
    assert match.cover_url.startswith("https://shop.example.com/media/products/covers/")


def test_keywords_and_text_inside_the_title_match():
    bag = _product("轻便双肩包", keywords="背包 书包")
    tea = _product("明前西湖龙井 250g")
    assert [m.id for m in product_matches(text="想买个书包")] == [bag.id]
    assert [m.id for m in product_matches(text="龙井")] == [tea.id]
    assert [m.id for m in product_matches(text="西湖龙井多少钱")] == [tea.id]


def test_more_specific_matches_rank_first_then_sales():
    kids = _product("儿童吸管保温杯", sales=1)
    plain = _product("316不锈钢保温杯", sales=50)
    other = _product("商务保温杯", sales=10)
    ids = [m.id for m in product_matches(text="儿童吸管保温杯还有吗", limit=3)]
    assert ids[0] == kids.id
    assert set(ids) == {kids.id, plain.id, other.id}
    ids = [m.id for m in product_matches(text="保温杯", limit=3)]
    assert ids == [plain.id, other.id, kids.id]


def test_off_shelf_unsold_and_unrelated_products_are_not_matched():
    _product("316不锈钢保温杯", is_on_shelf=False)
    ProductFactory(title="没有SKU的保温杯")
    assert product_matches(text="保温杯") == []
    _product("帆布托特包")
    assert product_matches(text="你好") == []
    assert product_matches(text="") == []
    assert product_matches(text="？？？") == []
    assert product_matches(text="杯", limit=1) == []  # one character says too little


def test_long_text_is_cut_and_limit_respected():
    for i in range(5):
        _product(f"保温杯{i}号")
    assert len(product_matches(text="保温杯" + "啊" * 10_000, limit=3)) == 3
    assert product_matches(text="啊" * 200 + "保温杯") == []  # past the 100 characters read
    assert product_matches(text="保温杯", limit=0) == []


def test_a_catalog_write_is_seen_by_the_next_match():
    product = _product("帆布托特包")
    assert product_matches(text="帆布托特包") != []
    product.is_on_shelf = False
    product.save()
    assert product_matches(text="帆布托特包") == []


def test_the_matcher_follows_catalog_writes_between_calls():
    """The index is kept in process memory per catalog version: a write (new version) shows
    at the next call, in both directions."""
    from catalog.services import product_set_on_shelf

    assert product_matches(text="有没有保温杯") == []
    cup = _product("316不锈钢保温杯")
    assert [m.id for m in product_matches(text="有没有保温杯")] == [cup.id]
    assert [m.id for m in product_matches(text="有没有保温杯")] == [cup.id]  # same version, kept copy
    product_set_on_shelf(product_ids=[cup.id], is_on_shelf=False)
    assert product_matches(text="有没有保温杯") == []
