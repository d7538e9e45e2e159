"""`demo_data` gives the shop templates for the four events, and the simulator's page shows
the notices that reached "WeChat" as the customer's phone would."""

import io

import pytest
from django.core.management import call_command

from notifications.models import NotificationTemplate
from tests.notifications.conftest import S, follow, grant, move, new_order

pytestmark = pytest.mark.django_db


def test_demo_data_adds_templates_for_the_four_events_once():
    call_command("demo_data", stdout=io.StringIO())
    call_command("demo_data", stdout=io.StringIO())

    rows = NotificationTemplate.objects.filter(is_enabled=True)
    assert sorted({t.event for t in rows}) == ["closed", "paid", "refunded", "shipped"]
    assert rows.count() == 8 and all(t.keywords and t.template_id for t in rows)


def test_the_simulator_page_shows_delivered_notices_as_the_customer_sees_them(
    client, wechat_sim, notice_templates, shopper, django_capture_on_commit_callbacks
):
    grant(shopper, "paid")
    follow(wechat_sim, shopper)
    with django_capture_on_commit_callbacks(execute=True):
        order = move(new_order(shopper, price_fen=1230, title="保温杯"), S.PAID, S.SHIPPED)

    page = client.get("/__sim__/").content.decode()
    section = page[page.index("Notices delivered"):page.index("Shipping information uploaded")]
    assert section.count('class="notice"') == 2
    assert "订阅消息" in section and "模板消息" in section
    assert order.order_no in section and "¥12.30" in section and "保温杯" in section and "已支付" in section
    assert f"pages/order/detail?no={order.order_no}" in section
