"""The README's screenshots of the admin (docs/img/), taken in a real browser on the demo
data plus a month of sample orders. A tool, not a check: it runs only when asked,

    DOCS_SCREENSHOTS=1 .venv/bin/python -m pytest tests/browser/test_screenshots.py

(Chinese text needs a CJK font in the system: `apt-get install fonts-wqy-microhei`)."""

import os
import random
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from catalog.models import Sku
from officialaccount.models import Follower, Message
from orders.models import Order, OrderItem, RefundRequest
from tests.browser.conftest import admin_login
from tests.factories import CustomerFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("DOCS_SCREENSHOTS"), reason="writes docs/img/: DOCS_SCREENSHOTS=1"),
]

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
NAMES = ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄敏"]
CITIES = [("上海市", "上海市", "浦东新区"), ("浙江省", "杭州市", "西湖区"), ("广东省", "深圳市", "南山区"),
          ("北京市", "北京市", "朝阳区")]


def _month_of_orders() -> None:
    """About 150 orders over 30 days, most paid, the newest waiting to ship."""
    rng = random.Random(11)
    skus = list(Sku.objects.select_related("product")[:12])
    customers = [CustomerFactory(nickname=name) for name in NAMES]
    now = timezone.now()
    n = 0
    for days_ago in range(29, -1, -1):
        for _ in range(rng.randint(2, 9)):
            n += 1
            sku, qty = rng.choice(skus), rng.randint(1, 3)
            paid_at = now - timedelta(days=days_ago, minutes=rng.randint(5, 600))
            status = "paid" if days_ago < 2 else rng.choice(["completed"] * 6 + ["shipped", "refunded"])
            province, city, county = rng.choice(CITIES)
            order = Order.objects.create(
                order_no=f"2026{n:08d}", customer=rng.choice(customers), status=status,
                total_fen=sku.price_fen * qty, user_name=rng.choice(NAMES), tel_number="13800138000",
                province_name=province, city_name=city, county_name=county, detail_info="幸福路88号",
                paid_at=paid_at, carrier="顺丰速运" if status != "paid" else "",
            )
            Order.objects.filter(pk=order.pk).update(created_at=paid_at - timedelta(minutes=3))
            OrderItem.objects.create(order=order, sku=sku, product_id=sku.product_id, title=sku.product.title,
                                     sku_code=sku.code, attributes=sku.attributes, unit_price_fen=sku.price_fen,
                                     quantity=qty, image=sku.product.cover.name)
    RefundRequest.objects.create(order=Order.objects.filter(status="paid").first(), reason="买错颜色了")


def _conversation() -> Follower:
    follower = Follower.objects.create(openid="o_demo_follower", remark="王芳", is_subscribed=True,
                                       subscribed_at=timezone.now() - timedelta(days=3))
    now = timezone.now()
    lines = [("in", "你好", "text", "您好，欢迎光临！发送商品名称（例如“保温杯”）即可查看商品。"),
             ("in", "保温杯有蓝色的吗", "text", "[小程序卡片] 316不锈钢保温杯"),
             ("in", "可以开发票吗", "text", ""),
             ("out", "可以的，下单时在备注里写上抬头和税号即可。", "text", "")]
    for i, (direction, content, kind, reply) in enumerate(lines):
        Message.objects.create(direction=direction, openid=follower.openid, dedupe_key=f"demo:{i}", msg_type=kind,
                               content=content, reply_kind="text" if reply else "", reply_text=reply,
                               status="sent" if direction == "out" else "received",
                               created_at=now - timedelta(minutes=30 - i * 5))
    return follower


def test_take_the_readme_screenshots(browser_page, live_server):
    call_command("demo_data", stdout=open(os.devnull, "w"))  # noqa: SIM115
    _month_of_orders()
    follower = _conversation()
    get_user_model().objects.create_superuser("ops", "ops@example.com", "correct-horse-42")
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 860})
    IMG.mkdir(parents=True, exist_ok=True)
    admin_login(page, live_server.url)

    def shot(path: str, name: str, *, full: bool = False) -> None:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(IMG / name), full_page=full)

    shot("/admin/", "admin-dashboard.png")
    shot("/admin/catalog/product/", "admin-products.png")
    product = Sku.objects.first().product
    shot(f"/admin/catalog/product/{product.pk}/change/", "admin-product.png")
    shot("/admin/orders/order/", "admin-orders.png")
    page.goto(live_server.url + "/admin/orders/order/?status__exact=paid")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "ship")
    page.click("button[name=index]")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(IMG / "admin-ship.png"))
    shot(f"/admin/officialaccount/follower/{follower.pk}/conversation/", "admin-conversation.png")
    shot("/api/v1/docs/", "api-docs.png")
