"""Every catalog write is visible on the very next API request, whatever path it took:
admin saves, bulk shelf actions, list edits of stock, stock services and CSV imports."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

from catalog import services
from catalog.cache import VERSION_KEY, catalog_version
from catalog.models import Product, Sku
from tests.factories import CategoryFactory, ProductFactory, SkuFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sku():
    return SkuFactory(product=ProductFactory(title="帆布包"), price_fen=5900, stock=5)


def _detail(api, product_id):
    return api.get(f"/api/v1/products/{product_id}/")


@pytest.fixture
def listed_ids(api, django_assert_max_num_queries):
    def get():
        with django_assert_max_num_queries(3):
            return [r["id"] for r in api.get("/api/v1/products/").json()["results"]]

    return get


def test_admin_change_form_save_is_visible_next_request(api, admin_client, sku):
    product = sku.product
    assert _detail(api, product.id).json()["title"] == "帆布包"  # now cached
    form = {
        "category": product.category_id, "title": "新款帆布包", "subtitle": "", "description": "",
        "keywords": "", "is_on_shelf": "on", "sort_order": 0, "sales_count": 0,
        "skus-TOTAL_FORMS": 1, "skus-INITIAL_FORMS": 1, "skus-MIN_NUM_FORMS": 0, "skus-MAX_NUM_FORMS": 1000,
        "skus-0-id": sku.id, "skus-0-product": product.id, "skus-0-code": sku.code,
        "skus-0-attributes": '{"颜色": "黑"}', "skus-0-price_fen": "49.00", "skus-0-stock": 8,
        "images-TOTAL_FORMS": 0, "images-INITIAL_FORMS": 0, "images-MIN_NUM_FORMS": 0, "images-MAX_NUM_FORMS": 1000,
    }
    response = admin_client.post(f"/admin/catalog/product/{product.id}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    body = _detail(api, product.id).json()
    assert body["title"] == "新款帆布包"
    assert body["skus"][0]["price_fen"] == 4900 and body["skus"][0]["stock"] == 8
    assert body["skus"][0]["attributes"] == {"颜色": "黑"}


def test_bulk_shelf_actions_are_visible_next_request(api, listed_ids, admin_client, sku):
    other = SkuFactory().product
    assert sorted(listed_ids()) == sorted([sku.product_id, other.id])
    response = admin_client.post(
        "/admin/catalog/product/",
        {"action": "take_off_shelf", "_selected_action": [sku.product_id, other.id]},
    )
    assert response.status_code == 302
    assert listed_ids() == []
    assert _detail(api, sku.product_id).status_code == 404
    admin_client.post("/admin/catalog/product/", {"action": "put_on_shelf", "_selected_action": [other.id]})
    assert listed_ids() == [other.id]


def test_stock_edit_in_the_sku_list_is_visible_next_request(api, admin_client, sku):
    assert _detail(api, sku.product_id).json()["skus"][0]["stock"] == 5
    response = admin_client.post("/admin/catalog/sku/", {
        "form-TOTAL_FORMS": 1, "form-INITIAL_FORMS": 1, "form-MIN_NUM_FORMS": 0, "form-MAX_NUM_FORMS": 1000,
        "form-0-id": sku.id, "form-0-price_fen": sku.price_fen, "form-0-stock": 42, "_save": "Save",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    assert _detail(api, sku.product_id).json()["skus"][0]["stock"] == 42


def test_stock_services_are_visible_next_request(api, sku):
    assert _detail(api, sku.product_id).json()["skus"][0]["stock"] == 5
    services.sku_stock_take(sku_id=sku.id, quantity=2)
    assert _detail(api, sku.product_id).json()["skus"][0]["stock"] == 3
    services.sku_stock_release(sku_id=sku.id, quantity=1)
    assert _detail(api, sku.product_id).json()["skus"][0]["stock"] == 4
    services.sku_stock_set(sku_id=sku.id, stock=0)
    assert _detail(api, sku.product_id).json()["skus"][0]["stock"] == 0


def test_stock_take_refuses_to_go_below_zero(sku):
    with pytest.raises(services.OutOfStock):
        services.sku_stock_take(sku_id=sku.id, quantity=6)
    assert Sku.objects.get(pk=sku.id).stock == 5


def test_shelf_service_is_visible_next_request(api, listed_ids, sku):
    assert listed_ids() == [sku.product_id]
    services.product_set_on_shelf(product_ids=[sku.product_id], is_on_shelf=False)
    assert listed_ids() == []


def _admin_import(admin_client, model: str, csv_text: str):
    """Upload a CSV through the admin's import page, then confirm it."""
    page = admin_client.get(f"/admin/catalog/{model}/import/").content.decode()
    csv_format = re.search(r'<option value="(\d+)"[^>]*>csv</option>', page).group(1)
    response = admin_client.post(f"/admin/catalog/{model}/import/", {
        "format": csv_format,
        "import_file": SimpleUploadedFile("import.csv", csv_text.encode(), content_type="text/csv"),
    })
    assert response.status_code == 200
    confirm = response.content.decode()
    assert "errors" not in response.context or not response.context.get("errors")
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', confirm))
    fields.pop("csrfmiddlewaretoken", None)
    response = admin_client.post(f"/admin/catalog/{model}/process_import/", fields)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_csv_import_of_skus_is_visible_next_request(api, admin_client, sku):
    assert _detail(api, sku.product_id).json()["skus"][0]["stock"] == 5
    csv_text = (
        "code,product_id,attributes,price_fen,original_price_fen,stock\n"
        f'{sku.code},{sku.product_id},"{{""颜色"": ""红""}}",5900,,77\n'
        f'NEW-CODE-1,{sku.product_id},"{{""颜色"": ""绿""}}",6900,7900,3\n'
    )
    _admin_import(admin_client, "sku", csv_text)
    skus = _detail(api, sku.product_id).json()["skus"]
    assert [(s["code"], s["stock"]) for s in skus] == [(sku.code, 77), ("NEW-CODE-1", 3)]
    assert skus[1]["attributes"] == {"颜色": "绿"} and skus[1]["original_price_fen"] == 7900


