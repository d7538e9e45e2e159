"""Staff refund part of an order from its page in a real browser: the button, a form in ¥
yuan that refuses more than is left, and the refund on the order's page afterwards."""

import pytest
from django.contrib.auth import get_user_model

from payments.models import Refund
from tests.payments.conftest import (  # noqa: F401 - the payments fixtures this test needs
    buyer,
    buyer_api,
    make_unpaid,
    notify_receiver,
    paid_order,
    pay_key_files,
    pay_settings,
    shop,
)

pytestmark = pytest.mark.browser


def test_staff_refund_part_of_an_order_from_its_page(browser_page, live_server, paid_order):  # noqa: F811
    order = paid_order(12900)
    get_user_model().objects.create_superuser("finance", "finance@example.com", "correct-horse-42")
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/orders/order/{order.pk}/change/")
    page.fill("#id_username", "finance")
    page.fill("#id_password", "correct-horse-42")
    page.click("input[type=submit]")

    page.click(".object-tools >> text=退款")
    page.wait_for_url(f"{live_server.url}/admin/orders/order/{order.pk}/refund/")
    assert page.input_value("#id_amount") == "129.00"
    page.fill("#id_amount", "130")
    page.fill("#id_reason", "少发一件")
    page.click("input[type=submit]")
    assert "最多还可退 ¥129.00" in page.locator(".errorlist").inner_text()

    page.fill("#id_amount", "29.90")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
    assert "已提交微信支付" in page.locator(".messagelist .success").inner_text()
    refund = Refund.objects.get()
    assert (refund.amount_fen, refund.reason) == (2990, "少发一件")
    assert page.locator(f"text={refund.out_refund_no}").first.is_visible()
    assert page.locator("text=¥29.90").first.is_visible()
