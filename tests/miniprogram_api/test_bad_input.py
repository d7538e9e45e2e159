"""Bad input anywhere under /api/v1/ gets a JSON `{"code", "detail"}` 4xx, in debug (the
`make run` default front-end developers work against) as in production."""

import pytest

from tests.factories import AddressFactory, ProductFactory, SkuFactory

pytestmark = pytest.mark.django_db

ADDRESS = {"user_name": "张三", "tel_number": "13800138000", "province_name": "广东省", "city_name": "广州市",
           "county_name": "海珠区", "detail_info": "新港中路397号"}


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def _is_json_error(response, status: int, code: str) -> bool:
    return (
        response.status_code == status
        and response["Content-Type"].startswith("application/json")
        and response.json()["code"] == code
    )


def test_a_write_to_a_path_missing_its_slash_is_a_json_404_naming_the_right_path(customer_api, debug):
    """Django cannot redirect a body: in debug it raised (a 500), in production it answered
    301, which wx.request follows as a GET."""
    sku = SkuFactory()
    response = customer_api.post("/api/v1/cart/items", {"sku_id": sku.id, "quantity": 1}, format="json")
    assert _is_json_error(response, 404, "not_found")
    assert "/api/v1/cart/items/" in response.json()["detail"]
    response = customer_api.post("/api/v1/auth/login/", {"code": "x"}, format="json")
    assert _is_json_error(response, 404, "not_found")
    assert "/api/v1/auth/login?" in response.json()["detail"]


def test_a_get_missing_its_slash_is_still_redirected(api, debug):
    response = api.get("/api/v1/products?page=2")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/products/?page=2"


@pytest.mark.parametrize(
    "path",
    ["/api/v1/products/abc/", "/api/v1/products/-1/", "/api/v1/cart/items/null,null/", "/api/v1/addresses/1.5/",
     "/api/v1/addresses/%F0%9F%98%80/", "/api/v1/nothing-here"],
)
def test_ids_that_are_not_integers_and_unknown_paths_are_json_404(customer_api, debug, path):
    for method in ("get", "patch", "delete"):
        response = getattr(customer_api, method)(path)
        assert _is_json_error(response, 404, "not_found"), (method, response.content[:200])


def test_a_body_past_the_upload_limit_is_413_payload_too_large(customer_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    sku = SkuFactory()
    response = customer_api.post(
        "/api/v1/cart/items/", {"sku_id": sku.id, "quantity": 1, "pad": "x" * 2000}, format="json"
    )
    assert _is_json_error(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"nickname": 0}, "nickname"),
        ({"nickname": ["小王"]}, "nickname"),
        ({"gender": "1"}, "gender"),
        ({"gender": True}, "gender"),
        ({"gender": 1.0}, "gender"),
    ],
)
def test_profile_fields_of_the_wrong_json_type_are_400(customer_api, customer, body, field):
    response = customer_api.patch("/api/v1/me", body, format="json")
    assert _is_json_error(response, 400, "invalid")
    assert field in response.json()["errors"]
    customer.refresh_from_db()
    assert customer.nickname != "0" and customer.gender == 0


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"is_default": 0}, "is_default"),
        ({"is_default": "true"}, "is_default"),
        ({"is_default": None}, "is_default"),
        ({"postal_code": 510000}, "postal_code"),
        ({"national_code": 440105}, "national_code"),
    ],
)
def test_address_fields_of_the_wrong_json_type_are_400(customer_api, customer, extra, field):
    response = customer_api.post("/api/v1/addresses/", {**ADDRESS, **extra}, format="json")
    assert _is_json_error(response, 400, "invalid")
    assert field in response.json()["errors"]
    address = AddressFactory(customer=customer)
    response = customer_api.patch(f"/api/v1/addresses/{address.id}/", extra, format="json")
    assert _is_json_error(response, 400, "invalid")
    assert field in response.json()["errors"]


@pytest.mark.parametrize(
    "raw",
    [
        r'{"nickname": "a\u0000b"}',
        r'{"nickname": "\ud83d"}',  # a lone surrogate: valid JSON, not encodable as UTF-8
        r'{"avatar_url": "https://a.example/\u0000"}',
    ],
)
def test_nul_bytes_and_lone_surrogates_are_400_not_a_database_error(customer_api, raw):
    response = customer_api.patch("/api/v1/me", raw, content_type="application/json")
    assert _is_json_error(response, 400, "invalid")


def test_nul_bytes_in_every_address_field_are_400(customer_api):
    for field in ADDRESS:
        response = customer_api.post("/api/v1/addresses/", {**ADDRESS, field: "广州\u0000"}, format="json")
        assert _is_json_error(response, 400, "invalid"), field
        assert field in response.json()["errors"]


def test_nul_bytes_and_emoji_in_the_search_query(api):
    ProductFactory(title="😀 表情杯")
    assert _is_json_error(api.get("/api/v1/products/", {"q": "a\u0000b"}), 400, "invalid")
    assert api.get("/api/v1/products/", {"q": "😀"}).status_code == 200
