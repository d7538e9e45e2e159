"""The product matcher's index: answers in time independent of the catalog, built off the
callback's path once a broker takes the work."""

import pytest

from catalog import selectors
from catalog.matching import MatchIndex
from tests.factories import ProductFactory, SkuFactory
from wxbackend.celery import app as celery_app


def test_a_word_the_whole_catalog_shares_ranks_by_sales_and_specific_terms_first():
    rows = [(n + 1, f"商品{n:05d} 保温杯", "", "", n) for n in range(30_000)]
    rows.append((90_001, "儿童吸管保温杯", "", "", 0))
    rows.append((90_002, "316不锈钢水壶", "大容量", "", 0))
    index = MatchIndex(7, rows)
    assert index.find("有没有保温杯", limit=3) == [30_000, 29_999, 29_998]
    # Longer term first, although 30,000 products share the shorter one and sell more.
    assert index.find("儿童吸管保温杯还有吗", limit=2) == [90_001, 30_000]
    # The whole text inside a title (不锈钢 is no term of its own).
    assert index.find("不锈钢", limit=3) == [90_002]
    assert index.find("大容量", limit=3) == [90_002]
    assert index.find("没听说过的东西", limit=3) == []


def test_an_empty_catalog_matches_nothing():
    assert MatchIndex(1, []).find("保温杯", limit=3) == []


@pytest.mark.django_db(transaction=True)
def test_with_a_broker_the_caller_never_builds_the_index(django_assert_num_queries):
    """A catalog change is picked up by a thread; meanwhile questions get the last index's
    answers at once, with no query in the caller."""
    cup = ProductFactory(title="316不锈钢保温杯")
    SkuFactory(product=cup)
    assert [m.id for m in selectors.product_matches(text="有没有保温杯")] == [cup.id]  # built (eager)

    bag = ProductFactory(title="帆布托特包")
    SkuFactory(product=bag)
    celery_app.conf.task_always_eager = False  # the fixture puts it back
    with django_assert_num_queries(0):
        assert selectors.product_matches(text="帆布托特包") == []  # the old index, no wait
    selectors._builder.join(timeout=10)
    assert [m.id for m in selectors.product_matches(text="帆布托特包")] == [bag.id]
    assert [m.id for m in selectors.product_matches(text="有没有保温杯")] == [cup.id]
