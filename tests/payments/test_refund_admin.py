"""Refunds from the back office: staff refund an order in full or in part in ¥ yuan, never
more than was paid; approve a customer's request (one refund, however many staff click at
once) or decline it with a reason the customer reads; the order page shows payments,
refunds and requests, and says so when a refund did not go through. Through the
simulator, at the HTTP level."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client

from orders.exceptions import RefundRequestDecided
from orders.models import Order, RefundRequest
from payments.models import Refund
from payments.refunds import refund_request_approve
from wechat_simulator import pay_state

pytestmark = pytest.mark.django_db


def _refund_url(order) -> str:
    return f"/admin/orders/order/{order.pk}/refund/"


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_staff_refund_part_then_the_rest_in_yuan_and_never_more(admin_client, admin_user, paid_order,
                                                                 django_capture_on_commit_callbacks):
    order = paid_order(10000)
    page = admin_client.get(_refund_url(order)).content.decode()
    assert "实付 ¥100.00" in page and "最多还可退 ¥100.00" in page and 'value="100.00"' in page

    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client.post(_refund_url(order), {"amount": "30.5", "reason": "少发一件"}, follow=True)
    assert any("已提交微信支付" in m for m in _messages(done))
    part = Refund.objects.get()
    assert (part.amount_fen, part.is_full, part.status, part.requested_by) == (3050, False, "processing",
                                                                               f"staff:{admin_user.pk}")
    assert pay_state.refund_get(part.out_refund_no)["reason"] == "少发一件"
    assert Order.objects.get(pk=order.pk).status == "paid"

    over = admin_client.post(_refund_url(order), {"amount": "69.51", "reason": "退货"})
    assert over.status_code == 200
    assert "退款总额不能超过实付金额：实付 ¥100.00，已退或退款中 ¥30.50，最多还可退 ¥69.50。" in over.content.decode()
    assert Refund.objects.count() == 1
    for bad in ("-1", "1.234", "1e3", "0"):
        assert admin_client.post(_refund_url(order), {"amount": bad, "reason": "x"}).status_code == 200
    assert Refund.objects.count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(_refund_url(order), {"amount": "69.50", "reason": "退货"})
    order.refresh_from_db()
    assert order.status == "refunding" and Refund.objects.filter(is_full=True).count() == 1
    # Nothing left: the page says so instead of offering a form.
    assert any("已全额退款" in m for m in _messages(admin_client.get(_refund_url(order), follow=True)))


def test_an_unpaid_order_cannot_be_refunded(admin_client, shop, make_unpaid):
    order = make_unpaid()
    assert _refund_url(order) not in admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    response = admin_client.get(_refund_url(order), follow=True)
    assert any("没有可退的付款" in m for m in _messages(response))
    assert admin_client.post(_refund_url(order), {"amount": "1", "reason": "x"}).status_code == 302
    assert not Refund.objects.exists()


def test_a_reason_over_80_bytes_is_refused_before_wechat_sees_it(admin_client, paid_order):
    order = paid_order(10000)
    response = admin_client.post(_refund_url(order), {"amount": "1", "reason": "退" * 27})
    assert "最多 80 字节" in response.content.decode() and not Refund.objects.exists()


def test_refunding_needs_the_refund_permission(paid_order, django_user_model):
    order = paid_order(10000)
    clerk = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "change_order",
                                                                         "view_refundrequest"]))
    client = Client()
    client.force_login(clerk)
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert _refund_url(order) not in page
    assert client.get(_refund_url(order)).status_code == 403
    assert client.post(_refund_url(order), {"amount": "1", "reason": "x"}).status_code == 403
    assert not Refund.objects.exists()


def test_the_order_page_shows_payments_refunds_and_requests_in_yuan(admin_client, paid_order,
                                                                    django_capture_on_commit_callbacks):
    order = paid_order(12900)
    RefundRequest.objects.create(order=order, reason="不想要了")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(_refund_url(order), {"amount": "29", "reason": "差价"})
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    refund = Refund.objects.get()
    for text in ("支付记录", order.payment_attempts.get().out_trade_no, "¥129.00", refund.out_refund_no, "¥29.00",
                 "退款中", "退款申请", "不想要了", "批准或拒绝", _refund_url(order)):
        assert text in page, text


def test_approving_a_request_refunds_in_full_and_records_who(admin_client, admin_user, paid_order, buyer_api,
                                                             django_capture_on_commit_callbacks):
    order = paid_order(10000)
    assert buyer_api.post(f"/api/v1/orders/{order.order_no}/refund-request", {"reason": "尺码不合适"},
                          format="json").status_code == 201
    request = RefundRequest.objects.get()
    selected = {"action": "approve", "_selected_action": [request.pk]}
    confirm = admin_client.post("/admin/orders/refundrequest/", selected)
    assert confirm.status_code == 200 and "¥100.00" in confirm.content.decode() and not Refund.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client.post("/admin/orders/refundrequest/", {**selected, "apply": "1"}, follow=True)
    refund = Refund.objects.get()
    request.refresh_from_db()
    assert any("已批准" in m for m in _messages(done))
    assert (request.status, request.decided_by, request.refund_no) == ("approved", f"staff:{admin_user.pk}",
                                                                       refund.out_refund_no)
    assert request.decided_at and refund.amount_fen == 10000 and refund.is_full
    assert Order.objects.get(pk=order.pk).status == "refunding"
    seen = buyer_api.get(f"/api/v1/orders/{order.order_no}/").json()
    assert (seen["status"], seen["refund_request"]["status"]) == ("refunding", "approved")

    again = admin_client.post("/admin/orders/refundrequest/", {**selected, "apply": "1"}, follow=True)
    assert any("都已处理过" in m for m in _messages(again)) and Refund.objects.count() == 1


def test_declining_a_request_keeps_the_order_and_the_customer_reads_why(admin_client, paid_order, buyer_api):
    order = paid_order(10000)
    buyer_api.post(f"/api/v1/orders/{order.order_no}/refund-request", {"reason": "不想要了"}, format="json")
    request = RefundRequest.objects.get()
    selected = {"action": "decline", "_selected_action": [request.pk]}
    form = admin_client.post("/admin/orders/refundrequest/", selected)
    assert "拒绝原因" in form.content.decode()
    assert admin_client.post("/admin/orders/refundrequest/", {**selected, "apply": "1", "reason": ""}).status_code == 200
    assert RefundRequest.objects.get().status == "open"  # a reason is required

    done = admin_client.post("/admin/orders/refundrequest/",
                             {**selected, "apply": "1", "reason": "商品已拆封使用，不支持无理由退货"}, follow=True)
    assert any("已拒绝 1 个退款申请" in m for m in _messages(done))
    seen = buyer_api.get(f"/api/v1/orders/{order.order_no}/").json()
    assert seen["status"] == "paid"
    assert seen["refund_request"]["status"] == "declined"
    assert seen["refund_request"]["decline_reason"] == "商品已拆封使用，不支持无理由退货"
    assert not Refund.objects.exists()
    # The customer may ask again once declined.
    assert buyer_api.post(f"/api/v1/orders/{order.order_no}/refund-request", {"reason": "再考虑一下"},
                          format="json").status_code == 201


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_refund_wechat_refuses_is_shown_on_the_order(admin_client, paid_order):
    order = paid_order(10000)
    pay_state.fail_next("v3/refund/domestic/refunds", status=403, code="NOT_ENOUGH", message="基本账户余额不足")
    # Committed as in production: the submission runs (no broker here: in the request) at once.
    done = admin_client.post(_refund_url(order), {"amount": "100", "reason": "退货"}, follow=True)
    assert any("微信支付拒绝了退款" in m and "NOT_ENOUGH" in m for m in _messages(done))
    assert Order.objects.get(pk=order.pk).status == "paid"
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "未成功（微信拒绝：NOT_ENOUGH: 基本账户余额不足）" in page  # the alert on top
    assert "refused by WeChat Pay (NOT_ENOUGH" in page  # the timeline's audit row
    # Refunded again, successfully: the old failure is history, not an alert.
    admin_client.post(_refund_url(order), {"amount": "100", "reason": "退货"})
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "未成功" not in page and Order.objects.get(pk=order.pk).status == "refunding"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_staff_approving_one_request_at_once_make_one_refund(paid_order, buyer_api):
    order = paid_order(10000)
    buyer_api.post(f"/api/v1/orders/{order.order_no}/refund-request", {"reason": "坏了"}, format="json")
    request = RefundRequest.objects.get()
    staff = [User.objects.create_superuser(f"staff{n}", password="x").pk for n in range(6)]

    def approve(user_id):
        try:
            refund_request_approve(request_id=request.pk, actor=f"staff:{user_id}")
            return "approved"
        except RefundRequestDecided:
            return "decided"
        finally:
            connection.close()

    with ThreadPoolExecutor(len(staff)) as pool:
        results = sorted(pool.map(approve, staff))
    assert results == ["approved"] + ["decided"] * 5
    refund = Refund.objects.get()
    request.refresh_from_db()
    assert refund.amount_fen == 10000 and request.refund_no == refund.out_refund_no
    assert Order.objects.get(pk=order.pk).events.filter(to_status="refunding").count() == 1


def test_the_refund_requests_list_costs_the_same_for_any_length(admin_client, paid_order,
                                                               django_assert_max_num_queries):
    for _ in range(2):
        RefundRequest.objects.create(order=paid_order(10000), reason="不想要了")
    with django_assert_max_num_queries(6):  # session, user, counts, rows (with their orders)
        page = admin_client.get("/admin/orders/refundrequest/", {"status__exact": "open"})
    assert page.status_code == 200 and "¥100.00" in page.content.decode()
    for _ in range(4):
        RefundRequest.objects.create(order=paid_order(10000), reason="不想要了")
    with django_assert_max_num_queries(6):
        assert len(admin_client.get("/admin/orders/refundrequest/").context["cl"].result_list) == 6


def test_staff_find_refunds_by_status_and_every_notification_with_its_verdict(
        admin_client, paid_order, django_capture_on_commit_callbacks, django_assert_max_num_queries):
    order = paid_order(10000)
    pay_state.fail_next("v3/refund/domestic/refunds", status=403, code="NOT_ENOUGH", message="余额不足")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(_refund_url(order), {"amount": "10", "reason": "差价"})
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(_refund_url(order), {"amount": "20", "reason": "差价"})
    with django_assert_max_num_queries(7):
        page = admin_client.get("/admin/payments/refund/", {"status__exact": "failed"})
    failed = [r.amount_fen for r in page.context["cl"].result_list]
    assert failed == [1000] and "¥10.00" in page.content.decode() and "NOT_ENOUGH: 余额不足" in page.content.decode()
    assert len(admin_client.get("/admin/payments/refund/", {"q": order.order_no}).context["cl"].result_list) == 2

    page = admin_client.get("/admin/payments/paymentnotification/")
    assert [n.verdict for n in page.context["cl"].result_list] == ["applied"] and "已处理" in page.content.decode()
    assert admin_client.get("/admin/payments/refund/add/").status_code == 403
