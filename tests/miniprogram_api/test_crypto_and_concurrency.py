"""Field encryption keys, and one customer's concurrent requests."""

import base64
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from miniprogram_api.crypto import decrypt, encrypt
from orders.models import Address, CartItem
from orders.services import address_create, cart_item_add
from tests.factories import CustomerFactory, SkuFactory


def test_values_round_trip_and_differ_each_time(settings):
    settings.FIELD_ENCRYPTION_KEY = base64.b64encode(b"k" * 32).decode()
    one, two = encrypt("13800138000"), encrypt("13800138000")
    assert one != two and "13800138000" not in one
    assert decrypt(one) == decrypt(two) == "13800138000"


def test_another_key_cannot_read_and_a_short_key_is_refused(settings):
    settings.FIELD_ENCRYPTION_KEY = base64.b64encode(b"a" * 32).decode()
    sealed = encrypt("secret")
    settings.FIELD_ENCRYPTION_KEY = base64.b64encode(b"b" * 32).decode()
    with pytest.raises(Exception):  # noqa: B017 (cryptography's InvalidTag)
        decrypt(sealed)
    settings.FIELD_ENCRYPTION_KEY = "too-short"
    with pytest.raises(ImproperlyConfigured):
        encrypt("x")
    settings.FIELD_ENCRYPTION_KEY = ""  # derived from SECRET_KEY
    assert decrypt(encrypt("x")) == "x"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_one_sku_merge_into_one_line():
    customer = CustomerFactory()
    sku = SkuFactory()

    def add(_):
        try:
            return cart_item_add(customer_id=customer.id, sku_id=sku.id, quantity=1)[1]
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(add, range(8)))
    assert created.count(True) == 1
    assert list(CartItem.objects.values_list("quantity", flat=True)) == [8]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_addresses_leave_one_default():
    customer = CustomerFactory()
    data = {"user_name": "张三", "tel_number": "13800138000", "province_name": "广东省", "city_name": "广州市",
            "county_name": "海珠区", "detail_info": "新港中路397号"}

    def create(_):
        try:
            return address_create(customer_id=customer.id, data=data).is_default
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        defaults = list(pool.map(create, range(6)))
    assert defaults.count(True) == 1
    assert Address.objects.filter(customer=customer, is_default=True).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_logins_of_one_user_make_one_customer(wechat_sim):
    from miniprogram_api.models import Customer
    from miniprogram_api.services import customer_login

    codes = [wechat_sim.issue_login_code("o_race") for _ in range(6)]

    def login(code):
        try:
            return customer_login(code=code).customer.pk
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        ids = set(pool.map(login, codes))
    assert len(ids) == 1
    assert Customer.objects.filter(openid="o_race").count() == 1
