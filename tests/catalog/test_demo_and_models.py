"""The demo catalog, and what the database itself refuses."""

from io import StringIO

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from catalog import demo
from catalog.models import Category, Product, ProductImage, Sku
from tests.factories import SkuFactory

pytestmark = pytest.mark.django_db


def test_demo_data_is_idempotent_and_browsable(api):
    demo.load(stdout=StringIO())
    counts = (Category.objects.count(), Product.objects.count(), Sku.objects.count(), ProductImage.objects.count())
    demo.load(stdout=StringIO())
    assert (Category.objects.count(), Product.objects.count(), Sku.objects.count(),
            ProductImage.objects.count()) == counts
    assert Category.objects.filter(parent=None).count() >= 3
    assert Product.objects.filter(is_on_shelf=True).count() >= 20
    assert not Product.objects.filter(cover="").exists()
    assert Sku.objects.filter(stock__gt=0).count() >= 20
    page = api.get("/api/v1/products/").json()
    assert page["count"] >= 20 and len(page["results"]) == 20
    cover = page["results"][0]["cover_url"]
    assert cover.startswith("http://testserver/media/products/covers/demo-")


def test_stock_cannot_go_negative_even_past_the_services():
    sku = SkuFactory(stock=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Sku.objects.filter(pk=sku.pk).update(stock=F("stock") - 2)
    assert Sku.objects.get(pk=sku.pk).stock == 1


def test_price_must_be_positive():
    with pytest.raises(IntegrityError), transaction.atomic():
        SkuFactory(price_fen=0)


def test_sku_code_is_unique():
    SkuFactory(code="DUP")
    with pytest.raises(IntegrityError), transaction.atomic():
        SkuFactory(code="DUP")


def test_admin_pages_render(admin_client):
    demo.load(stdout=StringIO())
    product = Product.objects.first()
    for url in ["/admin/catalog/product/", "/admin/catalog/product/?q=保温杯", "/admin/catalog/product/?is_on_shelf__exact=1",
                f"/admin/catalog/product/{product.id}/change/", "/admin/catalog/product/add/",
                "/admin/catalog/sku/", "/admin/catalog/sku/?q=DEMO", "/admin/catalog/category/",
                "/admin/catalog/product/import/", "/admin/catalog/product/export/",
                "/admin/miniprogram_api/customer/", "/admin/orders/address/", "/admin/orders/cart/"]:
        assert admin_client.get(url).status_code == 200, url


def test_admin_product_list_totals_survive_a_search_by_sku_code(admin_client):
    product = SkuFactory(code="ABC-1", stock=3, price_fen=500).product
    SkuFactory(product=product, code="ABC-2", stock=4, price_fen=700)
    response = admin_client.get("/admin/catalog/product/", {"q": "ABC"})
    (row,) = response.context["cl"].result_list
    assert (row._total_stock, row._lowest_price_fen) == (7, 500)


BAD_ATTRIBUTES = ['["红", "M"]', '"红"', '{"颜色": {"深浅": "深"}}', '{"颜色": true}']


def test_the_admin_refuses_sku_attributes_that_are_not_names_to_texts(admin_client):
    """The API shows attributes as {name: text}; a list would break every page showing the SKU."""
    sku = SkuFactory(attributes={"颜色": "红"}, price_fen=100, stock=1)
    form = {"code": sku.code, "product": sku.product_id, "price_fen": 100, "stock": 1}
    for bad in BAD_ATTRIBUTES:
        response = admin_client.post(f"/admin/catalog/sku/{sku.id}/change/", {**form, "attributes": bad})
        assert response.status_code == 200, bad  # the form again, with the error
        assert "attributes" in response.context["adminform"].form.errors, bad
    assert Sku.objects.get(pk=sku.pk).attributes == {"颜色": "红"}
    response = admin_client.post(f"/admin/catalog/sku/{sku.id}/change/", {**form, "attributes": '{"容量": 500}'})
    assert response.status_code == 302
    assert Sku.objects.get(pk=sku.pk).attributes == {"容量": 500}


def test_a_csv_import_refuses_sku_attributes_that_are_not_names_to_texts(admin_client):
    import re

    from django.core.files.uploadedfile import SimpleUploadedFile

    sku = SkuFactory(attributes={"颜色": "红"})
    page = admin_client.get("/admin/catalog/sku/import/").content.decode()
    csv_format = re.search(r'<option value="(\d+)"[^>]*>csv</option>', page).group(1)
    csv_text = (
        "code,product_id,attributes,price_fen,original_price_fen,stock\n"
        f'{sku.code},{sku.product_id},"[""红"", ""M""]",5900,,7\n'
    )
    response = admin_client.post("/admin/catalog/sku/import/", {
        "format": csv_format,
        "import_file": SimpleUploadedFile("import.csv", csv_text.encode(), content_type="text/csv"),
    })
    assert response.status_code == 200
    assert response.context["result"].has_validation_errors()
    assert Sku.objects.get(pk=sku.pk).attributes == {"颜色": "红"}
