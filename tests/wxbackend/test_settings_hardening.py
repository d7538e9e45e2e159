"""Start-up settings from issue 12: trusted proxies and the field-encryption keys."""

from tests.wxbackend.test_settings import SECURE_ENV, _manage

PRINT_NUM_PROXIES = "from django.conf import settings; print(settings.REST_FRAMEWORK['NUM_PROXIES'])"


def test_with_debug_off_the_one_tls_proxy_is_trusted_by_default():
    result = _manage("shell", "--no-imports", "-c", PRINT_NUM_PROXIES, env=SECURE_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


def test_number_of_trusted_proxies_comes_from_the_environment():
    result = _manage("shell", "--no-imports", "-c", PRINT_NUM_PROXIES, env={**SECURE_ENV, "DJANGO_NUM_PROXIES": "2"})
    assert result.stdout.strip() == "2", result.stderr
    result = _manage("check", env={**SECURE_ENV, "DJANGO_NUM_PROXIES": "-1"})
    assert result.returncode != 0 and "DJANGO_NUM_PROXIES" in result.stderr


def test_debug_off_without_a_field_encryption_key_stops_start_up():
    env = {k: v for k, v in SECURE_ENV.items() if k != "FIELD_ENCRYPTION_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY" in [line for line in result.stderr.splitlines() if "missing" in line][0]
