"""One table of allowed transitions, one function that applies them under a row lock with
an audit row; illegal moves are 409 `invalid_transition`, repeats are harmless."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from catalog.models import Sku
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderEvent, RefundRequest
from orders.services import ALLOWED, order_transition
from tests.factories import CustomerFactory, SkuFactory

pytestmark = pytest.mark.django_db
S = Order.Status


def test_every_contract_status_is_in_the_table():
    assert set(ALLOWED) == set(S.values) == {"pending_payment", "paid", "shipped", "completed", "closed",
                                              "refunding", "refunded"}


@pytest.mark.parametrize("start", list(S))
@pytest.mark.parametrize("to", list(S))
def test_only_the_tables_moves_are_made(make_order, customer, start, to):
    order = make_order(customer, start)
    events = order.events.count()
    if to == start:
        assert order_transition(order_id=order.id, to=to, actor="test").status == start
        assert order.events.count() == events  # a repeat writes nothing
    elif to in ALLOWED[start] and not (start == S.REFUNDING and to in (S.SHIPPED, S.COMPLETED)):
        # (refunding goes back only to a stage the order reached: here, paid)
        moved = order_transition(order_id=order.id, to=to, actor="staff:7", reason="because")
        assert Order.objects.get(pk=order.pk).status == to
        last = order.events.last()
        assert (last.from_status, last.to_status, last.actor, last.reason) == (start, to, "staff:7", "because")
        stamp = {"paid": "paid_at", "shipped": "shipped_at", "completed": "completed_at", "closed": "closed_at",
                 "refunding": "refunding_at", "refunded": "refunded_at"}[to]
        assert getattr(moved, stamp) is not None
    else:
        with pytest.raises(InvalidTransition):
            order_transition(order_id=order.id, to=to, actor="test")
        assert Order.objects.get(pk=order.pk).status == start
        assert order.events.count() == events


def test_each_stage_is_stamped_and_the_timeline_is_kept(make_order, customer):
    order = make_order(customer, S.COMPLETED)
    assert order.paid_at <= order.shipped_at <= order.completed_at
    assert list(order.events.values_list("from_status", "to_status")) == [
        ("", "pending_payment"), ("pending_payment", "paid"), ("paid", "shipped"), ("shipped", "completed")]


def test_closing_gives_the_stock_back_once(make_order, customer):
    sku = SkuFactory(stock=5)
    order = make_order(customer, sku=sku, quantity=3)
    assert Sku.objects.get(pk=sku.pk).stock == 2
    order_transition(order_id=order.id, to=S.CLOSED, actor="test")
    order_transition(order_id=order.id, to=S.CLOSED, actor="test")
    assert Sku.objects.get(pk=sku.pk).stock == 5


def test_a_refund_before_shipping_gives_the_stock_back_and_after_shipping_does_not(make_order, customer):
    sku = SkuFactory(stock=5)
    unshipped = make_order(customer, S.REFUNDED, sku=sku, quantity=2)
    shipped = make_order(customer, S.SHIPPED, sku=sku, quantity=1)
    assert Sku.objects.get(pk=sku.pk).stock == 4
    for to in (S.REFUNDING, S.REFUNDED):
        order_transition(order_id=shipped.id, to=to, actor="test")
    assert Sku.objects.get(pk=sku.pk).stock == 4
    assert unshipped.refunded_at is not None


def _api_post(client, order, action, **body):
    return client.post(f"/api/v1/orders/{order.order_no}/{action}", body, format="json")


def test_cancel_closes_an_unpaid_order_releases_stock_and_repeats_harmlessly(customer_api, customer, make_order):
    sku = SkuFactory(stock=5)
    order = make_order(customer, sku=sku, quantity=2)
    first = _api_post(customer_api, order, "cancel")
    assert first.status_code == 200 and first.json()["status"] == "closed"
    assert first.json()["closed_at"] and first.json()["pay_deadline"] is None
    again = _api_post(customer_api, order, "cancel")
    assert again.status_code == 200 and again.json() == first.json()
    assert Sku.objects.get(pk=sku.pk).stock == 5
    assert order.events.filter(to_status="closed").get().actor == f"customer:{customer.pk}"


def test_a_paid_order_cannot_be_cancelled(customer_api, customer, make_order):
    order = make_order(customer, S.PAID)
    response = _api_post(customer_api, order, "cancel")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_confirm_receipt_completes_a_shipped_order_only(customer_api, customer, make_order):
    shipped = make_order(customer, S.SHIPPED)
    response = _api_post(customer_api, shipped, "confirm-receipt")
    assert response.status_code == 200 and response.json()["status"] == "completed"
    assert _api_post(customer_api, shipped, "confirm-receipt").status_code == 200
    paid = make_order(customer, S.PAID)
    response = _api_post(customer_api, paid, "confirm-receipt")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


@pytest.mark.parametrize("status", [S.PAID, S.SHIPPED, S.COMPLETED])
def test_a_refund_request_is_recorded_for_staff_once_at_a_time(customer_api, customer, make_order, status):
    order = make_order(customer, status)
    response = _api_post(customer_api, order, "refund-request", reason="尺码不合适")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == status  # staff decide; the order does not change yet
    assert body["refund_request"]["status"] == "open" and body["refund_request"]["reason"] == "尺码不合适"
    again = _api_post(customer_api, order, "refund-request", reason="再问一次")
    assert again.status_code == 409 and again.json()["code"] == "refund_request_open"
    RefundRequest.objects.update(status="declined")
    assert _api_post(customer_api, order, "refund-request", reason="再问一次").status_code == 201
    assert RefundRequest.objects.filter(order=order).count() == 2


@pytest.mark.parametrize("status", [S.PENDING_PAYMENT, S.CLOSED, S.REFUNDING, S.REFUNDED])
def test_a_refund_request_is_refused_outside_paid_shipped_completed(customer_api, customer, make_order, status):
    order = make_order(customer, status)
    response = _api_post(customer_api, order, "refund-request", reason="不要了")
    assert response.status_code == 409 and response.json()["code"] == "refund_not_allowed"
    assert not RefundRequest.objects.exists()


def test_a_refund_request_needs_a_reason(customer_api, customer, make_order):
    order = make_order(customer, S.PAID)
    for body in ({}, {"reason": ""}, {"reason": 5}, {"reason": "长" * 201}):
        response = customer_api.post(f"/api/v1/orders/{order.order_no}/refund-request", body, format="json")
        assert response.status_code == 400 and response.json()["code"] == "invalid", body


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_transitions_apply_once_with_one_audit_row(make_order):
    """Eight requests close the same order at once (a cancel and timeouts): one event, stock
    released once."""
    sku = SkuFactory(stock=5)
    order = make_order(CustomerFactory(), sku=sku, quantity=2)

    def close(_):
        try:
            return order_transition(order_id=order.id, to=S.CLOSED, actor="test").status
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(close, range(8))) == {"closed"}
    assert OrderEvent.objects.filter(order=order, to_status="closed").count() == 1
    assert Sku.objects.get(pk=sku.pk).stock == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_payment_racing_a_close_always_wins_and_takes_stock_once(make_order):
    """A payment and a cancel at once: the money arrived, so the order ends paid whichever
    came first (closed → paid takes the stock again), and its stock is taken exactly once."""
    sku = SkuFactory(stock=5)
    for _ in range(5):
        order = make_order(CustomerFactory(), sku=sku)

        def move(to, order=order):
            try:
                order_transition(order_id=order.id, to=to, actor="test")
                return "ok"
            except InvalidTransition:
                return "refused"
            finally:
                connection.close()

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(move, [S.PAID, S.CLOSED]))
        assert results[0] == "ok"
        assert Order.objects.get(pk=order.pk).status == S.PAID
    assert Sku.objects.get(pk=sku.pk).stock == 5 - Order.objects.filter(status=S.PAID).count()
