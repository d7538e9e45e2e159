"""The broker is dead while customers pay: WeChat Pay's notifications are still verified,
recorded and acknowledged within a second (the orders turn paid), and the paid-order notices
go out once the broker is back, one per order, even when WeChat repeats a notification.

Real parts: gunicorn publishing through a TCP proxy that plays the dead broker, a real
Celery worker on the real broker, the simulator paying trades and signing notifications."""

import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from orders.models import Order
from payments.models import PaymentAttempt
from tests.faults import FaultProxy
from tests.notifications.conftest import grant, notice_templates, shopper  # noqa: F401 - fixtures
from tests.prodrun import gunicorn
from wechat_simulator import pay_state
from wxbackend.models import OutboxItem

pytestmark = [pytest.mark.postgres, pytest.mark.real_worker, pytest.mark.django_db(transaction=True)]

ORDERS = 12
PAY_SETTINGS = ("WECHAT_PAY_MCH_ID", "WECHAT_PAY_MCH_CERT_SERIAL", "WECHAT_PAY_MCH_PRIVATE_KEY_PATH",
                "WECHAT_PAY_PUBLIC_KEY_PATH", "WECHAT_PAY_PUBLIC_KEY_ID", "WECHAT_PAY_APIV3_KEY",
                "WECHAT_PAY_API_VERSION", "WECHAT_MINIAPP_APPID", "WECHAT_API_BASE", "WECHAT_PAY_API_BASE",
                "WECHAT_SIMULATOR_PAY_PRIVATE_KEY_PATH")


@pytest.fixture
def drill_env(shop, monkeypatch):
    """The pay tests' keys and ids for every process of the drill (gunicorn, the worker)."""
    for name in PAY_SETTINGS:
        monkeypatch.setenv(name, str(getattr(settings, name)))


@pytest.fixture
def gunicorn_behind_dead_broker(drill_env, settings):
    broker = urlsplit(settings.CELERY_BROKER_URL)
    if broker.scheme != "redis":
        pytest.skip("the drill proxies a Redis broker")
    from tests.celery_worker import _database_url

    with FaultProxy(broker.port or 6379) as proxy:
        env = {"DATABASE_URL": _database_url(), "DATABASE_CONN_MAX_AGE": "60",
               "CELERY_BROKER_URL": f"redis://127.0.0.1:{proxy.port}{broker.path or '/0'}"}
        with gunicorn(env) as (url, _master):
            settings.WECHAT_PAY_NOTIFY_BASE_URL = url  # where the simulator posts
            yield url, proxy


def test_payment_notifications_are_acknowledged_while_the_broker_is_down_and_notices_follow(
    drill_env, notice_templates, shopper, buyer_api, make_unpaid, gunicorn_behind_dead_broker,  # noqa: F811
    celery_worker_process, wechat_sim,
):
    url, proxy = gunicorn_behind_dead_broker
    from rest_framework.test import APIClient

    from tests.factories import bearer_for

    shopper_api = APIClient()
    shopper_api.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_for(shopper)}")
    grant(shopper, "paid", times=ORDERS)
    orders = [make_unpaid(price_fen=1990, customer=shopper) for _ in range(ORDERS)]
    trades = []
    for order in orders:
        assert shopper_api.post(f"/api/v1/orders/{order.order_no}/pay").status_code == 200
        trades.append(PaymentAttempt.objects.get(order=order).out_trade_no)
    OutboxItem.objects.all().delete()  # only what the notifications cause is counted below

    proxy.set_mode("dead")
    answers = []
    for trade in trades:
        pay_state.pay_order(trade)
        started = time.monotonic()
        status = pay_state.send_payment_notification(trade)
        answers.append((status, time.monotonic() - started))
    assert {status for status, _ in answers} <= {200, 204}
    slowest = max(seconds for _, seconds in answers)
    assert slowest < 1.0, f"a notification waited {slowest:.2f} s on the dead broker"
    assert set(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)) == {"paid"}
    assert wechat_sim.notices(shopper.openid) == [], "no notice can leave while the broker is dead"

    proxy.set_mode("forward")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if len(wechat_sim.notices(shopper.openid)) >= ORDERS and not OutboxItem.objects.exclude(
                status=OutboxItem.Status.DONE).exists():
            break
        time.sleep(0.5)
    notices = wechat_sim.notices(shopper.openid)
    assert len(notices) == ORDERS, f"{len(notices)} notices for {ORDERS} paid orders"

    # WeChat repeats each notification (it does, until it reads a 2xx in time): nothing new.
    for trade in trades:
        assert pay_state.send_payment_notification(trade) in (200, 204)
    time.sleep(3)
    assert len(wechat_sim.notices(shopper.openid)) == ORDERS
    assert PaymentAttempt.objects.filter(out_trade_no__in=trades, status="paid").count() == ORDERS
    assert len({n["data"]["character_string1"]["value"] for n in notices}) == ORDERS  # one per order
