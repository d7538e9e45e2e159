"""A shop with WeChat Pay behind the simulator: pay keys and settings from the pay tests, a
customer with an unpaid order, and helpers that play WeChat's side (pay a trade, capture
the notification it sends, post it to our endpoint)."""

import pytest

from orders.services import order_create
from tests.factories import AddressFactory, CustomerFactory, SkuFactory, bearer_for
from tests.wechat_pay.conftest import merchant_cert, notify_receiver, pay_key_files, pay_settings, tls_files  # noqa: F401
from wechat_simulator import pay_state

NOTIFY = "/payments/wechat/notify/"
REFUND_NOTIFY = "/payments/wechat/refund-notify/"


@pytest.fixture
def shop(wechat_sim, settings):
    settings.WECHAT_PAY_API_BASE = wechat_sim.pay_base
    return wechat_sim


@pytest.fixture
def buyer(db):
    return CustomerFactory()


@pytest.fixture
def buyer_api(buyer):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_for(buyer)}")
    return client


@pytest.fixture
def paid_order(shop, buyer_api, make_unpaid, notify_receiver, client):  # noqa: F811 - the fixture
    """An order paid the way production pays it: `pay`, then WeChat's notification."""
    from orders.models import Order
    from payments.models import PaymentAttempt

    def make(price_fen=10000) -> Order:
        order = make_unpaid(price_fen=price_fen)
        assert buyer_api.post(f"/api/v1/orders/{order.order_no}/pay").status_code == 200
        attempt = PaymentAttempt.objects.get(order=order)
        assert post_notification(client, *pay_at_wechat(attempt.out_trade_no, notify_receiver)).status_code in (200, 204)
        order.refresh_from_db()
        assert order.status == "paid"
        return order

    return make


@pytest.fixture
def make_unpaid(buyer):
    def make(*, price_fen=12900, quantity=1, stock=10, customer=None):
        customer = customer or buyer
        sku = SkuFactory(price_fen=price_fen, stock=stock)
        address = AddressFactory(customer=customer)
        return order_create(customer_id=customer.pk, lines=[(sku.id, quantity)], address_id=address.id)

    return make


def pay_at_wechat(out_trade_no: str, receiver) -> tuple[dict, bytes]:
    """The customer pays; the notification WeChat would post, captured: (headers, body)."""
    pay_state.pay_order(out_trade_no)
    before = len(receiver.received)
    pay_state.send_payment_notification(out_trade_no)
    notice = receiver.received[before]
    return notice.headers, notice.body


def post_notification(client, headers: dict, body: bytes, path: str = NOTIFY):
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()
            if k.lower().startswith("wechatpay")}
    content_type = headers.get("Content-Type") or headers.get("content-type") or "application/json"
    return client.generic("POST", path, body, content_type=content_type, **meta)


def refund_notice(refund, receiver, status="SUCCESS") -> tuple[dict, bytes]:
    """The refund reaches `status` at WeChat; the notification it would post, captured."""
    pay_state.refund_complete(refund.out_refund_no, status)
    before = len(receiver.received)
    pay_state.send_refund_notification(refund.out_refund_no, status)
    notice = receiver.received[before]
    return notice.headers, notice.body
