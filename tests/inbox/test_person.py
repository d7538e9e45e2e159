"""One customer: the mini-program customer and the follower with the same unionid are one
person in the admin, with orders, conversations, notices and subscriptions on one page."""

import pytest
from django.urls import reverse

from inbox.models import Conversation
from inbox.person import _notice_model
from miniprogram_api.models import SubscriptionGrant
from officialaccount.models import Follower
from orders.models import Order
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _order(customer, no: str, total_fen: int) -> Order:
    return Order.objects.create(order_no=no, customer=customer, total_fen=total_fen, status="paid",
                                user_name="张三", tel_number="13800000000", province_name="广东省",
                                city_name="广州市", county_name="天河区", detail_info="体育西路1号")


@pytest.fixture
def person():
    customer = CustomerFactory(unionid="u_same", nickname="小李")
    follower = Follower.objects.create(openid="o_li", unionid="u_same", is_subscribed=True, remark="李先生")
    order = _order(customer, "NO20261103001", 12900)
    _order(CustomerFactory(unionid="u_other"), "NO_SOMEONE_ELSE", 100)
    conversation = Conversation.objects.create(contact="o_li", unread_count=2)
    Conversation.objects.create(contact="o_stranger")
    SubscriptionGrant.objects.create(customer=customer, template_id="TPL_SHIPPED", available=2, last_result="accept")
    notice_model = _notice_model()
    notice = notice_model.objects.create(order=order, customer=customer, event="paid") if notice_model else None
    return customer, follower, conversation, notice


def test_the_page_joins_customer_and_follower_by_unionid(staff_client, person):
    customer, follower, conversation, notice = person
    page = staff_client.get(reverse("admin:inbox_customer_person", args=[customer.pk])).content.decode()
    assert "小李" in page and "李先生" in page
    assert "NO20261103001" in page and "¥129.00" in page
    assert "NO_SOMEONE_ELSE" not in page
    assert reverse("admin:inbox_conversation_change", args=[conversation.pk]) in page
    assert "TPL_SHIPPED" in page
    if notice is None:
        assert "通知模块尚无关联客户的通知模型" in page  # the hook, named until notices exist
    else:
        assert str(notice) in page


def test_the_customer_and_conversation_pages_link_to_it(staff_client, person):
    customer, follower, conversation, _ = person
    url = reverse("admin:inbox_customer_person", args=[customer.pk])
    assert url in staff_client.get(reverse("admin:miniprogram_api_customer_change", args=[customer.pk])).content.decode()
    assert url in staff_client.get(reverse("admin:inbox_conversation_change", args=[conversation.pk])).content.decode()


def test_a_customer_without_a_follower_shows_why(staff_client):
    customer = CustomerFactory(unionid="")
    page = staff_client.get(reverse("admin:inbox_customer_person", args=[customer.pk])).content.decode()
    assert "未关联公众号粉丝" in page


def test_unknown_customer_is_404_and_staff_without_permission_403(staff_client, client, django_user_model):
    assert staff_client.get(reverse("admin:inbox_customer_person", args=[999999])).status_code == 404
    customer = CustomerFactory()
    client.force_login(django_user_model.objects.create_user("nobody", password="pw-123456-long", is_staff=True))
    assert client.get(reverse("admin:inbox_customer_person", args=[customer.pk])).status_code == 403
