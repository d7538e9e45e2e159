"""The public catalog: categories, products and details as the mini-program sees them."""

import pytest

from tests.factories import CategoryFactory, ProductFactory, ProductImageFactory, SkuFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def list_products(api, django_assert_max_num_queries):
    """GET the product list (the category tree, count and page)."""

    def get(params=None):
        with django_assert_max_num_queries(3):
            return api.get("/api/v1/products/", params or {})

    return get


def _product(title="商品", price_fen=1000, stock=5, **kwargs):
    product = ProductFactory(title=title, **kwargs)
    SkuFactory(product=product, price_fen=price_fen, stock=stock)
    return product


def test_category_tree_nests_active_children_in_sort_order(api, django_assert_max_num_queries):
    cups = CategoryFactory(name="杯壶", sort_order=2)
    bags = CategoryFactory(name="箱包", sort_order=1)
    CategoryFactory(name="保温杯", parent=cups, sort_order=0)
    CategoryFactory(name="已停用", parent=cups, is_active=False)
    with django_assert_max_num_queries(1):
        response = api.get("/api/v1/categories/")
    assert response.status_code == 200
    tree = response.json()
    assert [c["name"] for c in tree] == ["箱包", "杯壶"]
    assert tree[0]["children"] == []
    assert [c["name"] for c in tree[1]["children"]] == ["保温杯"]
    assert tree[1]["id"] == cups.id and bags.id == tree[0]["id"]


def test_product_list_shows_only_on_shelf_products_with_lowest_price_and_absolute_cover(list_products):
    on = ProductFactory(title="316不锈钢保温杯 500ml")
    SkuFactory(product=on, price_fen=12900)
    SkuFactory(product=on, price_fen=9900)
    _product("下架商品", is_on_shelf=False)
    ProductFactory(title="没有SKU的商品")
    response = list_products()
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 and body["next"] is None and body["previous"] is None
    (item,) = body["results"]
    assert item["id"] == on.id
    assert item["title"] == "316不锈钢保温杯 500ml"
    assert item["price_fen"] == 9900
    assert item["cover_url"].startswith("http://testserver/media/products/covers/")


def test_q_matches_chinese_substrings_of_title_and_subtitle(list_products):
    cup = _product("316不锈钢保温杯", subtitle="24小时保温")
    tea = _product("西湖龙井", subtitle="明前茶")
    _product("帆布包")
    ids = lambda q: {r["id"] for r in list_products({"q": q}).json()["results"]}  # noqa: E731
    assert ids("保温") == {cup.id}
    assert ids("明前") == {tea.id}
    assert ids("不存在的词") == set()


def test_category_filter_includes_sub_categories(list_products):
    root = CategoryFactory(name="杯壶")
    child = CategoryFactory(name="保温杯", parent=root)
    grandchild = CategoryFactory(name="儿童保温杯", parent=child)
    other = CategoryFactory(name="箱包")
    in_root = _product(category=root)
    in_grandchild = _product(category=grandchild)
    _product(category=other)
    results = list_products({"category": root.id}).json()["results"]
    assert {r["id"] for r in results} == {in_root.id, in_grandchild.id}
    results = list_products({"category": grandchild.id}).json()["results"]
    assert [r["id"] for r in results] == [in_grandchild.id]
    assert list_products({"category": 999999}).json()["count"] == 0


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("price_fen", ["c", "b", "a"]),
        ("-price_fen", ["a", "b", "c"]),
        ("sales", ["a", "b", "c"]),
        ("-sales", ["c", "b", "a"]),
        ("created", ["a", "b", "c"]),
        ("-created", ["c", "b", "a"]),
    ],
)
def test_ordering_both_directions(list_products, ordering, expected):
    names = {}
    # created in the order a, b, c; prices a 500, b 300, c 100; sales a 1, b 2, c 3
    for key, price, sales in [("a", 500, 1), ("b", 300, 2), ("c", 100, 3)]:
        names[_product(key, price_fen=price, sales_count=sales).id] = key
    results = list_products({"ordering": ordering}).json()["results"]
    assert [names[r["id"]] for r in results] == expected


def test_bad_query_parameters_answer_400_with_field_errors(list_products):
    for params, field in [
        ({"ordering": "price"}, "ordering"),
        ({"category": "abc"}, "category"),
        ({"category": "-1"}, "category"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "100000"}, "page_size"),
        ({"page": "x"}, "page"),
        ({"q": "长" * 51}, "q"),
    ]:
        response = list_products(params)
        assert response.status_code == 400, params
        assert response.json()["code"] == "invalid"
        assert field in response.json()["errors"]


def test_page_past_the_end_is_404_not_found(list_products):
    _product()
    response = list_products({"page": 5})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_list_runs_a_constant_number_of_queries_whatever_the_page_size(
    api, django_assert_num_queries
):
    category = CategoryFactory()
    for i in range(30):
        product = _product(f"商品{i}", category=category)
        SkuFactory(product=product, price_fen=2000)
        ProductImageFactory(product=product)
    for size, queries in ((5, 3), (30, 2)):
        # the category tree (hidden categories, sub-categories) + count + page; each
        # request is a first one (a new cache key), so the page is really built. The count
        # of a filter is taken once per catalog version, and shared by its page sizes.
        with django_assert_num_queries(queries):
            response = api.get("/api/v1/products/", {"page_size": size})
        assert len(response.json()["results"]) == size
        with django_assert_num_queries(queries):
            response = api.get("/api/v1/products/", {"page_size": size, "category": category.id})
        assert len(response.json()["results"]) == size


