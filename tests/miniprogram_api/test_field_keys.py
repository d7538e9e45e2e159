"""FIELD_ENCRYPTION_KEY can be rotated: new writes use the first key, reads try every key,
`manage.py rotate_field_key` re-encrypts old rows; a value no key reads is empty, not a 500."""

import base64
import io
import logging

import pytest
from django.core.management import call_command
from django.db.models import TextField
from django.db.models.functions import Cast

from miniprogram_api.crypto import decrypt, lookup_hash
from miniprogram_api.models import Customer
from tests.factories import CustomerFactory, bearer_for

pytestmark = pytest.mark.django_db

OLD, NEW, LOST = (base64.b64encode(c * 32).decode() for c in (b"o", b"n", b"l"))


def _customer(settings, key: str, phone: str = "13800138000") -> Customer:
    settings.FIELD_ENCRYPTION_KEY = key
    return CustomerFactory(session_key="c2Vzc2lvbi1rZXk=", phone=phone, phone_country_code="86",
                           phone_hash=lookup_hash(f"+86{phone}") if phone else "")


def _raw(customer: Customer, field: str) -> str:
    return Customer.objects.annotate(raw=Cast(field, TextField())).values_list("raw", flat=True).get(pk=customer.pk)


def _me(customer: Customer, client):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_for(customer)}")
    return client.get("/api/v1/me")


def _link(customer: Customer) -> str:
    return f"/admin/miniprogram_api/customer/{customer.pk}/change/"


def _readable_with(settings, key: str, stored: str) -> bool:
    settings.FIELD_ENCRYPTION_KEY = key
    try:
        decrypt(stored)
    except ValueError:
        return False
    return True


def test_after_a_new_key_is_put_first_old_rows_read_and_new_writes_use_it(settings, api):
    customer = _customer(settings, OLD)
    settings.FIELD_ENCRYPTION_KEY = f"{NEW},{OLD}"
    assert _me(customer, api).json()["phone"] == "138****8000"
    customer.phone = "13900139000"
    customer.save(update_fields=["phone"])
    stored = _raw(customer, "phone")
    assert _readable_with(settings, NEW, stored) and not _readable_with(settings, OLD, stored)


def test_a_value_no_key_reads_is_empty_and_logged_without_the_value(settings, api, caplog):
    customer = _customer(settings, LOST)
    stored = _raw(customer, "phone")
    settings.FIELD_ENCRYPTION_KEY = NEW
    with caplog.at_level(logging.WARNING):
        response = _me(customer, api)
    assert response.status_code == 200
    assert response.json()["phone"] == "" and response.json()["has_phone"] is False
    assert "FIELD_ENCRYPTION_KEY" in caplog.text
    assert stored[3:20] not in caplog.text and "13800138000" not in caplog.text
    # Saving the row keeps what it cannot read: putting the lost key back restores it.
    Customer.objects.get(pk=customer.pk).save()
    assert _raw(customer, "phone") == stored
    settings.FIELD_ENCRYPTION_KEY = f"{NEW},{LOST}"
    assert Customer.objects.get(pk=customer.pk).phone == "13800138000"


def test_rotate_field_key_reencrypts_old_rows_with_the_first_key(settings, admin_client):
    old = [_customer(settings, OLD, phone=f"1380013800{n}") for n in range(3)]
    unbound = _customer(settings, OLD, phone="")
    current = _customer(settings, NEW, phone="13700137000")
    lost = _customer(settings, LOST)
    settings.FIELD_ENCRYPTION_KEY = f"{NEW},{OLD}"
    out = io.StringIO()
    call_command("rotate_field_key", "--batch-size", "2", stdout=out)
    report = out.getvalue()
    assert "Customer.phone: 3 re-encrypted, 1 already current, 1 unreadable" in report
    assert "Customer.session_key: 4 re-encrypted, 1 already current, 1 unreadable" in report

    settings.FIELD_ENCRYPTION_KEY = NEW  # the old key is gone now
    assert [Customer.objects.get(pk=c.pk).phone for c in old] == [f"1380013800{n}" for n in range(3)]
    assert Customer.objects.get(pk=unbound.pk).session_key == "c2Vzc2lvbi1rZXk="
    assert Customer.objects.get(pk=current.pk).phone == "13700137000"
    assert _raw(lost, "phone").startswith("v1:")  # left as it was
    # The keyed phone hash moved to the new key too: the admin's phone search finds them.
    page = admin_client.get("/admin/miniprogram_api/customer/", {"q": "13800138001"}).content.decode()
    assert _link(old[1]) in page and _link(old[0]) not in page

    settings.FIELD_ENCRYPTION_KEY = f"{NEW},{OLD}"
    out = io.StringIO()
    call_command("rotate_field_key", stdout=out)
    assert "Customer.phone: 0 re-encrypted, 4 already current, 1 unreadable" in out.getvalue()


def test_admin_phone_search_finds_rows_under_an_older_key(settings, admin_client):
    customer = _customer(settings, OLD)
    settings.FIELD_ENCRYPTION_KEY = f"{NEW},{OLD}"
    page = admin_client.get("/admin/miniprogram_api/customer/", {"q": "13800138000"}).content.decode()
    assert _link(customer) in page
