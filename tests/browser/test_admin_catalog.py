"""A merchant changes stock in the admin's product page; the mini-program sees it on its
very next request (the catalog response cache never serves the old page)."""

import pytest
import requests
from django.contrib.auth import get_user_model

from tests.factories import SkuFactory

pytestmark = pytest.mark.browser


def test_stock_edited_in_the_product_page_shows_in_the_api_next_request(browser_page, live_server):
    sku = SkuFactory(stock=10, product__title="316不锈钢保温杯 500ml")
    detail = f"{live_server.url}/api/v1/products/{sku.product_id}/"
    assert requests.get(detail, timeout=5).json()["skus"][0]["stock"] == 10  # now cached

    get_user_model().objects.create_superuser("ops", "ops@example.com", "correct-horse-42")
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/catalog/product/{sku.product_id}/change/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "correct-horse-42")
    page.click("input[type=submit]")
    assert page.input_value("#id_title") == "316不锈钢保温杯 500ml"
    page.fill("#id_skus-0-stock", "3")
    page.click("input[name=_save]")
    page.wait_for_url(f"{live_server.url}/admin/catalog/product/")
    assert page.locator(".messagelist .success").is_visible()

    assert requests.get(detail, timeout=5).json()["skus"][0]["stock"] == 3