def test_csv_import_of_products_is_visible_next_request(api, listed_ids, admin_client, sku):
    category = CategoryFactory()
    assert listed_ids() == [sku.product_id]
    csv_text = (
        "id,title,subtitle,category_id,keywords,is_on_shelf,sort_order,sales_count,description\n"
        f"{sku.product_id},帆布包 改名,,{sku.product.category_id},,0,0,0,\n"
        f",新商品,副标题,{category.id},水杯,1,0,0,说明\n"
    )
    _admin_import(admin_client, "product", csv_text)
    assert listed_ids() == []  # the old one went off the shelf; the new one has no SKU yet
    new = Product.objects.get(title="新商品")
    assert new.is_on_shelf and new.keywords == "水杯"


def test_csv_export_has_products_and_skus(admin_client, sku):
    page = admin_client.get("/admin/catalog/sku/export/").content.decode()
    csv_format = re.search(r'<option value="(\d+)"[^>]*>csv</option>', page).group(1)
    response = admin_client.post("/admin/catalog/sku/export/", {
        "format": csv_format, "skuresource_code": "on", "skuresource_product": "on",
        "skuresource_attributes": "on", "skuresource_price_fen": "on",
        "skuresource_original_price_fen": "on", "skuresource_stock": "on",
    })
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "code,product_id,attributes,price_fen,original_price_fen,stock"
    assert f"{sku.code},{sku.product_id}," in text


def test_version_survives_eviction_without_reusing_old_numbers(api, sku):
    from django.core.cache import cache

    before = catalog_version()
    cache.delete(VERSION_KEY)
    after = catalog_version()
    assert after > before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_read_during_a_write_transaction_is_not_served_after_commit(api, sku):
    """A reader that caches the old body while a write is uncommitted must not serve it
    after the commit: the commit bumps the version again."""
    with transaction.atomic():
        Sku.objects.filter(pk=sku.id).update(stock=1)
        services.catalog_version_bump()  # what every write path does inside its transaction
        # Another connection (a concurrent reader) still sees the old stock and caches it.
        from concurrent.futures import ThreadPoolExecutor

        def read():
            try:
                return _detail(api, sku.product_id).json()["skus"][0]["stock"]
            finally:
                connection.close()

        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(read).result() == 5
    assert _detail(api, sku.product_id).json()["skus"][0]["stock"] == 1


def test_a_sale_retires_only_the_sold_products_page(api, sku, django_assert_num_queries):
    """Orders must not empty the cache: a stock change shows on its product's page at once,
    while the list, the category tree, other products' pages and the content version (which
    keys the official account's match index) stay as they were."""
    other = SkuFactory(product=ProductFactory(title="保温杯"), stock=3)
    pages = ["/api/v1/products/", "/api/v1/categories/", f"/api/v1/products/{other.product_id}/"]
    for path in pages + [f"/api/v1/products/{sku.product_id}/"]:
        assert api.get(path).status_code == 200  # now cached
    version = catalog_version()

    services.sku_stock_take(sku_id=sku.id, quantity=2)

    assert catalog_version() == version
    with django_assert_num_queries(0):
        for path in pages:
            assert api.get(path).status_code == 200
    assert _detail(api, sku.product_id).json()["skus"][0]["stock"] == 3
    services.sku_stock_release(sku_id=sku.id, quantity=2)
    assert _detail(api, sku.product_id).json()["skus"][0]["stock"] == 5
    assert _detail(api, other.product_id).json()["skus"][0]["stock"] == 3


def test_stock_version_survives_eviction(api, sku):
    from django.core.cache import cache

    from catalog.cache import STOCK_KEY

    assert _detail(api, sku.product_id).json()["skus"][0]["stock"] == 5
    cache.delete(STOCK_KEY.format(product_id=sku.product_id))
    Sku.objects.filter(pk=sku.id).update(stock=9)  # a write that bumped nothing yet
    services.sku_stock_take(sku_id=sku.id, quantity=1)
    assert _detail(api, sku.product_id).json()["skus"][0]["stock"] == 8
