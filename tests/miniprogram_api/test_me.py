"""The customer's profile, phone number, subscribe grants, export and erasure."""

import time

import pytest
import responses
from django.db import connection

from miniprogram_api.models import ApiToken, Customer, SubscriptionGrant
from miniprogram_api.services import customer_erase, subscription_grant_consume
from orders.models import Address, CartItem
from tests.factories import AddressFactory, CartItemFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def test_profile_get_and_patch(customer_api, customer):
    response = customer_api.patch(
        "/api/v1/me", {"nickname": "小王", "avatar_url": "https://thirdwx.qlogo.cn/x/132", "gender": 1}, format="json"
    )
    assert response.status_code == 200
    body = customer_api.get("/api/v1/me").json()
    assert (body["nickname"], body["avatar_url"], body["gender"]) == ("小王", "https://thirdwx.qlogo.cn/x/132", 1)
    assert body["id"] == customer.id
    assert "openid" not in body and "session_key" not in body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"avatar_url": "not a url"}, "avatar_url"),
        ({"gender": 7}, "gender"),
        ({"nickname": "长" * 65}, "nickname"),
        ({"gender": "男"}, "gender"),
    ],
)
def test_profile_patch_rejects_bad_fields(customer_api, body, field):
    response = customer_api.patch("/api/v1/me", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_profile_patch_with_invalid_json_is_parse_error(customer_api):
    response = customer_api.patch("/api/v1/me", "{", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


def test_phone_is_bound_encrypted_and_shown_masked(customer_api, customer, wechat_sim, admin_client):
    code = wechat_sim.issue_phone_code("13800138000")
    response = customer_api.post("/api/v1/me/phone", {"code": code}, format="json")
    assert response.status_code == 200
    assert response.json()["phone"] == "138****8000" and response.json()["has_phone"] is True
    customer.refresh_from_db()
    assert customer.phone == "13800138000" and customer.phone_country_code == "86"
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM miniprogram_api_customer WHERE id = %s", [customer.pk])
        assert "13800138000" not in cursor.fetchone()[0]
    (call,) = wechat_sim.calls("wxa/business/getuserphonenumber")
    assert "access_token" in call["query"]

    listing = admin_client.get("/admin/miniprogram_api/customer/").content.decode()
    assert "138****8000" in listing and "13800138000" not in listing
    found = admin_client.get("/admin/miniprogram_api/customer/", {"q": "13800138000"}).content.decode()
    assert "138****8000" in found
    change = admin_client.get(f"/admin/miniprogram_api/customer/{customer.pk}/change/").content.decode()
    assert "13800138000" not in change and "session_key" not in change


def test_phone_code_errors(customer_api, wechat_sim):
    response = customer_api.post("/api/v1/me/phone", {"code": "never-issued"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid_code"
    response = customer_api.post("/api/v1/me/phone", {"code": 13800138000}, format="json")
    assert response.status_code == 400 and "code" in response.json()["errors"]
    wechat_sim.fail_next("wxa/business/getuserphonenumber", -1, "busy")
    response = customer_api.post("/api/v1/me/phone", {"code": wechat_sim.issue_phone_code("13800138000")},
                                 format="json")
    assert response.status_code == 503 and response.json()["code"] == "wechat_unavailable"


def _phone_answer(appid: str) -> dict:
    return {"errcode": 0, "errmsg": "ok", "phone_info": {
        "phoneNumber": "13800138000", "purePhoneNumber": "13800138000", "countryCode": "86",
        "watermark": {"timestamp": int(time.time()), "appid": appid}}}


@pytest.mark.parametrize(("watermark", "status"), [("ours", 200), ("wx_another_app_01", 502)])
def test_phone_answer_watermarked_for_another_app_binds_nothing(customer_api, customer, wechat_sim, settings,
                                                                watermark, status):
    appid = settings.WECHAT_MINIAPP_APPID if watermark == "ours" else watermark
    with responses.RequestsMock() as mock:
        mock.add_passthru(wechat_sim.url)  # the access token still comes from the simulator
        mock.post(f"{wechat_sim.api_base}/wxa/business/getuserphonenumber", json=_phone_answer(appid))
        response = customer_api.post("/api/v1/me/phone", {"code": "phone-code"}, format="json")
    assert response.status_code == status
    customer.refresh_from_db()
    if status == 502:
        assert response.json()["code"] == "wechat_error"
        assert (customer.phone, customer.phone_hash) == ("", "")
    else:
        assert customer.phone == "13800138000"


def test_subscriptions_grant_one_send_per_accept(customer_api, customer):
    body = {"template_ids": ["T1", "T2", "T3"],
            "result": {"errMsg": "requestSubscribeMessage:ok", "T1": "accept", "T2": "reject", "T3": "accept"}}
    response = customer_api.post("/api/v1/me/subscriptions", body, format="json")
    assert response.status_code == 200
    assert response.json() == [
        {"template_id": "T1", "available": 1, "last_result": "accept"},
        {"template_id": "T2", "available": 0, "last_result": "reject"},
        {"template_id": "T3", "available": 1, "last_result": "accept"},
    ]
    customer_api.post("/api/v1/me/subscriptions", {"template_ids": ["T1"], "result": {"T1": "accept"}}, format="json")
    assert SubscriptionGrant.objects.get(customer=customer, template_id="T1").available == 2
    assert subscription_grant_consume(customer_id=customer.id, template_id="T1") is True
    assert subscription_grant_consume(customer_id=customer.id, template_id="T1") is True
    assert subscription_grant_consume(customer_id=customer.id, template_id="T1") is False
    assert subscription_grant_consume(customer_id=customer.id, template_id="T2") is False


def test_ban_and_filter_answers_leave_no_send(customer_api, customer):
    body = {"template_ids": ["T1", "T2", "T3"], "result": {"T1": "ban", "T2": "filter", "T3": "accept"}}
    response = customer_api.post("/api/v1/me/subscriptions", body, format="json")
    assert response.status_code == 200
    assert response.json() == [
        {"template_id": "T1", "available": 0, "last_result": "ban"},
        {"template_id": "T2", "available": 0, "last_result": "filter"},
        {"template_id": "T3", "available": 1, "last_result": "accept"},
    ]
    assert subscription_grant_consume(customer_id=customer.id, template_id="T1") is False
    assert subscription_grant_consume(customer_id=customer.id, template_id="T2") is False


@pytest.mark.parametrize(
    "errmsg",
    ["requestSubscribeMessage:fail can only be invoked by user TAP gesture, please check your code.", 0, None],
)
def test_subscriptions_ignore_errmsg_whatever_it_holds(customer_api, errmsg):
    body = {"template_ids": ["T1"], "result": {"errMsg": errmsg, "T1": "accept"}}
    response = customer_api.post("/api/v1/me/subscriptions", body, format="json")
    assert response.status_code == 200
    assert response.json() == [{"template_id": "T1", "available": 1, "last_result": "accept"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"template_ids": [], "result": {}}, "template_ids"),
        ({"template_ids": ["a", "b", "c", "d"], "result": {}}, "template_ids"),
        ({"template_ids": "T1", "result": {}}, "template_ids"),
        ({"template_ids": [1], "result": {}}, "template_ids"),
        ({"template_ids": ["T1"], "result": {"T9": "accept"}}, "result"),
        ({"template_ids": ["T1"], "result": {"T1": "maybe"}}, "result"),
        ({"template_ids": ["T1"], "result": ["accept"]}, "result"),
    ],
)
def test_subscriptions_reject_bad_bodies(customer_api, body, field):
    response = customer_api.post("/api/v1/me/subscriptions", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_export_holds_the_customers_data(customer_api, customer):
    customer.phone = "13900139000"
    customer.save()
    AddressFactory(customer=customer, user_name="李四")
    CartItemFactory(cart__customer=customer, quantity=2)
    AddressFactory(user_name="别人")
    data = customer_api.get("/api/v1/me/export").json()
    assert data["profile"]["openid"] == customer.openid
    assert data["profile"]["phone"] == "13900139000"
    assert [a["user_name"] for a in data["addresses"]] == ["李四"]
    assert [i["quantity"] for i in data["cart_items"]] == [2]
    assert "session_key" not in str(data)


def test_erase_removes_personal_data_and_stops_the_token(customer_api, customer):
    customer.phone, customer.session_key, customer.unionid = "13900139000", "c2Vzc2lvbg==", "u_1"
    customer.save()
    AddressFactory(customer=customer)
    CartItemFactory(cart__customer=customer)
    other = CustomerFactory()
    AddressFactory(customer=other)

    assert customer_api.delete("/api/v1/me").status_code == 204
    assert customer_api.delete("/api/v1/me").status_code == 401
    assert customer_api.get("/api/v1/me").status_code == 401
    customer.refresh_from_db()
    assert customer.erased_at is not None
    assert (customer.openid, customer.unionid, customer.phone, customer.session_key, customer.nickname) == (
        None, "", "", "", "")
    assert not Address.objects.filter(customer=customer).exists()
    assert not CartItem.objects.filter(cart__customer=customer).exists()
    assert not ApiToken.objects.filter(customer=customer, revoked_at__isnull=True).exists()
    assert Address.objects.filter(customer=other).exists()
    customer_erase(customer_id=customer.id)  # idempotent
    customer_erase(customer_id=999999)


def test_a_new_login_after_erasure_is_a_new_customer(api, customer, wechat_sim):
    openid = customer.openid
    customer_erase(customer_id=customer.id)
    body = api.post("/api/v1/auth/login", {"code": wechat_sim.issue_login_code(openid)}, format="json").json()
    assert body["customer"]["id"] != customer.id
    assert Customer.objects.get(openid=openid).pk == body["customer"]["id"]
