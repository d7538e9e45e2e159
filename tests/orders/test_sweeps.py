"""Unpaid orders close after ORDER_PAYMENT_TIMEOUT_MINUTES, shipped ones complete after
ORDER_AUTO_COMPLETE_DAYS, through the beat tasks; a sweep never waits for a locked order."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Sku
from orders.models import Order
from orders.services import order_close_unpaid
from orders.tasks import order_close_unpaid_task, order_complete_delivered_task
from tests.factories import CustomerFactory, SkuFactory

pytestmark = pytest.mark.django_db
S = Order.Status


def _age(order, **delta):
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(**delta))


def test_the_beat_schedule_runs_both_sweeps():
    """Closing unpaid orders goes through payments, which settles their WeChat Pay trades
    first, then calls orders' sweep (tests/payments/test_settle.py)."""
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"payments.tasks.payments_settle_task", "orders.tasks.order_complete_delivered_task"} <= tasks


def test_unpaid_orders_close_after_the_timeout_and_give_stock_back(customer, make_order, settings):
    settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 30
    sku = SkuFactory(stock=10)
    old = make_order(customer, sku=sku, quantity=2)
    young = make_order(customer, sku=sku, quantity=3)
    paid = make_order(customer, S.PAID, sku=sku, quantity=1)
    _age(old, minutes=31)
    _age(young, minutes=29)
    _age(paid, minutes=60)
    assert order_close_unpaid_task.delay().get() == 1
    assert Order.objects.get(pk=old.pk).status == "closed"
    assert Order.objects.get(pk=young.pk).status == "pending_payment"
    assert Order.objects.get(pk=paid.pk).status == "paid"
    assert Sku.objects.get(pk=sku.pk).stock == 10 - 3 - 1
    event = Order.objects.get(pk=old.pk).events.last()
    assert (event.from_status, event.to_status, event.actor) == ("pending_payment", "closed", "system:payment_timeout")
    assert order_close_unpaid_task.delay().get() == 0  # a second run finds nothing to do


def test_the_sweep_works_in_batches_until_done(customer, make_order):
    orders = [make_order(customer) for _ in range(7)]
    for order in orders:
        _age(order, hours=2)
    assert order_close_unpaid(batch_size=3) == 7
    assert set(Order.objects.values_list("status", flat=True)) == {"closed"}


def test_shipped_orders_complete_after_the_auto_complete_days(customer, make_order, settings):
    settings.ORDER_AUTO_COMPLETE_DAYS = 10
    due = make_order(customer, S.SHIPPED)
    recent = make_order(customer, S.SHIPPED)
    Order.objects.filter(pk=due.pk).update(shipped_at=timezone.now() - timedelta(days=10, minutes=1))
    Order.objects.filter(pk=recent.pk).update(shipped_at=timezone.now() - timedelta(days=9))
    assert order_complete_delivered_task.delay().get() == 1
    assert Order.objects.get(pk=due.pk).status == "completed"
    assert Order.objects.get(pk=due.pk).events.last().actor == "system:auto_complete"
    assert Order.objects.get(pk=recent.pk).status == "shipped"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sweep_skips_an_order_someone_holds_and_closes_it_next_run(make_order):
    """A customer paying (the row locked) does not make the sweep wait, nor lose its change."""
    customer = CustomerFactory()
    held, free = make_order(customer), make_order(customer)
    _age(held, hours=1)
    _age(free, hours=1)
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Order.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        holder = pool.submit(hold)
        assert locked.wait(10)
        assert order_close_unpaid() == 1  # returns at once, the held order left alone
        assert Order.objects.get(pk=free.pk).status == "closed"
        assert Order.objects.get(pk=held.pk).status == "pending_payment"
        release.set()
        holder.result()
    assert order_close_unpaid() == 1
    assert Order.objects.get(pk=held.pk).status == "closed"
