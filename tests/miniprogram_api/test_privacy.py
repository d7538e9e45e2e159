"""PIPL: the export holds orders, payments, conversations and consents; erasure (the API or
the admin action) removes personal data everywhere, the linked follower included, while the
orders and their totals stay; raw message bodies and media are purged after the retention
period."""

import datetime
import re

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from rest_framework.test import APIClient

from miniprogram_api.models import Customer, SubscriptionGrant
from miniprogram_api.services import customer_erase
from notifications.models import Notice, NotificationTemplate
from officialaccount.models import Follower, Message, Tag
from officialaccount.tasks import message_retention_purge_task
from orders.models import Order
from orders.services import order_create, order_transition, refund_request_create
from payments.models import PaymentAttempt, PaymentNotification
from tests.factories import AddressFactory, CustomerFactory, SkuFactory, bearer_for

pytestmark = pytest.mark.django_db

NAME, PHONE, TEL, STREET = "王小明", "13800138000", "13712345678", "幸福路88号"
UNIONID, MP_OPENID, OA_OPENID = "u_wang_1", "o_mini_wang_1", "o_oa_wang_1"
SAID = "我住在幸福路88号，电话13712345678"
PERSONAL = (NAME, PHONE, TEL, STREET, UNIONID, MP_OPENID, OA_OPENID, "幸福路", "退款原因：王小明不想要了")


@pytest.fixture
def wang(db):
    """A customer with a profile, phone, address, a paid order with its payment, a refund
    request, a subscribe grant, and the follower of the same unionid with a conversation."""
    customer = CustomerFactory(openid=MP_OPENID, unionid=UNIONID, nickname=NAME, avatar_url="https://x.example/a.png")
    customer.phone, customer.phone_country_code, customer.phone_hash = PHONE, "86", "h" * 64
    customer.save()
    address = AddressFactory(customer=customer, user_name=NAME, tel_number=TEL, detail_info=STREET)
    sku = SkuFactory(price_fen=12900, product__title="保温杯")
    NotificationTemplate.objects.create(event="paid", channel="subscribe", template_id="T_PAID",
                                        keywords={"thing1": "recipient", "thing2": "address"})
    SubscriptionGrant.objects.create(customer=customer, template_id="T_PAID", available=1, last_result="accept")
    order = order_create(customer_id=customer.pk, lines=[(sku.id, 2)], address_id=address.id, remark=f"{NAME}收")
    order = order_transition(order_id=order.id, to=Order.Status.PAID, actor="test")
    PaymentAttempt.objects.create(
        order=order, out_trade_no="T" + order.order_no, api_version="v2", appid=settings.WECHAT_MINIAPP_APPID,
        mchid="1900000109", openid=MP_OPENID, amount_fen=order.total_fen, status=PaymentAttempt.Status.PAID,
        expires_at=timezone.now(), transaction_id="4200000000000001", paid_at=timezone.now(),
    )
    PaymentNotification.objects.create(
        kind="payment", api_version="v2", out_trade_no="T" + order.order_no, headers={},
        body=f"<xml><openid><![CDATA[{MP_OPENID}]]></openid><total_fee>25800</total_fee></xml>",
    )
    refund_request_create(order_id=order.pk, reason="退款原因：王小明不想要了")
    SubscriptionGrant.objects.create(customer=customer, template_id="T_SHIPPED", available=1, last_result="accept")
    follower = Follower.objects.create(openid=OA_OPENID, unionid=UNIONID, is_subscribed=True, remark=NAME,
                                       subscribed_at=timezone.now())
    follower.tags.add(Tag.objects.create(tag_id=100, name="老客"))
    Message.objects.create(direction="in", openid=OA_OPENID, dedupe_key="m:9001", msg_type="text", content=SAID,
                           fields={"Content": SAID, "FromUserName": OA_OPENID}, reply_text=f"收到，{NAME}")
    picture = Message.objects.create(direction="in", openid=OA_OPENID, dedupe_key="m:9002", msg_type="image",
                                     fields={"PicUrl": "https://mmbiz.example/p.jpg", "FromUserName": OA_OPENID})
    picture.media_file.save("wang.jpg", ContentFile(b"\xff\xd8jpeg"), save=True)
    Message.objects.create(direction="in", openid=OA_OPENID, dedupe_key=f"e:{OA_OPENID}:1764000000:subscribe:",
                           msg_type="event", event="subscribe")
    return customer


