"""A merchant's day in the admin, in a real browser with no outside network: create a
product with SKUs and images, ship an order, read a refund request from the dashboard, reply
to a follower, read the dashboard."""

import io
import time

import pytest
import requests
from django.apps import apps
from django.contrib.auth import get_user_model
from django.utils import timezone
from PIL import Image

from catalog.models import Product
from orders.models import Order, RefundRequest
from tests.browser.conftest import admin_login
from tests.factories import CategoryFactory, CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ops(db):
    return get_user_model().objects.create_superuser("ops", "ops@example.com", "correct-horse-42")


def _png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(out, "PNG")
    return out.getvalue()


def _order(n: int, status: str = "paid", total_fen: int = 12900) -> Order:
    now = timezone.now()
    return Order.objects.create(
        order_no=f"B{n:05d}", customer=CustomerFactory(), status=status, total_fen=total_fen, user_name="李四",
        tel_number="13900000000", province_name="浙江省", city_name="杭州市", county_name="西湖区",
        detail_info="文三路1号", paid_at=now if status != "pending_payment" else None,
    )


def test_create_a_product_with_skus_and_images(browser_page, live_server, ops):
    CategoryFactory(name="厨房用品")
    page = browser_page
    admin_login(page, live_server.url, next_path="/admin/catalog/product/add/")
    page.fill("#id_title", "珐琅铸铁锅 24cm")
    page.select_option("#id_category", label="厨房用品")
    page.check("#id_is_on_shelf")
    page.set_input_files("#id_cover", files=[{"name": "pot.png", "mimeType": "image/png", "buffer": _png("red")}])
    page.fill("#id_skus-0-code", "POT-24-RED")
    page.fill("#id_skus-0-attributes", '{"颜色": "红"}')
    page.fill("#id_skus-0-price_fen", "399.00")
    page.fill("#id_skus-0-stock", "20")
    page.click("#skus-group .add-row a")  # the admin's own script adds a second SKU row
    page.fill("#id_skus-1-code", "POT-24-BLUE")
    page.fill("#id_skus-1-attributes", '{"颜色": "蓝"}')
    page.fill("#id_skus-1-price_fen", "429.5")
    page.fill("#id_skus-1-stock", "5")
    page.set_input_files("#id_images-0-image",
                         files=[{"name": "pot-side.png", "mimeType": "image/png", "buffer": _png("blue")}])
    page.click("input[name=_save]")
    page.wait_for_url(f"{live_server.url}/admin/catalog/product/")
    assert page.locator(".messagelist .success").is_visible()

    product = Product.objects.get(title="珐琅铸铁锅 24cm")
    assert sorted(product.skus.values_list("code", "price_fen", "stock")) == [
        ("POT-24-BLUE", 42950, 5), ("POT-24-RED", 39900, 20)]
    assert product.lowest_price_fen == 39900 and product.images.count() == 1
    # The cover shows in the list (the image loaded), and its API URL loads.
    thumb = page.locator(f"img[src$='{product.cover.url.rsplit('/', 1)[-1]}']")
    assert thumb.evaluate("img => img.complete && img.naturalWidth") == 64
    assert "¥399.00" in page.locator("#result_list").inner_text()
    body = requests.get(f"{live_server.url}/api/v1/products/{product.pk}/", timeout=5).json()
    assert requests.get(body["cover_url"], timeout=5).content == _png("red")
    assert len(body["images"]) == 1 and requests.get(body["images"][0], timeout=5).status_code == 200


def test_ship_an_order(browser_page, live_server, ops):
    order = _order(1)
    _order(2, status="pending_payment")
    page = browser_page
    admin_login(page, live_server.url, next_path="/admin/orders/order/?status__exact=paid")
    assert page.locator("#result_list tbody tr").count() == 1
    page.check(f"input[name=_selected_action][value='{order.pk}']")
    page.select_option("select[name=action]", "ship")
    page.click("button[name=index]")
    page.fill("#id_carrier", "顺丰速运")
    page.fill(f"#id_tracking_{order.pk}", "SF1234567890")
    page.click("input[name=apply]")
    page.wait_for_url(f"{live_server.url}/admin/orders/order/?status__exact=paid")
    assert page.locator(".messagelist .success").is_visible()
    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_no) == ("shipped", "顺丰速运", "SF1234567890")
    assert page.locator("#result_list").count() == 0  # nothing left to ship


