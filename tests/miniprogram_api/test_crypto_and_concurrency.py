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


def _hold_then(first, second, *, hold_seconds: float = 0.5):
    """Run `first` in a transaction that stays open `hold_seconds` after it returned, and
    start `second` on another connection meanwhile; return what `second` returned or raised."""
    import threading
    import time

    from django.db import transaction

    done = threading.Event()

    def hold():
        try:
            with transaction.atomic():
                first()
                done.set()
                time.sleep(hold_seconds)
        finally:
            done.set()
            connection.close()

    def then():
        done.wait(5)
        try:
            return second()
        except Exception as exc:  # the outcome under test
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        held = pool.submit(hold)
        result = pool.submit(then).result()
        held.result()
    return result


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_add_merging_into_a_line_whose_quantity_is_being_set_stays_within_99():
    """The add must see the new quantity: merging 10 into the 95 just set is refused
    (400 quantity_exceeded), not a CHECK violation (500)."""
    from orders.exceptions import CartQuantityExceeded
    from orders.services import cart_item_update

    customer = CustomerFactory()
    sku = SkuFactory()
    item, _ = cart_item_add(customer_id=customer.id, sku_id=sku.id, quantity=60)
    result = _hold_then(
        lambda: cart_item_update(customer_id=customer.id, item_id=item.id, quantity=95),
        lambda: cart_item_add(customer_id=customer.id, sku_id=sku.id, quantity=10),
    )
    assert isinstance(result, CartQuantityExceeded), result
    assert CartItem.objects.get().quantity == 95


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_add_of_a_sku_whose_line_is_being_deleted_makes_a_new_line():
    """Not a 404 for an add: the add waits for the delete, then starts a new line."""
    from orders.services import cart_item_delete

    customer = CustomerFactory()
    sku = SkuFactory()
    item, _ = cart_item_add(customer_id=customer.id, sku_id=sku.id, quantity=2)
    result = _hold_then(
        lambda: cart_item_delete(customer_id=customer.id, item_id=item.id),
        lambda: cart_item_add(customer_id=customer.id, sku_id=sku.id, quantity=1),
    )
    assert not isinstance(result, Exception), result
    line, created = result
    assert created and line.quantity == 1
    assert list(CartItem.objects.values_list("sku_id", "quantity")) == [(sku.id, 1)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_default_switches_leave_exactly_one_default():
    """Six requests each making a different address the default: all succeed, and exactly
    one address (one of theirs) is the default afterwards."""
    from orders.services import address_update
    from tests.factories import AddressFactory

    customer = CustomerFactory()
    addresses = [AddressFactory(customer=customer, is_default=(i == 0)) for i in range(7)]

    def make_default(address):
        try:
            return address_update(customer_id=customer.id, address_id=address.id, data={"is_default": True}).id
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        switched = list(pool.map(make_default, addresses[1:]))
    assert switched == [a.id for a in addresses[1:]]
    defaults = list(Address.objects.filter(customer=customer, is_default=True).values_list("id", flat=True))
    assert len(defaults) == 1 and defaults[0] in switched


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_one_sku_through_the_api_never_pass_99():
    """Twelve taps of "add 10" on one SKU: nine fit (90), the rest are 400
    quantity_exceeded; never a 500, never two lines."""
    from rest_framework.test import APIClient

    from tests.factories import bearer_for

    customer = CustomerFactory()
    sku = SkuFactory()
    token = bearer_for(customer)

    def tap(_):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            response = client.post("/api/v1/cart/items/", {"sku_id": sku.id, "quantity": 10}, format="json")
            return response.status_code, response.json().get("code")
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        answers = sorted(pool.map(tap, range(12)), key=str)
    assert answers.count((201, None)) == 1
    assert answers.count((200, None)) == 8
    assert answers.count((400, "quantity_exceeded")) == 3
    assert list(CartItem.objects.values_list("quantity", flat=True)) == [90]