def test_the_count_is_shared_by_pages_and_orderings_and_follows_writes(api, django_assert_num_queries):
    """A large catalog is counted once per filter, not once per page; a catalog write
    shows in the next count."""
    for i in range(5):
        _product(f"保温杯{i}")
    _product("帆布包")
    assert api.get("/api/v1/products/", {"q": "保温杯", "page_size": 2}).json()["count"] == 5
    with django_assert_num_queries(2):  # the category tree and the page's rows
        page = api.get("/api/v1/products/", {"q": "保温杯", "page_size": 2, "page": 3, "ordering": "-sales"}).json()
    assert page["count"] == 5 and len(page["results"]) == 1
    assert api.get("/api/v1/products/").json()["count"] == 6  # another filter, its own count
    _product("儿童保温杯")
    assert api.get("/api/v1/products/", {"q": "保温杯", "page_size": 2, "page": 3}).json()["count"] == 6


def test_detail_has_skus_and_absolute_gallery(api, django_assert_max_num_queries):
    product = ProductFactory(title="帆布包", description="结实")
    red = SkuFactory(product=product, attributes={"颜色": "红"}, price_fen=5900, original_price_fen=7900, stock=3)
    blue = SkuFactory(product=product, attributes={"颜色": "蓝"}, price_fen=4900, stock=0)
    ProductImageFactory(product=product)
    with django_assert_max_num_queries(4):  # hidden categories, product, SKUs, gallery
        response = api.get(f"/api/v1/products/{product.id}/")
    assert response.status_code == 200
    body = response.json()
    assert body["price_fen"] == 4900
    assert body["description"] == "结实"
    assert body["skus"] == [
        {"id": red.id, "code": red.code, "attributes": {"颜色": "红"}, "price_fen": 5900,
         "original_price_fen": 7900, "stock": 3},
        {"id": blue.id, "code": blue.code, "attributes": {"颜色": "蓝"}, "price_fen": 4900,
         "original_price_fen": None, "stock": 0},
    ]
    assert len(body["images"]) == 1 and body["images"][0].startswith("http://testserver/media/")


def test_unknown_or_off_shelf_product_is_404_not_found(api):
    hidden = _product(is_on_shelf=False)
    for pid in (hidden.id, 999999, 2**63 + 5):
        response = api.get(f"/api/v1/products/{pid}/")
        assert response.status_code == 404, pid
        assert response.json()["code"] == "not_found"


def test_a_product_without_skus_is_404_as_it_is_not_listed(api):
    """Its `price_fen` would be null, which the document does not allow, and nothing in it
    could be bought."""
    empty = ProductFactory()
    response = api.get(f"/api/v1/products/{empty.id}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_catalog_responses_carry_etag_and_answer_304_when_current(api):
    product = _product()
    for url in ("/api/v1/categories/", "/api/v1/products/", f"/api/v1/products/{product.id}/"):
        first = api.get(url)
        assert first.status_code == 200
        etag = first["ETag"]
        assert etag.startswith('"') and "max-age=0" in first["Cache-Control"]
        again = api.get(url, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304
        assert again.content == b""
        assert again["ETag"] == etag
        assert api.get(url, HTTP_IF_NONE_MATCH='"stale"').status_code == 200


def test_a_cached_list_is_served_without_queries(api, django_assert_num_queries):
    _product()
    first = api.get("/api/v1/products/", {"page_size": 10})
    with django_assert_num_queries(0):
        second = api.get("/api/v1/products/", {"page_size": 10})
    assert second.content == first.content


def test_write_changes_etag_and_304_becomes_200(api):
    product = _product("旧标题")
    url = f"/api/v1/products/{product.id}/"
    etag = api.get(url)["ETag"]
    product.title = "新标题"
    product.save()
    response = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["title"] == "新标题"


def test_catalog_ignores_a_bad_token(api, list_products):
    """The catalog is public and identical for everyone, so a stale token does not break it."""
    _product()
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert list_products().status_code == 200


def test_page_links_carry_only_the_known_parameters(api):
    """A cached page is served to everyone: a stray parameter one client sent (`?utm=`)
    must not reach the links another client is given."""
    for i in range(3):
        _product(f"商品{i}")
    first = api.get("/api/v1/products/", {"page_size": 1, "page": 2, "utm": "<script>", "q": " 商品 "}).json()
    assert first["next"] == "http://testserver/api/v1/products/?page=3&page_size=1&q=%E5%95%86%E5%93%81"
    assert first["previous"] == "http://testserver/api/v1/products/?page_size=1&q=%E5%95%86%E5%93%81"
    plain = api.get("/api/v1/products/", {"page_size": 1, "page": 2, "q": "商品"}).json()
    assert plain == first


def test_an_empty_ordering_is_the_merchants_order(list_products):
    first, second = _product("甲", sort_order=1), _product("乙", sort_order=0)
    results = list_products({"ordering": ""}).json()["results"]
    assert [r["id"] for r in results] == [second.id, first.id]


def test_attributes_written_past_validation_do_not_break_the_product_page(api, customer_api, customer):
    """Sku.clean refuses them in the admin and imports; a row written some other way reads
    as no attributes rather than a 500 on every page that shows it."""
    from orders.models import CartItem
    from tests.factories import CartFactory

    product = _product("帆布包")
    sku = product.skus.get()
    CartItem.objects.create(cart=CartFactory(customer=customer), sku=sku, quantity=1)
    type(sku).objects.filter(pk=sku.pk).update(attributes=["红", "M"])
    response = api.get(f"/api/v1/products/{product.id}/")
    assert response.status_code == 200
    assert response.json()["skus"][0]["attributes"] == {}
    cart = customer_api.get("/api/v1/cart/items/")
    assert cart.status_code == 200 and cart.json()[0]["attributes"] == {}

