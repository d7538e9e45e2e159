"""`demo_admin` creates the demo login when it is missing and never changes an existing
user: `make run` runs it against whatever DATABASE_URL the shell holds."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def _run(settings) -> str:
    settings.DEBUG = True  # pytest-django runs with debug off; the command needs it on
    out = io.StringIO()
    call_command("demo_admin", stdout=out)
    return out.getvalue()


def test_missing_demo_admin_is_created_and_its_login_printed(settings, client):
    out = _run(settings)
    assert "wxbackend-demo" in out
    assert client.login(username="admin", password="wxbackend-demo")
    assert get_user_model().objects.get(username="admin").is_superuser


def test_existing_admin_keeps_its_password_and_rights(settings, client):
    get_user_model().objects.create_user("admin", "ops@example.com", "the-real-password-42", is_staff=True)
    out = _run(settings)
    assert "wxbackend-demo" not in out
    assert not client.login(username="admin", password="wxbackend-demo")
    assert client.login(username="admin", password="the-real-password-42")
    assert not get_user_model().objects.get(username="admin").is_superuser


def test_running_twice_still_prints_the_login(settings, client):
    _run(settings)
    assert "wxbackend-demo" in _run(settings)
    assert client.login(username="admin", password="wxbackend-demo")
