"""Fixtures for the mini-program API: clients, a customer and a client logged in as them."""

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.factories import CustomerFactory, bearer_for


@pytest.fixture(autouse=True)
def _media_in_tmp(tmp_path):
    """Uploaded and generated images go to a throw-away directory. (Its own override, not
    the `settings` fixture, so a test's overrides are not kept alive past other teardowns.)"""
    with override_settings(MEDIA_ROOT=tmp_path / "media"):
        yield


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def customer(db):
    return CustomerFactory()


@pytest.fixture
def customer_api(customer):
    """An API client logged in as `customer`."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_for(customer)}")
    return client
