"""Orders in every status, made the way production makes them: order_create, then the
transition function."""

import pytest

from orders.models import Order
from orders.services import order_create, order_transition
from tests.factories import AddressFactory, SkuFactory

S = Order.Status
# The path each status is reached by.
PATHS = {
    S.PENDING_PAYMENT: [],
    S.PAID: [S.PAID],
    S.SHIPPED: [S.PAID, S.SHIPPED],
    S.COMPLETED: [S.PAID, S.SHIPPED, S.COMPLETED],
    S.CLOSED: [S.CLOSED],
    S.REFUNDING: [S.PAID, S.REFUNDING],
    S.REFUNDED: [S.PAID, S.REFUNDING, S.REFUNDED],
}


@pytest.fixture
def make_order(db):
    def make(customer, status=S.PENDING_PAYMENT, *, sku=None, quantity=1):
        sku = sku or SkuFactory(price_fen=12900, stock=10)
        address = AddressFactory(customer=customer)
        order = order_create(customer_id=customer.pk, lines=[(sku.id, quantity)], address_id=address.id)
        for to in PATHS[status]:
            order = order_transition(order_id=order.id, to=to, actor="test")
        return order

    return make