def _client(customer) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_for(customer)}")
    return client


def test_the_export_holds_orders_payments_conversations_and_consents(wang):
    other = CustomerFactory()
    data = _client(wang).get("/api/v1/me/export").json()
    assert {"profile", "official_account", "addresses", "cart_items", "subscriptions", "consents", "orders",
            "payments", "conversations", "notices"} <= set(data)
    (notice,) = data["notices"]
    assert notice["event"] == "paid" and NAME in str(notice["message"])
    (order,) = data["orders"]
    assert order["total_fen"] == 25800 and order["address"]["detail_info"] == STREET
    assert order["items"] == [{"title": "保温杯", "sku_code": order["items"][0]["sku_code"], "attributes":
                               order["items"][0]["attributes"], "unit_price_fen": 12900, "quantity": 2}]
    assert [p["amount_fen"] for p in data["payments"]] == [25800]
    assert data["official_account"]["openid"] == OA_OPENID and data["official_account"]["tags"] == ["老客"]
    assert [m["content"] for m in data["conversations"]][0] == SAID
    assert data["conversations"][1]["has_media"] is True
    kinds = {(c["kind"], c["answer"]) for c in data["consents"]}
    assert {("subscribe_message", "accept"), ("phone_number", "accept"), ("follow_official_account", "accept")} <= kinds
    # Another customer's export holds none of it.
    assert NAME not in _client(other).get("/api/v1/me/export").content.decode()


def test_no_route_reaches_another_customers_export_or_erasure(wang):
    other = CustomerFactory()
    client = _client(other)
    for method, url in [("get", f"/api/v1/me/export/{wang.pk}"), ("get", f"/api/v1/customers/{wang.pk}/export"),
                        ("delete", f"/api/v1/me/{wang.pk}"), ("delete", f"/api/v1/customers/{wang.pk}")]:
        assert getattr(client, method)(url).status_code == 404
    # Query parameters name nobody: the export is always the caller's own.
    assert NAME not in client.get("/api/v1/me/export", {"customer": wang.pk, "id": wang.pk}).content.decode()
    Customer.objects.get(pk=wang.pk, erased_at=None)


def _all_stored_text() -> str:
    """Every stored value of every model of ours, as text (encrypted fields decrypted)."""
    chunks = []
    for label in ("miniprogram_api", "orders", "payments", "officialaccount", "notifications", "wxbackend", "inbox"):
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        for model in config.get_models():
            for row in model._default_manager.all():
                chunks.append(repr([getattr(row, f.attname) for f in model._meta.concrete_fields]))
    return "\n".join(chunks)


def _admin_pages(client, wang_order: Order, follower: Follower) -> str:
    urls = [
        "/admin/miniprogram_api/customer/", f"/admin/miniprogram_api/customer/{wang_order.customer_id}/change/",
        "/admin/orders/order/", f"/admin/orders/order/{wang_order.pk}/change/", "/admin/orders/address/",
        "/admin/orders/refundrequest/", "/admin/officialaccount/follower/",
        f"/admin/officialaccount/follower/{follower.pk}/change/",
        f"/admin/officialaccount/follower/{follower.pk}/conversation/", "/admin/officialaccount/message/",
        f"/admin/orders/order/{wang_order.pk}/phone/", f"/admin/miniprogram_api/customer/{wang_order.customer_id}/phone/",
    ]
    pages = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages.append(response.content.decode())
    page = client.get("/admin/orders/order/export/").content.decode()
    csv_format = re.search(r'<option value="(\d+)"[^>]*>csv</option>', page).group(1)
    fields = ["order_no", "total", "user_name", "tel_number", "address", "remark"]
    pages.append(client.post("/admin/orders/order/export/", {
        "format": csv_format, "resource": 0, **{f"orderresource_{n}": "on" for n in fields}}).content.decode("utf-8-sig"))
    return "\n".join(pages)


