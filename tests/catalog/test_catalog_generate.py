"""`manage.py catalog_generate`: a large benchmark catalog, topped up idempotently."""

import io

import pytest
from django.core.management import call_command

from catalog.models import Product, Sku
from catalog.selectors import product_list

pytestmark = pytest.mark.django_db


def test_it_fills_a_category_with_listed_products_and_tops_it_up(api):
    call_command("catalog_generate", products=30, category="压测", stdout=io.StringIO())
    products = Product.objects.filter(category__name="压测")
    assert products.count() == 30 and Sku.objects.filter(product__in=products).count() == 60
    page = api.get("/api/v1/products/", {"ordering": "price_fen", "page_size": 100}).json()
    assert page["count"] == 30
    prices = [p["price_fen"] for p in page["results"]]
    assert prices == sorted(prices) and all(p > 0 for p in prices)
    assert product_list(q="保温杯").count() == products.filter(title__contains="保温杯").count()

    call_command("catalog_generate", products=40, category="压测", stdout=io.StringIO())
    assert products.count() == 40
