"""Creating orders through the API: server-side totals, copies that outlive catalog edits,
stock reserved for all lines or none, the cart emptied, and bad input refused with 4xx."""

import pytest

from catalog.models import Sku
from orders.models import CartItem, Order, OrderEvent
from tests.factories import (
    AddressFactory,
    CartItemFactory,
    CategoryFactory,
    CustomerFactory,
    ProductFactory,
    SkuFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def address(customer):
    return AddressFactory(customer=customer, user_name="李四", tel_number="13900139000")


@pytest.fixture
def cup():
    return SkuFactory(product=ProductFactory(title="保温杯"), code="CUP-RED", price_fen=12900, stock=5,
                      attributes={"颜色": "红"})


@pytest.fixture
def bag():
    return SkuFactory(product=ProductFactory(title="帆布包"), price_fen=5900, stock=3)


def _order(client, lines, address_id, **extra):
    items = [{"sku_id": sku_id, "quantity": quantity} for sku_id, quantity in lines]
    return client.post("/api/v1/orders/", {"items": items, "address_id": address_id, **extra}, format="json")


def test_an_order_copies_items_and_address_and_totals_on_the_server(customer_api, address, cup, bag):
    response = _order(customer_api, [(cup.id, 2), (bag.id, 1)], address.id, remark="周末送", total_fen=1,
                      price_fen=1)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending_payment"
    assert body["total_fen"] == 2 * 12900 + 5900  # the amounts the client sent are ignored
    assert body["order_no"].isdigit() and len(body["order_no"]) == 22
    assert body["remark"] == "周末送" and body["pay_deadline"] is not None
    first = body["items"][0]
    assert (first["sku_id"], first["title"], first["sku_code"], first["attributes"]) == (
        cup.id, "保温杯", "CUP-RED", {"颜色": "红"})
    assert (first["unit_price_fen"], first["quantity"], first["line_total_fen"]) == (12900, 2, 25800)
    assert first["image_url"].startswith("http://testserver/media/")
    assert body["address"]["user_name"] == "李四" and body["address"]["tel_number"] == "13900139000"

    # Later edits of the catalog and the address do not change the order.
    Sku.objects.filter(pk=cup.pk).update(price_fen=1, attributes={"颜色": "蓝"})
    cup.product.title = "新保温杯"
    cup.product.save()
    address.user_name = "王五"
    address.save()
    again = customer_api.get(f"/api/v1/orders/{body['order_no']}/").json()
    assert again["total_fen"] == 31700 and again["items"][0]["unit_price_fen"] == 12900
    assert again["items"][0]["title"] == "保温杯" and again["items"][0]["attributes"] == {"颜色": "红"}
    assert again["address"]["user_name"] == "李四"


def test_an_order_reserves_stock_and_takes_its_lines_out_of_the_cart(customer_api, customer, address, cup, bag):
    CartItemFactory(cart__customer=customer, sku=cup, quantity=2)
    kept = CartItemFactory(cart__customer=customer, sku=bag, quantity=1)
    response = _order(customer_api, [(cup.id, 2)], address.id)
    assert response.status_code == 201
    assert Sku.objects.get(pk=cup.pk).stock == 3
    assert list(CartItem.objects.values_list("pk", flat=True)) == [kept.pk]
    order = Order.objects.get()
    assert list(order.events.values_list("from_status", "to_status", "actor")) == [
        ("", "pending_payment", f"customer:{customer.pk}")]


def test_short_stock_is_409_naming_the_skus_and_takes_nothing(customer_api, address, cup, bag):
    other = SkuFactory(stock=0)
    response = _order(customer_api, [(cup.id, 2), (bag.id, 4), (other.id, 1)], address.id)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "out_of_stock"
    assert str(bag.id) in body["detail"] and str(other.id) in body["detail"] and str(cup.id) not in body["detail"]
    assert Sku.objects.get(pk=cup.pk).stock == 5 and Sku.objects.get(pk=bag.pk).stock == 3
    assert not Order.objects.exists()


def test_skus_not_on_sale_are_refused(customer_api, address, cup):
    off_shelf = SkuFactory(product=ProductFactory(is_on_shelf=False))
    hidden = SkuFactory(product=ProductFactory(category=CategoryFactory(is_active=False)))
    for sku_id in (off_shelf.id, hidden.id, 999999):
        response = _order(customer_api, [(cup.id, 1), (sku_id, 1)], address.id)
        assert response.status_code == 400, sku_id
        assert response.json()["code"] == "sku_unavailable" and str(sku_id) in response.json()["detail"]
    assert Sku.objects.get(pk=cup.pk).stock == 5 and not Order.objects.exists()


def test_another_customers_address_is_refused(customer_api, cup):
    theirs = AddressFactory(customer=CustomerFactory())
    response = _order(customer_api, [(cup.id, 1)], theirs.id)
    assert response.status_code == 400 and response.json()["code"] == "address_unavailable"
    assert Sku.objects.get(pk=cup.pk).stock == 5


def test_duplicate_sku_lines_are_refused_with_a_clear_400(customer_api, address, cup):
    response = _order(customer_api, [(cup.id, 1), (cup.id, 2)], address.id)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "more than once" in str(response.json()["errors"]["items"])
    assert not Order.objects.exists()


@pytest.mark.parametrize("body", [
    {"items": [], "address_id": 1},
    {"items": [{"sku_id": 1, "quantity": 0}], "address_id": 1},
    {"items": [{"sku_id": 1, "quantity": 100}], "address_id": 1},
    {"items": [{"sku_id": 1, "quantity": "2"}], "address_id": 1},
    {"items": [{"sku_id": 1}], "address_id": 1},
    {"items": {"sku_id": 1, "quantity": 1}, "address_id": 1},
    {"items": [{"sku_id": n, "quantity": 1} for n in range(1, 52)], "address_id": 1},
    {"items": [{"sku_id": 1, "quantity": 1}]},
    {"items": [{"sku_id": 1, "quantity": 1}], "address_id": "1"},
    {"items": [{"sku_id": 1, "quantity": 1}], "address_id": 1, "remark": "长" * 201},
    [],
])
def test_bad_bodies_are_400(customer_api, body):
    response = customer_api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_fifty_lines_are_accepted(customer_api, address):
    skus = [SkuFactory(price_fen=100, stock=1) for _ in range(50)]
    response = _order(customer_api, [(sku.id, 1) for sku in skus], address.id)
    assert response.status_code == 201
    assert response.json()["total_fen"] == 5000 and len(response.json()["items"]) == 50


def test_orders_need_a_token(api, cup):
    assert api.post("/api/v1/orders/", {}, format="json").status_code == 401
    assert api.get("/api/v1/orders/").status_code == 401


def test_the_list_shows_only_my_orders_newest_first_in_constant_queries(
    customer_api, customer, make_order, django_assert_max_num_queries
):
    make_order(CustomerFactory())
    mine = [make_order(customer) for _ in range(2)]
    # token, count, orders, items, refund requests
    with django_assert_max_num_queries(5):
        page = customer_api.get("/api/v1/orders/").json()
    assert page["count"] == 2
    assert [o["order_no"] for o in page["results"]] == [o.order_no for o in reversed(mine)]
    for _ in range(8):
        make_order(customer)
    with django_assert_max_num_queries(5):
        page = customer_api.get("/api/v1/orders/?page_size=5").json()
    assert page["count"] == 10 and len(page["results"]) == 5 and page["next"]


def test_the_list_filters_by_status(customer_api, customer, make_order):
    make_order(customer)
    paid = make_order(customer, Order.Status.PAID)
    page = customer_api.get("/api/v1/orders/?status=paid").json()
    assert [o["order_no"] for o in page["results"]] == [paid.order_no]
    assert customer_api.get("/api/v1/orders/?status=lost").status_code == 400


def test_another_customers_order_is_404_everywhere(customer_api, make_order):
    theirs = make_order(CustomerFactory(), Order.Status.SHIPPED)
    for method, path in [("get", ""), ("post", "cancel"), ("post", "confirm-receipt"),
                         ("post", "refund-request")]:
        response = getattr(customer_api, method)(f"/api/v1/orders/{theirs.order_no}/{path}",
                                                 {"reason": "x"}, format="json")
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    assert Order.objects.get(pk=theirs.pk).status == "shipped"
    assert not OrderEvent.objects.filter(order=theirs, actor__startswith="customer:").exclude(
        to_status="pending_payment").exists()
