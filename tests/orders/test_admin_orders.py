"""The merchant's order pages: find orders by status, date, number or phone; read one with
its items and timeline; export CSV; ship paid orders with carrier and tracking numbers."""

import re

import pytest

from miniprogram_api.crypto import lookup_hash
from miniprogram_api.models import Customer
from orders.models import Order
from tests.factories import CustomerFactory, SkuFactory

pytestmark = pytest.mark.django_db
S = Order.Status


def _listed(response):
    return [o.order_no for o in response.context["cl"].result_list]


def test_orders_by_status_number_and_phone(admin_client, customer, make_order, django_assert_max_num_queries):
    pending = make_order(customer)
    paid = make_order(customer, S.PAID)
    Order.objects.filter(pk=paid.pk).update(tel_number="13712345678")
    other = make_order(CustomerFactory(), S.PAID)
    Customer.objects.filter(pk=other.customer_id).update(phone_hash=lookup_hash("+8615012345678"))

    assert _listed(admin_client.get("/admin/orders/order/", {"status__exact": "paid"})) == [
        other.order_no, paid.order_no]
    assert _listed(admin_client.get("/admin/orders/order/", {"q": pending.order_no})) == [pending.order_no]
    assert _listed(admin_client.get("/admin/orders/order/", {"q": "13712345678"})) == [paid.order_no]
    assert _listed(admin_client.get("/admin/orders/order/", {"q": "15012345678"})) == [other.order_no]
    today = pending.created_at.date()
    by_day = admin_client.get("/admin/orders/order/", {"created_at__year": today.year,
                                                       "created_at__month": today.month})
    assert len(_listed(by_day)) == 3
    page = admin_client.get("/admin/orders/order/").content.decode()
    assert "¥129.00" in page and "待付款" in page
    for _ in range(5):
        make_order(customer)
    # session, user, count (filtered and total), rows, date hierarchy
    with django_assert_max_num_queries(8):
        assert admin_client.get("/admin/orders/order/").status_code == 200


def test_the_order_page_shows_items_in_yuan_and_the_timeline(admin_client, customer, make_order):
    sku = SkuFactory(price_fen=12900, product__title="保温杯", stock=5)
    order = make_order(customer, S.SHIPPED, sku=sku, quantity=2)
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "保温杯" in page and "¥129.00" in page and "¥258.00" in page
    for status in ("待付款", "已付款", "已发货"):
        assert status in page
    assert admin_client.get("/admin/orders/order/add/").status_code == 403


def test_the_csv_export_has_one_row_per_order_in_yuan(admin_client, customer, make_order):
    sku = SkuFactory(price_fen=12900, product__title="保温杯", code="CUP-1", stock=5)
    order = make_order(customer, sku=sku, quantity=2)
    page = admin_client.get("/admin/orders/order/export/").content.decode()
    csv_format = re.search(r'<option value="(\d+)"[^>]*>csv</option>', page).group(1)
    fields = ["order_no", "status", "total", "items", "user_name", "tel_number", "address", "created_at"]
    response = admin_client.post("/admin/orders/order/export/", {
        "format": csv_format, "resource": 0,
        **{f"orderresource_{name}": "on" for name in fields},
    })
    assert response.status_code == 200, response.content.decode()[:2000]
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("order_no,status,total,items")
    assert lines[1].startswith(f"{order.order_no},pending_payment,¥258.00,保温杯 CUP-1 × 2")
    assert len(lines) == 2


def test_ship_asks_for_tracking_numbers_then_ships_through_the_state_machine(admin_client, admin_user, customer,
                                                                             make_order):
    first, second = make_order(customer, S.PAID), make_order(customer, S.PAID)
    unpaid = make_order(customer)
    selected = {"action": "ship", "_selected_action": [first.pk, second.pk, unpaid.pk]}
    form_page = admin_client.post("/admin/orders/order/", selected)
    assert form_page.status_code == 200
    text = form_page.content.decode()
    assert first.order_no in text and second.order_no in text and "未付款" in text
    assert Order.objects.get(pk=first.pk).status == "paid"

    missing = admin_client.post("/admin/orders/order/", {**selected, "apply": "1", "carrier": "顺丰",
                                                         f"tracking_{first.pk}": "SF1"})
    assert missing.status_code == 200  # the form again: the second tracking number is missing
    assert Order.objects.get(pk=first.pk).status == "paid"

    done = admin_client.post("/admin/orders/order/", {
        **selected, "apply": "1", "carrier": "顺丰", f"tracking_{first.pk}": "SF1", f"tracking_{second.pk}": "SF2"})
    assert done.status_code == 302
    first.refresh_from_db()
    assert (first.status, first.carrier, first.tracking_no) == ("shipped", "顺丰", "SF1")
    assert Order.objects.get(pk=second.pk).tracking_no == "SF2"
    assert Order.objects.get(pk=unpaid.pk).status == "pending_payment"
    assert first.events.last().actor == f"staff:{admin_user.pk}"


def test_ship_with_nothing_paid_says_so(admin_client, customer, make_order):
    unpaid = make_order(customer)
    response = admin_client.post("/admin/orders/order/", {"action": "ship", "_selected_action": [unpaid.pk]},
                                 follow=True)
    assert "没有已付款待发货" in response.content.decode()
