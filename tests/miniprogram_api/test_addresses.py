"""Addresses as wx.chooseAddress returns them: validated, one default, nobody else's."""

import pytest

from orders.models import Address
from tests.factories import AddressFactory, CustomerFactory

pytestmark = pytest.mark.django_db

CHOSEN = {"user_name": "张三", "tel_number": "020-81167888", "province_name": "广东省", "city_name": "广州市",
          "county_name": "海珠区", "detail_info": "新港中路397号", "postal_code": "510000",
          "national_code": "440105"}


def test_create_list_get_patch_delete(customer_api, customer, django_assert_max_num_queries):
    response = customer_api.post("/api/v1/addresses/", CHOSEN, format="json")
    assert response.status_code == 201
    created = response.json()
    assert {k: created[k] for k in CHOSEN} == CHOSEN
    assert created["is_default"] is True  # the first address is the default
    with django_assert_max_num_queries(2):
        listing = customer_api.get("/api/v1/addresses/")
    assert [a["id"] for a in listing.json()] == [created["id"]]
    for i in range(5):
        AddressFactory(customer=customer, user_name=f"收件人{i}")
    with django_assert_max_num_queries(2):
        assert len(customer_api.get("/api/v1/addresses/").json()) == 6
    url = f"/api/v1/addresses/{created['id']}/"
    assert customer_api.get(url).json()["detail_info"] == "新港中路397号"
    patched = customer_api.patch(url, {"detail_info": "新港中路398号", "tel_number": "13800138000"}, format="json")
    assert patched.status_code == 200 and patched.json()["detail_info"] == "新港中路398号"
    assert customer_api.delete(url).status_code == 204
    assert customer_api.get(url).status_code == 404


def test_one_default_per_customer(customer_api, customer):
    first = customer_api.post("/api/v1/addresses/", CHOSEN, format="json").json()
    second = customer_api.post("/api/v1/addresses/", {**CHOSEN, "user_name": "李四"}, format="json").json()
    assert second["is_default"] is False
    third = customer_api.post("/api/v1/addresses/", {**CHOSEN, "user_name": "王五", "is_default": True},
                              format="json").json()
    assert third["is_default"] is True
    assert list(Address.objects.filter(customer=customer, is_default=True).values_list("id", flat=True)) == [third["id"]]
    customer_api.patch(f"/api/v1/addresses/{first['id']}/", {"is_default": True}, format="json")
    assert list(Address.objects.filter(customer=customer, is_default=True).values_list("id", flat=True)) == [first["id"]]
    assert customer_api.get("/api/v1/addresses/").json()[0]["id"] == first["id"]
    # Deleting the default hands it to another address.
    customer_api.delete(f"/api/v1/addresses/{first['id']}/")
    assert Address.objects.filter(customer=customer, is_default=True).count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tel_number": "12345"}, "tel_number"),
        ({"tel_number": "1380013800"}, "tel_number"),
        ({"tel_number": "abc"}, "tel_number"),
        ({"tel_number": 13800138000}, "tel_number"),
        ({"user_name": ""}, "user_name"),
        ({"detail_info": "长" * 201}, "detail_info"),
        ({"postal_code": "51000"}, "postal_code"),
        # Other scripts' digits are digits to Python's \d, not to a courier (issue 12).
        ({"tel_number": "13８００１３８０００"}, "tel_number"),
        ({"tel_number": "020-８１１６７８８８"}, "tel_number"),
        ({"postal_code": "٤٤٠١٠٥"}, "postal_code"),
        ({"national_code": "４４０１０５"}, "national_code"),
        ({"province_name": None}, "province_name"),
        ({"is_default": "maybe"}, "is_default"),
    ],
)
def test_bad_fields_are_400_with_field_errors(customer_api, change, field):
    response = customer_api.post("/api/v1/addresses/", {**CHOSEN, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Address.objects.exists()


@pytest.mark.parametrize("missing", ["user_name", "tel_number", "province_name", "city_name", "county_name",
                                     "detail_info"])
def test_required_fields(customer_api, missing):
    body = {k: v for k, v in CHOSEN.items() if k != missing}
    response = customer_api.post("/api/v1/addresses/", body, format="json")
    assert response.status_code == 400 and missing in response.json()["errors"]


def test_optional_codes_may_be_left_out(customer_api):
    body = {k: v for k, v in CHOSEN.items() if k not in ("postal_code", "national_code")}
    response = customer_api.post("/api/v1/addresses/", {**body, "tel_number": "+86 138 0013 8000"}, format="json")
    assert response.status_code == 201 and response.json()["tel_number"] == "13800138000"


def test_invalid_json(customer_api):
    response = customer_api.post("/api/v1/addresses/", "{'single': 'quotes'}", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


def test_address_limit(customer_api, customer):
    AddressFactory.create_batch(20, customer=customer)
    response = customer_api.post("/api/v1/addresses/", CHOSEN, format="json")
    assert response.status_code == 400 and response.json()["code"] == "address_limit"


def test_a_customer_trying_every_address_of_another_gets_404(customer_api):
    other = CustomerFactory()
    theirs = [AddressFactory(customer=other, is_default=(i == 0)) for i in range(4)]
    for address in theirs:
        url = f"/api/v1/addresses/{address.id}/"
        for response in (customer_api.get(url), customer_api.patch(url, {"is_default": True}, format="json"),
                         customer_api.patch(url, {"user_name": "黑客"}, format="json"), customer_api.delete(url)):
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"
    assert customer_api.get("/api/v1/addresses/").json() == []
    assert Address.objects.filter(customer=other).count() == 4
    assert not Address.objects.filter(user_name="黑客").exists()
    assert Address.objects.get(pk=theirs[0].pk).is_default
