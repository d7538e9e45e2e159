"""Start-up refuses an insecure configuration; a complete one passes `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SECURE_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "k8$2vQ!zR7pW@x1mN4bT6yH0jL9cF3dS5gA8eU2iO7rK1wP6qZ4nB0vX3hJ5tY9",
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    "WECHAT_MP_APPID": "wx1234567890abcdef",
    "WECHAT_MP_SECRET": "s" * 32,
    "WECHAT_MP_TOKEN": "wxbackend_token",
    "WECHAT_MINIAPP_APPID": "wxabcdef1234567890",
    "WECHAT_MINIAPP_SECRET": "m" * 32,
    "WECHAT_PAY_MCH_ID": "1900000109",
    "WECHAT_PAY_APIV3_KEY": "0123456789abcdef0123456789abcdef",
    "WECHAT_PAY_MCH_CERT_SERIAL": "5157F09EFDC096DE15EBE81A47057A72",
    "WECHAT_PAY_MCH_PRIVATE_KEY_PATH": "/etc/wxbackend/apiclient_key.pem",
    "WECHAT_PAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0114232134912410000000000000",
    "WECHAT_PAY_PUBLIC_KEY_PATH": "/etc/wxbackend/pub_key.pem",
    "WECHAT_PAY_NOTIFY_BASE_URL": "https://shop.example.com",
    "FIELD_ENCRYPTION_KEY": "q0Bk2P1w4xv6C1n9mZ3lT8rY5uI7oE2aS4dF6gH8jK0=",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WECHAT_"))}
    base.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_off_without_secrets_stops_with_one_line_naming_each():
    result = _manage("check", env={"DJANGO_DEBUG": "0"})
    assert result.returncode != 0
    message = [line for line in result.stderr.splitlines() if "missing" in line]
    assert len(message) == 1
    for name in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "WECHAT_MP_SECRET", "WECHAT_PAY_APIV3_KEY"):
        assert name in message[0]


def test_weak_secret_key_is_refused():
    result = _manage("check", env={**SECURE_ENV, "DJANGO_SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is too weak" in result.stderr


def test_complete_production_configuration_passes_check_deploy():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=SECURE_ENV)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_ssl_redirect_can_be_switched_off_for_a_redirecting_proxy():
    env = {**SECURE_ENV, "DJANGO_SECURE_SSL_REDIRECT": "0"}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr


def test_simulator_cannot_be_switched_on_with_debug_off():
    result = _manage("check", env={**SECURE_ENV, "WECHAT_SIMULATOR": "1"})
    assert result.returncode != 0
    assert "WECHAT_SIMULATOR" in result.stderr


def test_demo_admin_is_never_created_with_debug_off():
    result = _manage("demo_admin", env=SECURE_ENV)
    assert result.returncode != 0
    assert "never created" in result.stderr


@pytest.mark.django_db
def test_plain_http_is_redirected_unless_the_proxy_says_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["shop.example.com"]
    assert client.get("/admin/login/", HTTP_HOST="shop.example.com").status_code == 301
    response = client.get(
        "/admin/login/", HTTP_HOST="shop.example.com", HTTP_X_FORWARDED_PROTO="https"
    )
    assert response.status_code == 200