def test_an_erased_customer_appears_nowhere_while_order_totals_remain(wang, admin_client):
    order = Order.objects.get(customer=wang)
    follower = Follower.objects.get(openid=OA_OPENID)
    media_name = Message.objects.get(dedupe_key="m:9002").media_file.name
    before = _admin_pages(admin_client, order, follower)
    assert NAME in before and STREET in before  # the pages do show it before
    client = _client(wang)

    assert client.delete("/api/v1/me").status_code == 204
    assert client.delete("/api/v1/me").status_code == 401  # the token is gone
    assert client.get("/api/v1/me/export").status_code == 401

    stored = _all_stored_text()
    leaked = [s for s in PERSONAL if s in stored]
    assert leaked == []
    after = _admin_pages(admin_client, order, follower)
    assert [s for s in PERSONAL if s in after] == []
    assert not default_storage.exists(media_name)

    order.refresh_from_db()
    assert (order.total_fen, order.status, order.items.get().quantity) == (25800, "paid", 2)
    assert "¥258.00" in after
    attempt = PaymentAttempt.objects.get(order=order)
    assert (attempt.amount_fen, attempt.transaction_id, attempt.openid) == (25800, "4200000000000001", "")
    follower.refresh_from_db()
    assert follower.openid.startswith("erased_") and follower.unionid == "" and not follower.tags.exists()
    assert Message.objects.filter(openid=follower.openid).count() == 3  # the rows stay for the metrics
    assert not SubscriptionGrant.objects.filter(customer=wang).exists()
    assert Notice.objects.get(order=order).event == "paid"
    # Idempotent: a second erasure changes nothing and says so.
    stored = _all_stored_text()
    assert customer_erase(customer_id=wang.pk) is False
    assert _all_stored_text() == stored


def test_staff_erase_through_the_admin_action_and_only_with_the_permission(client, admin_client, wang):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    cs = get_user_model().objects.create_user("cs", "cs@example.com", "pw-123456-long", is_staff=True)
    cs.groups.add(Group.objects.get(name="客服"))
    client.force_login(cs)
    assert 'value="erase"' not in client.get("/admin/miniprogram_api/customer/").content.decode()
    client.post("/admin/miniprogram_api/customer/", {"action": "erase", "_selected_action": [wang.pk]})
    assert Customer.objects.get(pk=wang.pk).erased_at is None

    page = admin_client.get("/admin/miniprogram_api/customer/").content.decode()
    assert 'value="erase"' in page and 'value="delete_selected"' not in page
    response = admin_client.post("/admin/miniprogram_api/customer/", {"action": "erase", "_selected_action": [wang.pk]},
                                 follow=True)
    assert "已清除 1 位顾客的个人信息" in response.content.decode()
    wang.refresh_from_db()
    assert wang.erased_at is not None and wang.nickname == ""
    assert Follower.objects.filter(unionid=UNIONID).count() == 0
    assert Order.objects.get(customer=wang).total_fen == 25800
    admin_client.post("/admin/miniprogram_api/customer/", {"action": "erase", "_selected_action": [wang.pk]})
    assert Order.objects.get(customer=wang).total_fen == 25800


def test_message_bodies_and_media_are_purged_after_the_retention_period(settings):
    settings.MESSAGE_RETENTION_DAYS = 30
    old = Message.objects.create(direction="in", openid="o_r", dedupe_key="m:1", msg_type="text", content="旧消息",
                                 fields={"Content": "旧消息"}, reply_xml="<xml>旧</xml>")
    old_picture = Message.objects.create(direction="in", openid="o_r", dedupe_key="m:2", msg_type="image",
                                         fields={"PicUrl": "https://mmbiz.example/p.jpg"})
    old_picture.media_file.save("old.jpg", ContentFile(b"\xff\xd8old"), save=True)
    recent = Message.objects.create(direction="in", openid="o_r", dedupe_key="m:3", msg_type="text",
                                    content="新消息", fields={"Content": "新消息"})
    long_ago = timezone.now() - datetime.timedelta(days=31)
    Message.objects.filter(pk__in=[old.pk, old_picture.pk]).update(created_at=long_ago)
    old_name = Message.objects.get(pk=old_picture.pk).media_file.name

    message_retention_purge_task.delay()

    old.refresh_from_db()
    assert (old.content, old.fields, old.reply_xml, old.msg_type) == ("", {}, "", "text")
    assert Message.objects.get(pk=old_picture.pk).media_file.name == ""
    assert not default_storage.exists(old_name)
    recent.refresh_from_db()
    assert recent.content == "新消息"
    message_retention_purge_task.delay()  # again: nothing left to do, no error
    assert settings.CELERY_BEAT_SCHEDULE["officialaccount-message-retention"]["task"] == (
        "officialaccount.tasks.message_retention_purge_task")