def test_read_the_dashboard_and_follow_a_waiting_refund_request(browser_page, live_server, ops):
    """Approving the refund is the refund admin action's (another change); what exists: the
    dashboard counts the request, its card opens the waiting requests, the request reads."""
    paid = _order(1, total_fen=25900)
    _order(2, total_fen=4100)
    RefundRequest.objects.create(order=paid, reason="尺码不合适")
    page = browser_page
    admin_login(page, live_server.url)
    cards = {card.locator(".label").inner_text(): card.locator(".value").inner_text()
             for card in page.locator(".dashboard-card").all()}
    assert cards["今日已支付订单"] == "2"
    assert cards["今日成交额"] == "¥300.00"
    assert cards["待发货订单"] == "2"
    assert cards["待处理退款申请"] == "1"
    chart = page.locator("#dashboard svg.sales-chart")
    assert chart.is_visible() and chart.locator("g.day").count() == 30
    assert chart.locator("g.day").last.get_attribute("data-takings-fen") == "30000"

    page.click(".dashboard-card:has-text('待处理退款申请') a")
    page.wait_for_url("**/admin/orders/refundrequest/?status__exact=open")
    assert "B00001" in page.locator("#result_list").inner_text()
    page.click("#result_list tbody tr th a")
    assert "尺码不合适" in page.locator("#content-main").inner_text()


@pytest.mark.skipif(not apps.is_installed("inbox"), reason="staff reply from the inbox (issue 10), not merged yet")
def test_reply_to_a_follower(browser_page, live_server, ops, wechat_sim, settings):
    from officialaccount import crypto
    from tests.officialaccount.conftest import TOKEN, event_xml, text_xml

    settings.WECHAT_MP_TOKEN, settings.WECHAT_MP_ENCODING_AES_KEY = TOKEN, ""
    wechat_sim.set_user("o_asks_about_size")
    def push(xml: str, nonce: str) -> None:
        ts = str(int(time.time()))
        query = {"signature": crypto.sha1_signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
        pushed = requests.post(f"{live_server.url}/wechat/mp/callback/", params=query, data=xml.encode(), timeout=5)
        assert pushed.status_code == 200

    # The customer follows the account, then asks something no rule answers.
    push(event_xml("subscribe", openid="o_asks_about_size", create_time=int(time.time())), "n-follow")
    push(text_xml("这件外套有XL码吗", msg_id=26_000_000_000_000_001, openid="o_asks_about_size"), "n-ask")

    page = browser_page
    admin_login(page, live_server.url, next_path="/admin/inbox/conversation/")
    page.click("#result_list tbody tr a:has-text('o_asks_about_size')")
    assert "这件外套有XL码吗" in page.locator("#content-main").inner_text()
    page.fill(".reply-form textarea[name=text]", "您好，XL码有货，今天下单明天发出。")
    page.click(".reply-form input[type=submit]")
    page.wait_for_load_state()
    [sent] = wechat_sim.calls("cgi-bin/message/custom/send")
    assert sent["body"]["touser"] == "o_asks_about_size"
    assert sent["body"]["text"]["content"] == "您好，XL码有货，今天下单明天发出。"
    assert "您好，XL码有货" in page.locator("#content-main").inner_text()


def test_export_orders_with_the_select_all_toggle(browser_page, live_server, ops):
    """django-import-export binds its toggle with an inline handler: the CSP allows that one
    handler by its hash (and no other), so it works and nothing is refused."""
    _order(1)
    page = browser_page
    admin_login(page, live_server.url, next_path="/admin/orders/order/export/")
    fields = page.locator(".selectable-field-export-row input[type=checkbox]")
    assert fields.count() > 2 and all(box.is_checked() for box in fields.all())
    page.uncheck("input[name=select-all-toggle]")
    assert not any(box.is_checked() for box in fields.all())
    page.check("input[name=select-all-toggle]")
    assert all(box.is_checked() for box in fields.all())
