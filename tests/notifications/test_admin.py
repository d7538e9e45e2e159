"""Staff see the notices in Chinese: the outbox filtered by status, event and channel, each
try's errcode, a resend action, and each order's notices on its page; the templates'
keyword mapping is checked before it is saved."""

import pytest

from notifications.models import Notice, NotificationTemplate
from tests.notifications.conftest import S, follow, grant, move, new_order

pytestmark = pytest.mark.django_db
SUBSCRIBE = "cgi-bin/message/subscribe/send"


@pytest.fixture
def notices(wechat_sim, notice_templates, shopper, django_capture_on_commit_callbacks):
    """A refused subscribe message (paid), a sent template message (shipped), a skipped closing."""
    grant(shopper, "paid")
    wechat_sim.fail_next(SUBSCRIBE, 43101, "user refuse to accept the msg")
    with django_capture_on_commit_callbacks(execute=True):
        order = move(new_order(shopper), S.PAID)
        move(new_order(shopper), S.CLOSED)
    follow(wechat_sim, shopper)
    with django_capture_on_commit_callbacks(execute=True):
        move(order, S.SHIPPED)
    return order


def _rows(response) -> int:
    return response.content.decode().count('name="_selected_action"')


def test_the_outbox_lists_and_filters_notices_in_chinese(admin_client, notices, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        page = admin_client.get("/admin/notifications/notice/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "通知" in text and "失败" in text and "已发送" in text and "已跳过" in text
    assert "43101" in text and "user refuse" in text
    assert _rows(admin_client.get("/admin/notifications/notice/", {"status__exact": "failed"})) == 1
    assert _rows(admin_client.get("/admin/notifications/notice/", {"event__exact": "shipped"})) == 1
    assert _rows(admin_client.get("/admin/notifications/notice/", {"channel__exact": "template"})) == 1


def test_a_failed_notice_shows_each_try_and_can_be_resent(
    admin_client, notices, wechat_sim, django_capture_on_commit_callbacks
):
    failed = Notice.objects.get(status="failed")
    detail = admin_client.get(f"/admin/notifications/notice/{failed.pk}/change/").content.decode()
    assert "43101" in detail and "尝试" in detail

    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client.post("/admin/notifications/notice/", {
            "action": "resend", "_selected_action": list(Notice.objects.values_list("pk", flat=True))}, follow=True)
    text = answer.content.decode()
    assert "1 条通知已重新排队" in text and "2 条所选通知不是发送失败的" in text
    failed.refresh_from_db()
    assert failed.status == "sent"


def test_the_orders_page_lists_its_notices(admin_client, notices):
    page = admin_client.get(f"/admin/orders/order/{notices.pk}/change/").content.decode()
    assert "消息通知" in page or "通知" in page
    assert "43101" in page and "公众号模板消息" in page


def test_a_template_maps_keywords_to_known_order_fields(admin_client, db):
    form = {"event": "paid", "channel": "subscribe", "is_enabled": "on", "template_id": "TPL_X",
            "page": "pages/order/detail?no={order_no}", "url": "", "miniprogram_state": "formal"}
    bad = admin_client.post("/admin/notifications/notificationtemplate/add/",
                            {**form, "keywords": '{"thing1": "secret_field"}'})
    assert bad.status_code == 200 and "secret_field" in bad.content.decode()
    bad_name = admin_client.post("/admin/notifications/notificationtemplate/add/",
                                 {**form, "keywords": '{"title": "goods"}'})
    assert "title" in bad_name.content.decode() and not NotificationTemplate.objects.exists()

    good = admin_client.post("/admin/notifications/notificationtemplate/add/",
                             {**form, "keywords": '{"thing1": "goods", "amount2": "total"}'})
    assert good.status_code == 302
    assert NotificationTemplate.objects.get().keywords == {"thing1": "goods", "amount2": "total"}
