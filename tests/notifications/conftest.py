"""A shop whose order notices go to the simulator: the four events' templates on both
channels, a customer the mini-program knows (and who may follow the official account), and
orders moved by the transition function, as production moves them."""

import pytest

from miniprogram_api.services import subscription_record
from notifications.models import Channel, Event, NotificationTemplate
from officialaccount.models import Follower
from orders.models import Order
from orders.services import order_create, order_transition
from tests.factories import AddressFactory, CustomerFactory, SkuFactory

S = Order.Status
SUBSCRIBE_KEYWORDS = {"character_string1": "order_no", "thing2": "goods", "amount3": "total",
                      "time4": "event_time", "phrase5": "status"}
TEMPLATE_KEYWORDS = {"character_string1": "order_no", "thing2": "goods", "amount3": "total",
                     "time4": "event_time"}


def subscribe_template_id(event: str) -> str:
    return f"TPL_SUB_{event.upper()}"


@pytest.fixture
def notice_templates(db):
    """Every event on both channels, enabled; the order page opens from either."""
    for event in Event.values:
        NotificationTemplate.objects.create(
            event=event, channel=Channel.SUBSCRIBE, template_id=subscribe_template_id(event),
            page="pages/order/detail?no={order_no}", miniprogram_state="trial", keywords=SUBSCRIBE_KEYWORDS)
        NotificationTemplate.objects.create(
            event=event, channel=Channel.TEMPLATE, template_id=f"TPL_OA_{event.upper()}",
            page="pages/order/detail?no={order_no}", keywords=TEMPLATE_KEYWORDS)


@pytest.fixture
def shopper(db, wechat_sim):
    """A customer of the mini-program (its openid issued by the simulator), with unionid."""
    customer = CustomerFactory(openid="o_mini_shopper", unionid="u_shopper")
    wechat_sim.issue_login_code(customer.openid, customer.unionid)
    return customer


def grant(customer, event: str, times: int = 1) -> None:
    """The customer accepted the event's subscribe template `times` times."""
    template_id = subscribe_template_id(event)
    for _ in range(times):
        subscription_record(customer=customer, template_ids=[template_id], result={template_id: "accept"})


def follow(wechat_sim, customer, openid: str = "o_oa_shopper") -> Follower:
    """The customer follows the official account (same unionid), here and at the simulator."""
    wechat_sim.set_user(openid, unionid=customer.unionid)
    return Follower.objects.create(openid=openid, unionid=customer.unionid, is_subscribed=True)


def new_order(customer, *, price_fen: int = 123450, title: str = "316不锈钢真空保温杯 500毫升 星空蓝") -> Order:
    sku = SkuFactory(price_fen=price_fen, stock=10, product__title=title)
    address = AddressFactory(customer=customer)
    return order_create(customer_id=customer.pk, lines=[(sku.id, 1)], address_id=address.id)


def move(order: Order, *statuses: str) -> Order:
    for to in statuses:
        order = order_transition(order_id=order.pk, to=to, actor="test")
    return order
