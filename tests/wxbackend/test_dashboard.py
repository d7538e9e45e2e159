"""The admin index's dashboard on a fixed data set: today's paid orders and takings on a
Beijing day (an order paid at 00:10 Beijing is today's although it is yesterday in UTC),
orders to ship, refund requests waiting, open conversations, the 30-day chart, a handful of
queries, and only what the staff member may view."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone, translation

from officialaccount.models import Message
from orders.models import Order, RefundRequest
from tests.factories import CustomerFactory
from wxbackend.dashboard import dashboard

BEIJING = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=BEIJING)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _chinese():
    with translation.override("zh-hans"):
        yield


def _order(n: int, status: str, total_fen: int, paid_at: datetime | None) -> Order:
    order = Order.objects.create(
        order_no=f"D{n:05d}", customer=CustomerFactory(), status=status, total_fen=total_fen,
        user_name="张三", tel_number="13800000000", province_name="上海市", city_name="上海市",
        county_name="浦东新区", detail_info="世纪大道1号", paid_at=paid_at,
    )
    created = (paid_at or NOW) - timedelta(minutes=5)
    Order.objects.filter(pk=order.pk).update(created_at=created)
    return order


@pytest.fixture
def shop():
    bj = lambda *args: datetime(*args, tzinfo=BEIJING)  # noqa: E731
    paid_tonight = _order(1, "paid", 12900, bj(2026, 6, 15, 0, 10))  # 2026-06-14 16:10 UTC
    _order(2, "shipped", 5050, bj(2026, 6, 15, 9, 0))
    _order(3, "completed", 10000, bj(2026, 6, 14, 23, 50))  # yesterday, same UTC date as #1
    _order(4, "pending_payment", 99900, None)
    _order(5, "paid", 2000, bj(2026, 5, 17, 12, 0))  # the chart's first day
    _order(6, "completed", 7777, bj(2026, 5, 16, 12, 0))  # 30 days ago: outside
    RefundRequest.objects.create(order=paid_tonight, reason="不想要了")
    RefundRequest.objects.create(order=Order.objects.get(order_no="D00003"), reason="破损", status="declined")

    if apps.is_installed("inbox"):
        conversation = apps.get_model("inbox", "Conversation")
        conversation.objects.create(contact="o_waiting", state="open")
        conversation.objects.create(contact="o_done", state="closed")
    else:
        now = timezone.now()
        inbound = {"direction": "in", "msg_type": "text", "content": "在吗"}
        Message.objects.create(openid="o_waiting", dedupe_key="m:1", **inbound)
        Message.objects.create(openid="o_auto", dedupe_key="m:2", reply_kind="text", **inbound)
        asked = Message.objects.create(openid="o_answered", dedupe_key="m:3", **inbound)
        Message.objects.create(openid="o_answered", dedupe_key="cs:3", direction="out", msg_type="text",
                               content="您好", in_reply_to=asked, created_at=now + timedelta(seconds=1))
        Message.objects.create(openid="o_event", dedupe_key="e:1", direction="in", msg_type="event",
                               event="subscribe")
        Message.objects.create(openid="o_old", dedupe_key="m:4", created_at=now - timedelta(days=3), **inbound)


def _cards(board) -> dict[str, str]:
    return {card.label: card.value for card in board["cards"]}


def test_figures_on_a_fixed_data_set(shop, admin_user):
    board = dashboard(admin_user, now=NOW)
    assert _cards(board) == {
        "今日已支付订单": "2",
        "今日成交额": "¥179.50",
        "待发货订单": "2",
        "待处理退款申请": "1",
        "未结束的会话": "1",
    }
    days = re.findall(r'data-day="([-0-9]+)" data-orders="(\d+)" data-takings-fen="(\d+)"', board["chart"])
    assert len(days) == 30
    assert days[0] == ("2026-05-17", "1", "2000")
    assert days[-2] == ("2026-06-14", "1", "10000")
    assert days[-1] == ("2026-06-15", "2", "17950")
    assert sum(int(orders) for _, orders, _ in days) == 4


def test_the_index_shows_it_in_few_queries_and_loads_nothing_from_elsewhere(
    shop, admin_client, django_assert_max_num_queries
):
    # The admin index itself (session, user, recent actions...) plus the dashboard's four.
    with django_assert_max_num_queries(9):
        page = admin_client.get("/admin/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="dashboard"' in html and "<svg" in html and "今日成交额" in html
    assert "<script>" not in html
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
    assert "/static/wxbackend/dashboard.css" in html


def test_staff_see_only_what_they_may_view(shop, client):
    staff = get_user_model().objects.create_user("kefu", password="pw-kefu-2026", is_staff=True)
    codename = "view_conversation" if apps.is_installed("inbox") else "view_message"
    staff.user_permissions.add(Permission.objects.get(codename=codename))
    board = dashboard(get_user_model().objects.get(pk=staff.pk), now=NOW)
    assert _cards(board) == {"未结束的会话": "1"}
    assert board["chart"] == ""

    nobody = get_user_model().objects.create_user("nobody", password="pw-nobody-2026", is_staff=True)
    assert dashboard(nobody, now=NOW) is None
    client.force_login(nobody)
    assert 'id="dashboard"' not in client.get("/admin/").content.decode()
