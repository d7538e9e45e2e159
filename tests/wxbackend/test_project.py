"""Project-wide guarantees: migrations match the models, the OpenAPI document generates
without a single warning, and the API's error shape."""

from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from wxbackend.api import DomainError, exception_handler


@pytest.mark.django_db
def test_migrations_match_the_models():
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


def test_openapi_schema_generates_with_warnings_as_errors(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")


def test_schema_and_docs_are_served(client):
    assert client.get("/api/v1/schema/").status_code == 200
    assert client.get("/api/v1/docs/").status_code == 200
    assert client.get("/api/v1/redoc/").status_code == 200
    bundle = client.get("/api/v1/redoc/redoc.standalone.js")
    assert bundle.status_code == 200 and b"Redoc" in bundle.content
    assert b"cdn.redoc.ly" not in bundle.content  # its one outside request, taken out


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_the_docs_load_nothing_from_another_host(client, settings, path):
    """Swagger UI comes from our own static files: a CDN is blocked or slow inside
    mainland China, and absent offline (the page used to be blank there)."""
    import re

    from django.contrib.staticfiles import finders

    html = client.get(path).content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    for asset in assets:
        assert not re.match(r"(https?:)?//", asset), f"{path} loads {asset}"
        if asset.startswith(settings.STATIC_URL):
            assert finders.find(asset.removeprefix(settings.STATIC_URL)), asset


class OutOfStock(DomainError):
    code = "out_of_stock"
    status = 409


def _context():
    return {"request": APIRequestFactory().get("/"), "view": None}


def test_domain_errors_leave_as_their_code_and_status():
    response = exception_handler(OutOfStock("SKU 7 has 0 left"), _context())
    assert response.status_code == 409
    assert response.data == {"code": "out_of_stock", "detail": "SKU 7 has 0 left"}


def test_validation_errors_carry_per_field_errors():
    class Input(serializers.Serializer):
        quantity = serializers.IntegerField(min_value=1)

    s = Input(data={"quantity": 0})
    assert not s.is_valid()
    response = exception_handler(serializers.ValidationError(s.errors), _context())
    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert "quantity" in response.data["errors"]
