"""An inactive category hides its products, and those of every category below it, wherever a
customer could meet them: the list, a category filter, the detail page, the cart and the
official account's product replies. Switching a category in the admin shows on the very next
request, cached responses notwithstanding."""

import pytest

from catalog.selectors import product_matches
from tests.factories import CategoryFactory, CustomerFactory, ProductFactory, SkuFactory, bearer_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    """杯壶 (inactive) > 保温杯 (active), and 箱包 (active), one product in each."""
    cups = CategoryFactory(name="杯壶", is_active=False)
    flasks = CategoryFactory(name="保温杯", parent=cups)
    bags = CategoryFactory(name="箱包")
    made = {}
    for key, category, title in [("cup", cups, "陶瓷马克杯"), ("flask", flasks, "316不锈钢保温杯"),
                                 ("bag", bags, "帆布托特包")]:
        made[key] = SkuFactory(product=ProductFactory(category=category, title=title)).product
    made.update(cups=cups, flasks=flasks, bags=bags)
    return made


def _listed(api, django_assert_max_num_queries, **params):
    with django_assert_max_num_queries(3):
        response = api.get("/api/v1/products/", params)
    assert response.status_code == 200
    return {r["id"] for r in response.json()["results"]}


def test_products_under_an_inactive_category_are_not_listed(api, shop, django_assert_max_num_queries):
    assert _listed(api, django_assert_max_num_queries) == {shop["bag"].id}
    assert _listed(api, django_assert_max_num_queries, category=shop["cups"].id) == set()
    assert _listed(api, django_assert_max_num_queries, category=shop["flasks"].id) == set()
    assert _listed(api, django_assert_max_num_queries, q="杯") == set()


def test_their_detail_pages_are_404_and_their_skus_cannot_be_added_to_a_cart(api, shop):
    for key in ("cup", "flask"):
        response = api.get(f"/api/v1/products/{shop[key].id}/")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_for(CustomerFactory())}")
    response = api.post("/api/v1/cart/items/", {"sku_id": shop["flask"].skus.get().id, "quantity": 1}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "sku_unavailable"
    assert api.get(f"/api/v1/products/{shop['bag'].id}/").status_code == 200


def test_the_official_account_does_not_offer_them(shop):
    assert product_matches(text="有保温杯吗") == []
    assert [m.id for m in product_matches(text="帆布托特包")] == [shop["bag"].id]


def test_switching_a_category_in_the_admin_shows_on_the_next_request(
    api, admin_client, shop, django_assert_max_num_queries
):
    assert _listed(api, django_assert_max_num_queries) == {shop["bag"].id}  # now cached
    detail = f"/api/v1/products/{shop['flask'].id}/"
    assert api.get(detail).status_code == 404
    # The changelist's editable `is_active` column, as a merchant would use it.
    categories = [shop["cups"], shop["flasks"], shop["bags"]]
    form = {"form-TOTAL_FORMS": 3, "form-INITIAL_FORMS": 3, "form-MIN_NUM_FORMS": 0, "form-MAX_NUM_FORMS": 1000,
            "_save": "Save"}
    for i, category in enumerate(categories):
        form[f"form-{i}-id"] = category.id
        form[f"form-{i}-sort_order"] = category.sort_order
        if category != shop["bags"]:
            form[f"form-{i}-is_active"] = "on"
    response = admin_client.post("/admin/catalog/category/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _listed(api, django_assert_max_num_queries) == {shop["cup"].id, shop["flask"].id}
    assert api.get(detail).status_code == 200
    assert api.get(f"/api/v1/products/{shop['bag'].id}/").status_code == 404
    assert [c["name"] for c in api.get("/api/v1/categories/").json()] == ["杯壶"]
