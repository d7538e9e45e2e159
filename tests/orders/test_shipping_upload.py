"""Shipping an order uploads its parcel to WeChat (发货信息管理) through the outbox: once
uploaded staff see it on the order; a refusal is recorded and shown, not retried; WeChat
being unavailable is retried with backoff until it works."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from orders.models import Order, ShippingUpload
from orders.services import order_ship
from payments.gateway import PrepayRequest, V3Gateway
from payments.models import PaymentAttempt
from tests.celery_worker import wait_for
from tests.wechat_pay.conftest import pay_key_files, pay_settings  # noqa: F401  (keys and merchant)
from wechat_simulator import pay_state
from wxbackend.models import OutboxItem
from wxbackend.outbox import outbox_relay

S = Order.Status
PATH = "wxa/sec/order/upload_shipping_info"
OPENID = "o_shipping_payer"


def _pay_through_wechat(order: Order, *, known_to_wechat: bool = True) -> PaymentAttempt:
    """A trade created through the pay client and paid at the simulator, and its attempt."""
    out_trade_no = f"P{order.order_no}"
    expires_at = timezone.now() + datetime.timedelta(minutes=30)
    transaction_id = "4200000000209901010000000001"
    if known_to_wechat:
        V3Gateway().prepay(PrepayRequest(out_trade_no=out_trade_no, description="保温杯", total_fen=order.total_fen,
                                         openid=OPENID, expires_at=expires_at))
        transaction_id = pay_state.pay_order(out_trade_no)["transaction_id"]
    return PaymentAttempt.objects.create(
        order=order, out_trade_no=out_trade_no, api_version="v3", appid=settings.WECHAT_MINIAPP_APPID,
        mchid=settings.WECHAT_PAY_MCH_ID, openid=OPENID, amount_fen=order.total_fen, expires_at=expires_at,
        status=PaymentAttempt.Status.PAID, transaction_id=transaction_id, paid_at=timezone.now(),
    )


def _ship(order: Order, capture) -> None:
    with capture(execute=True):
        order_ship(order_id=order.pk, carrier="顺丰速运", tracking_no="SF1400000001", actor="staff:1")


@pytest.mark.django_db
def test_shipping_a_paid_order_uploads_the_parcel_and_staff_see_it(
    wechat_sim, customer, make_order, admin_client, django_capture_on_commit_callbacks
):
    order = make_order(customer, S.PAID)
    Order.objects.filter(pk=order.pk).update(tel_number="13800138000")
    attempt = _pay_through_wechat(order)

    _ship(order, django_capture_on_commit_callbacks)

    [upload] = wechat_sim.shipping_uploads(attempt.transaction_id)
    body = upload["body"]
    assert body["order_key"] == {"order_number_type": 2, "transaction_id": attempt.transaction_id}
    assert body["payer"] == {"openid": OPENID}
    [parcel] = body["shipping_list"]
    assert (parcel["tracking_no"], parcel["express_company"]) == ("SF1400000001", "SF")
    assert parcel["contact"] == {"receiver_contact": "138****8000"}
    assert parcel["item_desc"].endswith("× 1")
    record = ShippingUpload.objects.get(order=order)
    assert (record.status, record.transaction_id, record.uploaded_at is not None) == (
        "uploaded", attempt.transaction_id, True)
    assert OutboxItem.objects.get(key=f"order:{order.pk}:shipped").status == "done"
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "发货信息上传" in page and "已上传" in page


@pytest.mark.django_db
def test_a_refusal_is_recorded_and_shown_not_retried(
    wechat_sim, customer, make_order, admin_client, django_capture_on_commit_callbacks
):
    order = make_order(customer, S.PAID)
    _pay_through_wechat(order, known_to_wechat=False)

    _ship(order, django_capture_on_commit_callbacks)

    record = ShippingUpload.objects.get(order=order)
    assert (record.status, record.errcode) == ("refused", 10060001)
    assert "支付单不存在" in record.error
    assert OutboxItem.objects.get(key=f"order:{order.pk}:shipped").status == "done"  # no retry
    assert len(wechat_sim.calls(PATH)) == 1
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "微信拒绝" in page and "10060001" in page


@pytest.mark.django_db
def test_wechat_being_busy_is_retried_by_the_outbox_until_it_uploads(
    wechat_sim, customer, make_order, django_capture_on_commit_callbacks
):
    order = make_order(customer, S.PAID)
    attempt = _pay_through_wechat(order)
    wechat_sim.fail_next(PATH, -1, "system busy")

    _ship(order, django_capture_on_commit_callbacks)

    item = OutboxItem.objects.get(key=f"order:{order.pk}:shipped")
    assert (item.status, item.attempts) == ("pending", 1)
    assert item.available_at > timezone.now()  # backing off
    record = ShippingUpload.objects.get(order=order)
    assert record.status == "pending" and "system busy" in record.error
    assert wechat_sim.shipping_uploads() == []

    OutboxItem.objects.filter(pk=item.pk).update(available_at=timezone.now())  # the backoff has passed
    outbox_relay()

    assert OutboxItem.objects.get(pk=item.pk).status == "done"
    assert ShippingUpload.objects.get(order=order).status == "uploaded"
    assert len(wechat_sim.shipping_uploads(attempt.transaction_id)) == 1


@pytest.mark.django_db
def test_an_order_not_paid_through_wechat_pay_uploads_nothing(
    wechat_sim, customer, make_order, django_capture_on_commit_callbacks
):
    order = make_order(customer, S.PAID)
    _ship(order, django_capture_on_commit_callbacks)
    assert ShippingUpload.objects.get(order=order).status == "no_payment"
    assert wechat_sim.calls(PATH) == []


@pytest.mark.real_worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_uploads_after_the_shipping_commits(wechat_sim, customer, make_order, monkeypatch,
                                                          request):
    monkeypatch.setenv("WECHAT_MINIAPP_APPID", settings.WECHAT_MINIAPP_APPID)  # the worker's mini-program
    request.getfixturevalue("celery_worker_process")
    order = make_order(customer, S.PAID)
    attempt = _pay_through_wechat(order)

    order_ship(order_id=order.pk, carrier="SF", tracking_no="SF1400000002", actor="staff:1")

    wait_for(lambda: ShippingUpload.objects.filter(order=order, status="uploaded").exists(), timeout=30)
    assert wechat_sim.shipping_uploads(attempt.transaction_id)[0]["body"]["shipping_list"][0][
        "tracking_no"] == "SF1400000002"
