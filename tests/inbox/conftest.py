"""Inbox fixtures: the official account's test helpers (signed pushes), staff users."""

import pytest
from django.contrib.auth import get_user_model

from tests.officialaccount.conftest import _fresh_rules, plain_mode  # noqa: F401  (fixtures)


@pytest.fixture
def boss(db):
    return get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-123456-long")


@pytest.fixture
def staff_client(client, boss):
    client.force_login(boss)
    return client
