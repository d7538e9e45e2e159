"""The last units of a SKU, bought by many customers at once through the API: never
oversold, no deadlock (lines in any order), never a 500."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from catalog.models import Sku
from orders.models import Order
from tests.factories import AddressFactory, CustomerFactory, SkuFactory, bearer_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BUYERS = 24


def _buyers(n):
    """(client, address id) of n customers, each logged in."""
    out = []
    for _ in range(n):
        customer = CustomerFactory()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_for(customer)}")
        out.append((client, AddressFactory(customer=customer).id))
    return out


def _race(buyers, lines_for):
    def buy(i):
        client, address_id = buyers[i]
        items = [{"sku_id": sku_id, "quantity": q} for sku_id, q in lines_for(i)]
        try:
            response = client.post("/api/v1/orders/", {"items": items, "address_id": address_id}, format="json")
            return response.status_code, response.json()["code"] if response.status_code != 201 else "ok"
        except Exception as exc:  # a 500 raises in the test client
            return 500, repr(exc)
        finally:
            connection.close()

    with ThreadPoolExecutor(BUYERS) as pool:
        return list(pool.map(buy, range(len(buyers))))


def test_the_last_units_sell_once():
    sku = SkuFactory(stock=5)
    results = _race(_buyers(BUYERS), lambda i: [(sku.id, 1)])
    assert sorted(results) == [(201, "ok")] * 5 + [(409, "out_of_stock")] * (BUYERS - 5)
    assert Sku.objects.get(pk=sku.pk).stock == 0
    assert Order.objects.count() == 5


def test_orders_listing_skus_in_opposite_orders_neither_deadlock_nor_oversell():
    a, b = SkuFactory(stock=6), SkuFactory(stock=6)
    results = _race(_buyers(BUYERS), lambda i: [(a.id, 1), (b.id, 1)] if i % 2 else [(b.id, 1), (a.id, 1)])
    assert sorted(results) == [(201, "ok")] * 6 + [(409, "out_of_stock")] * (BUYERS - 6)
    assert (Sku.objects.get(pk=a.pk).stock, Sku.objects.get(pk=b.pk).stock) == (0, 0)
