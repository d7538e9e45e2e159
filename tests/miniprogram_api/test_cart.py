"""The cart: one per customer, merged lines, 1–99 per line, and nobody else's lines."""

import pytest

from catalog.models import Product
from orders.models import Cart, CartItem
from tests.factories import CartItemFactory, CategoryFactory, CustomerFactory, ProductFactory, SkuFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sku():
    return SkuFactory(product=ProductFactory(title="保温杯"), price_fen=12900, stock=5, attributes={"颜色": "红"})


def _add(client, sku_id, quantity):
    return client.post("/api/v1/cart/items/", {"sku_id": sku_id, "quantity": quantity}, format="json")


def test_add_then_list(customer_api, customer, sku, django_assert_max_num_queries):
    response = _add(customer_api, sku.id, 2)
    assert response.status_code == 201
    line = response.json()
    assert line["sku_id"] == sku.id and line["quantity"] == 2
    assert line["title"] == "保温杯" and line["attributes"] == {"颜色": "红"}
    assert line["price_fen"] == 12900 and line["line_total_fen"] == 25800
    assert line["cover_url"].startswith("http://testserver/media/")
    assert Cart.objects.filter(customer=customer).count() == 1
    for _ in range(3):
        _add(customer_api, SkuFactory().id, 1)
    # token, the cart lines in one query, the hidden categories (for is_available)
    with django_assert_max_num_queries(3):
        listing = customer_api.get("/api/v1/cart/items/")
    assert listing.status_code == 200 and len(listing.json()) == 4
    for _ in range(10):
        _add(customer_api, SkuFactory().id, 1)
    with django_assert_max_num_queries(3):
        assert len(customer_api.get("/api/v1/cart/items/").json()) == 14


def test_adding_a_sku_already_in_the_cart_merges_quantities(customer_api, sku):
    first = _add(customer_api, sku.id, 2).json()
    second = _add(customer_api, sku.id, 3)
    assert second.status_code == 200
    assert second.json()["id"] == first["id"] and second.json()["quantity"] == 5
    assert CartItem.objects.count() == 1


def test_merging_past_99_is_refused(customer_api, sku):
    _add(customer_api, sku.id, 60)
    response = _add(customer_api, sku.id, 40)
    assert response.status_code == 400 and response.json()["code"] == "quantity_exceeded"
    assert CartItem.objects.get().quantity == 60


@pytest.mark.parametrize("quantity", [0, -1, 100, 10**12, "3", 2.5, None, True, "abc"])
def test_bad_quantities_are_400_with_field_errors(customer_api, sku, quantity):
    response = _add(customer_api, sku.id, quantity)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "quantity" in response.json()["errors"]
    assert not CartItem.objects.exists()


@pytest.mark.parametrize("sku_id", ["x", -5, 0, 2**70, None])
def test_bad_sku_ids_are_400_with_field_errors(customer_api, sku_id):
    response = _add(customer_api, sku_id, 1)
    assert response.status_code == 400 and "sku_id" in response.json()["errors"]


def test_unknown_or_off_shelf_sku_is_400_sku_unavailable(customer_api):
    hidden = SkuFactory(product=ProductFactory(is_on_shelf=False))
    for sku_id in (hidden.id, 999999):
        response = _add(customer_api, sku_id, 1)
        assert response.status_code == 400 and response.json()["code"] == "sku_unavailable"


def test_invalid_json_and_missing_fields(customer_api):
    response = customer_api.post("/api/v1/cart/items/", "[1,", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"
    response = customer_api.post("/api/v1/cart/items/", {}, format="json")
    assert set(response.json()["errors"]) == {"sku_id", "quantity"}


def test_patch_and_delete_own_line(customer_api, sku):
    line = _add(customer_api, sku.id, 1).json()
    response = customer_api.patch(f"/api/v1/cart/items/{line['id']}/", {"quantity": 7}, format="json")
    assert response.status_code == 200 and response.json()["quantity"] == 7
    for bad in (0, 100, -3, "7x"):
        assert customer_api.patch(f"/api/v1/cart/items/{line['id']}/", {"quantity": bad},
                                  format="json").status_code == 400
    assert CartItem.objects.get().quantity == 7
    assert customer_api.delete(f"/api/v1/cart/items/{line['id']}/").status_code == 204
    assert customer_api.delete(f"/api/v1/cart/items/{line['id']}/").status_code == 404
    assert customer_api.get("/api/v1/cart/items/").json() == []


def test_a_customer_trying_every_line_of_another_gets_404(customer_api):
    other = CustomerFactory()
    lines = [CartItemFactory(cart__customer=other, quantity=3) for _ in range(5)]
    for line in lines:
        url = f"/api/v1/cart/items/{line.id}/"
        for response in (customer_api.patch(url, {"quantity": 1}, format="json"), customer_api.delete(url)):
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"
    assert customer_api.get("/api/v1/cart/items/").json() == []
    assert sorted(CartItem.objects.values_list("quantity", flat=True)) == [3] * 5
    assert customer_api.patch(f"/api/v1/cart/items/{2**63 + 1}/", {"quantity": 1}, format="json").status_code == 404


def test_a_line_whose_product_left_the_shelf_shows_unavailable(customer_api, sku):
    _add(customer_api, sku.id, 1)
    sku.product.is_on_shelf = False
    sku.product.save()
    (line,) = customer_api.get("/api/v1/cart/items/").json()
    assert line["is_available"] is False


def test_a_line_under_a_switched_off_category_shows_unavailable(customer_api, sku):
    """The product page is 404 and adding more is refused, so the cart says so too."""
    parent = CategoryFactory()
    Product.objects.filter(pk=sku.product_id).update(category=CategoryFactory(parent=parent))
    _add(customer_api, sku.id, 1)
    parent.is_active = False
    parent.save()
    (line,) = customer_api.get("/api/v1/cart/items/").json()
    assert line["is_available"] is False
    assert _add(customer_api, sku.id, 1).json()["code"] == "sku_unavailable"

