"""A person opens `/`, follows the link to the simulator console and, in a real browser,
chats with the official account and buys a product as a mini-program customer: login,
browse, cart, order, pay (the simulator posts the signed notification)."""

import pytest

from officialaccount.models import ReplyRule
from orders.models import Order
from tests.factories import SkuFactory
from tests.wechat_pay.conftest import pay_key_files, pay_settings  # noqa: F401  (autouse: pay keys)

pytestmark = pytest.mark.browser


@pytest.fixture
def console_settings(settings, live_server, pay_settings):  # noqa: F811
    settings.WECHAT_SIMULATOR_ENABLED = True
    settings.WECHAT_API_BASE = f"{live_server.url}/__sim__/api"
    settings.WECHAT_PAY_API_BASE = f"{live_server.url}/__sim__/pay"
    settings.WECHAT_PAY_NOTIFY_BASE_URL = live_server.url
    settings.WECHAT_MP_ENCODING_AES_KEY = ""
    return settings


def test_chat_then_buy_and_pay_in_the_console(browser_page, live_server, console_settings):
    ReplyRule.objects.create(name="问候", keyword="你好", text="您好，欢迎光临")
    sku = SkuFactory(price_fen=12900, stock=5, product__title="竹纤维毛巾")
    page = browser_page
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.goto(f"{live_server.url}/")
    page.click("#link-console")
    page.wait_for_url(f"{live_server.url}/__sim__/console/")

    page.fill("#mp-text", "你好")
    page.click("#mp-send")
    assert page.locator(".mp-reply").first.inner_text(timeout=10_000) == "您好，欢迎光临"

    page.fill("#mini-openid", "o_browser_buyer")
    page.click("#mini-login")
    page.locator("#mini-status.ok").wait_for()
    page.click(f".view-product[data-id='{sku.product_id}']")
    page.click(f".add-to-cart[data-sku='{sku.id}']")
    page.locator(f".cart-line[data-sku='{sku.id}']").wait_for()
    page.click("#mini-order")
    order = page.locator(".order-row").first
    assert "pending_payment" in order.locator(".order-status").inner_text(timeout=10_000)
    order.locator(".pay-order").click()
    page.locator(".order-row .order-status", has_text="paid").wait_for()

    placed = Order.objects.get(customer__openid="o_browser_buyer")
    assert (placed.status, placed.total_fen) == ("paid", 12900)
    assert page.locator("#mini-result").inner_text().startswith(placed.order_no)
    assert script_errors == []
