"""The merchant reads and types money as ¥ yuan in the admin; the database keeps exact fen."""

import pytest

from catalog.models import Sku
from catalog.money import yuan, yuan_to_fen
from tests.factories import SkuFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("fen", "text"), [(12900, "¥129.00"), (1, "¥0.01"), (0, "¥0.00"), (123456789, "¥1,234,567.89"),
                                           (None, "-")])
def test_fen_read_as_yuan(fen, text):
    assert yuan(fen) == text


@pytest.mark.parametrize(("text", "fen"), [("129", 12900), ("129.5", 12950), ("129.00", 12900), (" ¥1,129.01 ", 112901),
                                           ("0.29", 29), ("0.57", 57), ("1.15", 115)])
def test_yuan_typed_is_stored_as_exact_fen(text, fen):
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["1.001", "-1", "1e3", "abc", "", ".5", "1.", "١٢", "NaN", "9" * 17])
def test_anything_but_yuan_with_two_decimals_is_refused(text):
    with pytest.raises(ValueError):
        yuan_to_fen(text)


def test_the_sku_page_takes_yuan_and_stores_fen(admin_client):
    sku = SkuFactory(price_fen=12900, original_price_fen=15900, stock=1, attributes={"颜色": "红"})
    page = admin_client.get(f"/admin/catalog/sku/{sku.id}/change/").content.decode()
    assert 'value="129.00"' in page and 'value="159.00"' in page
    form = {"code": sku.code, "product": sku.product_id, "attributes": '{"颜色": "红"}', "stock": 1}
    response = admin_client.post(f"/admin/catalog/sku/{sku.id}/change/",
                                 {**form, "price_fen": "99.90", "original_price_fen": ""})
    assert response.status_code == 302
    sku.refresh_from_db()
    assert (sku.price_fen, sku.original_price_fen) == (9990, None)


@pytest.mark.parametrize("price", ["99.999", "0", "0.00", "-5", "12900fen"])
def test_the_sku_page_refuses_bad_or_zero_prices(admin_client, price):
    sku = SkuFactory(price_fen=12900, stock=1, attributes={"颜色": "红"})
    form = {"code": sku.code, "product": sku.product_id, "attributes": '{"颜色": "红"}', "stock": 1}
    response = admin_client.post(f"/admin/catalog/sku/{sku.id}/change/", {**form, "price_fen": price})
    assert response.status_code == 200
    assert "price_fen" in response.context["adminform"].form.errors
    assert Sku.objects.get(pk=sku.pk).price_fen == 12900


def test_lists_show_prices_in_yuan(admin_client):
    sku = SkuFactory(price_fen=12900, original_price_fen=None, product__title="保温杯")
    SkuFactory(product=sku.product, price_fen=15900)
    skus = admin_client.get("/admin/catalog/sku/").content.decode()
    assert "¥129.00" in skus and "¥159.00" in skus and ">12900<" not in skus
    products = admin_client.get("/admin/catalog/product/").content.decode()
    assert "¥129.00" in products
